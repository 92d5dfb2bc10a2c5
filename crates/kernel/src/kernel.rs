//! The kernel core: five ZeroMQ sockets on tokio, HMAC-checked messages, a dispatch table of
//! handlers, busy/idle bracketing, the comm manager and the bridge to evcxr's child.
//!
//! The core knows the [`Interpreter`] trait and nothing else about the language: the
//! interpreter runs on its own thread and the core sends it jobs.

use crate::bridge_server::{self, BridgeDir, BridgeEvent, BridgeHandle};
use crate::comm::CommManager;
use crate::history::History;
use crate::interpreter::{
    Completeness, ExecIo, ExecOutcome, Interpreter, Interrupter, MimeBundle, StreamName,
};
use crate::wire::{Message, Signer};
use bytes::Bytes;
use exformer_bridge::{Frame, ToChild, ToKernel};
use jupyter_protocol::{
    CommClose, CommInfoRequest, CommMsg, CommOpen, CompleteRequest, ConnectionInfo, ExecuteRequest,
    InspectRequest, IsCompleteRequest, ShutdownRequest,
};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

/// Builds the interpreter on the interpreter thread, after the bridge environment is set.
pub type InterpreterFactory = Box<dyn FnOnce() -> Result<Box<dyn Interpreter>, String> + Send>;

/// Facts about this kernel for kernel_info_reply.
#[derive(Clone)]
pub struct KernelIdentity {
    pub implementation: String,
    pub implementation_version: String,
    pub help_links: Vec<(String, String)>,
}

enum Job {
    Execute {
        code: String,
        io: Arc<dyn ExecIo>,
        reply: oneshot::Sender<ExecOutcome>,
    },
    Complete {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<crate::interpreter::Completion>,
    },
    Inspect {
        code: String,
        cursor: usize,
        detail: u8,
        reply: oneshot::Sender<Option<MimeBundle>>,
    },
    IsComplete {
        code: String,
        reply: oneshot::Sender<Completeness>,
    },
    Shutdown {
        restart: bool,
        reply: oneshot::Sender<()>,
    },
}

type Sender = Arc<tokio::sync::Mutex<zeromq::RouterSendHalf>>;

/// Which socket a request came in on, so its reply goes back the same way.
#[derive(Clone)]
struct Channel {
    sender: Sender,
    name: &'static str,
}

struct Core {
    signer: Signer,
    session: String,
    identity: KernelIdentity,
    iopub: mpsc::UnboundedSender<Message>,
    stdin: Sender,
    jobs: std::sync::mpsc::Sender<Job>,
    interrupter: Mutex<Option<Arc<dyn Interrupter>>>,
    language: Mutex<Option<crate::interpreter::LanguageFacts>>,
    executing: AtomicBool,
    /// Set by a failed execute_request with stop_on_error to the moment it failed: executes that
    /// arrived before then were queued behind the failure and are aborted; later ones run.
    abort_before: Mutex<Option<std::time::Instant>>,
    execution_count: AtomicI64,
    history: Mutex<History>,
    comms: Mutex<CommManager>,
    bridge: BridgeHandle,
    /// The request being (or last) served on shell: parent of unparented child output.
    current: Mutex<Option<Message>>,
    /// Front-end messages forwarded to the child, by token (bounded).
    tokens: Mutex<VecDeque<(String, Message)>>,
    done_waiters: Mutex<HashMap<String, oneshot::Sender<Option<String>>>>,
    pending_input: Mutex<Option<std::sync::mpsc::Sender<Result<String, String>>>>,
    shutdown: tokio::sync::Notify,
    /// True once the interpreter has started (or failed to): kernel_info waits for it, so front
    /// ends see the kernel as starting while evcxr initialises instead of timing out a first cell.
    ready: tokio::sync::watch::Sender<bool>,
    runtime: tokio::runtime::Handle,
}

type Handler = fn(Arc<Core>, Message, Channel) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// The dispatch table: msg_type → handler. Control gets the same table; its own entries win.
fn handler(msg_type: &str) -> Option<Handler> {
    const TABLE: &[(&str, Handler)] = &[
        ("kernel_info_request", |c, m, ch| {
            Box::pin(kernel_info(c, m, ch))
        }),
        ("execute_request", |c, m, ch| Box::pin(execute(c, m, ch))),
        ("complete_request", |c, m, ch| Box::pin(complete(c, m, ch))),
        ("inspect_request", |c, m, ch| Box::pin(inspect(c, m, ch))),
        ("is_complete_request", |c, m, ch| {
            Box::pin(is_complete(c, m, ch))
        }),
        ("history_request", |c, m, ch| Box::pin(history(c, m, ch))),
        ("comm_info_request", |c, m, ch| {
            Box::pin(comm_info(c, m, ch))
        }),
        ("comm_open", |c, m, ch| Box::pin(comm_open(c, m, ch))),
        ("comm_msg", |c, m, ch| Box::pin(comm_msg(c, m, ch))),
        ("comm_close", |c, m, ch| Box::pin(comm_close(c, m, ch))),
        ("shutdown_request", |c, m, ch| Box::pin(shutdown(c, m, ch))),
        ("interrupt_request", |c, m, ch| {
            Box::pin(interrupt(c, m, ch))
        }),
    ];
    TABLE.iter().find(|(t, _)| *t == msg_type).map(|(_, h)| *h)
}

impl Core {
    fn publish(&self, msg_type: &str, content: Value, parent: Option<&Message>) {
        self.publish_with(msg_type, content, parent, json!({}), Vec::new());
    }

    fn publish_with(
        &self,
        msg_type: &str,
        content: Value,
        parent: Option<&Message>,
        metadata: Value,
        buffers: Vec<Bytes>,
    ) {
        let mut m = Message::new(msg_type, content, parent, &self.session);
        m.identities.clear();
        m.metadata = metadata;
        m.buffers = buffers;
        let _ = self.iopub.send(m);
    }

    fn status(&self, state: &str, parent: Option<&Message>) {
        self.publish("status", json!({ "execution_state": state }), parent);
    }

    async fn reply(&self, ch: &Channel, parent: &Message, msg_type: &str, content: Value) {
        let m = Message::new(msg_type, content, Some(parent), &self.session);
        send_frames(&ch.sender, m.to_frames(&self.signer)).await;
    }

    fn parent_for(&self, token: &Option<String>) -> Option<Message> {
        if let Some(t) = token {
            if let Some((_, m)) = self.tokens.lock().unwrap().iter().find(|(k, _)| k == t) {
                return Some(m.clone());
            }
        }
        self.current.lock().unwrap().clone()
    }

    async fn job<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Job) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(make(tx)).ok()?;
        rx.await.ok()
    }
}

async fn send_frames(sender: &Sender, frames: Vec<Bytes>) {
    if let Ok(zm) = ZmqMessage::try_from(frames) {
        if let Err(e) = sender.lock().await.send(zm).await {
            eprintln!("exformer: send failed: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn kernel_info(core: Arc<Core>, msg: Message, ch: Channel) {
    let mut ready = core.ready.subscribe();
    let _ = tokio::time::timeout(Duration::from_secs(300), ready.wait_for(|r| *r)).await;
    let lang = core.language.lock().unwrap().clone();
    let lang = lang.unwrap_or_else(crate::evcxr_interpreter::rust_language);
    let help: Vec<Value> = core
        .identity
        .help_links
        .iter()
        .map(|(t, u)| json!({"text": t, "url": u}))
        .collect();
    let content = json!({
        "status": "ok",
        "protocol_version": crate::wire::PROTOCOL_VERSION,
        "implementation": core.identity.implementation,
        "implementation_version": core.identity.implementation_version,
        "language_info": {
            "name": lang.name,
            "version": lang.version,
            "mimetype": lang.mimetype,
            "file_extension": lang.file_extension,
            "pygments_lexer": lang.pygments_lexer,
            "codemirror_mode": lang.codemirror_mode,
        },
        "banner": lang.banner,
        "help_links": help,
        "debugger": false,
        "supported_features": ["iopub_welcome"],
    });
    core.reply(&ch, &msg, "kernel_info_reply", content).await;
}

async fn execute(core: Arc<Core>, msg: Message, ch: Channel) {
    let req: ExecuteRequest = match msg.content_as() {
        Ok(r) => r,
        Err(e) => {
            let content = json!({"status": "error", "ename": "BadRequest", "evalue": e, "traceback": [e], "execution_count": core.execution_count.load(Ordering::SeqCst)});
            core.reply(&ch, &msg, "execute_reply", content).await;
            return;
        }
    };
    let silent = req.silent;
    let store = req.store_history && !silent;
    let count = if store {
        core.execution_count.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        core.execution_count.load(Ordering::SeqCst)
    };
    if !silent {
        core.publish(
            "execute_input",
            json!({"code": req.code, "execution_count": count}),
            Some(&msg),
        );
    }
    let io: Arc<dyn ExecIo> = Arc::new(KernelIo {
        core: Arc::downgrade(&core),
        parent: msg.clone(),
        silent,
        allow_stdin: req.allow_stdin,
    });
    core.executing.store(true, Ordering::SeqCst);
    let outcome = core
        .job(|reply| Job::Execute {
            code: req.code.clone(),
            io,
            reply,
        })
        .await
        .unwrap_or_else(|| ExecOutcome::Error {
            ename: "KernelError".into(),
            evalue: "the interpreter thread is gone".into(),
            traceback: vec!["the interpreter thread is gone".into()],
        });
    core.executing.store(false, Ordering::SeqCst);
    sync_with_child(&core).await;
    match outcome {
        ExecOutcome::Ok { result } => {
            let mut output_text = None;
            if let Some(data) = result.filter(|d| !d.is_empty()) {
                output_text = data
                    .get("text/plain")
                    .and_then(|v| v.as_str())
                    .map(String::from);
                if !silent {
                    core.publish(
                        "execute_result",
                        json!({"execution_count": count, "data": data, "metadata": {}}),
                        Some(&msg),
                    );
                }
            }
            if store {
                core.history
                    .lock()
                    .unwrap()
                    .record(count, &req.code, output_text);
            }
            let content = json!({"status": "ok", "execution_count": count, "payload": [], "user_expressions": {}});
            core.reply(&ch, &msg, "execute_reply", content).await;
        }
        ExecOutcome::Error {
            ename,
            evalue,
            traceback,
        } => {
            if store {
                core.history.lock().unwrap().record(count, &req.code, None);
            }
            if req.stop_on_error {
                *core.abort_before.lock().unwrap() = Some(std::time::Instant::now());
            }
            if !silent {
                core.publish(
                    "error",
                    json!({"ename": ename, "evalue": evalue, "traceback": traceback}),
                    Some(&msg),
                );
            }
            let content = json!({"status": "error", "execution_count": count, "ename": ename, "evalue": evalue, "traceback": traceback});
            core.reply(&ch, &msg, "execute_reply", content).await;
        }
    }
}

/// Output of a running cell, parented to its execute_request.
struct KernelIo {
    core: std::sync::Weak<Core>,
    parent: Message,
    silent: bool,
    allow_stdin: bool,
}

impl ExecIo for KernelIo {
    fn stream(&self, name: StreamName, text: &str) {
        if let (Some(core), false) = (self.core.upgrade(), self.silent) {
            core.publish(
                "stream",
                json!({"name": name.as_str(), "text": text}),
                Some(&self.parent),
            );
        }
    }

    fn display(&self, data: MimeBundle, metadata: Value, display_id: Option<String>, update: bool) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        if self.silent {
            return;
        }
        let transient = display_id
            .map(|d| json!({"display_id": d}))
            .unwrap_or(json!({}));
        let msg_type = if update {
            "update_display_data"
        } else {
            "display_data"
        };
        core.publish(
            msg_type,
            json!({"data": data, "metadata": metadata, "transient": transient}),
            Some(&self.parent),
        );
    }

    fn clear_output(&self, wait: bool) {
        if let Some(core) = self.core.upgrade() {
            core.publish("clear_output", json!({"wait": wait}), Some(&self.parent));
        }
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String, String> {
        if !self.allow_stdin {
            return Err("this front end does not accept input (allow_stdin is false)".into());
        }
        let core = self.core.upgrade().ok_or("kernel is shutting down")?;
        let (tx, rx) = std::sync::mpsc::channel();
        *core.pending_input.lock().unwrap() = Some(tx);
        let m = Message::new(
            "input_request",
            json!({"prompt": prompt, "password": password}),
            Some(&self.parent),
            &core.session,
        );
        let frames = m.to_frames(&core.signer);
        let stdin = core.stdin.clone();
        // This runs on the interpreter's own thread: hand the send to the kernel's runtime.
        core.runtime
            .spawn(async move { send_frames(&stdin, frames).await });
        drop(core);
        rx.recv()
            .unwrap_or_else(|_| Err("input was cancelled".into()))
    }
}

async fn complete(core: Arc<Core>, msg: Message, ch: Channel) {
    let req: CompleteRequest = msg.content_as().unwrap_or_default();
    let cursor = char_to_byte(&req.code, req.cursor_pos);
    let c = core
        .job(|reply| Job::Complete {
            code: req.code.clone(),
            cursor,
            reply,
        })
        .await
        .unwrap_or_default();
    let content = json!({
        "status": "ok",
        "matches": c.matches,
        "cursor_start": byte_to_char(&req.code, c.cursor_start),
        "cursor_end": byte_to_char(&req.code, c.cursor_end),
        "metadata": {},
    });
    core.reply(&ch, &msg, "complete_reply", content).await;
}

async fn inspect(core: Arc<Core>, msg: Message, ch: Channel) {
    let req: InspectRequest = msg.content_as().unwrap_or_default();
    let cursor = char_to_byte(&req.code, req.cursor_pos);
    let detail = req.detail_level.unwrap_or(0) as u8;
    let found = core
        .job(|reply| Job::Inspect {
            code: req.code.clone(),
            cursor,
            detail,
            reply,
        })
        .await
        .flatten();
    let content = match found {
        Some(data) => json!({"status": "ok", "found": true, "data": data, "metadata": {}}),
        None => json!({"status": "ok", "found": false, "data": {}, "metadata": {}}),
    };
    core.reply(&ch, &msg, "inspect_reply", content).await;
}

async fn is_complete(core: Arc<Core>, msg: Message, ch: Channel) {
    let req: IsCompleteRequest = msg.content_as().unwrap_or_default();
    let c = core
        .job(|reply| Job::IsComplete {
            code: req.code.clone(),
            reply,
        })
        .await
        .unwrap_or(Completeness::Unknown);
    let content = match c {
        Completeness::Complete => json!({"status": "complete"}),
        Completeness::Incomplete { indent } => json!({"status": "incomplete", "indent": indent}),
        Completeness::Invalid => json!({"status": "invalid"}),
        Completeness::Unknown => json!({"status": "unknown"}),
    };
    core.reply(&ch, &msg, "is_complete_reply", content).await;
}

async fn history(core: Arc<Core>, msg: Message, ch: Channel) {
    let entries = core.history.lock().unwrap().query(&msg.content);
    core.reply(
        &ch,
        &msg,
        "history_reply",
        json!({"status": "ok", "history": entries}),
    )
    .await;
}

async fn comm_info(core: Arc<Core>, msg: Message, ch: Channel) {
    let req: CommInfoRequest = msg.content_as().unwrap_or_default();
    let comms = core.comms.lock().unwrap().info(req.target_name.as_deref());
    core.reply(
        &ch,
        &msg,
        "comm_info_reply",
        json!({"status": "ok", "comms": comms}),
    )
    .await;
}

/// Forwards a front-end comm message to the child and waits until the child has handled it,
/// so everything the handler sends lands inside this request's busy/idle.
async fn forward_to_child(core: &Arc<Core>, msg: &Message, make: impl FnOnce(String) -> ToChild) {
    let token = uuid::Uuid::new_v4().simple().to_string();
    {
        let mut t = core.tokens.lock().unwrap();
        t.push_back((token.clone(), msg.clone()));
        while t.len() > 512 {
            t.pop_front();
        }
    }
    let (tx, rx) = oneshot::channel();
    core.done_waiters.lock().unwrap().insert(token.clone(), tx);
    let buffers: Vec<Vec<u8>> = msg.buffers.iter().map(|b| b.to_vec()).collect();
    if !core.bridge.send(&make(token.clone()), &buffers) {
        core.done_waiters.lock().unwrap().remove(&token);
        return;
    }
    match tokio::time::timeout(Duration::from_secs(600), rx).await {
        Ok(Ok(Some(err))) => eprintln!("exformer: comm handler failed: {err}"),
        Ok(_) => {}
        Err(_) => {
            core.done_waiters.lock().unwrap().remove(&token);
            eprintln!("exformer: comm handler did not finish within 600 s");
        }
    }
}

/// Waits until every frame the child wrote so far has been published (bounded wait).
async fn sync_with_child(core: &Arc<Core>) {
    if !core.bridge.connected() {
        return;
    }
    let token = format!("ping-{}", uuid::Uuid::new_v4().simple());
    let (tx, rx) = oneshot::channel();
    core.done_waiters.lock().unwrap().insert(token.clone(), tx);
    if core.bridge.send(
        &ToChild::Ping {
            token: token.clone(),
        },
        &[],
    ) {
        let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
    }
    core.done_waiters.lock().unwrap().remove(&token);
}

async fn comm_open(core: Arc<Core>, msg: Message, _ch: Channel) {
    let req: CommOpen = match msg.content_as() {
        Ok(r) => r,
        Err(e) => return eprintln!("exformer: {e}"),
    };
    let id = req.comm_id.0.clone();
    let served = core.comms.lock().unwrap().has_target(&req.target_name) && core.bridge.connected();
    if !served {
        // Unknown target: close it right away so the front end does not wait on it.
        core.publish("comm_close", json!({"comm_id": id, "data": {}}), Some(&msg));
        return;
    }
    core.comms.lock().unwrap().open(&id, &req.target_name);
    let metadata = msg.metadata.clone();
    forward_to_child(&core, &msg, |token| ToChild::CommOpen {
        comm_id: id,
        target_name: req.target_name,
        data: Value::Object(req.data),
        metadata,
        token,
    })
    .await;
}

async fn comm_msg(core: Arc<Core>, msg: Message, _ch: Channel) {
    let req: CommMsg = match msg.content_as() {
        Ok(r) => r,
        Err(e) => return eprintln!("exformer: {e}"),
    };
    let id = req.comm_id.0.clone();
    if core.comms.lock().unwrap().get(&id).is_none() {
        eprintln!("exformer: comm_msg for unknown comm {id}");
        return;
    }
    let metadata = msg.metadata.clone();
    forward_to_child(&core, &msg, |token| ToChild::CommMsg {
        comm_id: id,
        data: Value::Object(req.data),
        metadata,
        token,
    })
    .await;
}

async fn comm_close(core: Arc<Core>, msg: Message, _ch: Channel) {
    let req: CommClose = match msg.content_as() {
        Ok(r) => r,
        Err(e) => return eprintln!("exformer: {e}"),
    };
    let id = req.comm_id.0.clone();
    if core.comms.lock().unwrap().close(&id).is_none() {
        return;
    }
    forward_to_child(&core, &msg, |token| ToChild::CommClose {
        comm_id: id,
        data: Value::Object(req.data),
        token,
    })
    .await;
}

async fn shutdown(core: Arc<Core>, msg: Message, ch: Channel) {
    let req: ShutdownRequest = msg.content_as().unwrap_or_default();
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        core.job(|reply| Job::Shutdown {
            restart: req.restart,
            reply,
        }),
    )
    .await;
    core.reply(
        &ch,
        &msg,
        "shutdown_reply",
        json!({"status": "ok", "restart": req.restart}),
    )
    .await;
    core.shutdown.notify_one();
}

async fn interrupt(core: Arc<Core>, msg: Message, ch: Channel) {
    // Unblock a cell waiting for input.
    if let Some(tx) = core.pending_input.lock().unwrap().take() {
        let _ = tx.send(Err("interrupted".into()));
    }
    if core.executing.load(Ordering::SeqCst) {
        let i = core.interrupter.lock().unwrap().clone();
        if let Some(i) = i {
            i.interrupt();
        }
    }
    core.reply(&ch, &msg, "interrupt_reply", json!({"status": "ok"}))
        .await;
}

fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices()
        .nth(chars)
        .map(|(b, _)| b)
        .unwrap_or(s.len())
}

fn byte_to_char(s: &str, byte: usize) -> usize {
    s[..byte.min(s.len())].chars().count()
}

// ---------------------------------------------------------------------------------------------
// Child (bridge) traffic

fn on_bridge_event(core: &Arc<Core>, ev: BridgeEvent) {
    match ev {
        BridgeEvent::Disconnected => {
            let ids = core.comms.lock().unwrap().drop_child();
            let parent = core.current.lock().unwrap().clone();
            for id in ids {
                core.publish(
                    "comm_close",
                    json!({"comm_id": id, "data": {}}),
                    parent.as_ref(),
                );
            }
            for (_, w) in core.done_waiters.lock().unwrap().drain() {
                let _ = w.send(Some("the cell process went away".into()));
            }
        }
        BridgeEvent::Frame(Frame { msg, buffers }) => {
            let buffers: Vec<Bytes> = buffers.into_iter().map(Bytes::from).collect();
            match msg {
                ToKernel::Hello { .. } => {}
                ToKernel::RegisterTarget { target_name } => {
                    core.comms.lock().unwrap().register_target(&target_name)
                }
                ToKernel::UnregisterTarget { target_name } => {
                    core.comms.lock().unwrap().unregister_target(&target_name)
                }
                ToKernel::CommOpen {
                    comm_id,
                    target_name,
                    data,
                    metadata,
                    parent,
                } => {
                    core.comms.lock().unwrap().open(&comm_id, &target_name);
                    let p = core.parent_for(&parent);
                    let content =
                        json!({"comm_id": comm_id, "target_name": target_name, "data": data});
                    core.publish_with(
                        "comm_open",
                        content,
                        p.as_ref(),
                        object_or_empty(metadata),
                        buffers,
                    );
                }
                ToKernel::CommMsg {
                    comm_id,
                    data,
                    metadata,
                    parent,
                } => {
                    let p = core.parent_for(&parent);
                    core.publish_with(
                        "comm_msg",
                        json!({"comm_id": comm_id, "data": data}),
                        p.as_ref(),
                        object_or_empty(metadata),
                        buffers,
                    );
                }
                ToKernel::CommClose {
                    comm_id,
                    data,
                    parent,
                } => {
                    core.comms.lock().unwrap().close(&comm_id);
                    let p = core.parent_for(&parent);
                    core.publish(
                        "comm_close",
                        json!({"comm_id": comm_id, "data": object_or_empty(data)}),
                        p.as_ref(),
                    );
                }
                ToKernel::Display {
                    data,
                    metadata,
                    display_id,
                    update,
                    parent,
                } => {
                    let p = core.parent_for(&parent);
                    let transient = display_id
                        .map(|d| json!({"display_id": d}))
                        .unwrap_or(json!({}));
                    let t = if update {
                        "update_display_data"
                    } else {
                        "display_data"
                    };
                    core.publish(t, json!({"data": data, "metadata": object_or_empty(metadata), "transient": transient}), p.as_ref());
                }
                ToKernel::ClearOutput { wait, parent } => {
                    let p = core.parent_for(&parent);
                    core.publish("clear_output", json!({"wait": wait}), p.as_ref());
                }
                ToKernel::Flush { seq } => {
                    core.bridge.send(&ToChild::Flushed { seq }, &[]);
                }
                ToKernel::Done { token, error } => {
                    if let Some(w) = core.done_waiters.lock().unwrap().remove(&token) {
                        let _ = w.send(error);
                    }
                }
            }
        }
    }
}

fn object_or_empty(v: Value) -> Value {
    if v.is_object() {
        v
    } else {
        json!({})
    }
}

// ---------------------------------------------------------------------------------------------
// Start-up

fn endpoint(info: &ConnectionInfo, port: u16) -> String {
    format!("{}://{}:{}", info.transport, info.ip, port)
}

/// Runs the kernel for a connection file until shutdown.
pub fn run(
    connection_file: &Path,
    identity: KernelIdentity,
    factory: InterpreterFactory,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(connection_file).map_err(|e| {
        anyhow::anyhow!(
            "cannot read connection file {}: {e}",
            connection_file.display()
        )
    })?;
    let info: ConnectionInfo = serde_json::from_str(&text)?;
    if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
        anyhow::bail!("unsupported signature scheme {}", info.signature_scheme);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(serve(info, identity, factory))
}

async fn serve(
    info: ConnectionInfo,
    identity: KernelIdentity,
    factory: InterpreterFactory,
) -> anyhow::Result<()> {
    let signer = Signer::new(&info.key);
    let session = uuid::Uuid::new_v4().to_string();

    let mut shell = zeromq::RouterSocket::new();
    shell.bind(&endpoint(&info, info.shell_port)).await?;
    let mut control = zeromq::RouterSocket::new();
    control.bind(&endpoint(&info, info.control_port)).await?;
    let mut stdin = zeromq::RouterSocket::new();
    stdin.bind(&endpoint(&info, info.stdin_port)).await?;
    let mut iopub = zeromq::XPubSocket::new();
    iopub.bind(&endpoint(&info, info.iopub_port)).await?;
    let mut hb = zeromq::RepSocket::new();
    hb.bind(&endpoint(&info, info.hb_port)).await?;

    let (bridge_tx, mut bridge_rx) = mpsc::unbounded_channel();
    let bridge = bridge_server::start(bridge_tx)?;
    let _bridge_dir = BridgeDir(
        bridge
            .socket_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    );
    for (k, v) in bridge.env() {
        std::env::set_var(k, v);
    }

    let (shell_send, mut shell_recv) = shell.split();
    let (control_send, mut control_recv) = control.split();
    let (stdin_send, mut stdin_recv) = stdin.split();
    let (iopub_tx, mut iopub_rx) = mpsc::unbounded_channel::<Message>();
    let (job_tx, job_rx) = std::sync::mpsc::channel::<Job>();

    let history_path = std::env::var_os("EXFORMER_HISTORY")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local/share/exformer/history.jsonl"))
        });
    let core = Arc::new(Core {
        signer: signer.clone(),
        session: session.clone(),
        identity,
        iopub: iopub_tx,
        stdin: Arc::new(tokio::sync::Mutex::new(stdin_send)),
        jobs: job_tx,
        interrupter: Mutex::new(None),
        language: Mutex::new(None),
        executing: AtomicBool::new(false),
        abort_before: Mutex::new(None),
        execution_count: AtomicI64::new(0),
        history: Mutex::new(History::open(history_path)),
        comms: Mutex::new(CommManager::default()),
        bridge,
        current: Mutex::new(None),
        tokens: Mutex::new(VecDeque::new()),
        done_waiters: Mutex::new(HashMap::new()),
        pending_input: Mutex::new(None),
        shutdown: tokio::sync::Notify::new(),
        ready: tokio::sync::watch::channel(false).0,
        runtime: tokio::runtime::Handle::current(),
    });

    // iopub: publishes queued messages; answers subscriptions with iopub_welcome.
    let iopub_signer = signer.clone();
    let iopub_session = session.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                m = iopub_rx.recv() => {
                    let Some(m) = m else { break };
                    let mut frames = vec![Bytes::from(format!("kernel.{}.{}", iopub_session, m.msg_type()))];
                    frames.extend(m.to_frames(&iopub_signer));
                    if let Ok(zm) = ZmqMessage::try_from(frames) {
                        let _ = iopub.send(zm).await;
                    }
                }
                sub = iopub.recv() => {
                    if let Ok(sub) = sub {
                        let f = sub.get(0).cloned().unwrap_or_default();
                        if f.first() == Some(&1) {
                            let topic = String::from_utf8_lossy(&f[1..]).to_string();
                            let m = Message::new("iopub_welcome", json!({"subscription": topic}), None, &iopub_session);
                            let mut frames = vec![Bytes::from(f[1..].to_vec())];
                            frames.extend(m.to_frames(&iopub_signer));
                            if let Ok(zm) = ZmqMessage::try_from(frames) {
                                let _ = iopub.send(zm).await;
                            }
                        }
                    }
                }
            }
        }
    });

    // Heartbeat: echo. A peer that leaves mid-request (or sends junk) must not stop the echo for
    // everyone else, so errors are logged and the loop goes on.
    tokio::spawn(async move {
        loop {
            match hb.recv().await {
                Ok(m) => {
                    if let Err(e) = hb.send(m).await {
                        eprintln!("exformer: heartbeat reply not sent: {e}");
                    }
                }
                Err(e) => {
                    eprintln!("exformer: heartbeat receive failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    });

    // stdin: input replies for a waiting cell.
    let c = core.clone();
    tokio::spawn(async move {
        while let Ok(zm) = stdin_recv.recv().await {
            match Message::from_frames(zm.into_vec(), &c.signer) {
                Ok(m) if m.msg_type() == "input_reply" => {
                    let value = m.content["value"].as_str().unwrap_or_default().to_string();
                    if let Some(tx) = c.pending_input.lock().unwrap().take() {
                        let _ = tx.send(Ok(value));
                    }
                }
                Ok(m) => eprintln!("exformer: ignoring {} on stdin", m.msg_type()),
                Err(e) => eprintln!("exformer: rejected a stdin message: {e}"),
            }
        }
    });

    // Bridge events from the child.
    let c = core.clone();
    tokio::spawn(async move {
        while let Some(ev) = bridge_rx.recv().await {
            on_bridge_event(&c, ev);
        }
    });

    // The interpreter thread.
    let c = core.clone();
    std::thread::Builder::new()
        .name("interpreter".into())
        .spawn(move || interpreter_thread(c, factory, job_rx))?;

    core.status("starting", None);

    // Control: served immediately, concurrently with shell.
    let c = core.clone();
    let control_ch = Channel {
        sender: Arc::new(tokio::sync::Mutex::new(control_send)),
        name: "control",
    };
    tokio::spawn(async move {
        while let Ok(zm) = control_recv.recv().await {
            let m = match Message::from_frames(zm.into_vec(), &c.signer) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("exformer: rejected a control message: {e}");
                    continue;
                }
            };
            let h = handler(m.msg_type());
            c.status("busy", Some(&m));
            match h {
                Some(h) => h(c.clone(), m.clone(), control_ch.clone()).await,
                None => eprintln!(
                    "exformer: no handler for {} on {}",
                    m.msg_type(),
                    control_ch.name
                ),
            }
            c.status("idle", Some(&m));
        }
    });

    // Shell: one request at a time, in order. Each message carries the moment it arrived, so
    // stop_on_error aborts exactly the executes that were already queued when a cell failed.
    let (queue_tx, mut queue_rx) = mpsc::unbounded_channel::<(std::time::Instant, Message)>();
    let c = core.clone();
    tokio::spawn(async move {
        while let Ok(zm) = shell_recv.recv().await {
            match Message::from_frames(zm.into_vec(), &c.signer) {
                Ok(m) => {
                    let _ = queue_tx.send((std::time::Instant::now(), m));
                }
                Err(e) => eprintln!("exformer: rejected a shell message: {e}"),
            }
        }
    });
    let c = core.clone();
    let shell_ch = Channel {
        sender: Arc::new(tokio::sync::Mutex::new(shell_send)),
        name: "shell",
    };
    tokio::spawn(async move {
        while let Some((arrived, m)) = queue_rx.recv().await {
            *c.current.lock().unwrap() = Some(m.clone());
            c.status("busy", Some(&m));
            let failed_at = *c.abort_before.lock().unwrap();
            if m.msg_type() == "execute_request" && failed_at.is_some_and(|t| arrived < t) {
                let content = json!({"status": "aborted", "execution_count": c.execution_count.load(Ordering::SeqCst)});
                c.reply(&shell_ch, &m, "execute_reply", content).await;
            } else {
                match handler(m.msg_type()) {
                    Some(h) => h(c.clone(), m.clone(), shell_ch.clone()).await,
                    None => eprintln!(
                        "exformer: no handler for {} on {}",
                        m.msg_type(),
                        shell_ch.name
                    ),
                }
            }
            c.status("idle", Some(&m));
        }
    });

    // SIGINT (interrupt_mode "signal" front ends) interrupts the running cell instead of killing us.
    let c = core.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if c.executing.load(Ordering::SeqCst) {
                let i = c.interrupter.lock().unwrap().clone();
                if let Some(i) = i {
                    i.interrupt();
                }
            }
        }
    });

    core.shutdown.notified().await;
    // Let iopub drain.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

fn interpreter_thread(
    core: Arc<Core>,
    factory: InterpreterFactory,
    jobs: std::sync::mpsc::Receiver<Job>,
) {
    let mut interp = match factory() {
        Ok(i) => Some(i),
        Err(e) => {
            eprintln!("exformer: the interpreter failed to start: {e}");
            None
        }
    };
    let init_error = "the Rust interpreter (evcxr) failed to start; see the kernel log";
    if let Some(i) = &interp {
        *core.interrupter.lock().unwrap() = Some(i.interrupter());
        *core.language.lock().unwrap() = Some(i.language());
    }
    core.ready.send_replace(true);
    while let Ok(job) = jobs.recv() {
        match (job, interp.as_mut()) {
            (Job::Execute { code, io, reply }, Some(i)) => {
                let out = i.execute(&code, io);
                let _ = reply.send(out);
            }
            (Job::Execute { reply, .. }, None) => {
                let _ = reply.send(ExecOutcome::Error {
                    ename: "KernelError".into(),
                    evalue: init_error.into(),
                    traceback: vec![init_error.into()],
                });
            }
            (
                Job::Complete {
                    code,
                    cursor,
                    reply,
                },
                Some(i),
            ) => {
                let _ = reply.send(i.complete(&code, cursor));
            }
            (
                Job::Inspect {
                    code,
                    cursor,
                    detail,
                    reply,
                },
                Some(i),
            ) => {
                let _ = reply.send(i.inspect(&code, cursor, detail));
            }
            (Job::IsComplete { code, reply }, Some(i)) => {
                let _ = reply.send(i.is_complete(&code));
            }
            (Job::IsComplete { code, reply }, None) => {
                let _ = reply.send(crate::syntax::rust_completeness(&code));
            }
            (Job::Shutdown { restart, reply }, Some(i)) => {
                i.shutdown(restart);
                let _ = reply.send(());
            }
            (Job::Complete { reply, .. }, None) => {
                let _ = reply.send(Default::default());
            }
            (Job::Inspect { reply, .. }, None) => {
                let _ = reply.send(None);
            }
            (Job::Shutdown { reply, .. }, None) => {
                let _ = reply.send(());
            }
        }
    }
}
