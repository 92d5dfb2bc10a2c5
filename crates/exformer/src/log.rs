//! Logs of the cell process: off unless `EXFORMER_LOG` is set (see [`exformer_bridge::ENV_LOG`]).
//! Under the exformer kernel each line goes to stderr behind [`exformer_bridge::LOG_MARKER`], and
//! the kernel moves it into its own log: a log line never lands in a cell's output. Elsewhere
//! (stock evcxr, examples) lines go to stderr as they are.
//!
//! evcxr links this crate (and `tracing`) into every cell anew, each copy with its own
//! dispatcher, so each copy sets up its subscriber the first time one of its entry points runs
//! ([`init`]: loading a model, building a view, a view's worker).

use exformer_bridge::{ENV_LOG, ENV_SOCKET, LOG_MARKER};
use std::io::Write;
use std::sync::Once;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// The filter `EXFORMER_LOG` asks for; `None` when it is unset, empty or not understood.
pub fn filter_from_env() -> Option<Targets> {
    let v = std::env::var(ENV_LOG).ok()?;
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    v.parse::<Targets>().ok()
}

/// Sets up this copy's subscriber once (nothing when `EXFORMER_LOG` is unset).
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(filter) = filter_from_env() else {
            return;
        };
        let marked = std::env::var_os(ENV_SOCKET).is_some();
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || LineWriter { marked });
        let subscriber = tracing_subscriber::registry().with(fmt).with(filter);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Writes each line to stderr, behind the marker when the kernel is to take it.
struct LineWriter {
    marked: bool,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        if self.marked {
            let text = String::from_utf8_lossy(buf);
            let mut out = String::with_capacity(buf.len() + 16);
            for line in text.lines() {
                out.push_str(LOG_MARKER);
                out.push_str(line);
                out.push('\n');
            }
            err.write_all(out.as_bytes())?;
        } else {
            err.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_takes_targets_syntax() {
        let t: Targets = "exformer_engine=debug,warn".parse().unwrap();
        assert!(t.would_enable("exformer_engine::model", &tracing::Level::DEBUG));
        assert!(!t.would_enable("exformer::widget", &tracing::Level::DEBUG));
        assert!(t.would_enable("exformer::widget", &tracing::Level::WARN));
    }
}
