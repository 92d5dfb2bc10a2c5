//! Page frame shared by the views: margins and type sizes, the title and meta line, and the head
//! legend (one numbered swatch per selected head).

use super::attention::sanitize_threshold;
use super::colour::{head_colour, BG, FG, MUTED};
use super::raster::Canvas;
use super::snapshot::{PngView, Snapshot};
use super::text::{fit_text, text_width, Align, FontId};
use super::tokens::display_token;
use crate::widget::protocol::head_view_max_tokens;

pub(super) const PAD: f32 = 16.0;
const TITLE_PX: f32 = 15.0;
const META_PX: f32 = 12.0;
pub(super) const LABEL_PX: f32 = 10.5;

/// Title and meta line; returns the y below them.
pub(super) fn draw_header(cv: &mut Canvas, s: &Snapshot, meta: &str, width: f32) -> f32 {
    let max_w = width - 2.0 * PAD;
    let title: String = s
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let title = if title.trim().is_empty() {
        "exformer attention"
    } else {
        title.trim()
    };
    let title = fit_text(title, FontId::SansBold, TITLE_PX, max_w);
    cv.text(
        &title,
        FontId::SansBold,
        TITLE_PX,
        PAD,
        PAD + 14.0,
        FG,
        1.0,
        Align::Left,
    );
    let meta = fit_text(meta, FontId::Sans, META_PX, max_w);
    cv.text(
        &meta,
        FontId::Sans,
        META_PX,
        PAD,
        PAD + 34.0,
        MUTED,
        1.0,
        Align::Left,
    );
    PAD + 46.0
}

pub(super) struct LegendLayout {
    label: String,
    /// (head, x, y, width) of each swatch, relative to the legend's top-left corner.
    swatches: Vec<(usize, f32, f32, f32)>,
    pub(super) height: f32,
}

/// "HEADS" + one numbered swatch per selected head, wrapping within `max_w`.
pub(super) fn legend_layout(heads: &[usize], n_heads: usize, max_w: f32) -> LegendLayout {
    let label = if heads.len() == n_heads && n_heads > 1 {
        format!("HEADS (ALL {n_heads})")
    } else {
        "HEADS".to_string()
    };
    let x0 = text_width(&label, FontId::SansBold, LABEL_PX) + 10.0;
    let (mut cx, mut cy) = (x0, 0.0);
    let mut swatches = Vec::with_capacity(heads.len());
    for &h in heads {
        let w = (text_width(&h.to_string(), FontId::SansBold, 10.0) + 10.0).max(20.0);
        if cx + w > max_w && cx > x0 {
            cx = x0;
            cy += 20.0;
        }
        swatches.push((h, cx, cy, w));
        cx += w + 4.0;
    }
    LegendLayout {
        label,
        swatches,
        height: cy + 26.0,
    }
}

/// Draws the head legend; returns the y below it.
pub(super) fn draw_head_legend(
    cv: &mut Canvas,
    heads: &[usize],
    n_heads: usize,
    x: f32,
    y: f32,
    max_w: f32,
) -> f32 {
    let l = legend_layout(heads, n_heads, max_w);
    cv.text(
        &l.label,
        FontId::SansBold,
        LABEL_PX,
        x,
        y + 12.0,
        MUTED,
        1.0,
        Align::Left,
    );
    for &(h, sx, sy, w) in &l.swatches {
        cv.round_rect(
            x + sx,
            y + sy + 1.0,
            w,
            16.0,
            4.0,
            Some((head_colour(h), 1.0)),
            None,
        );
        cv.text(
            &h.to_string(),
            FontId::SansBold,
            10.0,
            x + sx + w / 2.0,
            y + sy + 12.8,
            BG,
            1.0,
            Align::Center,
        );
    }
    y + l.height
}

/// Shared description for the meta line.
pub(super) fn meta_line(
    s: &Snapshot,
    k: usize,
    heads: &[usize],
    view: PngView,
    focus: Option<usize>,
) -> String {
    let t = s.tokens.len();
    let plural = if t == 1 { "" } else { "s" };
    let mut bits = vec![if k == t {
        format!("{t} token{plural}")
    } else {
        format!("{k} of {t} tokens (special hidden)")
    }];
    bits.push(if heads.len() == s.n_heads {
        format!(
            "{} head{}",
            s.n_heads,
            if s.n_heads == 1 { "" } else { "s" }
        )
    } else {
        format!("{} of {} heads", heads.len(), s.n_heads)
    });
    let thr = sanitize_threshold(s.threshold);
    if thr > 0.0 {
        bits.push(format!("threshold {thr:.2}"));
    }
    if view == PngView::Matrix {
        if s.view == PngView::Head {
            bits.push(format!(
                "matrix view (head view shows ≤ {} tokens)",
                head_view_max_tokens()
            ));
        } else {
            bits.push("matrix view".into());
        }
    }
    if let Some(f) = focus {
        bits.push(format!("focus #{f} “{}”", display_token(&s.tokens[f].text)));
    }
    bits.join(" · ")
}
