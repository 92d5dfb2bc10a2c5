//! [`AttentionView`]: one model run shown as an interactive widget.
//!
//! The view owns the run (input, interventions, latest analysis) and mirrors it into a
//! [`WidgetModel`]. Front-end clicks arrive as `custom` messages; they are queued and a worker
//! thread applies every click queued so far in one re-run (clicks that arrive during a run are
//! coalesced, never lost or reordered). Cells drive the same view synchronously
//! (`view.mask(..)`, `view.set_layer(..)`, `view.set_text(..)`).

use super::anywidget::WidgetModel;
use super::png::{render_png, PngView, SnapToken, Snapshot};
use super::state;
use crate::comm;
use base64::Engine as _;
use exformer_engine::{Analysis, EngineError, Input, Interventions, Layers, ModelKind, Pool, Run};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};

/// The widget's front end, embedded (no CDN, works offline).
pub const WIDGET_JS: &str = include_str!("../../../../widget/exformer.js");
pub const WIDGET_CSS: &str = include_str!("../../../../widget/exformer.css");

/// What a token click does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickMode {
    Mask,
    KnockOut,
}

struct RunState {
    iv: Interventions,
    /// The latest run: tokens and predictions, attention computed when sent.
    run: Run,
    run_id: u64,
    /// The run whose prefix this one reused (its pooled maps' leading bins still hold).
    reused_from: Option<u64>,
    /// The last pooled layer map computed (long inputs), to reuse across re-runs and snapshots.
    pooled: Option<PooledMap>,
    /// Side of the `attn` maps of this run (computed once).
    side: Option<usize>,
    /// Predictions of the same input without interventions (what a changed run is compared to).
    plain_predictions: Value,
}

struct PooledMap {
    layer: usize,
    side: usize,
    run_id: u64,
    map: Vec<f32>,
}

impl RunState {
    /// Replaces the run with a re-run of it (or with a new input when `rerun` is false).
    fn advance(&mut self, next: Run, iv: Interventions, rerun: bool) {
        self.reused_from = (rerun && next.reused_positions() > 0).then_some(self.run_id);
        if iv.is_none() {
            self.plain_predictions = state::predictions_json(next.meta());
        }
        self.run = next;
        self.iv = iv;
        self.run_id += 1;
        if !rerun {
            // Same input, same side: a re-run's pooled maps can reuse the previous ones.
            self.side = None;
        }
    }

    /// Layer `layer` as the widget's `attn` bytes and their side: full resolution, or pooled on
    /// the device (reusing the bins a causal re-run could not change).
    fn layer_bytes(&mut self, layer: usize) -> (Vec<u8>, usize) {
        let t = self.run.seq_len();
        let side = *self
            .side
            .get_or_insert_with(|| state::run_attn_side(&self.run));
        if side >= t {
            return (
                self.run
                    .attention(layer)
                    .map(|v| state::quantize_all(&v))
                    .unwrap_or_default(),
                side,
            );
        }
        let fits = |c: &&PooledMap| c.layer == layer && c.side == side;
        if let Some(c) = self
            .pooled
            .as_ref()
            .filter(fits)
            .filter(|c| c.run_id == self.run_id)
        {
            return (state::quantize_all(&c.map), side);
        }
        let before = self
            .pooled
            .as_ref()
            .filter(fits)
            .filter(|c| Some(c.run_id) == self.reused_from)
            .map(|c| c.map.as_slice());
        match self
            .run
            .pooled_reusing(layer, None, side, Pool::Max, before)
        {
            Ok(map) => {
                let bytes = state::quantize_all(&map);
                self.pooled = Some(PooledMap {
                    layer,
                    side,
                    run_id: self.run_id,
                    map,
                });
                (bytes, side)
            }
            Err(_) => (vec![], side),
        }
    }
}

#[derive(Default)]
struct Queue {
    toggles: Vec<(usize, ClickMode)>,
    clear: bool,
    /// Resend the selected layer and refresh the snapshot (a display setting changed).
    redraw: bool,
    /// The last front end went away: free the run's tensors (made again when next needed).
    release: bool,
    /// A front end came back to a released view: make the run again and send everything.
    republish: bool,
    parent: Option<String>,
    /// The view was dropped: the worker thread ends.
    closed: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.toggles.is_empty() && !self.clear && !self.redraw && !self.release && !self.republish
    }
}

/// The front end's requests waiting for the view's worker thread. Shared by the view and its
/// worker, which holds only a weak reference to the view itself.
#[derive(Default)]
struct Work {
    queue: Mutex<Queue>,
    wake: Condvar,
}

struct ViewInner {
    model: Arc<exformer_engine::Model>,
    widget: WidgetModel,
    run: Mutex<RunState>,
    work: Arc<Work>,
    display_id: String,
    worker: OnceLock<()>,
    /// Front ends showing the view now (their `attach` minus their `detach` messages).
    attached: std::sync::atomic::AtomicUsize,
}

/// An interactive attention explorer over one model and one input.
#[derive(Clone)]
pub struct AttentionView {
    inner: Arc<ViewInner>,
}

/// Hands memory freed on the heap back to the system. glibc keeps freed blocks of a few MB (a
/// layer's probabilities) in its arenas, so without this a released view's memory would be
/// reused by the process but never leave it.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free heap memory; it takes no pointers.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// How long a view no front end shows keeps its tensors: `EXFORMER_RELEASE_AFTER_S` seconds,
/// 20 by default.
fn release_delay() -> std::time::Duration {
    let s = std::env::var("EXFORMER_RELEASE_AFTER_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(20.0);
    std::time::Duration::from_secs_f64(s)
}

/// A test hook: `EXFORMER_TEST_PUBLISH_DELAY_MS` holds a re-run's publish between reading the
/// selected layer and writing the state, so a test can send a change in that window.
fn publish_delay_for_tests() {
    if let Some(ms) = std::env::var("EXFORMER_TEST_PUBLISH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Views a front end shows (or was just given to show): the front end may still talk to them, so
/// they stay alive even when no cell variable holds them. A view that is in neither place is
/// dropped, and with it its run, widget state and worker thread.
fn shown_views() -> &'static Mutex<HashMap<String, AttentionView>> {
    crate::global::global("view.shown", Default::default)
}

fn views_alive() -> &'static std::sync::atomic::AtomicUsize {
    crate::global::global("view.alive", Default::default)
}

/// How many attention views exist in this process (held by a cell variable or shown by a front
/// end); for memory checks.
pub fn views_in_memory() -> usize {
    views_alive().load(std::sync::atomic::Ordering::SeqCst)
}

impl Drop for ViewInner {
    fn drop(&mut self) {
        views_alive().fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let mut q = self.work.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        self.work.wake.notify_all();
    }
}

impl AttentionView {
    /// Runs the model on `input` and builds the view (not yet displayed).
    pub fn new(
        model: Arc<exformer_engine::Model>,
        input: Input,
    ) -> Result<AttentionView, EngineError> {
        let iv = Interventions::default();
        let run = model.forward(&input, &iv)?;
        let analysis = run.meta();
        let t = analysis.seq_len();
        let plain = state::predictions_json(analysis);
        let widget = WidgetModel::new(WIDGET_JS, WIDGET_CSS, "exformer.AttentionView");
        widget.accept_from_front(state::accept_from_front);
        let mode = if analysis.kind == ModelKind::MaskedLm {
            "mask"
        } else {
            "knockout"
        };
        for (k, v) in [
            ("layer", json!(analysis.n_layers / 2)),
            ("heads", json!([])),
            ("view", json!(state::default_view(t))),
            ("threshold", json!(state::default_threshold(t))),
            ("hide_special", json!(false)),
            ("combine", json!(state::default_combine(t))),
            ("edges", json!(state::default_edges(t))),
            ("sinks", json!("auto")),
            ("pair_filter", json!("all")),
            ("mode", json!(mode)),
            ("focus", json!(-1)),
            ("zoom", Value::Null),
        ] {
            widget.set(k, v);
        }
        views_alive().fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let view = AttentionView {
            inner: Arc::new(ViewInner {
                model,
                widget,
                run: Mutex::new(RunState {
                    iv,
                    run,
                    run_id: 1,
                    reused_from: None,
                    pooled: None,
                    side: None,
                    plain_predictions: plain,
                }),
                work: Arc::default(),
                display_id: format!("exformer-view-{}", unique()),
                worker: OnceLock::new(),
                attached: Default::default(),
            }),
        };
        {
            let mut run = view.inner.run.lock().unwrap();
            view.publish_run(&mut run);
        }
        Ok(view)
    }

    // ---- reading -------------------------------------------------------------------------

    /// The latest analysis with every layer's attention (computed now: at thousands of tokens
    /// prefer [`AttentionView::attention`] for the layers you need).
    pub fn analysis(&self) -> Analysis {
        let run = self.lock_run();
        run.run
            .analysis(&Layers::All)
            .unwrap_or_else(|_| run.run.meta().clone())
    }

    /// One layer's attention of the latest run, row-major [n_heads, T, T].
    pub fn attention(&self, layer: usize) -> Result<Vec<f32>, EngineError> {
        self.lock_run().run.attention(layer)
    }

    /// Whether the view holds its run's tensors now. A view no front end shows frees them (its
    /// device memory) and makes the run again, identical, when it is next needed.
    pub fn in_memory(&self) -> bool {
        !self.inner.run.lock().unwrap().run.is_released()
    }

    /// The run state, its tensors made again first if they were freed.
    fn lock_run(&self) -> std::sync::MutexGuard<'_, RunState> {
        let mut g = self.inner.run.lock().unwrap();
        if g.run.is_released() {
            let again = self.inner.model.forward(g.run.input(), &g.iv);
            if let Ok(r) = again {
                g.run = r;
                g.pooled = None;
            }
        }
        g
    }

    /// How many leading positions the latest run took from the run before it (causal re-runs).
    pub fn reused_positions(&self) -> usize {
        self.inner.run.lock().unwrap().run.reused_positions()
    }

    /// Tokens and predictions of the latest run (no attention).
    pub fn meta(&self) -> Analysis {
        self.inner.run.lock().unwrap().run.meta().clone()
    }

    pub fn layer(&self) -> usize {
        self.inner.widget.get("layer").as_u64().unwrap_or(0) as usize
    }

    /// The selected layer, clamped to the model's layers.
    fn selected_layer(&self, n_layers: usize) -> usize {
        self.layer().min(n_layers.saturating_sub(1))
    }

    pub fn interventions(&self) -> Interventions {
        self.inner.run.lock().unwrap().iv.clone()
    }

    /// The widget's model id once displayed in the exformer kernel.
    pub fn model_id(&self) -> Option<String> {
        self.inner.widget.model_id()
    }

    // ---- driving from code ---------------------------------------------------------------

    /// Masks exactly these positions (masked LMs) and re-runs.
    pub fn mask(&self, positions: &[usize]) -> Result<&Self, EngineError> {
        self.rerun(|iv| iv.mask = positions.to_vec())
    }

    /// Knocks out exactly these key positions (any model) and re-runs.
    pub fn knock_out(&self, positions: &[usize]) -> Result<&Self, EngineError> {
        self.rerun(|iv| iv.knockout = positions.to_vec())
    }

    /// Zeroes these (layer, head) outputs and re-runs.
    pub fn ablate_heads(&self, heads: &[(usize, usize)]) -> Result<&Self, EngineError> {
        self.rerun(|iv| iv.ablate_heads = heads.to_vec())
    }

    /// Removes every intervention and re-runs.
    pub fn clear(&self) -> Result<&Self, EngineError> {
        self.rerun(|iv| {
            *iv = Interventions {
                top_k: iv.top_k,
                ..Interventions::default()
            }
        })
    }

    /// Replaces the text (interventions are cleared: positions would not mean the same).
    pub fn set_text(&self, text: &str) -> Result<&Self, EngineError> {
        self.set_input(Input::new(text))
    }

    /// Replaces both sentences of an encoder pair.
    pub fn set_pair(&self, a: &str, b: &str) -> Result<&Self, EngineError> {
        self.set_input(Input::new(a).with_pair(b))
    }

    fn set_input(&self, input: Input) -> Result<&Self, EngineError> {
        let mut run = self.inner.run.lock().unwrap();
        let iv = Interventions {
            top_k: run.iv.top_k,
            ..Interventions::default()
        };
        let next = self.inner.model.forward(&input, &iv)?;
        let t = next.seq_len();
        run.advance(next, iv, false);
        // A new text: reset what depended on token positions.
        self.inner.widget.set("focus", json!(-1));
        self.inner.widget.set("zoom", Value::Null);
        self.inner.widget.set("view", json!(state::default_view(t)));
        self.inner
            .widget
            .set("threshold", json!(state::default_threshold(t)));
        self.inner
            .widget
            .set("combine", json!(state::default_combine(t)));
        self.inner
            .widget
            .set("edges", json!(state::default_edges(t)));
        self.publish_run(&mut run);
        let _ = self
            .inner
            .widget
            .sync(&["focus", "zoom", "view", "threshold", "combine", "edges"]);
        drop(run);
        self.refresh_display();
        Ok(self)
    }

    /// Shows layer `layer` (0-based).
    pub fn set_layer(&self, layer: usize) -> Result<&Self, EngineError> {
        let n = self.inner.run.lock().unwrap().run.n_layers();
        if layer >= n {
            return Err(EngineError::BadIntervention(format!(
                "layer {layer} does not exist: the model has {n} layers (0..{})",
                n.saturating_sub(1)
            )));
        }
        self.inner.widget.set("layer", json!(layer));
        let _ = self.inner.widget.sync(&["layer"]);
        self.send_layer();
        self.refresh_display();
        Ok(self)
    }

    /// Selects heads (empty = all).
    pub fn set_heads(&self, heads: &[usize]) -> &Self {
        self.inner.widget.set("heads", json!(heads));
        let _ = self.inner.widget.sync(&["heads"]);
        self.refresh_display();
        self
    }

    /// "head", "model" or "matrix".
    pub fn set_view(&self, view: &str) -> &Self {
        self.inner.widget.set("view", json!(view));
        let _ = self.inner.widget.sync(&["view"]);
        self.refresh_display();
        self
    }

    pub fn set_threshold(&self, threshold: f64) -> &Self {
        self.inner
            .widget
            .set("threshold", json!(threshold.clamp(0.0, 1.0)));
        let _ = self.inner.widget.sync(&["threshold"]);
        self.refresh_display();
        self
    }

    fn rerun(&self, change: impl FnOnce(&mut Interventions)) -> Result<&Self, EngineError> {
        let mut run = self.inner.run.lock().unwrap();
        let mut iv = run.iv.clone();
        change(&mut iv);
        let next = self.inner.model.rerun(&run.run, &iv)?;
        run.advance(next, iv, true);
        self.publish_run(&mut run);
        drop(run);
        self.refresh_display();
        Ok(self)
    }

    // ---- state ---------------------------------------------------------------------------

    /// Puts a run into the widget state and sends it if the widget is open.
    fn publish_run(&self, run: &mut RunState) {
        let layer = self.selected_layer(run.run.n_layers());
        publish_delay_for_tests();
        let (attn, side) = run.layer_bytes(layer);
        let a = run.run.meta();
        let w = &self.inner.widget;
        let (thumbs, s) = if a.seq_len() <= state::EAGER_THUMBS_MAX_TOKENS
            || w.get("view").as_str() == Some("model")
        {
            state::thumbs(&run.run).unwrap_or_default()
        } else {
            (vec![], 0)
        };
        w.set("model_name", json!(a.model));
        w.set("kind", json!(state::kind_str(a.kind)));
        w.set("n_layers", json!(a.n_layers));
        w.set("n_heads", json!(a.n_heads));
        w.set("seq_len", json!(a.seq_len()));
        w.set("tokens", state::tokens_json(a));
        w.set("predictions", state::predictions_json(a));
        // Changed runs carry the unchanged predictions too: the panel shows before → after.
        w.set(
            "predictions_base",
            if run.iv.is_none() {
                Value::Null
            } else {
                run.plain_predictions.clone()
            },
        );
        w.set_buffer("attn", attn);
        w.set("attn_size", json!(side));
        w.set("attn_layer", json!(layer));
        w.set_buffer("thumbs", thumbs);
        w.set("thumb_size", json!(s));
        let all = if state::all_layers_in_state(&run.run) {
            state::all_layer_bytes(&run.run).unwrap_or_default()
        } else {
            vec![]
        };
        w.set_buffer("attn_all", all);
        w.set("busy", json!(false));
        w.set("error", json!(""));
        w.set("run_id", json!(run.run_id));
        let mut keys = vec![
            "model_name",
            "kind",
            "n_layers",
            "n_heads",
            "seq_len",
            "tokens",
            "predictions",
            "predictions_base",
            "attn",
            "attn_size",
            "attn_layer",
            "thumbs",
            "thumb_size",
            "attn_all",
            "busy",
            "error",
            "run_id",
        ];
        keys.extend(self.set_tile(run, layer));
        let _ = w.sync(&keys);
    }

    /// Sends the attention of the currently selected layer (and, for long inputs whose model
    /// view was just opened, the thumbnails).
    fn send_layer(&self) {
        let mut run = self.lock_run();
        let w = &self.inner.widget;
        let layer = self.selected_layer(run.run.n_layers());
        let (attn, side) = run.layer_bytes(layer);
        w.set_buffer("attn", attn);
        w.set("attn_size", json!(side));
        w.set("attn_layer", json!(layer));
        let mut keys = vec!["attn", "attn_size", "attn_layer"];
        keys.extend(self.set_tile(&run, layer));
        if w.get("view").as_str() == Some("model") && w.get("thumb_size").as_u64().unwrap_or(0) == 0
        {
            let (thumbs, s) = state::thumbs(&run.run).unwrap_or_default();
            w.set_buffer("thumbs", thumbs);
            w.set("thumb_size", json!(s));
            keys.extend(["thumbs", "thumb_size"]);
        }
        let _ = w.sync(&keys);
    }

    /// Puts the full-resolution tile under the front end's `zoom` window (layer `layer`) into the
    /// state; returns the keys to sync (none when nothing is zoomed).
    fn set_tile(&self, run: &RunState, layer: usize) -> Vec<&'static str> {
        let w = &self.inner.widget;
        let Some((r0, c0, n)) = state::zoom_window(&w.get("zoom"), run.run.seq_len()) else {
            if w.get("tile_rect").is_null() {
                return vec![];
            }
            w.set_buffer("tile", vec![]);
            w.set("tile_rect", Value::Null);
            return vec!["tile", "tile_rect"];
        };
        match run.run.tile(layer, None, r0..r0 + n, c0..c0 + n) {
            Ok(v) => {
                w.set_buffer("tile", state::quantize_all(&v));
                w.set("tile_rect", json!({"layer": layer, "r0": r0, "c0": c0, "rows": n, "cols": n, "run_id": run.run_id}));
            }
            Err(_) => {
                w.set_buffer("tile", vec![]);
                w.set("tile_rect", Value::Null);
            }
        }
        vec!["tile", "tile_rect"]
    }

    fn set_error(&self, msg: &str) {
        let w = &self.inner.widget;
        w.set("busy", json!(false));
        w.set("error", json!(msg));
        let _ = w.sync(&["busy", "error"]);
    }

    // ---- front-end traffic ---------------------------------------------------------------

    fn weak(&self) -> Weak<ViewInner> {
        Arc::downgrade(&self.inner)
    }

    fn from_weak(weak: &Weak<ViewInner>) -> Option<AttentionView> {
        weak.upgrade().map(|inner| AttentionView { inner })
    }

    /// Keeps the view alive for the front ends (see [`shown_views`]).
    fn hold_for_front_end(&self) {
        shown_views()
            .lock()
            .unwrap()
            .insert(self.inner.display_id.clone(), self.clone());
    }

    /// After the release delay, if no front end shows the view: lets go of it (a cell variable may
    /// still hold it) and, after a front end went away (`free_run`), frees its run's tensors.
    fn let_go_unless_shown(&self, parent: Option<String>, free_run: bool) {
        let weak = self.weak();
        let id = self.inner.display_id.clone();
        std::thread::spawn(move || {
            std::thread::sleep(release_delay());
            let Some(me) = Self::from_weak(&weak) else {
                return;
            };
            if me.inner.attached.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                if free_run {
                    me.enqueue(parent, |q| q.release = true);
                }
                shown_views().lock().unwrap().remove(&id);
            }
        });
    }

    fn ensure_worker(&self) {
        self.inner.worker.get_or_init(|| {
            let weak = self.weak();
            self.inner.widget.on_custom({
                let weak = weak.clone();
                move |content, _buffers, parent| {
                    if let Some(me) = Self::from_weak(&weak) {
                        me.on_custom(content, parent)
                    }
                }
            });
            self.inner.widget.on_update({
                let weak = weak.clone();
                move |keys, parent| {
                    // What the layer, the tile or the static snapshot depends on.
                    const REDRAW: [&str; 7] = [
                        "layer",
                        "heads",
                        "view",
                        "threshold",
                        "hide_special",
                        "focus",
                        "zoom",
                    ];
                    if keys.iter().any(|k| REDRAW.contains(&k.as_str())) {
                        if let Some(me) = Self::from_weak(&weak) {
                            me.enqueue(parent, |q| q.redraw = true);
                        }
                    }
                }
            });
            let work = self.inner.work.clone();
            std::thread::Builder::new()
                .name("exformer-view".into())
                .spawn(move || Self::worker_loop(&work, &weak))
                .expect("spawn the view's worker thread");
        });
    }

    fn on_custom(&self, content: Value, parent: Option<String>) {
        match content["type"].as_str() {
            Some("toggle") => {
                let Some(i) = content["index"].as_u64() else {
                    return;
                };
                let mode = match content["mode"].as_str() {
                    Some("mask") => ClickMode::Mask,
                    _ => ClickMode::KnockOut,
                };
                // Show the busy state right away, parented to this click.
                self.inner.widget.set("busy", json!(true));
                let _ = self.inner.widget.sync(&["busy"]);
                self.enqueue(parent, |q| q.toggles.push((i as usize, mode)));
            }
            // The front end shows the view (render) or stopped showing it (cell output cleared,
            // notebook closed): with none left the run's tensors are freed.
            Some("attach") => {
                self.inner
                    .attached
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                self.hold_for_front_end();
                if !self.in_memory() {
                    self.enqueue(parent, |q| q.republish = true);
                }
            }
            Some("detach") => {
                let a = &self.inner.attached;
                let left = a
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |n| Some(n.saturating_sub(1)),
                    )
                    .unwrap_or(0)
                    .saturating_sub(1);
                if left == 0 {
                    // Not at once: JupyterLab re-renders an output (detach, then attach) when it
                    // moves it, and making a long run again takes a while.
                    self.let_go_unless_shown(parent, true);
                }
            }
            Some("clear") => {
                self.inner.widget.set("busy", json!(true));
                let _ = self.inner.widget.sync(&["busy"]);
                self.enqueue(parent, |q| {
                    q.toggles.clear();
                    q.clear = true;
                });
            }
            _ => {}
        }
    }

    fn enqueue(&self, parent: Option<String>, f: impl FnOnce(&mut Queue)) {
        let mut q = self.inner.work.queue.lock().unwrap();
        f(&mut q);
        q.parent = parent.or(q.parent.take());
        // Anything that is not a re-run redraws: resend the layer, refresh the static snapshot.
        q.redraw |= q.toggles.is_empty() && !q.clear && !q.release && !q.republish;
        self.inner.work.wake.notify_one();
    }

    /// Serves the front end's requests until the view is dropped. Holds the view only while it
    /// applies a batch, so the worker never keeps a view alive.
    fn worker_loop(work: &Work, weak: &Weak<ViewInner>) {
        loop {
            let batch = {
                let mut q = work.queue.lock().unwrap_or_else(|e| e.into_inner());
                while q.is_empty() && !q.closed {
                    q = work.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                if q.closed {
                    return;
                }
                std::mem::take(&mut *q)
            };
            let Some(me) = Self::from_weak(weak) else {
                return;
            };
            let parent = batch.parent.clone();
            // A bug in one update must not silently end the view: the panic is shown in the
            // widget and the next click is served.
            let panicked =
                comm::run_handler(|| comm::with_parent(parent.clone(), || me.apply(batch)));
            if let Some(why) = panicked {
                me.inner.run.clear_poison();
                work.queue.clear_poison();
                let first = why.lines().next().unwrap_or(&why);
                comm::with_parent(parent, || {
                    me.set_error(&format!(
                        "internal error while updating the view (please report it): {first}"
                    ))
                });
            }
        }
    }

    /// Applies front-end requests. The live view gets everything over the comm; the output's
    /// PNG/text fallback is NOT refreshed here: JupyterLab rebuilds a widget whose output is
    /// updated, which would drop the user's focus and hover on every click. Fallbacks follow
    /// changes made from cells (and the widget state saved with the notebook has the rest).
    fn apply(&self, batch: Queue) {
        let shown = self
            .inner
            .attached
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0;
        if batch.release && !shown && batch.toggles.is_empty() && !batch.clear {
            let mut run = self.inner.run.lock().unwrap();
            run.run.release();
            run.pooled = None;
            drop(run);
            return_freed_memory();
            return;
        }
        if batch.republish && batch.toggles.is_empty() && !batch.clear {
            let mut run = self.lock_run();
            self.publish_run(&mut run);
            return;
        }
        if batch.toggles.is_empty() && !batch.clear {
            self.send_layer();
            return;
        }
        let mut run = self.inner.run.lock().unwrap();
        let mut iv = run.iv.clone();
        if batch.clear {
            iv = Interventions {
                top_k: iv.top_k,
                ..Interventions::default()
            };
        }
        let masked_lm = run.run.meta().kind == ModelKind::MaskedLm;
        let t = run.run.seq_len();
        for (i, mode) in batch.toggles {
            if i >= t {
                continue;
            }
            let list = if mode == ClickMode::Mask && masked_lm {
                &mut iv.mask
            } else {
                &mut iv.knockout
            };
            match list.iter().position(|&x| x == i) {
                Some(p) => {
                    list.remove(p);
                }
                None => {
                    list.push(i);
                    list.sort_unstable();
                }
            }
        }
        match self.inner.model.rerun(&run.run, &iv) {
            Ok(next) => {
                run.advance(next, iv, true);
                self.publish_run(&mut run);
            }
            Err(e) => {
                drop(run);
                self.set_error(&e.to_string());
            }
        }
    }

    // ---- output --------------------------------------------------------------------------

    fn snapshot_png(&self) -> Vec<u8> {
        let mut run = self.lock_run();
        let layer = self.selected_layer(run.run.n_layers());
        let (attn, side) = run.layer_bytes(layer);
        let a = run.run.meta();
        let w = &self.inner.widget;
        let heads: Vec<usize> = w
            .get("heads")
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|h| h.as_u64().map(|h| h as usize))
                    .collect()
            })
            .unwrap_or_default();
        let t = a.seq_len();
        let pooled = side < t;
        let tokens: Vec<SnapToken> = if pooled {
            // A long input arrives pooled: one row per bin of tokens (bins as in the widget).
            (0..side)
                .map(|b| {
                    let (lo, hi) = (
                        (b * t).div_ceil(side),
                        ((b + 1) * t).div_ceil(side).max(1) - 1,
                    );
                    let ko = a.tokens[lo..=hi.min(t - 1)]
                        .iter()
                        .any(|x| x.knocked_out || x.masked);
                    SnapToken {
                        text: format!("#{lo}–{hi}"),
                        special: false,
                        masked: false,
                        knocked_out: ko,
                        segment: 0,
                    }
                })
                .collect()
        } else {
            a.tokens
                .iter()
                .map(|t| SnapToken {
                    text: t.text.clone(),
                    special: t.special,
                    masked: t.masked,
                    knocked_out: t.knocked_out,
                    segment: t.segment,
                })
                .collect()
        };
        let focus = w
            .get("focus")
            .as_i64()
            .filter(|&f| f >= 0 && (f as usize) < t && !pooled)
            .map(|f| f as usize);
        let view = match w.get("view").as_str() {
            Some("matrix") => PngView::Matrix,
            _ => PngView::Head,
        };
        // Predictions: the focused position, else the first masked one, else the last token.
        let pos = focus
            .or_else(|| a.tokens.iter().position(|t| t.masked))
            .unwrap_or(a.seq_len().saturating_sub(1));
        let preds: Vec<(String, f32)> = a
            .predictions
            .get(pos)
            .map(|p| p.iter().map(|x| (x.token.clone(), x.prob)).collect())
            .unwrap_or_default();
        let title = if pooled {
            format!(
                "{} · layer {} of {} · {t} tokens, max-pooled to {side}×{side}",
                a.model, layer, a.n_layers
            )
        } else {
            format!("{} · layer {} of {}", a.model, layer, a.n_layers)
        };
        render_png(&Snapshot {
            title: &title,
            tokens: &tokens,
            n_heads: a.n_heads,
            attn: &attn,
            heads: &heads,
            threshold: w.get("threshold").as_f64().unwrap_or(0.0) as f32,
            hide_special: w.get("hide_special").as_bool().unwrap_or(false),
            view,
            focus,
            predictions: (!preds.is_empty() && !pooled).then_some((pos, &preds[..])),
        })
    }

    /// A PNG of the current view (what GitHub and nbviewer show).
    pub fn png(&self) -> Vec<u8> {
        self.snapshot_png()
    }

    pub fn save_png(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, self.png())
    }

    /// A plain-text summary of the run.
    pub fn text(&self) -> String {
        let run = self.inner.run.lock().unwrap();
        summary(run.run.meta(), self.layer())
    }

    fn bundle(&self, with_widget: bool) -> Map<String, Value> {
        let (text, png) = (self.text(), self.png());
        let png_base64 = base64::engine::general_purpose::STANDARD.encode(&png);
        let mut b = Map::new();
        // Front ends without the widget show one of these: the PNG (markdown, LaTeX / PDF), the
        // text (terminals), or both at once as HTML (GitHub's and nbviewer's previews, VS Code).
        b.insert(
            "text/html".into(),
            Value::String(crate::display::png_with_text_html(
                &png_base64,
                crate::display::png_size(&png),
                &text,
            )),
        );
        b.insert("image/png".into(), Value::String(png_base64));
        b.insert("text/plain".into(), Value::String(text));
        if with_widget {
            if let Some(v) = self.inner.widget.view_mime() {
                b.insert("application/vnd.jupyter.widget-view+json".into(), v);
            }
        }
        b
    }

    /// Shows the view in the cell's output: the live widget under the exformer kernel (with
    /// PNG and text fallbacks), a static picture elsewhere.
    pub fn display(&self) {
        if comm::in_kernel() && self.inner.widget.open().is_ok() {
            self.ensure_worker();
            // Shown now: the front end gets the release delay to render it and say `attach`.
            self.hold_for_front_end();
            self.let_go_unless_shown(comm::current_parent(), false);
            let b = self.bundle(true);
            if comm::display(
                Value::Object(b),
                json!({}),
                Some(&self.inner.display_id),
                false,
            )
            .is_ok()
            {
                return;
            }
        }
        crate::display::print_mime_blocks(&self.bundle(false));
    }

    /// evcxr calls this for a cell's final expression.
    pub fn evcxr_display(&self) {
        self.display();
    }

    /// Re-sends the PNG and text of every output showing this view.
    fn refresh_display(&self) {
        if self.inner.widget.model_id().is_none() {
            return;
        }
        let b = self.bundle(true);
        let _ = comm::display(
            Value::Object(b),
            json!({}),
            Some(&self.inner.display_id),
            true,
        );
    }

    /// The widget state as saved in a standalone page (binary traits base64 under `_buffers`).
    pub fn state_json(&self, include_all_layers: bool) -> Value {
        let (mut st, buffers) = self.inner.widget.snapshot();
        st.insert("busy".into(), json!(false));
        st.insert("error".into(), json!(""));
        let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
        let mut bufs = Map::new();
        for (k, b) in &buffers {
            bufs.insert(k.clone(), b64(b));
        }
        // Small runs already carry every layer in the widget state (`attn_all`, set with the run).
        let carried = buffers.get("attn_all").is_some_and(|b| !b.is_empty());
        if include_all_layers && !carried {
            let run = self.inner.run.lock().unwrap();
            if let Ok(all) = state::all_layer_bytes(&run.run) {
                bufs.insert("attn_all".into(), b64(&all));
            }
        }
        st.insert("_buffers".into(), Value::Object(bufs));
        Value::Object(st)
    }

    /// Writes one self-contained offline HTML file with this run (layers, heads and hover keep
    /// working; masking needs a kernel).
    pub fn save_html(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        let all = state::all_layers_len(&self.inner.run.lock().unwrap().run)
            <= super::html::MAX_ALL_LAYERS_BYTES;
        let path = path.as_ref();
        std::fs::write(path, super::html::standalone(&self.state_json(all))).map_err(|e| {
            std::io::Error::new(e.kind(), format!("could not write {}: {e}", path.display()))
        })
    }
}

impl std::fmt::Debug for AttentionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

fn summary(a: &Analysis, layer: usize) -> String {
    let mut s = format!(
        "AttentionView: {} ({}), {} layers x {} heads, layer {} shown\n",
        a.model,
        state::kind_str(a.kind),
        a.n_layers,
        a.n_heads,
        layer
    );
    let toks: Vec<String> = a
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mark = if t.masked {
                "[MASK]"
            } else if t.knocked_out {
                "[x]"
            } else {
                ""
            };
            format!("{i}:{:?}{mark}", t.text)
        })
        .collect();
    s.push_str(&format!("tokens ({}): {}\n", a.seq_len(), toks.join(" ")));
    let pos = a
        .tokens
        .iter()
        .position(|t| t.masked)
        .unwrap_or(a.seq_len().saturating_sub(1));
    if let Some(p) = a.predictions.get(pos).filter(|p| !p.is_empty()) {
        let what = if a.kind == ModelKind::CausalLm {
            "next token after"
        } else {
            "predictions at"
        };
        let list: Vec<String> = p
            .iter()
            .map(|x| format!("{:?} {:.3}", x.token, x.prob))
            .collect();
        s.push_str(&format!("{what} {pos}: {}\n", list.join(", ")));
    }
    s
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}-{:x}-{}",
        std::process::id(),
        nanos,
        crate::global::next_id()
    )
}
