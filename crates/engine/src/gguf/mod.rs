//! GGUF files: the container ([`reader`]), ggml block formats to f32 ([`dequant`]), the tokenizer
//! stored in the metadata ([`tokenizer`]) and the tensor names of each family (`names`).

pub mod dequant;
pub(crate) mod names;
pub mod reader;
pub mod tokenizer;

pub use dequant::dequantize;
pub use reader::{GgmlType, GgufFile, GgufValue, TensorInfo};
pub use tokenizer::{tokenizer_from_gguf, GgufSpecials};

use std::path::Path;

use crate::error::{EngineError, Result};
use crate::model::{Built, LoadContext};
use crate::tokenize::TextTokenizer;

/// Loads a GGUF model: tokenizer and architecture from its metadata, weights dequantised to the
/// requested dtype.
pub(crate) fn load(path: &Path, ctx: &LoadContext) -> Result<(Built, TextTokenizer)> {
    ctx.report("weights", &format!("reading {}", path.display()), 0.05);
    let g = GgufFile::open(path)?;
    let arch = g
        .architecture()
        .ok_or_else(|| g.corrupt("the metadata has no 'general.architecture'"))?
        .to_string();
    let load = crate::models::for_gguf(&arch)
        .and_then(|f| f.load_gguf)
        .ok_or_else(|| {
            EngineError::UnsupportedArchitecture(format!(
                "GGUF architecture '{arch}' (supported in GGUF files: {})",
                crate::models::gguf_architectures().join(", ")
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
