//! What a view shows outside the live widget: the cell output (widget + PNG + text + HTML), the
//! PNG snapshot, the text summary, and the standalone HTML page.

use super::data::AttentionView;
use crate::comm;
use crate::widget::png::{render_png, PngView, SnapToken, Snapshot};
use crate::widget::{html, state};
use base64::Engine as _;
use exformer_engine::{Analysis, ModelKind};
use serde_json::{json, Map, Value};

impl AttentionView {
    pub(super) fn snapshot_png(&self) -> Vec<u8> {
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
                    let (lo, hi) = state::bin_range(b, side, t);
                    let ko = a.tokens[lo..=hi].iter().any(|x| x.knocked_out || x.masked);
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
        let mut s = summary(run.run.meta(), self.layer());
        if let Some(e) = self.evicted() {
            s.push_str(&format!("memory: {e}\n"));
        }
        s
    }

    pub(super) fn bundle(&self, with_widget: bool) -> Map<String, Value> {
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
    pub(super) fn refresh_display(&self) {
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
            <= html::MAX_ALL_LAYERS_BYTES;
        let path = path.as_ref();
        std::fs::write(path, html::standalone(&self.state_json(all))).map_err(|e| {
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
