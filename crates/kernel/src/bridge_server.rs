//! The kernel's end of the bridge to evcxr's child process: a Unix socket in a private
//! directory; one child connection at a time (a restarted child replaces the old one).

use exformer_bridge::{read_frame, write_frame, Frame, ToChild, ToKernel, ENV_KEY, ENV_SOCKET};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);
use tokio::sync::mpsc::UnboundedSender;

pub enum BridgeEvent {
    Frame(Frame<ToKernel>),
    Disconnected,
}

#[derive(Clone)]
pub struct BridgeHandle {
    writer: Arc<Mutex<Option<(u64, UnixStream)>>>,
    pub socket_path: PathBuf,
    pub key: String,
}

impl BridgeHandle {
    /// A handle with no socket behind it: nothing ever connects, sends report false. For a
    /// kernel core run without a child process (the core's tests).
    #[cfg(test)]
    pub fn detached() -> Self {
        BridgeHandle {
            writer: Arc::new(Mutex::new(None)),
            socket_path: PathBuf::new(),
            key: String::new(),
        }
    }

    /// Sends to the connected child. Returns false when no child is connected.
    pub fn send(&self, msg: &ToChild, buffers: &[Vec<u8>]) -> bool {
        let mut w = self.writer.lock().unwrap();
        match w.as_mut() {
            Some((_, s)) => {
                if write_frame(s, msg, buffers).is_err() {
                    *w = None;
                    false
                } else {
                    true
                }
            }
            None => false,
        }
    }

    pub fn connected(&self) -> bool {
        self.writer.lock().unwrap().is_some()
    }

    /// The environment a child needs to connect.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            (ENV_SOCKET, self.socket_path.display().to_string()),
            (ENV_KEY, self.key.clone()),
        ]
    }
}

/// Binds the socket and starts accepting; events go to `events`.
pub fn start(events: UnboundedSender<BridgeEvent>) -> std::io::Result<BridgeHandle> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!(
        "exformer-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let socket_path = dir.join("bridge.sock");
    let listener = UnixListener::bind(&socket_path)?;
    let handle = BridgeHandle {
        writer: Arc::new(Mutex::new(None)),
        socket_path,
        key: uuid::Uuid::new_v4().simple().to_string(),
    };
    let h = handle.clone();
    std::thread::Builder::new()
        .name("bridge-accept".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                // The first frame must be a Hello with the key.
                match read_frame::<_, ToKernel>(&mut stream) {
                    Ok(Some(Frame {
                        msg: ToKernel::Hello { key, .. },
                        ..
                    })) if key == h.key => {}
                    _ => {
                        tracing::warn!("refused a bridge connection without the right key");
                        continue;
                    }
                }
                let Ok(writer) = stream.try_clone() else {
                    continue;
                };
                let conn_id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                let previous = h.writer.lock().unwrap().replace((conn_id, writer));
                if previous.is_some() {
                    let _ = events.send(BridgeEvent::Disconnected);
                }
                let events = events.clone();
                let h2 = h.clone();
                std::thread::spawn(move || {
                    loop {
                        match read_frame::<_, ToKernel>(&mut stream) {
                            Ok(Some(frame)) => {
                                if events.send(BridgeEvent::Frame(frame)).is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                tracing::warn!("bridge connection dropped: {e}");
                                break;
                            }
                        }
                    }
                    // Only report if this connection is still the current one.
                    let mut w = h2.writer.lock().unwrap();
                    if w.as_ref().is_some_and(|(id, _)| *id == conn_id) {
                        *w = None;
                        drop(w);
                        let _ = events.send(BridgeEvent::Disconnected);
                    }
                });
            }
        })?;
    Ok(handle)
}

impl Drop for BridgeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes the socket's directory when dropped.
pub struct BridgeDir(pub PathBuf);
