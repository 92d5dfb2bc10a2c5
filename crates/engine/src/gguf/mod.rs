//! GGUF files, read without knowing any model: the container ([`reader`]), ggml block formats to
//! f32 ([`dequant`]), the tokenizer stored in the metadata ([`tokenizer`]), llama.cpp's standard
//! hyperparameter keys (`hparams`) and its tensor names next to the checkpoints' (`names`).
//! Building a model from a file is the models' side (`models::load`).

pub mod dequant;
pub(crate) mod hparams;
pub(crate) mod names;
pub mod reader;
pub mod tokenizer;

pub use dequant::{dequantize, GgmlType};
pub use reader::{GgufFile, GgufValue, TensorInfo};
pub use tokenizer::{tokenizer_from_gguf, GgufSpecials};
