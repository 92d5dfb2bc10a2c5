//! The front end's requests: clicks and display changes are queued, and the view's worker thread
//! applies every request queued so far in one batch (one re-run for many clicks).

use super::data::{AttentionView, ClickMode, Queue, ViewInner, Work};
use crate::comm;
use crate::memory::return_freed_memory_soon;
use crate::model_thread::on_model_thread;
use crate::widget::state;
use exformer_engine::{Interventions, ModelKind};
use serde_json::{json, Value};
use std::sync::Weak;

impl AttentionView {
    pub(super) fn ensure_worker(&self) {
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
                    if keys.iter().any(|k| state::redraws(k)) {
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

    pub(super) fn on_custom(&self, content: Value, parent: Option<String>) {
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

    pub(super) fn enqueue(&self, parent: Option<String>, f: impl FnOnce(&mut Queue)) {
        let mut q = self.inner.work.queue.lock().unwrap();
        f(&mut q);
        q.parent = parent.or(q.parent.take());
        // Anything that is not a re-run redraws: resend the layer, refresh the static snapshot.
        q.redraw |= q.toggles.is_empty() && !q.clear && !q.release && !q.republish;
        self.inner.work.wake.notify_one();
    }

    /// Serves the front end's requests until the view is dropped. Holds the view only while it
    /// applies a batch, so the worker never keeps a view alive.
    pub(super) fn worker_loop(work: &Work, weak: &Weak<ViewInner>) {
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
            let t0 = std::time::Instant::now();
            let panicked =
                comm::run_handler(|| comm::with_parent(parent.clone(), || me.apply(batch)));
            tracing::debug!(
                view = %me.inner.display_id,
                ms = t0.elapsed().as_millis() as u64,
                panicked = panicked.is_some(),
                "front-end requests applied"
            );
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
    pub(super) fn apply(&self, batch: Queue) {
        crate::log::init();
        let _span = tracing::debug_span!(
            "view_update",
            view = %self.inner.display_id,
            toggles = batch.toggles.len(),
            clear = batch.clear,
            redraw = batch.redraw,
            release = batch.release,
            republish = batch.republish
        )
        .entered();
        let shown = self
            .inner
            .attached
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0;
        if batch.release && !shown && batch.toggles.is_empty() && !batch.clear {
            let mut run = self.inner.run.lock().unwrap();
            run.release();
            self.record(&mut run);
            drop(run);
            return_freed_memory_soon();
            tracing::debug!("no front end shows the view: its run's tensors are freed");
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
        if let Err(e) = self.room_for_run(t, &iv) {
            drop(run);
            self.set_error(&e.to_string());
            return;
        }
        // `&mut`: the run goes to the model thread while this one waits (a `Run` is Send, not Sync).
        let (model, prev, ivr) = (&self.inner.model, &mut run.run, &iv);
        match on_model_thread(move || model.rerun(&*prev, ivr)) {
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
}
