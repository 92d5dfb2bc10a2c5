//! exformer-kernel: a Jupyter kernel in Rust. Messaging protocol 5.x over ZeroMQ (tokio),
//! HMAC-SHA256 signed, with a comm manager; cells are Rust, run by the embedded `evcxr`.
//!
//! # Layout
//! - [`wire`]: multipart framing, `<IDS|MSG>`, HMAC signing and verification, buffers.
//! - [`interpreter`]: the trait the core calls (execute, complete, inspect, is_complete,
//!   interrupt, shutdown). The core knows nothing else about the language.
//! - [`kernel`]: sockets, the dispatch table of handlers, busy/idle, stdin, control, and the
//!   routing of comm traffic between the front end and evcxr's child process.
//! - [`comm`]: the comm manager (open comms, registered targets).
//! - [`bridge_server`]: the private Unix socket that code in evcxr's child connects to
//!   (frame format in the `exformer-bridge` crate).
//! - [`evcxr_interpreter`]: the evcxr implementation of [`interpreter::Interpreter`], with
//!   persistent warm build directories.
//! - [`child`]: the start of evcxr's child process (reports `?` errors and panics to the kernel);
//!   [`cell_errors`] reads those reports off the child's stderr.
//! - [`history`], [`syntax`] (is_complete), [`install`] (kernelspec).
//!
//! This crate does not know about tensors or widgets; the `exformer` library (used inside
//! cells) does not depend on this crate.

pub mod bridge_server;
pub mod cell_errors;
pub mod child;
pub mod comm;
pub mod evcxr_interpreter;
pub mod history;
pub mod install;
pub mod interpreter;
pub mod kernel;
pub mod syntax;
pub mod wire;
