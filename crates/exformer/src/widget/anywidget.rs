//! A widget model that JupyterLab's anywidget front end (`AnyModel` / `AnyView`) understands,
//! synced over the Jupyter widget comm protocol 2.1: `comm_open` on target `jupyter.widget`
//! with the full state, `update` / `echo_update` / `request_state` / `custom` messages, binary
//! traits as comm buffers (`buffer_paths`), and `jupyter.widget.control`'s `request_states` so
//! a reloaded page gets its views back.
//!
//! It knows nothing about attention: the attention view puts keys and buffers in it.

use crate::comm::{self, Comm, CommError, CommMessage};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The ipywidgets message protocol version.
pub const PROTOCOL_VERSION: &str = "2.1.0";
/// anywidget's front-end module version range (matches the pinned `anywidget==0.11.0`).
pub const ANYWIDGET_VERSION: &str = "~0.11.*";

type UpdateFn = Arc<dyn Fn(&[String], Option<String>) + Send + Sync>;
type CustomFn = Arc<dyn Fn(Value, Vec<Vec<u8>>, Option<String>) + Send + Sync>;
/// Given the current state, a key and the value the front end sent: the value to store (possibly
/// corrected), or `None` when the front end may not set that key or the value makes no sense.
pub type AcceptFn = fn(&Map<String, Value>, &str, &Value) -> Option<Value>;

struct Inner {
    state: Map<String, Value>,
    buffers: BTreeMap<String, Vec<u8>>,
    comm: Option<Comm>,
    on_update: Option<UpdateFn>,
    on_custom: Option<CustomFn>,
    accept: Option<AcceptFn>,
}

/// A widget model whose state lives here and is mirrored in the front end.
#[derive(Clone)]
pub struct WidgetModel {
    inner: Arc<Mutex<Inner>>,
}

/// Every open model in the process (for `request_states`); process-wide, see `crate::global`.
fn live() -> &'static Mutex<Vec<Weak<Mutex<Inner>>>> {
    crate::global::global("widget.live", Default::default)
}

fn control_registered() -> &'static OnceLock<Result<(), CommError>> {
    crate::global::global("widget.control", OnceLock::new)
}

impl WidgetModel {
    /// A model for an ES module + stylesheet; `id` names the widget class (`_anywidget_id`).
    pub fn new(esm: &str, css: &str, id: &str) -> Self {
        let mut state = Map::new();
        for (k, v) in [
            ("_model_name", "AnyModel"),
            ("_model_module", "anywidget"),
            ("_model_module_version", ANYWIDGET_VERSION),
            ("_view_name", "AnyView"),
            ("_view_module", "anywidget"),
            ("_view_module_version", ANYWIDGET_VERSION),
            ("_anywidget_id", id),
            ("_esm", esm),
            ("_css", css),
        ] {
            state.insert(k.into(), Value::String(v.into()));
        }
        state.insert("_dom_classes".into(), json!([]));
        state.insert("tabbable".into(), Value::Null);
        state.insert("tooltip".into(), Value::Null);
        WidgetModel {
            inner: Arc::new(Mutex::new(Inner {
                state,
                buffers: BTreeMap::new(),
                comm: None,
                on_update: None,
                on_custom: None,
                accept: None,
            })),
        }
    }

    pub fn set(&self, key: &str, value: Value) {
        self.inner.lock().unwrap().state.insert(key.into(), value);
    }

    pub fn set_buffer(&self, key: &str, bytes: Vec<u8>) {
        self.inner.lock().unwrap().buffers.insert(key.into(), bytes);
    }

    pub fn get(&self, key: &str) -> Value {
        self.inner
            .lock()
            .unwrap()
            .state
            .get(key)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Bytes the binary buffers take (what the state keeps besides small JSON).
    pub fn buffer_bytes(&self) -> u64 {
        let g = self.inner.lock().unwrap();
        g.buffers.values().map(|b| b.len() as u64).sum()
    }

    pub fn buffer(&self, key: &str) -> Option<Vec<u8>> {
        self.inner.lock().unwrap().buffers.get(key).cloned()
    }

    /// All JSON state (without the anywidget plumbing keys) and buffers, for snapshots.
    pub fn snapshot(&self) -> (Map<String, Value>, BTreeMap<String, Vec<u8>>) {
        let g = self.inner.lock().unwrap();
        let state = g
            .state
            .iter()
            .filter(|(k, _)| !k.starts_with('_') && *k != "tabbable" && *k != "tooltip")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (state, g.buffers.clone())
    }

    /// Which keys the front end may set, and how its values are checked. Without it every key is
    /// stored as sent. Refused or corrected keys are answered with the kernel's value, so the
    /// front end never keeps a value the kernel does not have.
    pub fn accept_from_front(&self, f: AcceptFn) {
        self.inner.lock().unwrap().accept = Some(f);
    }

    /// Called with the keys the front end changed (and the token of that message).
    pub fn on_update(&self, f: impl Fn(&[String], Option<String>) + Send + Sync + 'static) {
        self.inner.lock().unwrap().on_update = Some(Arc::new(f));
    }

    /// Called with the content and buffers of `model.send(...)` from the front end.
    pub fn on_custom(
        &self,
        f: impl Fn(Value, Vec<Vec<u8>>, Option<String>) + Send + Sync + 'static,
    ) {
        self.inner.lock().unwrap().on_custom = Some(Arc::new(f));
    }

    /// The comm id once the model is open in the front end.
    pub fn model_id(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap()
            .comm
            .as_ref()
            .map(|c| c.id().to_string())
    }

    /// Opens the model's comm (once); returns its id.
    pub fn open(&self) -> Result<String, CommError> {
        if let Some(id) = self.model_id() {
            return Ok(id);
        }
        ensure_control_target();
        let (data, buffers) = {
            let g = self.inner.lock().unwrap();
            full_state(&g)
        };
        let comm = Comm::open(
            "jupyter.widget",
            data,
            json!({"version": PROTOCOL_VERSION}),
            buffers,
        )?;
        let weak = Arc::downgrade(&self.inner);
        comm.on_msg(move |comm, msg| {
            if let Some(inner) = weak.upgrade() {
                handle_msg(&inner, comm, msg);
            }
        });
        let id = comm.id().to_string();
        self.inner.lock().unwrap().comm = Some(comm);
        live().lock().unwrap().push(Arc::downgrade(&self.inner));
        Ok(id)
    }

    /// Sends the current values of `keys` (JSON or buffer) to the front end, if open.
    pub fn sync(&self, keys: &[&str]) -> Result<(), CommError> {
        let g = self.inner.lock().unwrap();
        let Some(comm) = g.comm.clone() else {
            return Ok(());
        };
        let mut state = Map::new();
        let mut paths = Vec::new();
        let mut buffers = Vec::new();
        for k in keys {
            if let Some(b) = g.buffers.get(*k) {
                paths.push(json!([k]));
                buffers.push(b.clone());
            } else if let Some(v) = g.state.get(*k) {
                state.insert((*k).into(), v.clone());
            }
        }
        drop(g);
        comm.send(
            json!({"method": "update", "state": state, "buffer_paths": paths}),
            buffers,
        )
    }

    /// `msg:custom` in the front end.
    pub fn send_custom(&self, content: Value) -> Result<(), CommError> {
        let comm = self.inner.lock().unwrap().comm.clone();
        match comm {
            Some(c) => c.send(json!({"method": "custom", "content": content}), vec![]),
            None => Ok(()),
        }
    }

    /// The `application/vnd.jupyter.widget-view+json` payload for displaying this model.
    pub fn view_mime(&self) -> Option<Value> {
        self.model_id()
            .map(|id| json!({"model_id": id, "version_major": 2, "version_minor": 1}))
    }
}

/// `{state, buffer_paths}` with every buffer, as comm_open and request_state want.
fn full_state(g: &Inner) -> (Value, Vec<Vec<u8>>) {
    let mut state = g.state.clone();
    let mut paths = Vec::new();
    let mut buffers = Vec::new();
    for (k, b) in &g.buffers {
        state.remove(k);
        paths.push(json!([k]));
        buffers.push(b.clone());
    }
    (json!({"state": state, "buffer_paths": paths}), buffers)
}

fn handle_msg(inner: &Arc<Mutex<Inner>>, comm: &Comm, msg: CommMessage) {
    let parent = comm::current_parent();
    match msg.data["method"].as_str().unwrap_or("") {
        "update" => {
            let Some(changes) = msg.data["state"].as_object().cloned() else {
                return;
            };
            let mut keys: Vec<String> = Vec::new();
            // Keys whose stored value differs from what was sent (refused or corrected).
            let mut answer = Map::new();
            let (cb, echo) = {
                let mut g = inner.lock().unwrap();
                let mut echo = Map::new();
                for (k, v) in &changes {
                    let stored = match g.accept {
                        Some(accept) => accept(&g.state, k, v),
                        None => Some(v.clone()),
                    };
                    match stored {
                        Some(stored) => {
                            if &stored != v {
                                answer.insert(k.clone(), stored.clone());
                            }
                            g.state.insert(k.clone(), stored.clone());
                            echo.insert(k.clone(), stored);
                            keys.push(k.clone());
                        }
                        None => {
                            answer
                                .insert(k.clone(), g.state.get(k).cloned().unwrap_or(Value::Null));
                        }
                    }
                }
                // Buffers sent by the front end (rare) land at their paths' first key; a model
                // that checks its keys takes none (its buffers are the kernel's).
                if let Some(paths) = msg.data["buffer_paths"].as_array() {
                    if g.accept.is_none() {
                        for (p, b) in paths.iter().zip(msg.buffers.iter()) {
                            if let Some(k) = p.get(0).and_then(|k| k.as_str()) {
                                g.buffers.insert(k.into(), b.clone());
                                keys.push(k.into());
                            }
                        }
                    }
                }
                (g.on_update.clone(), echo)
            };
            // Echo so that other views of this model (other tabs) see the change.
            if !echo.is_empty() {
                let _ = comm.send(
                    json!({"method": "echo_update", "state": echo, "buffer_paths": []}),
                    vec![],
                );
            }
            if !answer.is_empty() {
                let _ = comm.send(
                    json!({"method": "update", "state": answer, "buffer_paths": []}),
                    vec![],
                );
            }
            if let Some(cb) = cb {
                cb(&keys, parent);
            }
        }
        "request_state" => {
            let (mut data, buffers) = full_state(&inner.lock().unwrap());
            data["method"] = json!("update");
            let _ = comm.send(data, buffers);
        }
        "custom" => {
            let cb = inner.lock().unwrap().on_custom.clone();
            if let Some(cb) = cb {
                cb(msg.data["content"].clone(), msg.buffers, parent);
            }
        }
        _ => {}
    }
}

/// Serves `jupyter.widget.control`: the front end asks for every live model's state at once
/// (after a page reload) with `request_states`.
fn ensure_control_target() {
    let _ = control_registered().get_or_init(|| {
        comm::register_target("jupyter.widget.control", |_comm, _open| {
            _comm.on_msg(|comm, msg| {
                if msg.data["method"] != "request_states" {
                    return;
                }
                let mut states = Map::new();
                // One flat list of full paths into `states`: [model_id, "state", key].
                let mut paths = Vec::new();
                let mut buffers = Vec::new();
                let live: Vec<Arc<Mutex<Inner>>> =
                    live().lock().unwrap().iter().filter_map(Weak::upgrade).collect();
                for inner in live {
                    let g = inner.lock().unwrap();
                    let Some(id) = g.comm.as_ref().map(|c| c.id().to_string()) else { continue };
                    let mut state = g.state.clone();
                    for (k, b) in &g.buffers {
                        state.remove(k);
                        paths.push(json!([id, "state", k]));
                        buffers.push(b.clone());
                    }
                    let model = json!({
                        "model_name": state.get("_model_name").cloned().unwrap_or(Value::Null),
                        "model_module": state.get("_model_module").cloned().unwrap_or(Value::Null),
                        "model_module_version": state.get("_model_module_version").cloned().unwrap_or(Value::Null),
                        "state": state,
                    });
                    states.insert(id, model);
                }
                let _ = comm.send(json!({"method": "update_states", "states": states, "buffer_paths": paths}), buffers);
            });
        })
    });
}
