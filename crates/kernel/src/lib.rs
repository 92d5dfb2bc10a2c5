//! exformer-kernel: a Jupyter kernel in Rust. Messaging protocol 5.x over ZeroMQ (tokio),
//! HMAC-SHA256 signed, with a comm manager; cells are Rust, run by the embedded `evcxr`.
//!
//! # Layout
//! The shape is xeus': a server that moves messages, a core that dispatches them, a comm
//! manager, and an interpreter behind a trait.
//! - [`wire`]: multipart framing, `<IDS|MSG>`, HMAC signing and verification, buffers.
//! - [`server`]: the ZeroMQ sockets, the heartbeat, and the loops that receive, verify, sign and
//!   send; requests reach the core on queues stamped with their arrival time. Knows no
//!   message types.
//! - [`core`]: `dispatch` (busy, the handler from the msg_type table or the stop_on_error
//!   abort, idle, all parented to the request), the handlers, execution count, history, stdin
//!   for a running cell, interrupts. Knows no sockets and no language.
//! - [`comm`]: the comm manager: open comms, registered targets, and the routing of comm
//!   traffic (comm_open/msg/close/info) between the front end and the cell process's
//!   bridge, with the displays the cell process sends that way.
//! - [`interpreter`]: the trait the core calls (execute, complete, inspect, is_complete,
//!   interrupt, shutdown), the thread it runs on, and `FailedInterpreter`, the interpreter
//!   that answers every request with the error that stopped the real one from starting.
//! - [`kernel`]: start-up wiring: connection file, server, bridge, core, and the evcxr
//!   interpreter (or a failed one, with Rust's language facts and syntax check).
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
pub mod core;
pub mod evcxr_interpreter;
pub mod history;
pub mod install;
pub mod interpreter;
pub mod kernel;
pub mod server;
pub mod syntax;
pub mod wire;
