//! [`AttentionView`]: one model run shown as an interactive widget.
//!
//! The view owns the run (input, interventions, latest analysis) and mirrors it into a
//! [`WidgetModel`]. Front-end clicks arrive as `custom` messages; they are queued and a worker
//! thread applies every click queued so far in one re-run (clicks that arrive during a run are
//! coalesced, never lost or reordered). Cells drive the same view synchronously
//! (`view.mask(..)`, `view.set_layer(..)`, `view.set_text(..)`).
//!
//! # Layout
//! Imports run one way: `mod.rs` → the behaviour files → `data` and `settings`.
//! - `mod.rs` (here): the public API: building a view, reading it, driving it from code.
//! - `data`: what a view holds (run state, request queue, the shared inner value); imports none
//!   of its siblings.
//! - `publish`: the run put into the widget state (and the selected layer, the zoomed tile).
//! - `worker`: the front end's requests: click coalescing, the worker thread, applying a batch.
//! - `lifetime`: attach / detach, the registry of shown views, releasing a run's tensors.
//! - `output`: display, the PNG snapshot, the text summary, the standalone HTML page.
//! - [`settings`]: the process-wide settings views read (release delay, test hooks).

mod data;
mod kept;
mod lifetime;
mod output;
mod publish;
pub mod settings;
mod worker;

use super::anywidget::WidgetModel;
use super::assets::{WIDGET_CSS, WIDGET_JS};
use super::state;
use crate::model_thread::on_model_thread;
use data::{RunState, ViewInner};
use exformer_engine::{Analysis, EngineError, Input, Interventions, Layers};
use serde_json::json;
use std::sync::{Arc, Mutex, OnceLock};

pub use data::{AttentionView, ClickMode};
pub use lifetime::views_in_memory;
pub use settings::ViewSettings;

impl AttentionView {
    /// Runs the model on `input` and builds the view (not yet displayed).
    pub fn new(
        model: Arc<exformer_engine::Model>,
        input: Input,
    ) -> Result<AttentionView, EngineError> {
        crate::log::init();
        let iv = Interventions::default();
        kept::room_for(&model, model.tokenize(&input)?.len(), &iv, None)?;
        let run = on_model_thread(|| model.forward(&input, &iv))?;
        crate::memory::return_freed_memory_soon();
        let analysis = run.meta();
        let t = analysis.seq_len();
        let plain = state::predictions_json(analysis);
        let widget = WidgetModel::new(WIDGET_JS, WIDGET_CSS, "exformer.AttentionView");
        widget.accept_from_front(state::accept_from_front);
        // Every key the front end may set starts at its default (widget/protocol.json).
        for (k, v) in state::initial_settings(t, analysis.kind, analysis.n_layers) {
            widget.set(&k, v);
        }
        lifetime::views_alive().fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
                    remake_error: None,
                }),
                work: Arc::default(),
                display_id: format!("exformer-view-{}", crate::global::unique_id()),
                worker: OnceLock::new(),
                attached: Default::default(),
                kept: data::Kept {
                    number: crate::global::global("view.numbers", || {
                        std::sync::atomic::AtomicU64::new(1)
                    })
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                    ..Default::default()
                },
            }),
        };
        let holder: std::sync::Arc<dyn crate::memory::ledger::Holder> = view.inner.clone();
        crate::memory::ledger::register(std::sync::Arc::downgrade(&holder));
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
        let run = self.lock_run();
        if let Some(e) = Self::remake_failure(&run) {
            return Err(e);
        }
        run.run.attention(layer)
    }

    /// Whether the view holds its run's tensors now. A view no front end shows frees them (its
    /// device memory) and makes the run again, identical, when it is next needed.
    pub fn in_memory(&self) -> bool {
        !self.inner.run.lock().unwrap().run.is_released()
    }

    /// How many leading positions the latest run took from the run before it (causal re-runs).
    pub fn reused_positions(&self) -> usize {
        self.inner.run.lock().unwrap().run.reused_positions()
    }

    /// The text (or pair) the view runs the model on.
    pub fn input(&self) -> Input {
        self.inner.run.lock().unwrap().run.input().clone()
    }

    /// Tokens and predictions of the latest run (no attention).
    pub fn meta(&self) -> Analysis {
        self.inner.run.lock().unwrap().run.meta().clone()
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
        self.room_for_run(self.inner.model.tokenize(&input)?.len(), &iv)?;
        let model = &self.inner.model;
        let next = on_model_thread(|| model.forward(&input, &iv))?;
        let t = next.seq_len();
        run.advance(next, iv, false);
        // A new text: reset what depended on token positions and on the input's length.
        let reset = state::reset_with_text(t);
        for (k, v) in &reset {
            self.inner.widget.set(k, v.clone());
        }
        self.publish_run(&mut run);
        let keys: Vec<&str> = reset.keys().map(String::as_str).collect();
        let _ = self.inner.widget.sync(&keys);
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
        self.room_for_run(run.run.seq_len(), &iv)?;
        // `&mut`: the run goes to the model thread while this one waits (a `Run` is Send, not Sync).
        let (model, prev, ivr) = (&self.inner.model, &mut run.run, &iv);
        let next = on_model_thread(move || model.rerun(&*prev, ivr))?;
        run.advance(next, iv, true);
        self.publish_run(&mut run);
        drop(run);
        self.refresh_display();
        Ok(self)
    }
}
