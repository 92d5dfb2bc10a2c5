//! What a view holds: its run state (the latest run, its interventions, the pooled map kept for
//! long inputs), the queue of front-end requests its worker serves, and the shared inner value
//! the cell's handles, the worker and the comm handlers point to. The files beside this one add
//! behaviour to these types; this one imports none of them.

use crate::widget::anywidget::WidgetModel;
use crate::widget::state;
use exformer_engine::{Interventions, Pool, Run};
use serde_json::Value;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};

/// What a token click does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickMode {
    Mask,
    KnockOut,
}

/// A view's latest run and what was computed from it.
pub(super) struct RunState {
    pub(super) iv: Interventions,
    /// The latest run: tokens and predictions, attention computed when sent.
    pub(super) run: Run,
    pub(super) run_id: u64,
    /// The run whose prefix this one reused (its pooled maps' leading bins still hold).
    pub(super) reused_from: Option<u64>,
    /// The last pooled layer map computed (long inputs), to reuse across re-runs and snapshots.
    pub(super) pooled: Option<PooledMap>,
    /// Side of the `attn` maps of this run (computed once).
    pub(super) side: Option<usize>,
    /// Predictions of the same input without interventions (what a changed run is compared to).
    pub(super) plain_predictions: Value,
    /// Why the released run could not be made again (the memory budget), if it could not.
    pub(super) remake_error: Option<String>,
}

pub(super) struct PooledMap {
    pub(super) layer: usize,
    pub(super) side: usize,
    pub(super) run_id: u64,
    pub(super) map: Vec<f32>,
}

impl RunState {
    /// Replaces the run with a re-run of it (or with a new input when `rerun` is false).
    pub(super) fn advance(&mut self, next: Run, iv: Interventions, rerun: bool) {
        self.reused_from = (rerun && next.reused_positions() > 0).then_some(self.run_id);
        if iv.is_none() {
            self.plain_predictions = state::predictions_json(next.meta());
        }
        self.run = next;
        // The old run and the forward's scratch are free now: give them back once this request's
        // run is done (the model thread runs the trim after it; see `return_freed_memory_soon`).
        crate::memory::return_freed_memory_soon();
        self.iv = iv;
        self.run_id += 1;
        if !rerun {
            // Same input, same side: a re-run's pooled maps can reuse the previous ones.
            self.side = None;
        }
    }

    /// Frees the run's tensors and what was computed from them (tokens and predictions stay).
    pub(super) fn release(&mut self) {
        self.run.release();
        self.pooled = None;
    }

    /// Frees what is made again cheaply from the run's own tensors: kept probabilities, the
    /// pooled map.
    pub(super) fn drop_derived(&mut self) {
        self.run.drop_probabilities();
        self.pooled = None;
    }

    /// Layer `layer` as the widget's `attn` bytes and their side: full resolution, or pooled on
    /// the device (reusing the bins a causal re-run could not change).
    pub(super) fn layer_bytes(&mut self, layer: usize) -> (Vec<u8>, usize) {
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

/// The front end's requests since the worker last looked, coalesced.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) toggles: Vec<(usize, ClickMode)>,
    pub(super) clear: bool,
    /// Resend the selected layer and refresh the snapshot (a display setting changed).
    pub(super) redraw: bool,
    /// The last front end went away: free the run's tensors (made again when next needed).
    pub(super) release: bool,
    /// A front end came back to a released view: make the run again and send everything.
    pub(super) republish: bool,
    pub(super) parent: Option<String>,
    /// The view was dropped: the worker thread ends.
    pub(super) closed: bool,
}

impl Queue {
    pub(super) fn is_empty(&self) -> bool {
        self.toggles.is_empty() && !self.clear && !self.redraw && !self.release && !self.republish
    }
}

/// The front end's requests waiting for the view's worker thread. Shared by the view and its
/// worker, which holds only a weak reference to the view itself.
#[derive(Default)]
pub(super) struct Work {
    pub(super) queue: Mutex<Queue>,
    pub(super) wake: Condvar,
}

/// What every handle on one view shares.
pub(super) struct ViewInner {
    pub(super) model: Arc<exformer_engine::Model>,
    pub(super) widget: WidgetModel,
    pub(super) run: Mutex<RunState>,
    pub(super) work: Arc<Work>,
    pub(super) display_id: String,
    pub(super) worker: OnceLock<()>,
    /// Front ends showing the view now (their `attach` minus their `detach` messages).
    pub(super) attached: std::sync::atomic::AtomicUsize,
    /// What the memory budget knows of the view (see `kept.rs`).
    pub(super) kept: Kept,
}

/// The view's entry in the memory ledger: what it keeps, when it was last used, when evicted.
#[derive(Default)]
pub(super) struct Kept {
    /// The view's number in this kernel (1, 2, ...).
    pub(super) number: u64,
    pub(super) last_used: std::sync::atomic::AtomicU64,
    pub(super) usage: Mutex<crate::memory::ledger::Usage>,
    pub(super) label: Mutex<String>,
    /// When it was last evicted and how far, for the report and the text summary.
    pub(super) evicted: Mutex<Option<String>>,
}

/// An interactive attention explorer over one model and one input.
#[derive(Clone)]
pub struct AttentionView {
    pub(super) inner: Arc<ViewInner>,
}

impl AttentionView {
    pub fn layer(&self) -> usize {
        self.inner.widget.get("layer").as_u64().unwrap_or(0) as usize
    }

    /// The selected layer, clamped to the model's layers.
    pub(super) fn selected_layer(&self, n_layers: usize) -> usize {
        self.layer().min(n_layers.saturating_sub(1))
    }

    pub(super) fn weak(&self) -> Weak<ViewInner> {
        Arc::downgrade(&self.inner)
    }

    pub(super) fn from_weak(weak: &Weak<ViewInner>) -> Option<AttentionView> {
        weak.upgrade().map(|inner| AttentionView { inner })
    }
}
