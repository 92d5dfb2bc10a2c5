//! One file per architecture family, and [`FAMILIES`]: the one table that says which Hugging Face
//! `model_type`s and GGUF `general.architecture`s each family reads, and with which loaders.
//! Each file exposes `load(cfg, weights, ctx) -> Result<Built>` (checkpoint-named weights) and,
//! where GGUF files exist, `load_gguf(file, ctx)`; its model implements `model::Architecture`.
//!
//! Adding an architecture: write `models/<arch>.rs`, then add one row here.

pub(crate) mod albert;
pub(crate) mod bert;
pub(crate) mod distilbert;
pub(crate) mod electra;
pub(crate) mod gemma3;
pub(crate) mod gpt2;
pub(crate) mod llama;
pub(crate) mod roberta;

use crate::error::Result;
use crate::gguf::GgufFile;
use crate::model::{Built, LoadContext};
use crate::weights::Weights;
use serde_json::Value;

/// Builds a model from an HF config and checkpoint-named weights.
pub(crate) type HfLoader = fn(&Value, &Weights, &LoadContext) -> Result<Built>;
/// Builds a model from a GGUF file (metadata + tensors).
pub(crate) type GgufLoader = fn(&GgufFile, &LoadContext) -> Result<Built>;

/// One architecture family.
pub(crate) struct Family {
    /// HF `config.json` `model_type`s it reads.
    pub model_types: &'static [&'static str],
    /// GGUF `general.architecture` names it reads (empty: no GGUF files).
    pub gguf: &'static [&'static str],
    pub load: HfLoader,
    pub load_gguf: Option<GgufLoader>,
}

pub(crate) const FAMILIES: &[Family] = &[
    Family {
        model_types: &["bert"],
        gguf: &[],
        load: bert::load,
        load_gguf: None,
    },
    Family {
        model_types: &["roberta", "xlm-roberta", "camembert"],
        gguf: &[],
        load: roberta::load,
        load_gguf: None,
    },
    Family {
        model_types: &["distilbert"],
        gguf: &[],
        load: distilbert::load,
        load_gguf: None,
    },
    Family {
        model_types: &["albert"],
        gguf: &[],
        load: albert::load,
        load_gguf: None,
    },
    Family {
        model_types: &["electra"],
        gguf: &[],
        load: electra::load,
        load_gguf: None,
    },
    Family {
        model_types: &["llama", "mistral", "qwen2", "qwen3"],
        gguf: &["llama", "mistral", "qwen2", "qwen3"],
        load: llama::load,
        load_gguf: Some(llama::load_gguf),
    },
    Family {
        model_types: &["gpt2"],
        gguf: &["gpt2"],
        load: gpt2::load,
        load_gguf: Some(gpt2::load_gguf),
    },
    Family {
        model_types: &["gemma3_text", "gemma3", "gemma2", "gemma"],
        gguf: &["gemma", "gemma2", "gemma3"],
        load: gemma3::load,
        load_gguf: Some(gemma3::load_gguf),
    },
];

/// The family that reads HF `model_type`.
pub(crate) fn for_model_type(model_type: &str) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .find(|f| f.model_types.contains(&model_type))
}

/// The family that reads GGUF architecture `arch`.
pub(crate) fn for_gguf(arch: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.gguf.contains(&arch))
}

/// Every HF `model_type` the engine reads.
pub(crate) fn model_types() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|f| f.model_types.iter().copied())
        .collect()
}

/// Every GGUF architecture the engine reads.
pub(crate) fn gguf_architectures() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|f| f.gguf.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_belongs_to_one_family() {
        let mut seen = std::collections::HashSet::new();
        for t in model_types() {
            assert!(seen.insert(("hf", t)), "model_type {t} is in two families");
        }
        for a in gguf_architectures() {
            assert!(
                seen.insert(("gguf", a)),
                "GGUF architecture {a} is in two families"
            );
            assert!(
                for_gguf(a).and_then(|f| f.load_gguf).is_some(),
                "{a} has no GGUF loader"
            );
        }
        assert_eq!(
            for_model_type("qwen3").map(|f| f.load as *const () as usize),
            Some(llama::load as *const () as usize)
        );
        assert!(for_model_type("deberta").is_none() && for_gguf("falcon").is_none());
    }
}
