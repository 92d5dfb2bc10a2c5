//! Typed errors. Every message is a sentence a notebook user can act on.

use std::path::PathBuf;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Unknown model '{name}'. Available models: {}.", if available.is_empty() { "none found".to_string() } else { available.join(", ") })]
    UnknownModel {
        name: String,
        available: Vec<String>,
    },
    #[error("A required file is missing: {0}")]
    MissingFile(PathBuf),
    #[error("The weights in {path} could not be read: {reason}")]
    CorruptWeights { path: PathBuf, reason: String },
    #[error("The GGUF file ends before all of its tensors: it is truncated or incomplete.")]
    TruncatedGguf,
    #[error("This GGUF quantisation type is not supported: {0}")]
    UnsupportedQuant(String),
    #[error("This model architecture is not supported: {0}")]
    UnsupportedArchitecture(String),
    #[error("The text is empty: type a sentence to analyse.")]
    EmptyText,
    #[error("The text is too long: it has {tokens} tokens but this model accepts at most {max}.")]
    TooLong { tokens: usize, max: usize },
    #[error("Invalid intervention: {0}")]
    BadIntervention(String),
    #[error("Not supported by this model: {0}")]
    Unsupported(String),
    #[error("Device problem: {0}")]
    Device(String),
    #[error("The tensor library reported an error: {0}")]
    Torch(String),
    #[error("File system error: {0}")]
    Io(#[from] std::io::Error),
    /// A run that a memory limit (the notebook's memory budget) cannot hold.
    #[error("Over the memory budget: {0}")]
    Memory(String),
    #[error("Tokenizer problem: {0}")]
    Tokenizer(String),
}

impl From<tch::TchError> for EngineError {
    fn from(e: tch::TchError) -> Self {
        EngineError::Torch(e.to_string())
    }
}

/// Result with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
