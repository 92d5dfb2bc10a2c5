//! Start-up: reads the connection file and puts the kernel together: the ZeroMQ
//! [`server`](crate::server), the bridge for the cell process, the [`Core`] with its comm manager,
//! and the interpreter (a [`FailedInterpreter`] when the real one cannot start). The language
//! comes from the caller (the `exformer-evcxr` crate for Rust cells): this crate knows none.

use crate::bridge_server::{self, BridgeDir};
use crate::comm::CommManager;
use crate::core::{Core, CoreConfig};
use crate::history::History;
use crate::interpreter::{FailedInterpreter, Interpreter, Language};
use crate::publisher::Publisher;
use jupyter_protocol::ConnectionInfo;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

pub use crate::core::KernelIdentity;

/// Builds the interpreter on the interpreter thread, after the bridge environment is set; an
/// error is reported in the kernel log and to every cell.
pub type InterpreterFactory = Box<dyn FnOnce() -> Result<Box<dyn Interpreter>, String> + Send>;

/// Runs the kernel for a connection file until shutdown, with `factory`'s interpreter for
/// `language`.
pub fn run(
    connection_file: &Path,
    identity: KernelIdentity,
    language: Language,
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
    rt.block_on(serve(info, identity, language, factory))
}

async fn serve(
    info: ConnectionInfo,
    identity: KernelIdentity,
    language: Language,
    factory: InterpreterFactory,
) -> anyhow::Result<()> {
    let session = uuid::Uuid::new_v4().to_string();
    let server = crate::server::bind(&info, &session).await?;

    // The bridge: cells reach the kernel through it; its environment is inherited by evcxr's
    // child, so it is set before the interpreter starts.
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

    let history_path = std::env::var_os("EXFORMER_HISTORY")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local/share/exformer/history.jsonl"))
        });
    let iopub = Publisher::new(server.iopub, session);
    let core = Core::new(CoreConfig {
        identity,
        iopub: iopub.clone(),
        stdin: server.stdin.1,
        comms: CommManager::new(bridge, iopub),
        history: History::open(history_path),
        fallback_language: language.facts,
    });

    let c = core.clone();
    tokio::spawn(async move {
        while let Some(ev) = bridge_rx.recv().await {
            c.on_child_event(ev);
        }
    });

    core.start_interpreter(Box::new(move || match factory() {
        Ok(i) => i,
        Err(e) => {
            tracing::error!("the interpreter failed to start: {e}");
            Box::new(FailedInterpreter {
                error: language.start_error.into(),
                language: (language.facts)(),
                completeness: language.completeness,
            })
        }
    }))?;

    core.serve(server.shell, server.control, server.stdin.0);

    // SIGINT (interrupt_mode "signal" front ends) interrupts the running cell instead of killing us.
    let c = core.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            c.interrupt_cell();
        }
    });

    core.until_shutdown().await;
    // Let iopub drain.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
