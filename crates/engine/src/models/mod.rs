//! One file per architecture. Each exposes `load(cfg, weights, ctx) -> Result<Built>` and implements
//! `model::Architecture`; `model::load_hf_architecture` dispatches on the config's `model_type`.

pub(crate) mod albert;
pub(crate) mod bert;
pub(crate) mod distilbert;
pub(crate) mod electra;
pub(crate) mod roberta;
// Decoder architectures (llama.rs, gpt2.rs, gemma3.rs) are declared below by their author.
pub(crate) mod gemma3;
pub(crate) mod gpt2;
pub(crate) mod llama;

/// Extra names listed in the "unsupported architecture" message (decoder architectures append theirs).
pub(crate) const EXTRA_ARCHITECTURES: &str = ", llama, mistral, qwen2, qwen3, gpt2, gemma, gemma2, gemma3_text";

/// GGUF entry point. The decoders' `gguf` module replaces this body with `crate::gguf::load(path, ctx)`.
pub(crate) fn load_gguf(path: &std::path::Path, ctx: &crate::model::LoadContext) -> crate::error::Result<(crate::model::Built, crate::tokenize::TextTokenizer)> {
    crate::gguf::load(path, ctx)
}
