//! The head view (exBERT style): queries in the left column, keys in the right one, every
//! (query, key) pair joined by a curve whose opacity is the weight, one colour per head.

use super::attention::{head_matrix, sanitize_threshold};
use super::colour::{head_colour, ACCENT, BORDER, KO, MASK, MUTED};
use super::curves::{CurveLayer, PatternCache};
use super::header::{draw_head_legend, draw_header, legend_layout, meta_line, LABEL_PX, PAD};
use super::predictions::{draw_predictions, panel_height, PANEL_GAP, PANEL_W};
use super::raster::Canvas;
use super::snapshot::{PngView, Snapshot};
use super::text::{fit_text, text_width, Align, FontId};
use super::tokens::{badge_width, draw_badge, token_style, wavy_line, TokStyle};

/// Head view: main area width with / without the predictions panel.
const HEAD_MAIN_W: f32 = 740.0;
const HEAD_MAIN_W_PANEL: f32 = 620.0;
/// Head view: rows get at most this much height in total before they shrink (to MIN_ROW).
const ROWS_CAP: f32 = 960.0;
const MAX_ROW: f32 = 22.0;
const MIN_ROW: f32 = 16.0;

/// Geometry of the head view (exposed to tests).
#[derive(Debug, Clone)]
pub(super) struct HeadGeom {
    pub(super) width: f32,
    pub(super) height: f32,
    /// Right edge of the query column.
    pub(super) from_right: f32,
    /// Left edge of the key column.
    pub(super) to_left: f32,
    /// Curves start at x1 and end at x2.
    pub(super) x1: f32,
    pub(super) x2: f32,
    /// Top of the first token row and the row height.
    pub(super) rows_top: f32,
    pub(super) row_h: f32,
    pub(super) tok_px: f32,
    pub(super) legend_top: f32,
    pub(super) panel_x: f32,
}

impl HeadGeom {
    pub(super) fn row_center(&self, a: usize) -> f32 {
        self.rows_top + (a as f32 + 0.5) * self.row_h
    }
}

fn label_width(st: &TokStyle, px: f32) -> f32 {
    text_width(&st.text, FontId::Mono, px) + st.badge.map_or(0.0, |(b, _)| badge_width(b) + 4.0)
}

pub(super) fn head_geometry(s: &Snapshot, index: &[usize], heads: &[usize]) -> HeadGeom {
    let k = index.len();
    let panel = s.predictions.is_some();
    let main_w = if panel {
        HEAD_MAIN_W_PANEL
    } else {
        HEAD_MAIN_W
    };
    let width = PAD + main_w + PAD + if panel { PANEL_W + PANEL_GAP } else { 0.0 };
    let row_h = (ROWS_CAP / k.max(1) as f32).floor().clamp(MIN_ROW, MAX_ROW);
    let tok_px = (row_h * 0.57).clamp(10.0, 12.5);
    let max_col = 190.0;
    let mut col_w: f32 = text_width("FROM (QUERY)", FontId::SansBold, LABEL_PX) + 12.0;
    for &i in index {
        let st = token_style(&s.tokens[i]);
        col_w = col_w.max(label_width(&st, tok_px) + 14.0);
    }
    let col_w = col_w.min(max_col).min(main_w * 0.25);
    // Header: title + meta, head legend (may wrap), column heads.
    let legend_top = PAD + 46.0;
    let cols_top = legend_top + legend_layout(heads, s.n_heads, main_w).height;
    let rows_top = cols_top + 26.0;
    let from_right = PAD + col_w;
    let to_left = PAD + main_w - col_w;
    let rows_bottom = rows_top + k as f32 * row_h + 8.0;
    let panel_h = s
        .predictions
        .map_or(0.0, |(_, p)| panel_height(p) + legend_top);
    let height = rows_bottom.max(panel_h) + PAD;
    HeadGeom {
        width,
        height,
        from_right,
        to_left,
        x1: from_right + 2.0,
        x2: to_left - 2.0,
        rows_top,
        row_h,
        tok_px,
        legend_top,
        panel_x: PAD + main_w + PANEL_GAP,
    }
}

/// Opacity of a curve of weight w (floor so every edge above the threshold stays visible; the
/// front end's 24 opacity buckets).
fn edge_alpha(w: f32) -> f32 {
    let b = ((w.min(1.0) * 24.0) as usize).min(23);
    (0.1 + 0.9 * (b + 1) as f32 / 24.0).min(1.0)
}

pub(super) fn render_head(
    s: &Snapshot,
    index: &[usize],
    heads: &[usize],
    focus: Option<usize>,
) -> Canvas {
    let t = s.tokens.len();
    let k = index.len();
    let g = head_geometry(s, index, heads);
    let mut cv = Canvas::new(g.width.ceil() as u32, g.height.ceil() as u32);
    let meta = meta_line(s, k, heads, PngView::Head, focus);
    draw_header(&mut cv, s, &meta, g.width);
    let main_w = g.to_left + (g.from_right - PAD) - PAD;
    draw_head_legend(&mut cv, heads, s.n_heads, PAD, g.legend_top, main_w);

    // Column heads and separator.
    let ch_y = g.rows_top - 10.0;
    cv.text(
        "FROM (QUERY)",
        FontId::SansBold,
        LABEL_PX,
        g.from_right - 6.0,
        ch_y,
        MUTED,
        1.0,
        Align::Right,
    );
    cv.text(
        "TO (KEY)",
        FontId::SansBold,
        LABEL_PX,
        g.to_left + 6.0,
        ch_y,
        MUTED,
        1.0,
        Align::Left,
    );
    cv.line(
        PAD,
        g.rows_top - 4.5,
        PAD + main_w,
        g.rows_top - 4.5,
        BORDER,
        1.0,
        1.0,
    );

    // Matrices of the selected heads over the visible tokens, thresholded.
    let thr = sanitize_threshold(s.threshold);
    let mats: Vec<(usize, Vec<f32>)> = heads
        .iter()
        .map(|&h| {
            let mut m = head_matrix(s.attn, t, h, index);
            m.iter_mut().for_each(|v| {
                if *v < thr {
                    *v = 0.0
                }
            });
            (h, m)
        })
        .collect();
    let fa = focus.and_then(|f| index.iter().position(|&i| i == f));

    // Token shading by the focused token's weights: right column = what it attends to, left
    // column = how much each query attends to it.
    let mut w_to = vec![0f32; k];
    let mut w_from = vec![0f32; k];
    if let Some(fa) = fa {
        for (_, m) in &mats {
            for j in 0..k {
                w_to[j] += m[fa * k + j] / mats.len() as f32;
                w_from[j] += m[j * k + fa] / mats.len() as f32;
            }
        }
    }

    // Curves, weakest first so strong edges stay on top (in focus mode the other edges first,
    // faint, then the focused token's). Curve shapes are cached per row distance.
    let mut layer = CurveLayer::new(
        g.x1,
        g.x2,
        g.rows_top,
        g.rows_top + k as f32 * g.row_h + 1.0,
    );
    let base_width = if mats.len() == 1 { 2.0 } else { 1.6 };
    let mut edges: Vec<(bool, f32, usize, usize, usize)> = Vec::new(); // (focus edge, weight, head, from, to)
    for (h, m) in &mats {
        for i in 0..k {
            for j in 0..k {
                let w = m[i * k + j];
                if w > 1e-3 {
                    edges.push((fa.is_some_and(|f| i == f || j == f), w, *h, i, j));
                }
            }
        }
    }
    edges.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut cache = PatternCache::new();
    for &(on_focus, w, h, i, j) in &edges {
        let y1 = g.row_center(i);
        let y2 = y1 + (j as f32 - i as f32) * g.row_h;
        let (width, alpha) = match (fa.is_some(), on_focus) {
            (false, _) => (base_width, edge_alpha(w)),
            (true, true) => (2.2, edge_alpha(w)),
            (true, false) => (1.2, 0.03 + 0.12 * w.min(1.0)),
        };
        layer.curve(&mut cache, y1, y2, width, head_colour(h), alpha);
    }
    layer.composite(&mut cv);

    // Token columns.
    let box_h = g.row_h - 2.0;
    for (a, &i) in index.iter().enumerate() {
        let tok = &s.tokens[i];
        let st = token_style(tok);
        let cy = g.row_center(a);
        let base = cy + g.tok_px * 0.34;
        let avail = g.from_right - PAD - 12.0 - st.badge.map_or(0.0, |(b, _)| badge_width(b) + 4.0);
        let text = fit_text(&st.text, FontId::Mono, g.tok_px, avail.max(12.0));
        let tw = text_width(&text, FontId::Mono, g.tok_px);
        let full_w = tw + 12.0 + st.badge.map_or(0.0, |(b, _)| badge_width(b) + 4.0);
        for side in 0..2 {
            let is_from = side == 0;
            let bx = if is_from {
                g.from_right - full_w
            } else {
                g.to_left
            };
            let by = cy - box_h / 2.0;
            // Background: focus highlight or weight shading.
            let is_focus = fa == Some(a);
            let w = if is_from { w_from[a] } else { w_to[a] };
            if is_focus {
                cv.round_rect(
                    bx,
                    by,
                    full_w,
                    box_h,
                    4.0,
                    Some((ACCENT, 0.14)),
                    Some((ACCENT, 1.0, 1.5, None)),
                );
            } else if fa.is_some() && w > 0.0 {
                cv.round_rect(
                    bx,
                    by,
                    full_w,
                    box_h,
                    4.0,
                    Some((ACCENT, (w * 0.7).min(0.7))),
                    None,
                );
            }
            if tok.knocked_out && !is_focus {
                cv.round_rect(
                    bx + 0.5,
                    by + 0.5,
                    full_w - 1.0,
                    box_h - 1.0,
                    4.0,
                    None,
                    Some((KO, 0.6, 1.0, Some(&[3.0, 2.0]))),
                );
            }
            // Text and badge: from side = [badge] text (right-aligned), to side = text [badge].
            let (tx, badge_x) = if is_from {
                let tx = g.from_right - 6.0 - tw;
                (tx, st.badge.map(|(b, _)| tx - 4.0 - badge_width(b)))
            } else {
                let tx = g.to_left + 6.0;
                (tx, Some(tx + tw + 4.0))
            };
            cv.text(
                &text,
                FontId::Mono,
                g.tok_px,
                tx,
                base,
                st.colour,
                st.alpha,
                Align::Left,
            );
            if let (Some((label, colour)), Some(bxx)) = (st.badge, badge_x) {
                draw_badge(&mut cv, label, colour, bxx, cy);
            }
            if tok.masked {
                cv.line(tx, cy, tx + tw, cy, MASK, 0.9, 1.2);
            } else if tok.knocked_out {
                wavy_line(&mut cv, tx, tx + tw, cy, KO);
            }
        }
    }

    if let Some((pos, preds)) = s.predictions {
        draw_predictions(&mut cv, s, pos, preds, g.panel_x, g.legend_top);
    }
    cv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::attention::{kept_index, selected_heads};
    use crate::widget::png::colour::{Rgb, BG};
    use crate::widget::png::testutil::*;
    use crate::widget::png::{render_image, render_png};

    /// Pixels in the band between the columns (away from the text) whose colour is near `c`
    /// blended over white at some opacity ≥ 0.5.
    fn count_colour_between(cv: &Canvas, g: &HeadGeom, c: Rgb) -> usize {
        let mut n = 0;
        let x0 = (g.x1 + 10.0) as u32;
        let x1 = (g.x2 - 10.0) as u32;
        for y in
            g.rows_top as u32..(g.rows_top + 100.0 * g.row_h).min(cv.height() as f32 - 1.0) as u32
        {
            for x in x0..x1 {
                let p = cv.rgb(x, y).unwrap();
                if (5..=10).any(|k| close(p, c.mix(BG, 1.0 - k as f32 / 10.0), 14)) {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn strong_weight_draws_head_colour_and_weak_one_does_not() {
        let tokens = toks(&["alpha", "beta"]);
        // one head; query 0 attends fully to key 1, query 1 to key 0 (the curves cross)
        let attn = vec![0u8, 255, 255, 0];
        let mut s = snap(&tokens, 1, &attn);
        s.threshold = 0.05;
        let index = kept_index(s.tokens, false);
        let heads = selected_heads(s.heads, 1);
        let cv = render_image(&s).unwrap();
        let g = head_geometry(&s, &index, &heads);
        let blue = head_colour(0);
        assert!(
            count_colour_between(&cv, &g, blue) > 50,
            "strong curves should be drawn in head 0's colour"
        );
        // curve mid-point (crossing of the two curves) is blue-ish
        let mid = cv
            .rgb(
                ((g.x1 + g.x2) / 2.0) as u32,
                ((g.row_center(0) + g.row_center(1)) / 2.0) as u32,
            )
            .unwrap();
        assert!(close(mid, blue, 40), "crossing pixel {mid:?} vs {blue:?}");

        // weight 10/255 ≈ 0.039 < threshold 0.05: nothing between the columns
        let weak = vec![0u8, 10, 10, 0];
        let s2 = Snapshot {
            attn: &weak,
            ..snap(&tokens, 1, &weak)
        };
        let cv2 = render_image(&s2).unwrap();
        let mut coloured = 0;
        for y in g.rows_top as u32..(g.rows_top + 2.0 * g.row_h) as u32 {
            for x in (g.x1 + 4.0) as u32..(g.x2 - 4.0) as u32 {
                if cv2.rgb(x, y).unwrap() != BG {
                    coloured += 1;
                }
            }
        }
        assert_eq!(
            coloured, 0,
            "a weight under the threshold must not be drawn"
        );

        // the same weak weight with threshold 0 is drawn (faintly)
        let s3 = Snapshot {
            threshold: 0.0,
            ..snap(&tokens, 1, &weak)
        };
        let cv3 = render_image(&s3).unwrap();
        let any = (g.rows_top as u32..(g.rows_top + 2.0 * g.row_h) as u32).any(|y| {
            ((g.x1 + 4.0) as u32..(g.x2 - 4.0) as u32).any(|x| cv3.rgb(x, y).unwrap() != BG)
        });
        assert!(any, "with threshold 0 the weak curve appears");
    }

    #[test]
    fn each_selected_head_uses_its_palette_colour() {
        let tokens = toks(&["a", "b", "c"]);
        // head 0 attends i -> i, head 3 attends i -> (i+1)%3, others uniform-ish low
        let t = 3;
        let mut attn = vec![0u8; 4 * t * t];
        for i in 0..t {
            attn[i * t + i] = 255;
            attn[3 * t * t + i * t + (i + 1) % t] = 255;
        }
        let heads = [3usize];
        let s = Snapshot {
            heads: &heads,
            ..snap(&tokens, 4, &attn)
        };
        let index = kept_index(&tokens, false);
        let cv = render_image(&s).unwrap();
        let g = head_geometry(&s, &index, &selected_heads(&heads, 4));
        assert!(
            count_colour_between(&cv, &g, head_colour(3)) > 30,
            "head 3 (red) drawn"
        );
        assert_eq!(
            count_colour_between(&cv, &g, head_colour(0)),
            0,
            "head 0 not selected"
        );
    }

    #[test]
    fn focus_keeps_its_edges_strong_and_fades_the_rest() {
        let tokens = toks(&["a", "b", "c", "d"]);
        let t = 4;
        // query 0 -> key 3 and query 3 -> key 2, both full weight; nothing else (mid-points apart)
        let mut attn = vec![0u8; t * t];
        attn[3] = 255;
        attn[3 * t + 2] = 255;
        let s = snap(&tokens, 1, &attn);
        let g = head_geometry(&s, &kept_index(&tokens, false), &[0]);
        // the curve's mid-point lies halfway between the rows, halfway across
        let mid = |cv: &Canvas, a: usize, b: usize| {
            cv.rgb(
                ((g.x1 + g.x2) / 2.0) as u32,
                ((g.row_center(a) + g.row_center(b)) / 2.0).round() as u32,
            )
            .unwrap()
        };
        let blue = head_colour(0);
        let plain = render_image(&s).unwrap();
        assert!(close(mid(&plain, 0, 3), blue, 40));
        assert!(close(mid(&plain, 3, 2), blue, 40));
        let focused = render_image(&Snapshot {
            focus: Some(0),
            ..snap(&tokens, 1, &attn)
        })
        .unwrap();
        assert!(
            close(mid(&focused, 0, 3), blue, 40),
            "the focused token's edge stays strong"
        );
        let faint = mid(&focused, 3, 2);
        assert!(
            faint.0 > 200 && faint.1 > 200,
            "other edges are faint: {faint:?}"
        );
        assert_ne!(faint, BG, "but still drawn");
        // a hidden focus token is ignored (no panic, same as no focus)
        let mut sp = tokens.clone();
        sp[0].special = true;
        let hidden = Snapshot {
            focus: Some(0),
            hide_special: true,
            tokens: &sp,
            ..snap(&tokens, 1, &attn)
        };
        assert!(render_png(&hidden).starts_with(b"\x89PNG"));
    }
}
