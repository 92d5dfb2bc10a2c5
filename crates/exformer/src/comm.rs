//! Jupyter comms and rich output from inside a cell.
//!
//! Cells run in evcxr's child process. When that process was started by the exformer kernel,
//! the kernel's bridge socket is named in the environment and this module connects to it on
//! first use. Outside the exformer kernel (stock evcxr_jupyter, a plain program) there is no
//! bridge: [`in_kernel`] is false and callers fall back to static output.
//!
//! ```no_run
//! use exformer::comm::{register_target, CommMessage};
//! register_target("echo", |comm, _open: CommMessage| {
//!     comm.on_msg(|comm, msg| {
//!         let _ = comm.send(msg.data, msg.buffers);
//!     });
//! }).unwrap();
//! ```

use crate::global::{global, ThreadSlots};
use exformer_bridge::{read_frame, write_frame, Frame, ToChild, ToKernel, ENV_KEY, ENV_SOCKET};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Why a comm operation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CommError {
    /// Not running under the exformer kernel (no bridge in the environment).
    NoKernel,
    /// The bridge connection failed or was lost.
    Disconnected(String),
}

impl std::fmt::Display for CommError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommError::NoKernel => write!(
                f,
                "not running in the exformer kernel: comms and widgets are unavailable"
            ),
            CommError::Disconnected(e) => write!(f, "lost the connection to the kernel: {e}"),
        }
    }
}

impl std::error::Error for CommError {}

/// A message received on a comm (or the data of a comm_open).
#[derive(Debug, Clone, Default)]
pub struct CommMessage {
    pub data: Value,
    pub metadata: Value,
    pub buffers: Vec<Vec<u8>>,
}

type MsgHandler = Arc<dyn Fn(&Comm, CommMessage) + Send + Sync>;
type OpenHandler = Arc<dyn Fn(Comm, CommMessage) + Send + Sync>;

/// One end of a Jupyter comm, living in the cell process.
#[derive(Clone, Debug)]
pub struct Comm {
    id: String,
}

struct Client {
    writer: Mutex<UnixStream>,
    seq: AtomicU64,
    flushed: (Mutex<u64>, Condvar),
    targets: Mutex<HashMap<String, OpenHandler>>,
    on_msg: Mutex<HashMap<String, MsgHandler>>,
    on_close: Mutex<HashMap<String, MsgHandler>>,
}

/// The one bridge connection of this process (shared by every cell's copy of this crate).
fn client_slot() -> &'static OnceLock<Result<Arc<Client>, CommError>> {
    global("comm.client", OnceLock::new)
}

/// The token of the front-end message being handled, per thread.
fn current_tokens() -> &'static ThreadSlots<String> {
    global("comm.parent", ThreadSlots::new)
}

/// True when cells can open comms (running under the exformer kernel).
pub fn in_kernel() -> bool {
    client().is_ok()
}

fn client() -> Result<Arc<Client>, CommError> {
    client_slot().get_or_init(connect).clone()
}

fn connect() -> Result<Arc<Client>, CommError> {
    let path = std::env::var_os(ENV_SOCKET).ok_or(CommError::NoKernel)?;
    let key = std::env::var(ENV_KEY).unwrap_or_default();
    let mut stream =
        UnixStream::connect(&path).map_err(|e| CommError::Disconnected(e.to_string()))?;
    write_frame(
        &mut stream,
        &ToKernel::Hello {
            key,
            pid: std::process::id(),
        },
        &[],
    )
    .map_err(|e| CommError::Disconnected(e.to_string()))?;
    let reader = stream
        .try_clone()
        .map_err(|e| CommError::Disconnected(e.to_string()))?;
    let client = Arc::new(Client {
        writer: Mutex::new(stream),
        seq: AtomicU64::new(0),
        flushed: (Mutex::new(0), Condvar::new()),
        targets: Mutex::new(HashMap::new()),
        on_msg: Mutex::new(HashMap::new()),
        on_close: Mutex::new(HashMap::new()),
    });
    let c = client.clone();
    std::thread::Builder::new()
        .name("exformer-bridge".into())
        .spawn(move || reader_loop(c, reader))
        .map_err(|e| CommError::Disconnected(e.to_string()))?;
    Ok(client)
}

fn reader_loop(client: Arc<Client>, mut stream: UnixStream) {
    while let Ok(Some(Frame { msg, buffers })) = read_frame::<_, ToChild>(&mut stream) {
        match msg {
            ToChild::Flushed { seq } => {
                let (lock, cv) = &client.flushed;
                let mut f = lock.lock().unwrap();
                *f = (*f).max(seq);
                cv.notify_all();
            }
            ToChild::Ping { token } => {
                let _ = client.send(&ToKernel::Done { token, error: None }, &[]);
            }
            ToChild::CommOpen {
                comm_id,
                target_name,
                data,
                metadata,
                token,
            } => {
                let handler = client.targets.lock().unwrap().get(&target_name).cloned();
                let error = with_token(&token, || match handler {
                    Some(h) => run_handler(|| {
                        h(
                            Comm {
                                id: comm_id.clone(),
                            },
                            CommMessage {
                                data,
                                metadata,
                                buffers,
                            },
                        )
                    }),
                    None => Some(format!("no handler for target {target_name}")),
                });
                let _ = client.send(&ToKernel::Done { token, error }, &[]);
            }
            ToChild::CommMsg {
                comm_id,
                data,
                metadata,
                token,
            } => {
                let handler = client.on_msg.lock().unwrap().get(&comm_id).cloned();
                let msg = CommMessage {
                    data,
                    metadata,
                    buffers,
                };
                deliver(&client, token, handler, comm_id, msg);
            }
            ToChild::CommClose {
                comm_id,
                data,
                token,
            } => {
                client.on_msg.lock().unwrap().remove(&comm_id);
                let handler = client.on_close.lock().unwrap().remove(&comm_id);
                let msg = CommMessage {
                    data,
                    ..Default::default()
                };
                deliver(&client, token, handler, comm_id, msg);
            }
        }
    }
}

/// Runs a comm's message (or close) handler, if it has one, under the front-end message's token,
/// and tells the kernel it is done (with the panic, if the handler panicked).
fn deliver(
    client: &Client,
    token: String,
    handler: Option<MsgHandler>,
    comm_id: String,
    msg: CommMessage,
) {
    let error = with_token(&token, || {
        handler.and_then(|h| run_handler(|| h(&Comm { id: comm_id }, msg)))
    });
    let _ = client.send(&ToKernel::Done { token, error }, &[]);
}

/// Runs a user handler; a panic becomes an error string instead of killing the bridge thread.
pub(crate) fn run_handler(f: impl FnOnce()) -> Option<String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(()) => None,
        Err(p) => Some(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "handler panicked".into()),
        ),
    }
}

fn with_token<R>(token: &str, f: impl FnOnce() -> R) -> R {
    let prev = current_tokens().replace(Some(token.to_string()));
    let r = f();
    current_tokens().replace(prev);
    r
}

/// The token of the front-end message being handled on this thread; pass it to
/// [`with_parent`] on another thread so output there is parented to the same message.
pub fn current_parent() -> Option<String> {
    current_tokens().get()
}

/// Runs `f` with output parented to the front-end message `parent` (see [`current_parent`]).
pub fn with_parent<R>(parent: Option<String>, f: impl FnOnce() -> R) -> R {
    match parent {
        Some(p) => with_token(&p, f),
        None => f(),
    }
}

impl Client {
    fn send(&self, msg: &ToKernel, buffers: &[Vec<u8>]) -> Result<(), CommError> {
        let mut w = self.writer.lock().unwrap();
        write_frame(&mut *w, msg, buffers).map_err(|e| CommError::Disconnected(e.to_string()))
    }

    fn flush(&self) -> Result<(), CommError> {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.send(&ToKernel::Flush { seq }, &[])?;
        let (lock, cv) = &self.flushed;
        let guard = lock.lock().unwrap();
        let (_g, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(10), |f| *f < seq)
            .unwrap();
        if timeout.timed_out() {
            return Err(CommError::Disconnected(
                "the kernel did not acknowledge within 10 s".into(),
            ));
        }
        Ok(())
    }
}

/// Serve comms that the front end opens with `target_name`. The handler gets the new comm and
/// the comm_open's data; it usually installs [`Comm::on_msg`].
pub fn register_target(
    target_name: &str,
    handler: impl Fn(Comm, CommMessage) + Send + Sync + 'static,
) -> Result<(), CommError> {
    let c = client()?;
    c.targets
        .lock()
        .unwrap()
        .insert(target_name.to_string(), Arc::new(handler));
    c.send(
        &ToKernel::RegisterTarget {
            target_name: target_name.to_string(),
        },
        &[],
    )?;
    c.flush()
}

impl Comm {
    /// Opens a comm from the kernel side; returns once the kernel has published the comm_open.
    pub fn open(
        target_name: &str,
        data: Value,
        metadata: Value,
        buffers: Vec<Vec<u8>>,
    ) -> Result<Comm, CommError> {
        let c = client()?;
        let id = new_id();
        c.send(
            &ToKernel::CommOpen {
                comm_id: id.clone(),
                target_name: target_name.into(),
                data,
                metadata,
                parent: current_parent(),
            },
            &buffers,
        )?;
        c.flush()?;
        Ok(Comm { id })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends a comm_msg with binary buffers.
    pub fn send(&self, data: Value, buffers: Vec<Vec<u8>>) -> Result<(), CommError> {
        self.send_with_metadata(data, json!({}), buffers)
    }

    pub fn send_with_metadata(
        &self,
        data: Value,
        metadata: Value,
        buffers: Vec<Vec<u8>>,
    ) -> Result<(), CommError> {
        client()?.send(
            &ToKernel::CommMsg {
                comm_id: self.id.clone(),
                data,
                metadata,
                parent: current_parent(),
            },
            &buffers,
        )
    }

    /// Handle messages the front end sends on this comm (replaces an earlier handler).
    pub fn on_msg(&self, handler: impl Fn(&Comm, CommMessage) + Send + Sync + 'static) {
        if let Ok(c) = client() {
            c.on_msg
                .lock()
                .unwrap()
                .insert(self.id.clone(), Arc::new(handler));
        }
    }

    /// Called when the front end closes this comm.
    pub fn on_close(&self, handler: impl Fn(&Comm, CommMessage) + Send + Sync + 'static) {
        if let Ok(c) = client() {
            c.on_close
                .lock()
                .unwrap()
                .insert(self.id.clone(), Arc::new(handler));
        }
    }

    pub fn close(&self, data: Value) -> Result<(), CommError> {
        let c = client()?;
        c.on_msg.lock().unwrap().remove(&self.id);
        c.on_close.lock().unwrap().remove(&self.id);
        c.send(
            &ToKernel::CommClose {
                comm_id: self.id.clone(),
                data,
                parent: current_parent(),
            },
            &[],
        )
    }
}

/// Publishes display_data (or update_display_data when `update`) with a MIME bundle.
pub fn display(
    bundle: Value,
    metadata: Value,
    display_id: Option<&str>,
    update: bool,
) -> Result<(), CommError> {
    let c = client()?;
    c.send(
        &ToKernel::Display {
            data: bundle,
            metadata,
            display_id: display_id.map(String::from),
            update,
            parent: current_parent(),
        },
        &[],
    )
}

/// Publishes clear_output for the current cell (or the front-end message being handled).
pub fn clear_output(wait: bool) -> Result<(), CommError> {
    client()?.send(
        &ToKernel::ClearOutput {
            wait,
            parent: current_parent(),
        },
        &[],
    )
}

/// Waits until the kernel has published everything this process sent so far.
pub fn flush() -> Result<(), CommError> {
    client()?.flush()
}

fn new_id() -> String {
    format!("exf-{}", crate::global::unique_id())
}
