//! The interpreter seam: the kernel core knows only this trait (as xeus's core knows only its
//! interpreter). The evcxr interpreter is one implementation; tests could plug in another.

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
