//! exformer-kernel: a Jupyter kernel core in Rust. Messaging protocol 5.x over ZeroMQ (tokio),
//! HMAC-SHA256 signed, with a comm manager. The language is a plug-in: an [`Interpreter`] and
//! its [`Language`] come from the caller (the `exformer-evcxr` crate runs Rust cells), as
//! xeus keeps its core apart from xeus-cling and xeus-python.
//!
//! # Layout
//! The shape is xeus': a server that moves messages, a core that dispatches them, a comm
//! manager, and an interpreter behind a trait.
//! - `wire`: multipart framing, `<IDS|MSG>`, HMAC signing and verification, buffers.
//! - `channel`: the seam between server and core: [`Incoming`] requests, an `Outbox` per
//!   channel, the channel kinds.
//! - `server`: the ZeroMQ sockets, the heartbeat, and the loops that receive, verify, sign and
//!   send; requests reach the core on queues stamped with their arrival time. Knows no
//!   message types.
//! - `publisher`: [`Publisher`], what everything publishes on iopub through.
//! - `core`: `dispatch` (busy, the handler from the msg_type table or the stop_on_error
//!   abort, idle, all parented to the request), the handlers, execution count, history, stdin
//!   for a running cell, interrupts. Knows no sockets and no language.
//! - `comm`: the comm manager: open comms, registered targets, and the routing of comm
//!   traffic (comm_open/msg/close/info) between the front end and the cell process's
//!   bridge, with the displays the cell process sends that way.
//! - `interpreter`: the trait the core calls (execute, complete, inspect, is_complete,
//!   interrupt, shutdown), [`Language`], the thread it runs on, and [`FailedInterpreter`],
//!   the interpreter that answers every request with the error that stopped the real one.
//! - `kernel`: start-up wiring ([`run`]): connection file, server, bridge, core, and the
//!   caller's interpreter (or a failed one).
//! - `bridge_server`: the private Unix socket that code in the cell process connects to
//!   (frame format in the `exformer-bridge` crate).
//! - `replies`: reply content from `jupyter-protocol`'s types; character / byte cursors.
//! - `history`, `install` (kernelspec: [`install()`]).
//!
//! Imports run one way: `kernel` → `core` → (`comm`, `publisher`, `channel`, `interpreter`,
//! `history`, `replies`) → `wire`; `server` → `channel`. This crate does not know about tensors, widgets,
//! evcxr or Rust syntax; the `exformer` library (used inside cells) does not depend on it.

mod bridge_server;
mod channel;
mod comm;
mod core;
mod history;
mod install;
pub mod interpreter;
mod kernel;
mod publisher;
mod replies;
mod server;
mod wire;

pub use channel::Incoming;
pub use install::{install, InstallTarget};
pub use interpreter::{
    Completeness, Completion, ExecIo, ExecOutcome, FailedInterpreter, Interpreter, Interrupter,
    Language, LanguageFacts, MimeBundle, StreamName,
};
pub use kernel::{run, InterpreterFactory, KernelIdentity};
pub use publisher::Publisher;
