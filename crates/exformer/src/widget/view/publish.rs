//! A view's run put into the widget state: the whole run after a (re-)run, the selected layer
//! after a display change, the full-resolution tile under the zoom window, errors.

use super::data::{AttentionView, RunState};
use super::settings::ViewSettings;
use crate::widget::state;
use serde_json::{json, Value};

impl AttentionView {
    /// Puts a run into the widget state and sends it if the widget is open.
    pub(super) fn publish_run(&self, run: &mut RunState) {
        let layer = self.selected_layer(run.run.n_layers());
        ViewSettings::current().publish_delay_for_tests();
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
        self.record(run);
    }

    /// Sends the attention of the currently selected layer (and, for long inputs whose model
    /// view was just opened, the thumbnails).
    pub(super) fn send_layer(&self) {
        let mut run = self.lock_run();
        if let Some(e) = Self::remake_failure(&run) {
            drop(run);
            return self.set_error(&e.to_string());
        }
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
        self.record(&mut run);
    }

    /// Puts the full-resolution tile under the front end's `zoom` window (layer `layer`) into the
    /// state; returns the keys to sync (none when nothing is zoomed).
    pub(super) fn set_tile(&self, run: &RunState, layer: usize) -> Vec<&'static str> {
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

    pub(super) fn set_error(&self, msg: &str) {
        let w = &self.inner.widget;
        w.set("busy", json!(false));
        w.set("error", json!(msg));
        let _ = w.sync(&["busy", "error"]);
    }
}
