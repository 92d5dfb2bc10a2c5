//! Rust cells through the embedded `evcxr` library.
//!
//! evcxr compiles each cell into a dynamic library and runs it in a child process (this same
//! binary, started with evcxr's runtime variables: `evcxr::runtime_hook()` must run first in
//! `main`). The child's stdout/stderr arrive as lines on channels; two forwarder threads turn them
//! into stream messages for the cell that is running. MIME blocks printed by the cell become its
//! result bundle.

use crate::cell_errors::{CellErrors, Failure};
use crossbeam_channel::{select, Receiver, Sender};
use evcxr::{CommandContext, EvalCallbacks};
use exformer_kernel::{
    Completeness, Completion, ExecIo, ExecOutcome, Interpreter, Interrupter, LanguageFacts,
    MimeBundle, StreamName,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn rust_language() -> LanguageFacts {
    LanguageFacts {
        name: "Rust".into(),
        version: rustc_version().unwrap_or_else(|| "unknown".into()),
        mimetype: "text/rust".into(),
        file_extension: ".rs".into(),
        pygments_lexer: "rust".into(),
        codemirror_mode: "rust".into(),
        banner: "exformer: Rust cells (evcxr) with transformer attention widgets".into(),
    }
}

fn rustc_version() -> Option<String> {
    let out = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    s.split_whitespace().nth(1).map(String::from)
}

/// How to start evcxr.
#[derive(Debug, Clone, Default)]
pub struct EvcxrOptions {
    /// Persistent build directories live under here (one slot per running kernel); `None` uses a
    /// fresh temporary directory (cold builds).
    pub build_root: Option<PathBuf>,
    /// evcxr commands and code run silently at start (e.g. `:dep exformer = { path = ".." }`).
    pub prelude: Vec<String>,
}

type Sink = Arc<Mutex<Option<Arc<dyn ExecIo>>>>;

pub struct EvcxrInterpreter {
    ctx: CommandContext,
    sink: Sink,
    drain_stdout: Sender<Sender<()>>,
    stderr_lines: Arc<AtomicU64>,
    stderr_rx: Receiver<String>,
    cell_errors: Arc<CellErrors>,
    interrupter: Arc<EvcxrInterrupter>,
    _slot_lock: Option<std::fs::File>,
    prelude_error: Option<String>,
}

struct EvcxrInterrupter {
    process: Arc<Mutex<std::process::Child>>,
    interrupted: AtomicBool,
}

impl Interrupter for EvcxrInterrupter {
    fn interrupt(&self) -> Option<String> {
        // evcxr runs cells on the child's main thread with no cancellation point, so the only
        // reliable stop is to kill the child; evcxr restarts it and the cell's state is lost.
        self.interrupted.store(true, Ordering::SeqCst);
        let _ = self.process.lock().unwrap().kill();
        Some("the cell process was restarted; variables were lost".into())
    }
}

impl EvcxrInterpreter {
    pub fn new(opts: EvcxrOptions) -> Result<Self, String> {
        let slot_lock = match &opts.build_root {
            Some(root) => {
                let (dir, lock) =
                    claim_build_slot(root).map_err(|e| format!("evcxr build directory: {e}"))?;
                std::env::set_var("EVCXR_TMPDIR", &dir);
                Some(lock)
            }
            None => None,
        };
        add_rust_std_to_library_path();
        let (ctx, outputs) =
            CommandContext::new().map_err(|e| format!("evcxr failed to start: {e}"))?;
        let sink: Sink = Arc::new(Mutex::new(None));
        let (drain_tx, drain_rx) = crossbeam_channel::unbounded::<Sender<()>>();
        spawn_forwarder(
            outputs.stdout,
            drain_rx,
            sink.clone(),
            StreamName::Stdout,
            None,
            None,
        );
        let stderr_lines = Arc::new(AtomicU64::new(0));
        let never_rx = crossbeam_channel::never::<Sender<()>>();
        let stderr_rx = outputs.stderr.clone();
        let cell_errors = Arc::new(CellErrors::default());
        spawn_forwarder(
            outputs.stderr,
            never_rx,
            sink.clone(),
            StreamName::Stderr,
            Some(stderr_lines.clone()),
            Some(cell_errors.clone()),
        );
        let interrupter = Arc::new(EvcxrInterrupter {
            process: ctx.process_handle(),
            interrupted: AtomicBool::new(false),
        });
        let mut me = EvcxrInterpreter {
            ctx,
            sink,
            drain_stdout: drain_tx,
            stderr_lines,
            stderr_rx,
            cell_errors,
            interrupter,
            _slot_lock: slot_lock,
            prelude_error: None,
        };
        for cmd in &opts.prelude {
            if let Err(e) = me.ctx.execute(cmd) {
                let msg = format!("start-up command `{cmd}` failed: {}", describe(&e));
                tracing::error!("{msg}");
                me.prelude_error = Some(msg);
                break;
            }
        }
        me.drain();
        Ok(me)
    }

    /// Waits until every line the last cell printed has been forwarded.
    fn drain(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.drain_stdout.send(tx).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
        // stderr comes through a separate pipe reader: wait until it goes quiet.
        for _ in 0..20 {
            let before = self.stderr_lines.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            if self.stderr_rx.is_empty() && self.stderr_lines.load(Ordering::SeqCst) == before {
                break;
            }
        }
    }
}

/// Cells are dylibs linked against the toolchain's `libstd-*.so`. rustc gives them a relative
/// RUNPATH computed from `deps/`, but evcxr loads the copy one directory up, so in a deep build
/// directory the path misses; put the toolchain's library directory on LD_LIBRARY_PATH instead.
fn add_rust_std_to_library_path() {
    let Ok(out) = std::process::Command::new("rustc")
        .args(["--print", "target-libdir"])
        .output()
    else {
        return;
    };
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if dir.is_empty() {
        return;
    }
    let current = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    if !current.split(':').any(|p| p == dir) {
        let joined = if current.is_empty() {
            dir
        } else {
            format!("{dir}:{current}")
        };
        std::env::set_var("LD_LIBRARY_PATH", joined);
    }
}

fn spawn_forwarder(
    lines: Receiver<String>,
    drain: Receiver<Sender<()>>,
    sink: Sink,
    name: StreamName,
    counter: Option<Arc<AtomicU64>>,
    filter: Option<Arc<CellErrors>>,
) {
    std::thread::spawn(move || {
        let add = |text: &mut String, line: String| {
            // The cell process's log lines (EXFORMER_LOG) belong in the kernel's log.
            if let Some(log) = line.strip_prefix(exformer_bridge::LOG_MARKER) {
                eprintln!("cell: {log}");
                return;
            }
            let shown = match &filter {
                Some(f) => f.see(&line),
                None => vec![line],
            };
            for l in shown {
                text.push_str(&l);
                text.push('\n');
            }
        };
        let emit = |first: String| {
            // Coalesce lines that are already waiting into one stream message.
            let mut text = String::new();
            add(&mut text, first);
            let mut n = 1;
            while let Ok(more) = lines.try_recv() {
                add(&mut text, more);
                n += 1;
                if text.len() > 1 << 20 {
                    break;
                }
            }
            if text.is_empty() {
                if let Some(c) = &counter {
                    c.fetch_add(n, Ordering::SeqCst);
                }
                return;
            }
            let s = sink.lock().unwrap().clone();
            match s {
                Some(io) => io.stream(name, &text),
                None => eprint!("{text}"),
            }
            if let Some(c) = &counter {
                c.fetch_add(n, Ordering::SeqCst);
            }
        };
        loop {
            select! {
                recv(lines) -> line => match line {
                    Ok(l) => emit(l),
                    Err(_) => return,
                },
                recv(drain) -> ack => {
                    if let Ok(ack) = ack {
                        while let Ok(l) = lines.try_recv() {
                            emit(l);
                        }
                        let _ = ack.send(());
                    }
                }
            }
        }
    });
}

fn describe(e: &evcxr::Error) -> String {
    match e {
        evcxr::Error::CompilationErrors(errors) => errors
            .iter()
            .map(|e| e.message())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// The error reply for a cell that evcxr ran to the end but that failed.
fn failure_outcome(f: Failure) -> ExecOutcome {
    match f {
        Failure::UserError(msg) => {
            let msg = if msg.is_empty() {
                "the cell returned an error".to_string()
            } else {
                msg
            };
            ExecOutcome::Error {
                ename: "Error".into(),
                evalue: msg.clone(),
                traceback: msg.lines().map(String::from).collect(),
            }
        }
        Failure::Panic {
            message,
            location,
            backtrace,
        } => {
            let at = match location {
                Some(l) => format!("panicked at {l}:"),
                None => "panicked in this cell:".into(),
            };
            let mut traceback = vec![format!("\x1b[0;31m{at}\x1b[0m")];
            traceback.extend(message.lines().map(String::from));
            traceback.extend(backtrace);
            traceback.push(
                "(variables from earlier cells are kept; the ones this cell defined are not)"
                    .into(),
            );
            ExecOutcome::Error {
                ename: "Panic".into(),
                evalue: message,
                traceback,
            }
        }
    }
}

fn bundle_from(content: std::collections::HashMap<String, String>) -> MimeBundle {
    let mut bundle = MimeBundle::new();
    for (mime, text) in content {
        let value = if mime.ends_with("json") {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        bundle.insert(mime, value);
    }
    bundle
}

impl Interpreter for EvcxrInterpreter {
    fn language(&self) -> LanguageFacts {
        rust_language()
    }

    fn execute(&mut self, code: &str, io: Arc<dyn ExecIo>) -> ExecOutcome {
        if let Some(e) = &self.prelude_error {
            io.stream(StreamName::Stderr, &format!("warning: {e}\n"));
        }
        *self.sink.lock().unwrap() = Some(io.clone());
        self.interrupter.interrupted.store(false, Ordering::SeqCst);
        let child_pid = self.interrupter.process.lock().unwrap().id();
        self.cell_errors.reset(child_pid);
        let reader_io = io.clone();
        // evcxr does not export its InputRequest type: the closure's argument type is inferred.
        let mut callbacks = EvalCallbacks {
            input_reader: &move |req| {
                reader_io
                    .input(&req.prompt, req.is_password)
                    .unwrap_or_default()
            },
        };
        let result = self.ctx.execute_with_callbacks(code, &mut callbacks);
        self.drain();
        let interrupted = self.interrupter.interrupted.swap(false, Ordering::SeqCst);
        let (failure, unclaimed) = self.cell_errors.finish();
        if !unclaimed.is_empty() && !matches!(result, Err(evcxr::Error::SubprocessTerminated(_))) {
            io.stream(StreamName::Stderr, &(unclaimed.join("\n") + "\n"));
        }
        if let (Ok(_), Some(f)) = (&result, failure) {
            return failure_outcome(f);
        }
        match result {
            Ok(outputs) => {
                let bundle = bundle_from(outputs.content_by_mime_type);
                ExecOutcome::Ok { result: (!bundle.is_empty()).then_some(bundle) }
            }
            Err(_) if interrupted => ExecOutcome::Error {
                ename: "Interrupted".into(),
                evalue: "The cell was interrupted. Its process was stopped and restarted, so variables defined by earlier cells were lost.".into(),
                traceback: vec!["Interrupted: the cell process was restarted; variables were lost.".into()],
            },
            Err(evcxr::Error::CompilationErrors(errors)) => {
                let mut traceback = Vec::new();
                let mut first = String::new();
                for e in &errors {
                    if first.is_empty() {
                        first = e.message();
                    }
                    let rendered = e.rendered();
                    traceback.push(if rendered.is_empty() { e.message() } else { rendered });
                    for h in e.help() {
                        traceback.push(format!("help: {h}"));
                    }
                }
                ExecOutcome::Error { ename: "CompilationError".into(), evalue: first, traceback }
            }
            Err(e) => {
                let mut text = e.to_string();
                if matches!(e, evcxr::Error::SubprocessTerminated(_)) && !unclaimed.is_empty() {
                    // What the process said before it died (a panic while panicking, an abort).
                    text = format!("{text}\n{}", unclaimed.join("\n"));
                }
                let ename = match e {
                    evcxr::Error::SubprocessTerminated(_) => "ProcessTerminated",
                    evcxr::Error::TypeRedefinedVariablesLost(_) => "VariablesLost",
                    _ => "Error",
                };
                ExecOutcome::Error { ename: ename.into(), evalue: text.clone(), traceback: text.lines().map(String::from).collect() }
            }
        }
    }

    fn complete(&mut self, code: &str, cursor: usize) -> Completion {
        match self.ctx.completions(code, cursor) {
            Ok(c) => {
                let mut matches: Vec<String> = c.completions.into_iter().map(|c| c.code).collect();
                matches.dedup();
                Completion {
                    matches,
                    cursor_start: c.start_offset,
                    cursor_end: c.end_offset,
                }
            }
            Err(_) => Completion {
                matches: vec![],
                cursor_start: cursor,
                cursor_end: cursor,
            },
        }
    }

    fn inspect(&mut self, code: &str, cursor: usize, _detail: u8) -> Option<MimeBundle> {
        let (start, end) = word_at(code, cursor);
        if start == end {
            return None;
        }
        let word = &code[start..end];
        let mut bundle = MimeBundle::new();
        if let Some((_, ty)) = self.ctx.variables_and_types().find(|(n, _)| *n == word) {
            let text = format!("{word}: {ty}");
            bundle.insert("text/plain".into(), Value::String(text.clone()));
            bundle.insert(
                "text/markdown".into(),
                Value::String(format!("```rust\n{text}\n```")),
            );
            return Some(bundle);
        }
        match self.ctx.hover_at(code, end) {
            Ok((plain, html)) if !plain.is_empty() && plain != "No documentation found" => {
                bundle.insert("text/plain".into(), Value::String(plain));
                bundle.insert("text/html".into(), Value::String(html));
                Some(bundle)
            }
            _ => None,
        }
    }

    fn is_complete(&mut self, code: &str) -> Completeness {
        crate::syntax::rust_completeness(code)
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.interrupter.clone()
    }

    fn shutdown(&mut self, _restart: bool) {
        let _ = self.interrupter.process.lock().unwrap().kill();
    }
}

/// The identifier around a byte offset.
fn word_at(code: &str, cursor: usize) -> (usize, usize) {
    let cursor = cursor.min(code.len());
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let start = code[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(cursor);
    let end = code[cursor..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map(|(i, _)| cursor + i)
        .unwrap_or(code.len());
    (start, end)
}

/// Claims a persistent build directory `root/slot-N` (N = first one not locked by another
/// kernel). A new slot is seeded from slot-0's compiled dependencies so it starts warm.
pub fn claim_build_slot(root: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::fd::AsRawFd;
    std::fs::create_dir_all(root)?;
    for n in 0..64 {
        let lock_path = root.join(format!("slot-{n}.lock"));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        // SAFETY: flock on a file descriptor we own.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            continue;
        }
        let dir = root.join(format!("slot-{n}"));
        if !dir.join("target").exists() && n > 0 && root.join("slot-0/target").exists() {
            std::fs::create_dir_all(&dir)?;
            let _ = std::process::Command::new("cp")
                .arg("-a")
                .arg("--reflink=auto")
                .arg(root.join("slot-0/target"))
                .arg(dir.join("target"))
                .status();
        }
        std::fs::create_dir_all(&dir)?;
        return Ok((dir, f));
    }
    Err(std::io::Error::other("all 64 build slots are in use"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_at_finds_identifiers() {
        assert_eq!(word_at("let abc = 1;", 5), (4, 7));
        assert_eq!(word_at("abc", 3), (0, 3));
        assert_eq!(word_at("x + y", 2), (2, 2));
    }

    #[test]
    fn slots_are_exclusive() {
        let root = std::env::temp_dir().join(format!("exf-slots-{}", std::process::id()));
        let (a, _la) = claim_build_slot(&root).unwrap();
        let (b, _lb) = claim_build_slot(&root).unwrap();
        assert_ne!(a, b);
        drop(_la);
        let (c, _lc) = claim_build_slot(&root).unwrap();
        assert_eq!(a, c);
        let _ = std::fs::remove_dir_all(root);
    }
}
