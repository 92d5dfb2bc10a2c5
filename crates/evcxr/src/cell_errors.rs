//! How a cell failed, read from the child's stderr.
//!
//! evcxr reports success for two kinds of failure: a `?` that returned an error, and a panic (it
//! catches the unwind, keeps the variables that existed before the cell and prints the panic only
//! on stderr). The child (`crate::child`) writes a private marker line on stderr for each. This
//! filter sits on the stderr stream: it withholds the cell thread's panic block (the message that
//! becomes the cell's error), remembers recent lines for a `?` error's message, and says at the
//! end of the cell how it failed.

use crate::child::{PANIC_MARKER, USER_ERROR_MARKER};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Cells run on the child's main thread, whose id is the child's pid. The cell's copy of std does
/// not know that thread's name, so the header reads `thread '<unnamed>' (PID) panicked at ...`.
/// Panics of other threads (a view's worker) are only shown.
const PANICKED_AT: &str = "panicked at ";
/// More held lines than this are not a panic block: they are shown after all.
const MAX_HELD: usize = 400;
const RECENT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A `?` returned an error; the message is what the error printed.
    UserError(String),
    /// The cell's thread panicked.
    Panic {
        message: String,
        /// `None` when the panic was in the cell's own code (evcxr's generated crate).
        location: Option<String>,
        /// The backtrace, when the user turned backtraces on.
        backtrace: Vec<String>,
    },
}

#[derive(Default)]
pub struct CellErrors {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// `' (PID) panicked at `: how the cell thread's panic header reads.
    cell_thread: String,
    recent: VecDeque<String>,
    /// Blank lines not shown yet (std writes one before a panic header).
    blanks: usize,
    held: Vec<String>,
    failure: Option<Failure>,
}

impl Inner {
    fn is_cell_panic(&self, line: &str) -> bool {
        line.starts_with("thread '")
            && (line.contains(&self.cell_thread) || line.starts_with("thread 'main' panicked at "))
    }
}

impl CellErrors {
    /// Before each cell; `child_pid` is the id of the process (and thread) that runs it.
    pub fn reset(&self, child_pid: u32) {
        *self.inner.lock().unwrap() = Inner {
            cell_thread: format!("' ({child_pid}) {PANICKED_AT}"),
            ..Inner::default()
        };
    }

    /// Takes one stderr line; returns the lines to show now (none while a panic block is held).
    pub fn see(&self, line: &str) -> Vec<String> {
        let mut s = self.inner.lock().unwrap();
        if line == USER_ERROR_MARKER {
            let msg: Vec<&str> = s
                .recent
                .iter()
                .rev()
                .take_while(|l| !l.trim().is_empty())
                .map(String::as_str)
                .collect();
            let msg = msg.into_iter().rev().collect::<Vec<_>>().join("\n");
            s.failure = Some(Failure::UserError(msg));
            return vec![];
        }
        if line == PANIC_MARKER {
            let held = std::mem::take(&mut s.held);
            s.failure = Some(parse_panic(&held));
            return vec![];
        }
        if !s.held.is_empty() || s.is_cell_panic(line) {
            s.blanks = 0;
            s.held.push(line.to_string());
            if s.held.len() > MAX_HELD {
                return std::mem::take(&mut s.held);
            }
            return vec![];
        }
        if line.is_empty() {
            s.blanks += 1;
            return vec![];
        }
        let mut show = vec![String::new(); std::mem::take(&mut s.blanks)];
        show.push(line.to_string());
        for l in &show {
            s.recent.push_back(l.clone());
        }
        while s.recent.len() > RECENT {
            s.recent.pop_front();
        }
        show
    }

    /// At the end of the cell: how it failed (if it did), and held lines that were not followed by
    /// the panic marker (the child died while panicking, or a panic escaped: show them).
    pub fn finish(&self) -> (Option<Failure>, Vec<String>) {
        let mut s = self.inner.lock().unwrap();
        (s.failure.take(), std::mem::take(&mut s.held))
    }
}

/// `thread 'main' panicked at LOCATION:` then the message, then either the note about
/// RUST_BACKTRACE or `stack backtrace:` and its frames.
fn parse_panic(block: &[String]) -> Failure {
    let Some(header) = block.first() else {
        return Failure::Panic {
            message: "the cell panicked".into(),
            location: None,
            backtrace: vec![],
        };
    };
    let loc = match header.find(PANICKED_AT) {
        Some(i) => &header[i + PANICKED_AT.len()..],
        None => header.as_str(),
    };
    let loc = loc.trim_end_matches(':').to_string();
    // evcxr compiles the cell into a crate whose only file is src/lib.rs.
    let location = (!loc.starts_with("src/lib.rs")).then_some(loc);
    let mut message = vec![];
    let mut backtrace = vec![];
    let mut in_trace = false;
    for l in &block[1..] {
        if l.starts_with("note: run with `RUST_BACKTRACE") {
            continue;
        }
        if l.starts_with("stack backtrace:") {
            in_trace = true;
        }
        if in_trace {
            backtrace.push(l.clone());
        } else {
            message.push(l.as_str());
        }
    }
    let message = message.join("\n").trim().to_string();
    Failure::Panic {
        message: if message.is_empty() {
            "the cell panicked".into()
        } else {
            message
        },
        location,
        backtrace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors() -> CellErrors {
        let e = CellErrors::default();
        e.reset(4242);
        e
    }

    fn feed(e: &CellErrors, lines: &[&str]) -> Vec<String> {
        lines.iter().flat_map(|l| e.see(l)).collect()
    }

    #[test]
    fn a_cell_panic_is_withheld_and_becomes_the_failure() {
        let e = errors();
        let shown = feed(
            &e,
            &[
                "before",
                "",
                "thread '<unnamed>' (4242) panicked at src/lib.rs:12:5:",
                "index out of bounds: the len is 3 but the index is 7",
                "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
                PANIC_MARKER,
                "after",
            ],
        );
        assert_eq!(shown, vec!["before", "after"]);
        let (failure, held) = e.finish();
        assert!(held.is_empty());
        assert_eq!(
            failure,
            Some(Failure::Panic {
                message: "index out of bounds: the len is 3 but the index is 7".into(),
                location: None,
                backtrace: vec![],
            })
        );
    }

    #[test]
    fn a_panic_in_a_library_keeps_its_location_and_backtrace() {
        let e = errors();
        feed(
            &e,
            &[
                "thread '<unnamed>' (4242) panicked at /src/exformer/src/view.rs:40:9:",
                "first line",
                "second line",
                "stack backtrace:",
                "   0: rust_begin_unwind",
                PANIC_MARKER,
            ],
        );
        let Some(Failure::Panic {
            message,
            location,
            backtrace,
        }) = e.finish().0
        else {
            panic!("no panic seen");
        };
        assert_eq!(message, "first line\nsecond line");
        assert_eq!(location.as_deref(), Some("/src/exformer/src/view.rs:40:9"));
        assert_eq!(
            backtrace,
            vec!["stack backtrace:", "   0: rust_begin_unwind"]
        );
    }

    #[test]
    fn other_threads_panics_pass_through_and_unconfirmed_blocks_are_returned() {
        let e = errors();
        let shown = feed(
            &e,
            &[
                "",
                "thread '<unnamed>' (4243) panicked at src/x.rs:1:1:",
                "boom",
            ],
        );
        assert_eq!(shown.len(), 3);
        feed(&e, &["thread 'main' panicked at src/lib.rs:1:1:", "fatal"]);
        let (failure, held) = e.finish();
        assert_eq!(failure, None);
        assert_eq!(
            held,
            vec!["thread 'main' panicked at src/lib.rs:1:1:", "fatal"]
        );
    }

    #[test]
    fn a_question_mark_error_takes_the_lines_before_the_marker() {
        let e = errors();
        let shown = feed(
            &e,
            &["noise", "", "Error: file not found", USER_ERROR_MARKER],
        );
        assert_eq!(shown, vec!["noise", "", "Error: file not found"]);
        assert_eq!(
            e.finish().0,
            Some(Failure::UserError("Error: file not found".into()))
        );
    }
}
