//! The start of evcxr's child process (this same binary, started by evcxr).
//!
//! evcxr turns a `?` error or a panic in a cell into an internal stdout line and reports success;
//! the kernel never sees it. Before evcxr's runtime takes over, the child routes its own stdout
//! through a pipe: lines pass through unchanged, and when evcxr's user-error or panic line goes by,
//! a private marker line is written to stderr first. The kernel's stderr filter
//! (`crate::cell_errors`) strips the marker and fails the cell with the error's message.
//!
//! evcxr starts the child with `RUST_BACKTRACE=1`; a panicking cell would print 20 lines of std
//! frames. Backtraces are off unless `EXFORMER_RUST_BACKTRACE` says otherwise.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;

/// evcxr's line for "a `?` in user code returned an error" (`evcxr_internal_runtime`).
pub const EVCXR_USER_ERROR: &str = "EVCXR_ERROR_OCCURRED";
/// What the child writes on stderr just before that line reaches evcxr.
pub const USER_ERROR_MARKER: &str = "\u{1b}]exformer:user-error\u{7}";
/// evcxr's line for "the cell panicked" (its generated `catch_unwind`).
pub const EVCXR_PANIC: &str = "EVCXR_PANIC_NOTIFICATION";
/// What the child writes on stderr just before that line reaches evcxr.
pub const PANIC_MARKER: &str = "\u{1b}]exformer:panic\u{7}";

/// Call first in `main`: returns only when this process is not evcxr's child or rustc wrapper.
pub fn hook() {
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        // Before any thread starts (set_var is not thread-safe).
        let backtrace = std::env::var("EXFORMER_RUST_BACKTRACE").unwrap_or_else(|_| "0".into());
        std::env::set_var("RUST_BACKTRACE", backtrace);
        intercept_stdout();
    }
    evcxr::runtime_hook();
}

fn intercept_stdout() {
    // SAFETY: plain POSIX calls on descriptors this process owns; on any failure stdout is left as is.
    unsafe {
        let mut fds = [0i32; 2];
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return;
        }
        let original = libc::dup(1);
        if original < 0 || libc::dup2(fds[1], 1) < 0 {
            return;
        }
        libc::close(fds[1]);
        let reader = std::fs::File::from_raw_fd(fds[0]);
        let mut out = std::fs::File::from_raw_fd(original);
        std::thread::spawn(move || {
            let mut lines = BufReader::new(reader);
            let mut line = Vec::new();
            loop {
                line.clear();
                match lines.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let marker = match line.strip_suffix(b"\n").unwrap_or(&line) {
                    l if l == EVCXR_USER_ERROR.as_bytes() => Some(USER_ERROR_MARKER),
                    l if l == EVCXR_PANIC.as_bytes() => Some(PANIC_MARKER),
                    _ => None,
                };
                if let Some(marker) = marker {
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "{marker}");
                    let _ = err.flush();
                }
                if out.write_all(&line).and_then(|_| out.flush()).is_err() {
                    break;
                }
            }
        });
    }
}
