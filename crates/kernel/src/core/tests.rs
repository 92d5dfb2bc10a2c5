//! The core with in-memory channels and a mock interpreter (no sockets, no evcxr), as xeus
//! tests its kernel core: requests go in on the queues, and the order of what comes out on
//! iopub and on the reply channels is checked.

use super::*;
use crate::bridge_server::BridgeHandle;
use crate::interpreter::{Completion, FailedInterpreter};

/// An outbox that hands every message to the test.
struct Recorder(mpsc::UnboundedSender<Message>);

impl Outbox for Recorder {
    fn send(&self, msg: Message) -> BoxFuture<'_, ()> {
        let _ = self.0.send(msg);
        Box::pin(async {})
    }
}

/// Cells: `fail` prints and fails, `ask` reads a line from stdin and returns it, `spin` runs
/// until interrupted, anything else succeeds with the code as its text/plain result.
#[derive(Default)]
struct Mock {
    stop: Arc<AtomicBool>,
}

struct MockInterrupter(Arc<AtomicBool>);

impl Interrupter for MockInterrupter {
    fn interrupt(&self) -> Option<String> {
        self.0.store(true, Ordering::SeqCst);
        None
    }
}

impl Interpreter for Mock {
    fn language(&self) -> LanguageFacts {
        facts("mocklang")
    }
    fn execute(&mut self, code: &str, io: Arc<dyn ExecIo>) -> ExecOutcome {
        match code {
            "fail" => {
                io.stream(StreamName::Stdout, "about to fail\n");
                ExecOutcome::Error {
                    ename: "MockError".into(),
                    evalue: "it failed".into(),
                    traceback: vec!["it failed".into()],
                }
            }
            "spin" => {
                let started = Instant::now();
                while !self.stop.swap(false, Ordering::SeqCst) {
                    if started.elapsed() > Duration::from_secs(10) {
                        return ExecOutcome::Ok { result: None };
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                ExecOutcome::Error {
                    ename: "Interrupted".into(),
                    evalue: "stopped".into(),
                    traceback: vec![],
                }
            }
            "ask" => match io.input("name? ", false) {
                Ok(v) => ExecOutcome::Ok {
                    result: Some(bundle(&v)),
                },
                Err(e) => ExecOutcome::Error {
                    ename: "NoInput".into(),
                    evalue: e.clone(),
                    traceback: vec![e],
                },
            },
            other => ExecOutcome::Ok {
                result: Some(bundle(other)),
            },
        }
    }
    fn complete(&mut self, _: &str, cursor: usize) -> Completion {
        Completion {
            matches: vec!["mock".into()],
            cursor_start: 0,
            cursor_end: cursor,
        }
    }
    fn inspect(&mut self, _: &str, _: usize, _: u8) -> Option<MimeBundle> {
        None
    }
    fn is_complete(&mut self, _: &str) -> Completeness {
        Completeness::Complete
    }
    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(MockInterrupter(self.stop.clone()))
    }
    fn shutdown(&mut self, _: bool) {}
}

fn facts(name: &str) -> LanguageFacts {
    LanguageFacts {
        name: name.into(),
        version: "1".into(),
        mimetype: "text/plain".into(),
        file_extension: ".txt".into(),
        pygments_lexer: "text".into(),
        codemirror_mode: "text".into(),
        banner: String::new(),
    }
}

fn bundle(text: &str) -> MimeBundle {
    let mut b = MimeBundle::new();
    b.insert("text/plain".into(), Value::String(text.into()));
    b
}

/// A core served from in-memory queues.
struct Harness {
    core: Arc<Core>,
    shell: mpsc::UnboundedSender<Incoming>,
    control: mpsc::UnboundedSender<Incoming>,
    stdin: mpsc::UnboundedSender<Incoming>,
    shell_out: mpsc::UnboundedReceiver<Message>,
    control_out: mpsc::UnboundedReceiver<Message>,
    stdin_out: mpsc::UnboundedReceiver<Message>,
    iopub: mpsc::UnboundedReceiver<Message>,
}

fn start(factory: InterpreterFactory) -> Harness {
    let (iopub_tx, iopub) = mpsc::unbounded_channel();
    let (shell, shell_rx) = mpsc::unbounded_channel();
    let (control, control_rx) = mpsc::unbounded_channel();
    let (stdin, stdin_rx) = mpsc::unbounded_channel();
    let (shell_out_tx, shell_out) = mpsc::unbounded_channel();
    let (control_out_tx, control_out) = mpsc::unbounded_channel();
    let (stdin_out_tx, stdin_out) = mpsc::unbounded_channel();
    let publisher = Publisher::new(iopub_tx, "kernel-session".into());
    let core = Core::new(CoreConfig {
        identity: KernelIdentity {
            implementation: "mock".into(),
            implementation_version: "0".into(),
            help_links: vec![],
        },
        iopub: publisher.clone(),
        stdin: Arc::new(Recorder(stdin_out_tx)),
        comms: CommManager::new(BridgeHandle::detached(), publisher),
        history: History::open(None),
        fallback_language: || facts("fallback"),
    });
    core.start_interpreter(factory).unwrap();
    core.serve(
        (shell_rx, Arc::new(Recorder(shell_out_tx))),
        (control_rx, Arc::new(Recorder(control_out_tx))),
        stdin_rx,
    );
    Harness {
        core,
        shell,
        control,
        stdin,
        shell_out,
        control_out,
        stdin_out,
        iopub,
    }
}

fn request(msg_type: &str, content: Value) -> Message {
    Message::new(msg_type, content, None, "client-session")
}

fn execute_request(code: &str, stop_on_error: bool) -> Message {
    request(
        "execute_request",
        json!({"code": code, "silent": false, "store_history": true, "user_expressions": {},
               "allow_stdin": true, "stop_on_error": stop_on_error}),
    )
}

fn incoming(msg: &Message) -> Incoming {
    Incoming {
        arrived: Instant::now(),
        msg: msg.clone(),
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Message>) -> Message {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a message within 10 s")
        .expect("the channel is open")
}

fn is_reply_to(m: &Message, req: &Message) -> bool {
    m.parent_header.as_ref().map(|h| &h.msg_id) == Some(&req.header.msg_id)
}

/// The iopub messages of one request, busy to idle, as `msg_type` (and the state of statuses).
async fn iopub_of(h: &mut Harness, req: &Message) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    loop {
        let m = next(&mut h.iopub).await;
        if !is_reply_to(&m, req) {
            continue;
        }
        let label = match m.msg_type() {
            "status" => format!("status:{}", m.content["execution_state"].as_str().unwrap()),
            t => t.to_string(),
        };
        let done = label == "status:idle";
        seen.push((label, m.content));
        if done {
            return seen;
        }
    }
}

fn labels(seen: &[(String, Value)]) -> Vec<&str> {
    seen.iter().map(|(l, _)| l.as_str()).collect()
}

#[tokio::test]
async fn a_failing_cell_is_bracketed_and_aborts_what_was_queued_behind_it() {
    let mut h = start(Box::new(|| Box::<Mock>::default()));
    let starting = next(&mut h.iopub).await;
    assert_eq!(starting.content["execution_state"], "starting");

    // Both arrive before the first one fails: the second is aborted without running.
    let failing = execute_request("fail", true);
    let queued = execute_request("queued", true);
    h.shell.send(incoming(&failing)).unwrap();
    h.shell.send(incoming(&queued)).unwrap();

    let seen = iopub_of(&mut h, &failing).await;
    assert_eq!(
        labels(&seen),
        [
            "status:busy",
            "execute_input",
            "stream",
            "error",
            "status:idle"
        ]
    );
    assert_eq!(seen[1].1["execution_count"], 1);
    assert_eq!(seen[2].1["text"], "about to fail\n");
    assert_eq!(seen[3].1["ename"], "MockError");
    let reply = next(&mut h.shell_out).await;
    assert!(is_reply_to(&reply, &failing));
    assert_eq!(reply.msg_type(), "execute_reply");
    assert_eq!(reply.content["status"], "error");
    assert_eq!(reply.content["execution_count"], 1);

    let seen = iopub_of(&mut h, &queued).await;
    assert_eq!(labels(&seen), ["status:busy", "status:idle"]);
    let reply = next(&mut h.shell_out).await;
    assert!(is_reply_to(&reply, &queued));
    assert_eq!(reply.content["status"], "aborted");

    // A request that arrives after the failure runs.
    let later = execute_request("later", true);
    h.shell.send(incoming(&later)).unwrap();
    let seen = iopub_of(&mut h, &later).await;
    assert_eq!(
        labels(&seen),
        [
            "status:busy",
            "execute_input",
            "execute_result",
            "status:idle"
        ]
    );
    assert_eq!(seen[2].1["data"]["text/plain"], "later");
    assert_eq!(seen[2].1["execution_count"], 2);
    let reply = next(&mut h.shell_out).await;
    assert!(is_reply_to(&reply, &later));
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["execution_count"], 2);
}

#[tokio::test]
async fn without_stop_on_error_nothing_is_aborted() {
    let mut h = start(Box::new(|| Box::<Mock>::default()));
    let failing = execute_request("fail", false);
    let queued = execute_request("queued", false);
    h.shell.send(incoming(&failing)).unwrap();
    h.shell.send(incoming(&queued)).unwrap();
    assert_eq!(next(&mut h.shell_out).await.content["status"], "error");
    let reply = next(&mut h.shell_out).await;
    assert!(is_reply_to(&reply, &queued));
    assert_eq!(reply.content["status"], "ok");
}

#[tokio::test]
async fn a_failed_interpreter_answers_with_its_error_and_the_core_keeps_serving() {
    let mut h = start(Box::new(|| {
        Box::new(FailedInterpreter {
            error: "the mock did not start".into(),
            language: facts("broken"),
            completeness: |_| Completeness::Invalid,
        })
    }));
    // Control: kernel_info waits for the interpreter and reports its language.
    let info = request("kernel_info_request", json!({}));
    h.control.send(incoming(&info)).unwrap();
    let reply = next(&mut h.control_out).await;
    assert!(is_reply_to(&reply, &info));
    assert_eq!(reply.content["language_info"]["name"], "broken");
    assert_eq!(reply.content["implementation"], "mock");
    assert_eq!(
        labels(&iopub_of(&mut h, &info).await),
        ["status:busy", "status:idle"]
    );

    let cell = execute_request("1", true);
    h.shell.send(incoming(&cell)).unwrap();
    let seen = iopub_of(&mut h, &cell).await;
    assert_eq!(
        labels(&seen),
        ["status:busy", "execute_input", "error", "status:idle"]
    );
    assert_eq!(seen[2].1["ename"], "KernelError");
    assert_eq!(seen[2].1["evalue"], "the mock did not start");
    assert_eq!(next(&mut h.shell_out).await.content["status"], "error");

    let check = request("is_complete_request", json!({"code": "x"}));
    h.shell.send(incoming(&check)).unwrap();
    assert_eq!(next(&mut h.shell_out).await.content["status"], "invalid");

    // No cell process: a comm for an unknown target is closed at once, inside busy/idle.
    let open = request(
        "comm_open",
        json!({"comm_id": "c1", "target_name": "nobody", "data": {}}),
    );
    h.shell.send(incoming(&open)).unwrap();
    let seen = iopub_of(&mut h, &open).await;
    assert_eq!(labels(&seen), ["status:busy", "comm_close", "status:idle"]);
    assert_eq!(seen[1].1["comm_id"], "c1");
    let comms = request("comm_info_request", json!({}));
    h.shell.send(incoming(&comms)).unwrap();
    assert_eq!(next(&mut h.shell_out).await.content["comms"], json!({}));

    // Unknown request types are bracketed and get no reply.
    let odd = request("no_such_request", json!({}));
    h.shell.send(incoming(&odd)).unwrap();
    assert_eq!(
        labels(&iopub_of(&mut h, &odd).await),
        ["status:busy", "status:idle"]
    );
    assert!(h.shell_out.try_recv().is_err());
}

#[tokio::test]
async fn a_cell_reads_input_through_stdin_and_the_shutdown_reply_ends_the_core() {
    let mut h = start(Box::new(|| Box::<Mock>::default()));
    let cell = execute_request("ask", true);
    h.shell.send(incoming(&cell)).unwrap();
    let ask = next(&mut h.stdin_out).await;
    assert_eq!(ask.msg_type(), "input_request");
    assert!(is_reply_to(&ask, &cell));
    assert_eq!(ask.content["prompt"], "name? ");
    let answer = request("input_reply", json!({"value": "Ada"}));
    h.stdin.send(incoming(&answer)).unwrap();
    let reply = next(&mut h.shell_out).await;
    assert_eq!(reply.content["status"], "ok");
    let seen = iopub_of(&mut h, &cell).await;
    assert_eq!(seen[2].1["data"]["text/plain"], "Ada");

    let complete = request("complete_request", json!({"code": "ab", "cursor_pos": 2}));
    h.shell.send(incoming(&complete)).unwrap();
    let reply = next(&mut h.shell_out).await;
    assert_eq!(reply.content["matches"], json!(["mock"]));
    assert_eq!(reply.content["cursor_end"], 2);

    let bye = request("shutdown_request", json!({"restart": false}));
    h.control.send(incoming(&bye)).unwrap();
    tokio::time::timeout(Duration::from_secs(10), h.core.until_shutdown())
        .await
        .expect("shutdown within 10 s");
    let reply = next(&mut h.control_out).await;
    assert_eq!(reply.msg_type(), "shutdown_reply");
    assert_eq!(reply.content["restart"], false);
}

#[tokio::test]
async fn control_is_served_while_a_cell_runs_and_interrupts_it() {
    let mut h = start(Box::new(|| Box::<Mock>::default()));
    let cell = execute_request("spin", true);
    h.shell.send(incoming(&cell)).unwrap();
    // Wait until the cell runs (its execute_input is out), then ask on control.
    loop {
        let m = next(&mut h.iopub).await;
        if m.msg_type() == "execute_input" {
            break;
        }
    }
    let info = request("kernel_info_request", json!({}));
    h.control.send(incoming(&info)).unwrap();
    let reply = next(&mut h.control_out).await;
    assert_eq!(reply.content["language_info"]["name"], "mocklang");
    assert!(h.shell_out.try_recv().is_err(), "the cell still runs");

    let stop = request("interrupt_request", json!({}));
    h.control.send(incoming(&stop)).unwrap();
    let reply = next(&mut h.control_out).await;
    assert_eq!(reply.msg_type(), "interrupt_reply");
    let reply = next(&mut h.shell_out).await;
    assert!(is_reply_to(&reply, &cell));
    assert_eq!(reply.content["ename"], "Interrupted");
}

#[test]
fn replies_built_from_the_protocol_types_keep_their_wire_form() {
    assert_eq!(
        execute_reply(ReplyStatus::Ok, 3, None),
        json!({"status": "ok", "execution_count": 3, "payload": [], "user_expressions": {}})
    );
    let error = ReplyError {
        ename: "E".into(),
        evalue: "v".into(),
        traceback: vec!["t".into()],
    };
    assert_eq!(
        execute_reply(ReplyStatus::Error, 4, Some(error.clone())),
        json!({"status": "error", "execution_count": 4, "ename": "E", "evalue": "v",
               "traceback": ["t"], "payload": [], "user_expressions": {}})
    );
    assert_eq!(
        to_content(&error),
        json!({"ename": "E", "evalue": "v", "traceback": ["t"]})
    );
    assert_eq!(
        execute_reply(ReplyStatus::Aborted, 5, None)["status"],
        "aborted"
    );
}

#[tokio::test]
async fn kernel_info_and_is_complete_replies_have_the_protocol_fields() {
    let mut h = start(Box::new(|| Box::<Mock>::default()));
    h.shell
        .send(incoming(&request("kernel_info_request", json!({}))))
        .unwrap();
    let reply = next(&mut h.shell_out).await;
    let c = &reply.content;
    assert_eq!(c["status"], "ok");
    assert_eq!(c["protocol_version"], crate::wire::PROTOCOL_VERSION);
    assert_eq!(c["language_info"]["name"], "mocklang");
    assert!(c["language_info"]["codemirror_mode"].is_string());
    assert_eq!(c["supported_features"], json!(["iopub_welcome"]));
    assert_eq!(c["debugger"], false);
    h.shell
        .send(incoming(&request(
            "is_complete_request",
            json!({"code": "1"}),
        )))
        .unwrap();
    let reply = next(&mut h.shell_out).await;
    assert!(reply.content.get("status").is_some());
    if reply.content["status"] != "incomplete" {
        assert!(reply.content.get("indent").is_none(), "{}", reply.content);
    }
}
