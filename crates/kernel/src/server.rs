//! The ZeroMQ side of the kernel (xeus' `xserver_zmq`): the five sockets of a connection file,
//! the heartbeat echo, and the loops that receive, verify, sign and send. Nothing here looks at
//! what a message means; requests go to the core as [`Incoming`] on queues, stamped with the
//! moment they arrived, and replies come back through [`Outbox`]es.

use crate::channel::{Incoming, Outbox};
use crate::wire::{Message, Signer};
use bytes::Bytes;
use jupyter_protocol::ConnectionInfo;
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

/// A bound connection: the request queues and the ways back.
pub struct Server {
    pub shell: (mpsc::UnboundedReceiver<Incoming>, Arc<dyn Outbox>),
    pub control: (mpsc::UnboundedReceiver<Incoming>, Arc<dyn Outbox>),
    pub stdin: (mpsc::UnboundedReceiver<Incoming>, Arc<dyn Outbox>),
    /// Messages queued here are published on iopub, in order.
    pub iopub: mpsc::UnboundedSender<Message>,
}

fn endpoint(info: &ConnectionInfo, port: u16) -> String {
    format!("{}://{}:{}", info.transport, info.ip, port)
}

/// Binds the sockets of `info` and starts their loops (on the current tokio runtime).
/// `session` names this kernel in iopub topics and in the messages the server itself sends.
pub async fn bind(info: &ConnectionInfo, session: &str) -> anyhow::Result<Server> {
    let signer = Signer::new(&info.key);

    let mut shell = zeromq::RouterSocket::new();
    shell.bind(&endpoint(info, info.shell_port)).await?;
    let mut control = zeromq::RouterSocket::new();
    control.bind(&endpoint(info, info.control_port)).await?;
    let mut stdin = zeromq::RouterSocket::new();
    stdin.bind(&endpoint(info, info.stdin_port)).await?;
    let mut iopub = zeromq::XPubSocket::new();
    iopub.bind(&endpoint(info, info.iopub_port)).await?;
    let mut hb = zeromq::RepSocket::new();
    hb.bind(&endpoint(info, info.hb_port)).await?;

    let (iopub_tx, iopub_rx) = mpsc::unbounded_channel::<Message>();
    tokio::spawn(publish_loop(
        iopub,
        iopub_rx,
        signer.clone(),
        session.to_string(),
    ));
    tokio::spawn(heartbeat_loop(hb));

    let router = |socket: zeromq::RouterSocket, name: &'static str| {
        let (send, recv) = socket.split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(receive_loop(recv, tx, signer.clone(), name));
        let out: Arc<dyn Outbox> = Arc::new(RouterOutbox {
            socket: tokio::sync::Mutex::new(send),
            signer: signer.clone(),
        });
        (rx, out)
    };
    Ok(Server {
        shell: router(shell, "shell"),
        control: router(control, "control"),
        stdin: router(stdin, "stdin"),
        iopub: iopub_tx,
    })
}

/// Sends signed messages on a ROUTER socket, to the identities each message carries.
struct RouterOutbox {
    socket: tokio::sync::Mutex<zeromq::RouterSendHalf>,
    signer: Signer,
}

impl Outbox for RouterOutbox {
    fn send(&self, msg: Message) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Ok(zm) = ZmqMessage::try_from(msg.to_frames(&self.signer)) {
                if let Err(e) = self.socket.lock().await.send(zm).await {
                    tracing::warn!("send failed: {e}");
                }
            }
        })
    }
}

/// Receives on a ROUTER socket; messages that fail verification are logged and dropped, the
/// rest are queued with the moment they arrived.
async fn receive_loop(
    mut socket: zeromq::RouterRecvHalf,
    queue: mpsc::UnboundedSender<Incoming>,
    signer: Signer,
    name: &'static str,
) {
    // A failed receive (a peer that left mid-message, a malformed frame) is that peer's problem:
    // ending the loop would leave the kernel deaf on this socket for good.
    let mut failures = 0u64;
    loop {
        let zm = match socket.recv().await {
            Ok(zm) => zm,
            Err(e) => {
                failures += 1;
                if failures <= 10 {
                    tracing::warn!("{name} receive failed: {e}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        match Message::from_frames(zm.into_vec(), &signer) {
            Ok(msg) => {
                let incoming = Incoming {
                    arrived: Instant::now(),
                    msg,
                };
                if queue.send(incoming).is_err() {
                    break;
                }
            }
            Err(e) => tracing::warn!("rejected a {name} message: {e}"),
        }
    }
}

/// iopub: publishes queued messages under `kernel.<session>.<msg_type>`; answers each new
/// subscription with iopub_welcome (the XPUB handshake of protocol 5.4).
async fn publish_loop(
    mut iopub: zeromq::XPubSocket,
    mut queue: mpsc::UnboundedReceiver<Message>,
    signer: Signer,
    session: String,
) {
    loop {
        tokio::select! {
            m = queue.recv() => {
                let Some(m) = m else { break };
                let mut frames = vec![Bytes::from(format!("kernel.{}.{}", session, m.msg_type()))];
                frames.extend(m.to_frames(&signer));
                if let Ok(zm) = ZmqMessage::try_from(frames) {
                    let _ = iopub.send(zm).await;
                }
            }
            sub = iopub.recv() => {
                if let Ok(sub) = sub {
                    let f = sub.get(0).cloned().unwrap_or_default();
                    if f.first() == Some(&1) {
                        let topic = String::from_utf8_lossy(&f[1..]).to_string();
                        let m = Message::new("iopub_welcome", json!({"subscription": topic}), None, &session);
                        let mut frames = vec![Bytes::from(f[1..].to_vec())];
                        frames.extend(m.to_frames(&signer));
                        if let Ok(zm) = ZmqMessage::try_from(frames) {
                            let _ = iopub.send(zm).await;
                        }
                    }
                }
            }
        }
    }
}

/// Heartbeat: echo. A peer that leaves mid-request (or sends junk) must not stop the echo for
/// everyone else, so errors are logged and the loop goes on.
async fn heartbeat_loop(mut hb: zeromq::RepSocket) {
    loop {
        match hb.recv().await {
            Ok(m) => {
                if let Err(e) = hb.send(m).await {
                    tracing::warn!("heartbeat reply not sent: {e}");
                }
            }
            Err(e) => {
                tracing::warn!("heartbeat receive failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
