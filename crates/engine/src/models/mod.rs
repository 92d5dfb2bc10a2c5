//! Architectures: the contract they implement ([`arch`]), one file per family, and [`FAMILIES`]: the
//! one table that says which Hugging Face `model_type`s and GGUF `general.architecture`s each family
//! reads, and with which loaders. [`load`] is the step from a resolved spec to a built model and its
//! tokenizer (an HF folder's config.json and weights, or a GGUF file's metadata and tensors).
//!
//! Each family file exposes `load(cfg, weights, ctx) -> Result<Built>` (checkpoint-named weights) and,
//! where GGUF files exist, `load_gguf(file, ctx)`; its model implements [`arch::Architecture`].
//! Adding an architecture: write `models/<arch>.rs`, then add one row here.

pub(crate) mod albert;
pub(crate) mod arch;
pub(crate) mod bert;
pub(crate) mod distilbert;
pub(crate) mod electra;
pub(crate) mod gemma3;
pub(crate) mod gpt2;
pub(crate) mod llama;
pub(crate) mod roberta;

use crate::error::{EngineError, Result};
use crate::gguf::reader::GgufFile;
use crate::gguf::tokenizer::tokenizer_from_gguf;
use crate::source::{ResolvedSource, SourceKind};
use crate::tokenize::TextTokenizer;
use crate::weights::Weights;
use arch::{Built, LoadContext};
use serde_json::Value;
use std::path::Path;

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

/// Loads what `r` points at: the architecture its family builds, and its tokenizer.
pub(crate) fn load(r: &ResolvedSource, ctx: &LoadContext) -> Result<(Built, TextTokenizer)> {
    match &r.kind {
        SourceKind::Gguf(p) => load_gguf_file(p, ctx),
        SourceKind::HfDir(dir) => load_hf_dir(dir, ctx),
    }
}

fn read_config_json(dir: &Path) -> Result<Value> {
    let p = dir.join("config.json");
    if !p.is_file() {
        return Err(EngineError::MissingFile(p));
    }
    let text = std::fs::read_to_string(&p)?;
    serde_json::from_str(&text).map_err(|e| EngineError::CorruptWeights {
        path: p,
        reason: format!("config.json is not valid JSON ({e})"),
    })
}

/// An HF folder: config.json's `model_type` picks the family, which builds from the checkpoint's weights.
fn load_hf_dir(dir: &Path, ctx: &LoadContext) -> Result<(Built, TextTokenizer)> {
    let cfg = read_config_json(dir)?;
    let model_type = cfg
        .get("model_type")
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string();
    if model_type.is_empty() {
        return Err(EngineError::UnsupportedArchitecture(format!(
            "{} has no model_type",
            dir.join("config.json").display()
        )));
    }
    // Fail on a missing tokenizer before reading (possibly large) weights.
    let has_tokenizer = dir.join("tokenizer.json").is_file()
        || dir.join("vocab.txt").is_file()
        || (dir.join("vocab.json").is_file() && dir.join("merges.txt").is_file());
    if !has_tokenizer {
        return Err(EngineError::MissingFile(dir.join("tokenizer.json")));
    }
    ctx.report("weights", "reading weights", 0.1);
    let w = Weights::from_hf_dir(dir, ctx.device, ctx.kind, &|f| {
        ctx.report("weights", "reading weights", (0.1 + 0.6 * f).min(0.7))
    })?;
    ctx.report("building", "building the model", 0.7);
    let family = for_model_type(&model_type).ok_or_else(|| {
        EngineError::UnsupportedArchitecture(format!(
            "'{model_type}' (supported: {})",
            model_types().join(", ")
        ))
    })?;
    let built = (family.load)(&cfg, &w, ctx)?;
    ctx.report("tokenizer", "reading the tokenizer", 0.9);
    let tok = TextTokenizer::from_hf_dir(dir)?;
    Ok((built, tok))
}

/// A GGUF file: tokenizer and architecture from its metadata, weights dequantised to the
/// requested dtype.
fn load_gguf_file(path: &Path, ctx: &LoadContext) -> Result<(Built, TextTokenizer)> {
    ctx.report("weights", &format!("reading {}", path.display()), 0.05);
    let g = GgufFile::open(path)?;
    let arch = g
        .architecture()
        .ok_or_else(|| g.corrupt("the metadata has no 'general.architecture'"))?
        .to_string();
    let load = for_gguf(&arch).and_then(|f| f.load_gguf).ok_or_else(|| {
        EngineError::UnsupportedArchitecture(format!(
            "GGUF architecture '{arch}' (supported in GGUF files: {})",
            gguf_architectures().join(", ")
        ))
    })?;
    ctx.report(
        "tokenizer",
        "building the tokenizer from the GGUF metadata",
        0.08,
    );
    let (tok, _specials) = tokenizer_from_gguf(&g)?;
    let tok = TextTokenizer::from_tokenizer(tok)?;
    let built = load(&g, ctx)?;
    Ok((built, tok))
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
