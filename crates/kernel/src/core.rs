//! The kernel core (xeus' `xkernel_core`): one [`Core::dispatch`] for every shell and control
//! request, a table of handlers by msg_type, the execution count, history, stdin for a running
//! cell, and interrupts.
//!
//! The core sees no sockets and no language. Requests arrive as [`Incoming`] messages on
//! queues, replies leave through an [`Outbox`] per channel and iopub messages through a
//! [`Publisher`] (the [`server`](crate::server) provides all three over ZeroMQ; the tests use
//! in-memory ones). The language is an [`Interpreter`] trait object on its own thread, comm
//! traffic belongs to the [`CommManager`].
//!
//! Every request is bracketed the same way by `dispatch`: `status: busy` parented to it, its
//! handler (or, for an execute_request queued on shell behind a failed `stop_on_error` cell, an
//! `aborted` reply), `status: idle`.

use crate::channel::{BoxFuture, Channel, ChannelKind, Incoming, Outbox};
use crate::comm::CommManager;
use crate::history::History;
use crate::interpreter::{
    Completeness, ExecIo, ExecOutcome, Interpreter, InterpreterHandle, Interrupter, LanguageFacts,
    MimeBundle, StreamName,
};
use crate::publisher::Publisher;
use crate::replies::{byte_to_char, char_to_byte, execute_reply, to_content};
use crate::wire::Message;
use jupyter_protocol::{
    CodeMirrorMode, CommInfoRequest, CompleteReply, CompleteRequest, ExecuteRequest, HelpLink,
    InspectRequest, InterruptReply, IsCompleteRequest, KernelInfoReply, LanguageInfo, ReplyError,
    ReplyStatus, ShutdownReply, ShutdownRequest,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[cfg(test)]
mod tests;

/// Builds the interpreter on the interpreter thread. Infallible: an interpreter that cannot
/// start is a [`FailedInterpreter`](crate::interpreter::FailedInterpreter).
pub type InterpreterFactory = Box<dyn FnOnce() -> Box<dyn Interpreter> + Send>;

/// Facts about this kernel for kernel_info_reply.
#[derive(Clone)]
pub struct KernelIdentity {
    pub implementation: String,
    pub implementation_version: String,
    pub help_links: Vec<(String, String)>,
}

/// What the core is built from.
pub struct CoreConfig {
    pub identity: KernelIdentity,
    pub iopub: Publisher,
    pub stdin: Arc<dyn Outbox>,
    pub comms: CommManager,
    pub history: History,
    /// Language facts for a kernel_info_reply when the interpreter still has not started after
    /// the wait (five minutes).
    pub fallback_language: fn() -> LanguageFacts,
}

pub struct Core {
    identity: KernelIdentity,
    iopub: Publisher,
    stdin: Arc<dyn Outbox>,
    pub comms: CommManager,
    interpreter: InterpreterHandle,
    jobs: Mutex<Option<std::sync::mpsc::Receiver<crate::interpreter::Job>>>,
    interrupter: Mutex<Option<Arc<dyn Interrupter>>>,
    language: Mutex<Option<LanguageFacts>>,
    fallback_language: fn() -> LanguageFacts,
    executing: AtomicBool,
    /// Set by a failed execute_request with stop_on_error to the moment it failed: executes that
    /// arrived before then were queued behind the failure and are aborted; later ones run.
    abort_before: Mutex<Option<Instant>>,
    execution_count: AtomicI64,
    history: Mutex<History>,
    /// The request being (or last) served on shell: parent of unparented child output.
    current: Mutex<Option<Message>>,
    pending_input: Mutex<Option<std::sync::mpsc::Sender<Result<String, String>>>>,
    shutdown: tokio::sync::Notify,
    /// True once the interpreter has started (or failed to): kernel_info waits for it, so front
    /// ends see the kernel as starting while the interpreter initialises instead of timing out a
    /// first cell.
    ready: tokio::sync::watch::Sender<bool>,
    runtime: tokio::runtime::Handle,
}

type Handler = for<'a> fn(&'a Arc<Core>, &'a Message, &'a Channel) -> BoxFuture<'a, ()>;

/// The dispatch table: msg_type → handler, the same for shell and control.
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
        ("comm_open", |c, m, _| Box::pin(c.comms.open(m))),
        ("comm_msg", |c, m, _| Box::pin(c.comms.message(m))),
        ("comm_close", |c, m, _| Box::pin(c.comms.close(m))),
        ("shutdown_request", |c, m, ch| Box::pin(shutdown(c, m, ch))),
        ("interrupt_request", |c, m, ch| {
            Box::pin(interrupt(c, m, ch))
        }),
    ];
    TABLE.iter().find(|(t, _)| *t == msg_type).map(|(_, h)| *h)
}

impl Core {
    /// A core; call [`Core::start_interpreter`] and [`Core::serve`] next.
    pub fn new(config: CoreConfig) -> Arc<Core> {
        let (interpreter, jobs) = InterpreterHandle::new();
        Arc::new(Core {
            identity: config.identity,
            iopub: config.iopub,
            stdin: config.stdin,
            comms: config.comms,
            interpreter,
            jobs: Mutex::new(Some(jobs)),
            interrupter: Mutex::new(None),
            language: Mutex::new(None),
            fallback_language: config.fallback_language,
            executing: AtomicBool::new(false),
            abort_before: Mutex::new(None),
            execution_count: AtomicI64::new(0),
            history: Mutex::new(config.history),
            current: Mutex::new(None),
            pending_input: Mutex::new(None),
            shutdown: tokio::sync::Notify::new(),
            ready: tokio::sync::watch::channel(false).0,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Builds the interpreter on a thread of its own and serves the core's jobs there. Once.
    pub fn start_interpreter(self: &Arc<Self>, factory: InterpreterFactory) -> std::io::Result<()> {
        let jobs = self
            .jobs
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| std::io::Error::other("the interpreter was already started"))?;
        let core = self.clone();
        std::thread::Builder::new()
            .name("interpreter".into())
            .spawn(move || {
                let interp = factory();
                *core.interrupter.lock().unwrap() = Some(interp.interrupter());
                *core.language.lock().unwrap() = Some(interp.language());
                core.ready.send_replace(true);
                drop(core);
                crate::interpreter::serve(interp, jobs);
            })?;
        Ok(())
    }

    /// Announces `starting`, then serves the request queues: shell one request at a time in
    /// order, control concurrently with it, stdin (input replies) as they come. Returns at once.
    pub fn serve(
        self: &Arc<Self>,
        shell: (mpsc::UnboundedReceiver<Incoming>, Arc<dyn Outbox>),
        control: (mpsc::UnboundedReceiver<Incoming>, Arc<dyn Outbox>),
        mut stdin: mpsc::UnboundedReceiver<Incoming>,
    ) {
        self.iopub.status("starting", None);
        for (kind, (mut queue, out)) in
            [(ChannelKind::Control, control), (ChannelKind::Shell, shell)]
        {
            let core = self.clone();
            let ch = Channel { kind, out };
            tokio::spawn(async move {
                while let Some(Incoming { arrived, msg }) = queue.recv().await {
                    core.dispatch(msg, &ch, arrived).await;
                }
            });
        }
        let core = self.clone();
        tokio::spawn(async move {
            while let Some(Incoming { msg, .. }) = stdin.recv().await {
                core.on_stdin(&msg);
            }
        });
    }

    /// Serves one request: busy, its handler (or the aborted reply of an execute queued behind a
    /// stop_on_error failure), idle; all parented to the request.
    pub async fn dispatch(self: &Arc<Self>, msg: Message, ch: &Channel, arrived: Instant) {
        if ch.kind == ChannelKind::Shell {
            *self.current.lock().unwrap() = Some(msg.clone());
        }
        self.iopub.status("busy", Some(&msg));
        if ch.kind == ChannelKind::Shell && self.aborted(&msg, arrived) {
            let content = execute_reply(
                ReplyStatus::Aborted,
                self.execution_count.load(Ordering::SeqCst),
                None,
            );
            self.reply(ch, &msg, "execute_reply", content).await;
        } else {
            match handler(msg.msg_type()) {
                Some(h) => h(self, &msg, ch).await,
                None => tracing::warn!("no handler for {} on {}", msg.msg_type(), ch.kind.name()),
            }
        }
        self.iopub.status("idle", Some(&msg));
        tracing::debug!(
            msg_type = msg.msg_type(),
            channel = ch.kind.name(),
            ms = arrived.elapsed().as_millis() as u64,
            "served"
        );
    }

    /// An execute_request that arrived before the last stop_on_error failure.
    fn aborted(&self, msg: &Message, arrived: Instant) -> bool {
        let failed_at = *self.abort_before.lock().unwrap();
        msg.msg_type() == "execute_request" && failed_at.is_some_and(|t| arrived < t)
    }

    /// A message on stdin: an input_reply answers the cell waiting for input.
    pub fn on_stdin(&self, msg: &Message) {
        if msg.msg_type() == "input_reply" {
            let value = msg.content["value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Some(tx) = self.pending_input.lock().unwrap().take() {
                let _ = tx.send(Ok(value));
            }
        } else {
            tracing::warn!("ignoring {} on stdin", msg.msg_type());
        }
    }

    /// Traffic from the cell process (comm messages, displays), for the comm manager.
    pub fn on_child_event(&self, ev: crate::bridge_server::BridgeEvent) {
        self.comms
            .on_child_event(ev, &|| self.current.lock().unwrap().clone());
    }

    /// Stops the running cell, if one runs (SIGINT, interrupt_request).
    pub fn interrupt_cell(&self) {
        if self.executing.load(Ordering::SeqCst) {
            let i = self.interrupter.lock().unwrap().clone();
            if let Some(i) = i {
                i.interrupt();
            }
        }
    }

    /// Resolves after a shutdown_request has been answered.
    pub async fn until_shutdown(&self) {
        self.shutdown.notified().await;
    }

    async fn reply(&self, ch: &Channel, parent: &Message, msg_type: &str, content: Value) {
        let m = Message::new(msg_type, content, Some(parent), self.iopub.session());
        ch.out.send(m).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn kernel_info(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let mut ready = core.ready.subscribe();
    let _ = tokio::time::timeout(Duration::from_secs(300), ready.wait_for(|r| *r)).await;
    let lang = core.language.lock().unwrap().clone();
    let lang = lang.unwrap_or_else(core.fallback_language);
    let reply = KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: crate::wire::PROTOCOL_VERSION.into(),
        implementation: core.identity.implementation.clone(),
        implementation_version: core.identity.implementation_version.clone(),
        language_info: LanguageInfo {
            name: lang.name,
            version: lang.version,
            mimetype: Some(lang.mimetype),
            file_extension: Some(lang.file_extension),
            pygments_lexer: Some(lang.pygments_lexer),
            codemirror_mode: Some(CodeMirrorMode::Simple(lang.codemirror_mode)),
            nbconvert_exporter: None,
        },
        banner: lang.banner,
        help_links: (core.identity.help_links.iter())
            .map(|(text, url)| HelpLink {
                text: text.clone(),
                url: url.clone(),
            })
            .collect(),
        debugger: false,
        error: None,
    };
    let mut content = to_content(reply);
    // Protocol 5.4's feature list, which the crate's type does not carry yet.
    content["supported_features"] = json!(["iopub_welcome"]);
    core.reply(ch, msg, "kernel_info_reply", content).await;
}

async fn execute(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let req: ExecuteRequest = match msg.content_as() {
        Ok(r) => r,
        Err(e) => {
            let content = execute_reply(
                ReplyStatus::Error,
                core.execution_count.load(Ordering::SeqCst),
                Some(ReplyError {
                    ename: "BadRequest".into(),
                    evalue: e.clone(),
                    traceback: vec![e],
                }),
            );
            core.reply(ch, msg, "execute_reply", content).await;
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
        core.iopub.publish(
            "execute_input",
            json!({"code": req.code, "execution_count": count}),
            Some(msg),
        );
    }
    let io: Arc<dyn ExecIo> = Arc::new(KernelIo {
        core: Arc::downgrade(core),
        parent: msg.clone(),
        silent,
        allow_stdin: req.allow_stdin,
    });
    core.executing.store(true, Ordering::SeqCst);
    let code = req.code.clone();
    let outcome = core
        .interpreter
        .call(move |i| i.execute(&code, io))
        .await
        .unwrap_or_else(|| ExecOutcome::Error {
            ename: "KernelError".into(),
            evalue: "the interpreter thread is gone".into(),
            traceback: vec!["the interpreter thread is gone".into()],
        });
    core.executing.store(false, Ordering::SeqCst);
    core.comms.sync_with_child().await;
    match outcome {
        ExecOutcome::Ok { result } => {
            let mut output_text = None;
            if let Some(data) = result.filter(|d| !d.is_empty()) {
                output_text = data
                    .get("text/plain")
                    .and_then(|v| v.as_str())
                    .map(String::from);
                if !silent {
                    core.iopub.publish(
                        "execute_result",
                        json!({"execution_count": count, "data": data, "metadata": {}}),
                        Some(msg),
                    );
                }
            }
            if store {
                core.history
                    .lock()
                    .unwrap()
                    .record(count, &req.code, output_text);
            }
            let content = execute_reply(ReplyStatus::Ok, count, None);
            core.reply(ch, msg, "execute_reply", content).await;
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
                *core.abort_before.lock().unwrap() = Some(Instant::now());
            }
            let error = ReplyError {
                ename,
                evalue,
                traceback,
            };
            if !silent {
                core.iopub.publish("error", to_content(&error), Some(msg));
            }
            let content = execute_reply(ReplyStatus::Error, count, Some(error));
            core.reply(ch, msg, "execute_reply", content).await;
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
            core.iopub.publish(
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
        core.iopub.display(
            Value::Object(data),
            metadata,
            display_id,
            update,
            Some(&self.parent),
        );
    }

    fn clear_output(&self, wait: bool) {
        if let Some(core) = self.core.upgrade() {
            core.iopub
                .publish("clear_output", json!({"wait": wait}), Some(&self.parent));
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
            core.iopub.session(),
        );
        let stdin = core.stdin.clone();
        // This runs on the interpreter's own thread: hand the send to the kernel's runtime.
        core.runtime.spawn(async move { stdin.send(m).await });
        drop(core);
        rx.recv()
            .unwrap_or_else(|_| Err("input was cancelled".into()))
    }
}

async fn complete(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let req: CompleteRequest = msg.content_as().unwrap_or_default();
    let cursor = char_to_byte(&req.code, req.cursor_pos);
    let code = req.code.clone();
    let c = core
        .interpreter
        .call(move |i| i.complete(&code, cursor))
        .await
        .unwrap_or_default();
    let content = to_content(CompleteReply {
        status: ReplyStatus::Ok,
        matches: c.matches,
        cursor_start: byte_to_char(&req.code, c.cursor_start),
        cursor_end: byte_to_char(&req.code, c.cursor_end),
        metadata: Default::default(),
        error: None,
    });
    core.reply(ch, msg, "complete_reply", content).await;
}

async fn inspect(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let req: InspectRequest = msg.content_as().unwrap_or_default();
    let cursor = char_to_byte(&req.code, req.cursor_pos);
    let detail = req.detail_level.unwrap_or(0) as u8;
    let code = req.code;
    let found = core
        .interpreter
        .call(move |i| i.inspect(&code, cursor, detail))
        .await
        .flatten();
    let content = match found {
        Some(data) => json!({"status": "ok", "found": true, "data": data, "metadata": {}}),
        None => json!({"status": "ok", "found": false, "data": {}, "metadata": {}}),
    };
    core.reply(ch, msg, "inspect_reply", content).await;
}

async fn is_complete(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let req: IsCompleteRequest = msg.content_as().unwrap_or_default();
    let code = req.code;
    let c = core
        .interpreter
        .call(move |i| i.is_complete(&code))
        .await
        .unwrap_or(Completeness::Unknown);
    // The protocol type always writes `indent`, which belongs to an incomplete reply only.
    let content = match c {
        Completeness::Complete => json!({"status": "complete"}),
        Completeness::Incomplete { indent } => json!({"status": "incomplete", "indent": indent}),
        Completeness::Invalid => json!({"status": "invalid"}),
        Completeness::Unknown => json!({"status": "unknown"}),
    };
    core.reply(ch, msg, "is_complete_reply", content).await;
}

async fn history(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let entries = core.history.lock().unwrap().query(&msg.content);
    core.reply(
        ch,
        msg,
        "history_reply",
        json!({"status": "ok", "history": entries}),
    )
    .await;
}

async fn comm_info(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let req: CommInfoRequest = msg.content_as().unwrap_or_default();
    let comms = core.comms.info(req.target_name.as_deref());
    core.reply(
        ch,
        msg,
        "comm_info_reply",
        json!({"status": "ok", "comms": comms}),
    )
    .await;
}

async fn shutdown(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    let req: ShutdownRequest = msg.content_as().unwrap_or_default();
    let restart = req.restart;
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        core.interpreter.call(move |i| i.shutdown(restart)),
    )
    .await;
    let reply = ShutdownReply {
        restart: req.restart,
        status: ReplyStatus::Ok,
        error: None,
    };
    core.reply(ch, msg, "shutdown_reply", to_content(reply))
        .await;
    core.shutdown.notify_one();
}

async fn interrupt(core: &Arc<Core>, msg: &Message, ch: &Channel) {
    // Unblock a cell waiting for input.
    if let Some(tx) = core.pending_input.lock().unwrap().take() {
        let _ = tx.send(Err("interrupted".into()));
    }
    core.interrupt_cell();
    let reply = InterruptReply {
        status: ReplyStatus::Ok,
        error: None,
    };
    core.reply(ch, msg, "interrupt_reply", to_content(reply))
        .await;
}
