//! Reply content from `jupyter-protocol`'s types, and the cursor arithmetic of the requests
//! (Jupyter counts characters, interpreters bytes).

use jupyter_protocol::{ExecuteReply, ExecutionCount, ReplyError, ReplyStatus};
use serde::Serialize;
use serde_json::{json, Value};

/// A reply type of the `jupyter-protocol` crate as message content.
pub(crate) fn to_content(reply: impl Serialize) -> Value {
    serde_json::to_value(reply).unwrap_or_else(|e| json!({"status": "error", "ename": "KernelError", "evalue": e.to_string(), "traceback": []}))
}

/// An execute_reply: `ok`, `error` (with the error) or `aborted`.
pub(crate) fn execute_reply(status: ReplyStatus, count: i64, error: Option<ReplyError>) -> Value {
    to_content(ExecuteReply {
        status,
        execution_count: ExecutionCount::new(count.max(0) as usize),
        payload: Vec::new(),
        user_expressions: Some(Default::default()),
        error: error.map(Box::new),
    })
}

pub(crate) fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices()
        .nth(chars)
        .map(|(b, _)| b)
        .unwrap_or(s.len())
}

pub(crate) fn byte_to_char(s: &str, byte: usize) -> usize {
    s[..byte.min(s.len())].chars().count()
}
