//! The comm manager (xeus' `xcomm_manager`): which comm ids are open, which targets exist, and
//! the routing of comm traffic between the front end and the cell process.
//!
//! Targets are registered by code in the cell process (through the bridge); the kernel itself
//! serves none, so a front end opening a comm for an unknown target gets a comm_close. A
//! front-end comm message is forwarded to the cell process with a token, and the request waits
//! until the process says it has handled it, so everything its handler sends is parented to the
//! request and lands inside the request's busy/idle. The cell process's own messages (comm
//! traffic, displays) come back through [`CommManager::on_child_event`].

use crate::bridge_server::{BridgeEvent, BridgeHandle};
use crate::publisher::Publisher;
use crate::wire::Message;
use bytes::Bytes;
use exformer_bridge::{Frame, ToChild, ToKernel};
use jupyter_protocol::{CommClose, CommMsg, CommOpen};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommEntry {
    pub target_name: String,
}

/// Open comms and registered targets.
#[derive(Default)]
pub struct Registry {
    comms: HashMap<String, CommEntry>,
    targets: HashSet<String>,
}

impl Registry {
    pub fn register_target(&mut self, name: &str) {
        self.targets.insert(name.to_string());
    }

    pub fn unregister_target(&mut self, name: &str) {
        self.targets.remove(name);
    }

    pub fn has_target(&self, name: &str) -> bool {
        self.targets.contains(name)
    }

    pub fn open(&mut self, comm_id: &str, target_name: &str) {
        self.comms.insert(
            comm_id.to_string(),
            CommEntry {
                target_name: target_name.to_string(),
            },
        );
    }

    pub fn close(&mut self, comm_id: &str) -> Option<CommEntry> {
        self.comms.remove(comm_id)
    }

    pub fn get(&self, comm_id: &str) -> Option<&CommEntry> {
        self.comms.get(comm_id)
    }

    /// The child went away: forget its targets and comms, returning the comm ids to close.
    pub fn drop_child(&mut self) -> Vec<String> {
        self.targets.clear();
        let ids: Vec<String> = self.comms.keys().cloned().collect();
        self.comms.clear();
        ids
    }

    /// The `comms` map of a comm_info_reply, optionally filtered by target.
    pub fn info(&self, target_name: Option<&str>) -> Value {
        let mut m = Map::new();
        for (id, e) in &self.comms {
            if target_name.is_none_or(|t| t == e.target_name) {
                m.insert(id.clone(), json!({ "target_name": e.target_name }));
            }
        }
        Value::Object(m)
    }
}

/// Front-end messages forwarded to the child are remembered by token (at most this many), so
/// what the child sends back while handling one is parented to it.
const TOKENS_KEPT: usize = 512;

pub struct CommManager {
    registry: Mutex<Registry>,
    bridge: BridgeHandle,
    iopub: Publisher,
    tokens: Mutex<VecDeque<(String, Message)>>,
    done_waiters: Mutex<HashMap<String, oneshot::Sender<Option<String>>>>,
}

impl CommManager {
    pub fn new(bridge: BridgeHandle, iopub: Publisher) -> Self {
        CommManager {
            registry: Mutex::new(Registry::default()),
            bridge,
            iopub,
            tokens: Mutex::new(VecDeque::new()),
            done_waiters: Mutex::new(HashMap::new()),
        }
    }

    /// The `comms` map of a comm_info_reply.
    pub fn info(&self, target_name: Option<&str>) -> Value {
        self.registry.lock().unwrap().info(target_name)
    }

    /// A front end's comm_open.
    pub async fn open(&self, msg: &Message) {
        let req: CommOpen = match msg.content_as() {
            Ok(r) => r,
            Err(e) => return tracing::warn!("{e}"),
        };
        let id = req.comm_id.0.clone();
        let served =
            self.registry.lock().unwrap().has_target(&req.target_name) && self.bridge.connected();
        if !served {
            // Unknown target: close it right away so the front end does not wait on it.
            self.iopub
                .publish("comm_close", json!({"comm_id": id, "data": {}}), Some(msg));
            return;
        }
        self.registry.lock().unwrap().open(&id, &req.target_name);
        let metadata = msg.metadata.clone();
        self.forward_to_child(msg, |token| ToChild::CommOpen {
            comm_id: id,
            target_name: req.target_name,
            data: Value::Object(req.data),
            metadata,
            token,
        })
        .await;
    }

    /// A front end's comm_msg.
    pub async fn message(&self, msg: &Message) {
        let req: CommMsg = match msg.content_as() {
            Ok(r) => r,
            Err(e) => return tracing::warn!("{e}"),
        };
        let id = req.comm_id.0.clone();
        if self.registry.lock().unwrap().get(&id).is_none() {
            tracing::warn!("comm_msg for unknown comm {id}");
            return;
        }
        let metadata = msg.metadata.clone();
        self.forward_to_child(msg, |token| ToChild::CommMsg {
            comm_id: id,
            data: Value::Object(req.data),
            metadata,
            token,
        })
        .await;
    }

    /// A front end's comm_close.
    pub async fn close(&self, msg: &Message) {
        let req: CommClose = match msg.content_as() {
            Ok(r) => r,
            Err(e) => return tracing::warn!("{e}"),
        };
        let id = req.comm_id.0.clone();
        if self.registry.lock().unwrap().close(&id).is_none() {
            return;
        }
        self.forward_to_child(msg, |token| ToChild::CommClose {
            comm_id: id,
            data: Value::Object(req.data),
            token,
        })
        .await;
    }

    /// Forwards a front-end comm message to the child and waits until the child has handled it,
    /// so everything the handler sends lands inside this request's busy/idle.
    async fn forward_to_child(&self, msg: &Message, make: impl FnOnce(String) -> ToChild) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        {
            let mut t = self.tokens.lock().unwrap();
            t.push_back((token.clone(), msg.clone()));
            while t.len() > TOKENS_KEPT {
                t.pop_front();
            }
        }
        let (tx, rx) = oneshot::channel();
        self.done_waiters.lock().unwrap().insert(token.clone(), tx);
        let buffers: Vec<Vec<u8>> = msg.buffers.iter().map(|b| b.to_vec()).collect();
        if !self.bridge.send(&make(token.clone()), &buffers) {
            self.done_waiters.lock().unwrap().remove(&token);
            return;
        }
        match tokio::time::timeout(Duration::from_secs(600), rx).await {
            Ok(Ok(Some(err))) => tracing::error!("comm handler failed: {err}"),
            Ok(_) => {}
            Err(_) => {
                self.done_waiters.lock().unwrap().remove(&token);
                tracing::error!("comm handler did not finish within 600 s");
            }
        }
    }

    /// Waits until every frame the child wrote so far has been published (bounded wait).
    pub async fn sync_with_child(&self) {
        if !self.bridge.connected() {
            return;
        }
        let token = format!("ping-{}", uuid::Uuid::new_v4().simple());
        let (tx, rx) = oneshot::channel();
        self.done_waiters.lock().unwrap().insert(token.clone(), tx);
        if self.bridge.send(
            &ToChild::Ping {
                token: token.clone(),
            },
            &[],
        ) {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
        self.done_waiters.lock().unwrap().remove(&token);
    }

    /// The front-end message the child's output belongs to: the forwarded message named by
    /// `token`, else the request being served (`current`).
    fn parent_for(
        &self,
        token: &Option<String>,
        current: &dyn Fn() -> Option<Message>,
    ) -> Option<Message> {
        if let Some(t) = token {
            if let Some((_, m)) = self.tokens.lock().unwrap().iter().find(|(k, _)| k == t) {
                return Some(m.clone());
            }
        }
        current()
    }

    /// Traffic from the child: comm messages and displays are published on iopub, parented to
    /// the front-end message they answer (`current` gives the request being served).
    pub fn on_child_event(&self, ev: BridgeEvent, current: &dyn Fn() -> Option<Message>) {
        match ev {
            BridgeEvent::Disconnected => {
                let ids = self.registry.lock().unwrap().drop_child();
                let parent = current();
                for id in ids {
                    self.iopub.publish(
                        "comm_close",
                        json!({"comm_id": id, "data": {}}),
                        parent.as_ref(),
                    );
                }
                for (_, w) in self.done_waiters.lock().unwrap().drain() {
                    let _ = w.send(Some("the cell process went away".into()));
                }
            }
            BridgeEvent::Frame(Frame { msg, buffers }) => {
                let buffers: Vec<Bytes> = buffers.into_iter().map(Bytes::from).collect();
                self.on_child_frame(msg, buffers, current);
            }
        }
    }

    fn on_child_frame(
        &self,
        msg: ToKernel,
        buffers: Vec<Bytes>,
        current: &dyn Fn() -> Option<Message>,
    ) {
        match msg {
            ToKernel::Hello { .. } => {}
            ToKernel::RegisterTarget { target_name } => {
                self.registry.lock().unwrap().register_target(&target_name)
            }
            ToKernel::UnregisterTarget { target_name } => self
                .registry
                .lock()
                .unwrap()
                .unregister_target(&target_name),
            ToKernel::CommOpen {
                comm_id,
                target_name,
                data,
                metadata,
                parent,
            } => {
                self.registry.lock().unwrap().open(&comm_id, &target_name);
                let p = self.parent_for(&parent, current);
                let content = json!({"comm_id": comm_id, "target_name": target_name, "data": data});
                self.iopub.publish_with(
                    "comm_open",
                    content,
                    p.as_ref(),
                    object_or_empty(metadata),
                    buffers,
                );
            }
            ToKernel::CommMsg {
                comm_id,
                data,
                metadata,
                parent,
            } => {
                let p = self.parent_for(&parent, current);
                self.iopub.publish_with(
                    "comm_msg",
                    json!({"comm_id": comm_id, "data": data}),
                    p.as_ref(),
                    object_or_empty(metadata),
                    buffers,
                );
            }
            ToKernel::CommClose {
                comm_id,
                data,
                parent,
            } => {
                self.registry.lock().unwrap().close(&comm_id);
                let p = self.parent_for(&parent, current);
                self.iopub.publish(
                    "comm_close",
                    json!({"comm_id": comm_id, "data": object_or_empty(data)}),
                    p.as_ref(),
                );
            }
            ToKernel::Display {
                data,
                metadata,
                display_id,
                update,
                parent,
            } => {
                let p = self.parent_for(&parent, current);
                self.iopub.display(
                    data,
                    object_or_empty(metadata),
                    display_id,
                    update,
                    p.as_ref(),
                );
            }
            ToKernel::ClearOutput { wait, parent } => {
                let p = self.parent_for(&parent, current);
                self.iopub
                    .publish("clear_output", json!({"wait": wait}), p.as_ref());
            }
            ToKernel::Flush { seq } => {
                self.bridge.send(&ToChild::Flushed { seq }, &[]);
            }
            ToKernel::Done { token, error } => {
                if let Some(w) = self.done_waiters.lock().unwrap().remove(&token) {
                    let _ = w.send(error);
                }
            }
        }
    }
}

fn object_or_empty(v: Value) -> Value {
    if v.is_object() {
        v
    } else {
        json!({})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_info_close() {
        let mut c = Registry::default();
        c.register_target("t");
        assert!(c.has_target("t") && !c.has_target("u"));
        c.open("a", "t");
        c.open("b", "u");
        assert_eq!(c.info(None).as_object().unwrap().len(), 2);
        assert_eq!(c.info(Some("t")), json!({"a": {"target_name": "t"}}));
        assert_eq!(c.close("a").unwrap().target_name, "t");
        assert!(c.get("a").is_none());
        assert_eq!(c.drop_child(), vec!["b".to_string()]);
        assert!(!c.has_target("t"));
    }
}
