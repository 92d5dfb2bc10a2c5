//! exformer: the library notebook cells use.
//!
//! # Layout
//! - [`engine`]: the models (re-export of `exformer-engine`): load, run, analyses.
//! - [`comm`]: Jupyter comms from inside a cell, over the kernel's bridge.
//! - [`display`]: rich output (display_data, clear_output) with a fallback for stock evcxr.
//!
//! This crate never depends on the kernel or evcxr: it reaches the kernel only through the
//! bridge socket named in the environment.

pub mod comm;
pub mod display;

pub use exformer_engine as engine;
pub use serde_json;

/// The library's version (also used to warm the evcxr build directory).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
