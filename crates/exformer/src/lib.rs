//! exformer: the library notebook cells use.
//!
//! ```no_run
//! let model = exformer::load("smollm2")?;
//! let view = model.attend("The capital of France is Paris.")?;
//! view.display();                 // or end the cell with `view`
//! view.knock_out(&[3])?;          // drive the shown view from code
//! view.set_layer(5)?;
//! # Ok::<(), exformer::EngineError>(())
//! ```
//!
//! # Layout
//! - [`model`]: [`Model`] / [`load`]: a loaded model and `attend` to open a view.
//! - [`widget`]: the attention widget (state encoding, anywidget sync, PNG, standalone HTML).
//! - [`comm`]: Jupyter comms from inside a cell, over the kernel's bridge.
//! - [`display`]: rich output (display_data, clear_output) with a fallback for stock evcxr.
//! - [`engine`]: the models themselves (re-export of `exformer-engine`).
//! - [`global`]: process-wide state that survives evcxr's per-cell copies of this crate.
//! - [`memory`]: one memory budget per kernel for what views keep ([`set_memory_budget`], [`memory()`]).
//! - [`model_thread`]: the one thread every view's model runs happen on.
//! - [`log`]: the cell process's logs (`EXFORMER_LOG`), into the kernel's log, never a cell's output.
//!
//! This crate never depends on the kernel or evcxr: it reaches the kernel only through the
//! bridge socket named in the environment.

pub mod comm;
pub mod display;
pub mod global;
pub mod log;
pub mod memory;
pub mod model;
pub mod model_thread;
pub mod widget;

pub use exformer_engine as engine;
pub use exformer_engine::{Analysis, EngineError, Input, Interventions, LoadOptions};
pub use memory::{memory, memory_budget, set_memory_budget, MemoryBudget};
pub use model::{load, load_with, Model};
pub use serde_json;
pub use widget::AttentionView;

/// The library's version (also used to warm the evcxr build directory).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
