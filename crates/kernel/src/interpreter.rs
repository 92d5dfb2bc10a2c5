//! The interpreter seam: the kernel core knows only this trait (as xeus's core knows only its
//! interpreter). The evcxr interpreter is one implementation; [`FailedInterpreter`] stands in
//! for one that could not start (it answers every request with the start-up error), and the
//! core's tests plug in a mock.
//!
//! Interpreters run on a thread of their own ([`InterpreterHandle`] sends them jobs), so a cell
//! that blocks does not stop the sockets.

use serde_json::{Map, Value};
use std::sync::Arc;

/// A MIME bundle: `{"text/plain": "...", "image/png": "<base64>", ...}`.
pub type MimeBundle = Map<String, Value>;

/// Where a running cell's output goes; parented by the core to the request being served.
pub trait ExecIo: Send + Sync {
    fn stream(&self, name: StreamName, text: &str);
    fn display(&self, data: MimeBundle, metadata: Value, display_id: Option<String>, update: bool);
    fn clear_output(&self, wait: bool);
    /// Ask the front end for a line of input (stdin channel). Errors when the front end does not
    /// allow stdin.
    fn input(&self, prompt: &str, password: bool) -> Result<String, String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamName {
    Stdout,
    Stderr,
}

impl StreamName {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamName::Stdout => "stdout",
            StreamName::Stderr => "stderr",
        }
    }
}

/// How a cell ended.
#[derive(Debug, Clone)]
pub enum ExecOutcome {
    /// Success, with the value of the cell's final expression if it has one.
    Ok { result: Option<MimeBundle> },
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub matches: Vec<String>,
    pub cursor_start: usize,
    pub cursor_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    Incomplete { indent: String },
    Invalid,
    Unknown,
}

/// Language facts reported in kernel_info_reply.
#[derive(Debug, Clone)]
pub struct LanguageFacts {
    pub name: String,
    pub version: String,
    pub mimetype: String,
    pub file_extension: String,
    pub pygments_lexer: String,
    pub codemirror_mode: String,
    pub banner: String,
}

/// What the core knows of a language without its interpreter: the facts for a kernel_info_reply
/// sent before the interpreter is up, the completeness check a [`FailedInterpreter`] still
/// answers with, and what cells are told when the interpreter did not start.
#[derive(Debug, Clone, Copy)]
pub struct Language {
    pub facts: fn() -> LanguageFacts,
    pub completeness: fn(&str) -> Completeness,
    /// The error every cell gets when the interpreter failed to start.
    pub start_error: &'static str,
}

/// Stops a running cell from another thread (the control channel's interrupt_request).
pub trait Interrupter: Send + Sync {
    /// Returns a note for the reply when interrupting had side effects (state lost).
    fn interrupt(&self) -> Option<String>;
}

/// A language back end. All methods run on the interpreter's own thread, one at a time.
pub trait Interpreter: Send {
    fn language(&self) -> LanguageFacts;
    fn execute(&mut self, code: &str, io: Arc<dyn ExecIo>) -> ExecOutcome;
    /// `cursor` is a byte offset into `code`.
    fn complete(&mut self, code: &str, cursor: usize) -> Completion;
    /// Help for the name at `cursor`; `None` when nothing is known.
    fn inspect(&mut self, code: &str, cursor: usize, detail_level: u8) -> Option<MimeBundle>;
    fn is_complete(&mut self, code: &str) -> Completeness;
    fn interrupter(&self) -> Arc<dyn Interrupter>;
    fn shutdown(&mut self, restart: bool);
}

/// An interpreter that could not start: every execute fails with `error`; the rest answers as
/// an idle interpreter would (no completions, nothing to inspect, nothing to interrupt), with
/// `is_complete` still answered by the language's syntax check so consoles keep working.
pub struct FailedInterpreter {
    pub error: String,
    pub language: LanguageFacts,
    pub completeness: fn(&str) -> Completeness,
}

struct NoInterrupt;

impl Interrupter for NoInterrupt {
    fn interrupt(&self) -> Option<String> {
        None
    }
}

impl Interpreter for FailedInterpreter {
    fn language(&self) -> LanguageFacts {
        self.language.clone()
    }

    fn execute(&mut self, _code: &str, _io: Arc<dyn ExecIo>) -> ExecOutcome {
        ExecOutcome::Error {
            ename: "KernelError".into(),
            evalue: self.error.clone(),
            traceback: vec![self.error.clone()],
        }
    }

    fn complete(&mut self, _code: &str, _cursor: usize) -> Completion {
        Completion::default()
    }

    fn inspect(&mut self, _code: &str, _cursor: usize, _detail_level: u8) -> Option<MimeBundle> {
        None
    }

    fn is_complete(&mut self, code: &str) -> Completeness {
        (self.completeness)(code)
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(NoInterrupt)
    }

    fn shutdown(&mut self, _restart: bool) {}
}

/// Work for the interpreter thread.
pub type Job = Box<dyn FnOnce(&mut dyn Interpreter) + Send>;

/// Sends jobs to the interpreter thread, one at a time, and awaits their answers.
#[derive(Clone)]
pub struct InterpreterHandle {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl InterpreterHandle {
    /// A handle and the queue its jobs arrive on (for [`serve`]).
    pub fn new() -> (Self, std::sync::mpsc::Receiver<Job>) {
        let (jobs, rx) = std::sync::mpsc::channel();
        (InterpreterHandle { jobs }, rx)
    }

    /// Runs `f` on the interpreter thread; `None` when that thread is gone.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Interpreter) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |i| {
            let _ = tx.send(f(i));
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }
}

/// The interpreter thread's loop: runs jobs in order until every handle is dropped.
pub fn serve(mut interp: Box<dyn Interpreter>, jobs: std::sync::mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        job(interp.as_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> LanguageFacts {
        LanguageFacts {
            name: "l".into(),
            version: "1".into(),
            mimetype: "text/x-l".into(),
            file_extension: ".l".into(),
            pygments_lexer: "l".into(),
            codemirror_mode: "l".into(),
            banner: String::new(),
        }
    }

    #[tokio::test]
    async fn a_failed_interpreter_answers_with_its_error() {
        let failed = FailedInterpreter {
            error: "it did not start".into(),
            language: facts(),
            completeness: |c| {
                if c.ends_with('{') {
                    Completeness::Incomplete {
                        indent: "  ".into(),
                    }
                } else {
                    Completeness::Complete
                }
            },
        };
        let (handle, jobs) = InterpreterHandle::new();
        let thread = std::thread::spawn(move || serve(Box::new(failed), jobs));
        struct NoIo;
        impl ExecIo for NoIo {
            fn stream(&self, _: StreamName, _: &str) {}
            fn display(&self, _: MimeBundle, _: Value, _: Option<String>, _: bool) {}
            fn clear_output(&self, _: bool) {}
            fn input(&self, _: &str, _: bool) -> Result<String, String> {
                Err("no".into())
            }
        }
        let out = handle
            .call(|i| i.execute("1", Arc::new(NoIo)))
            .await
            .unwrap();
        assert!(
            matches!(out, ExecOutcome::Error { ref ename, ref evalue, .. } if ename == "KernelError" && evalue == "it did not start")
        );
        assert_eq!(
            handle.call(|i| i.is_complete("fn f() {")).await,
            Some(Completeness::Incomplete {
                indent: "  ".into()
            })
        );
        assert!(handle
            .call(|i| i.complete("ab", 2))
            .await
            .unwrap()
            .matches
            .is_empty());
        assert_eq!(handle.call(|i| i.inspect("ab", 1, 0)).await, Some(None));
        assert_eq!(
            handle.call(|i| i.interrupter().interrupt()).await,
            Some(None)
        );
        assert_eq!(
            handle.call(|i| i.language().name).await.as_deref(),
            Some("l")
        );
        drop(handle);
        thread.join().unwrap();
    }
}
