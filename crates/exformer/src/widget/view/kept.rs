//! The view under the kernel's memory budget ([`crate::memory`]): what it keeps is recorded after
//! every change, room is made before every run, and the ledger may evict it (kept probabilities
//! and pooled maps first, then the whole run) when no request is using it. What was evicted is
//! made again, identical, by [`AttentionView::lock_run`].

use super::data::{AttentionView, Kept, RunState, ViewInner};
use crate::memory::ledger::{self, Holder, Need, Part, Tier, Usage};
use crate::model_thread::on_model_thread;
use exformer_engine::{EngineError, Interventions, KeptBytes, RunOptions};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

/// The time of day (UTC) for "evicted at ...".
fn clock() -> String {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

/// A lock that a panic elsewhere does not poison for the ledger.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Kept {
    fn set_usage(&self, u: Usage) {
        *lock(&self.usage) = u;
    }
    fn set_evicted(&self, note: Option<String>) {
        *lock(&self.evicted) = note;
    }
    fn evicted(&self) -> Option<String> {
        lock(&self.evicted).clone()
    }
}

/// (all it keeps, what it cannot do without: all but the probabilities, dropped at once if the
/// budget cannot hold them).
fn need(k: &KeptBytes) -> (Need, Need) {
    let place = |b: u64| match k.on_device {
        true => Need { host: 0, device: b },
        false => Need { host: b, device: 0 },
    };
    (place(k.total()), place(k.total() - k.probabilities))
}

/// What the run, its pooled map and the widget state keep, by part.
fn usage_of(run: &RunState, widget_bytes: u64) -> Usage {
    let k = run.run.kept();
    let dev = k.on_device;
    let part = |what, bytes, on_device, tier| Part {
        what,
        bytes,
        on_device,
        tier,
    };
    Usage {
        parts: vec![
            part("queries/keys/values", k.qkv, dev, Some(Tier::Run)),
            part("probabilities", k.probabilities, dev, Some(Tier::Derived)),
            part("head outputs", k.head_outputs, dev, Some(Tier::Run)),
            part("logits", k.logits, dev, Some(Tier::Run)),
            part("hidden states", k.hidden_states, dev, Some(Tier::Run)),
            part(
                "pooled map",
                run.pooled
                    .as_ref()
                    .map(|p| p.map.len() as u64 * 4)
                    .unwrap_or(0),
                false,
                Some(Tier::Derived),
            ),
            part("widget state", widget_bytes, false, None),
        ],
    }
}

impl AttentionView {
    /// Makes room under the budget for a run of `tokens` tokens with `iv` (other views' least
    /// recently used things are evicted); errors when that run alone is over the budget.
    pub(super) fn room_for_run(
        &self,
        tokens: usize,
        iv: &Interventions,
    ) -> Result<(), EngineError> {
        room_for(&self.inner.model, tokens, iv, Some(self.inner.kept.number))
    }

    /// Records what the view keeps now and marks it used, then evicts elsewhere if the budget is
    /// exceeded (never this view: its caller holds its run).
    pub(super) fn record(&self, run: &mut RunState) {
        let k = &self.inner.kept;
        k.last_used.store(ledger::tick(), Ordering::SeqCst);
        if !run.run.is_released() && !run.run.probabilities_dropped() {
            k.set_evicted(None);
        }
        k.set_usage(usage_of(run, self.inner.widget.buffer_bytes()));
        let a = run.run.meta();
        let text: String = run.run.input().text.chars().take(40).collect();
        let more = if run.run.input().text.chars().count() > 40 {
            "…"
        } else {
            ""
        };
        *lock(&k.label) = format!(
            "view {}: {:?}{more} ({} tokens, {})",
            k.number,
            text,
            a.seq_len(),
            a.model
        );
        let none = Need::default();
        if let Ok(false) = ledger::make_room(none, none, Some(k.number)) {
            // Nothing else can go: this view keeps its queries, keys and values only.
            if run.run.drop_probabilities() > 0 {
                k.set_usage(usage_of(run, self.inner.widget.buffer_bytes()));
                k.set_evicted(Some(format!(
                    "kept probabilities dropped at {}: the memory budget cannot hold them (recomputed, identical, when needed)",
                    clock()
                )));
            }
        }
    }

    /// The run state, its tensors made again first if they were freed (by the budget or because
    /// no front end showed the view); a front end showing the view sees that it is recomputing.
    pub(super) fn lock_run(&self) -> MutexGuard<'_, RunState> {
        let mut g = self.inner.run.lock().unwrap();
        if !g.run.is_released() {
            self.inner
                .kept
                .last_used
                .store(ledger::tick(), Ordering::SeqCst);
            return g;
        }
        let t0 = std::time::Instant::now();
        if let Err(e) = self.room_for_run(g.run.seq_len(), &g.iv) {
            g.remake_error = Some(e.to_string());
            return g;
        }
        let shown = self.inner.attached.load(Ordering::SeqCst) > 0;
        let w = &self.inner.widget;
        if shown {
            w.set("busy", json!(true));
            w.set(
                "busy_text",
                json!("recomputing: this view's tensors were evicted under the memory budget…"),
            );
            let _ = w.sync(&["busy", "busy_text"]);
        }
        // `&mut`: the run goes to the model thread while this one waits (a `Run` is Send, not Sync).
        let (model, iv, run) = (&self.inner.model, g.iv.clone(), &mut g.run);
        // Tokens and predictions are still there: the LM head is skipped.
        let again = on_model_thread(move || {
            let opts = RunOptions {
                predictions_from: Some(&*run),
                ..Default::default()
            };
            model.forward_with(run.input(), &iv, opts)
        });
        match again {
            Ok(r) => {
                g.run = r;
                g.pooled = None;
                g.remake_error = None;
                crate::memory::return_freed_memory_soon();
            }
            Err(e) => g.remake_error = Some(e.to_string()),
        }
        if shown {
            w.set("busy", json!(false));
            w.set("busy_text", json!(""));
            let _ = w.sync(&["busy", "busy_text"]);
        }
        tracing::debug!(
            view = self.inner.kept.number,
            ms = t0.elapsed().as_millis() as u64,
            "evicted run made again"
        );
        self.record(&mut g);
        g
    }

    /// The error to give when the run could not be made again (None when it is in memory).
    pub(super) fn remake_failure(run: &RunState) -> Option<EngineError> {
        run.run.is_released().then(|| {
            EngineError::Memory(run.remake_error.clone().unwrap_or_else(|| {
                "this view's tensors were freed and could not be made again".into()
            }))
        })
    }

    /// Whether the memory budget evicted the view's tensors, and when (for its text summary).
    pub fn evicted(&self) -> Option<String> {
        self.inner.kept.evicted()
    }
}

/// [`AttentionView::room_for_run`] for a view not made yet (`except` None).
pub(super) fn room_for(
    model: &exformer_engine::Model,
    tokens: usize,
    iv: &Interventions,
    except: Option<u64>,
) -> Result<(), EngineError> {
    let (all, must) = need(&model.kept_estimate(tokens, iv, false));
    ledger::make_room(all, must, except)
        .map(|_| ())
        .map_err(EngineError::Memory)
}

impl Holder for ViewInner {
    fn number(&self) -> u64 {
        self.kept.number
    }
    fn label(&self) -> String {
        lock(&self.kept.label).clone()
    }
    fn usage(&self) -> Usage {
        lock(&self.kept.usage).clone()
    }
    fn shown(&self) -> bool {
        self.attached.load(Ordering::SeqCst) > 0
    }
    fn last_used(&self) -> u64 {
        self.kept.last_used.load(Ordering::SeqCst)
    }
    fn evicted(&self) -> Option<String> {
        self.kept.evicted()
    }
    fn evict(&self, tier: Tier) -> bool {
        // A request holds the run while it uses it: never evict under it.
        let Ok(mut run) = self.run.try_lock() else {
            return false;
        };
        let what = match tier {
            Tier::Derived => {
                run.drop_derived();
                "kept probabilities dropped"
            }
            Tier::Run => {
                run.release();
                "tensors evicted"
            }
        };
        self.kept
            .set_usage(usage_of(&run, self.widget.buffer_bytes()));
        self.kept.set_evicted(Some(format!(
            "{what} under the memory budget at {} (made again, identical, when needed)",
            clock()
        )));
        // Given back to the system after the run this eviction makes room for (that run queues
        // it): a trim queued now would hold the model thread before the run.
        drop(run);
        true
    }
}
