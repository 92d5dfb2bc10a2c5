//! exformer-evcxr: the Rust interpreter of the exformer kernel (as xeus-cling is xeus' C++ one).
//! Cells are compiled and run by the embedded `evcxr` library in a child process; this crate
//! hands the kernel core an [`Interpreter`](exformer_kernel::Interpreter) plus Rust's language
//! facts and completeness check. The kernel crate knows no evcxr and no Rust syntax.
//!
//! # Layout
//! - [`interpreter`]: [`EvcxrInterpreter`] (execute, complete, inspect, interrupt, shutdown), with
//!   persistent warm build directories.
//! - [`child`]: the start of evcxr's child process, which is this same binary: [`child::hook`]
//!   must run first in `main`; it reports `?` errors and panics to the kernel.
//! - [`cell_errors`]: reads those reports off the child's stderr.
//! - [`syntax`]: `is_complete` for Rust cells.
//! - [`rust_language`]: the language facts for kernel_info_reply; [`language`] bundles them with
//!   the completeness check for the kernel core.

mod cell_errors;
pub mod child;
mod interpreter;
mod syntax;

pub use interpreter::{rust_language, EvcxrInterpreter, EvcxrOptions};
pub use syntax::rust_completeness;

/// What the kernel core needs to know of Rust without an interpreter: the language facts (for a
/// kernel_info_reply before the interpreter is up) and the completeness check (answered even
/// when evcxr failed to start).
pub fn language() -> exformer_kernel::Language {
    exformer_kernel::Language {
        facts: rust_language,
        completeness: rust_completeness,
        start_error: "the Rust interpreter (evcxr) failed to start; see the kernel log",
    }
}
