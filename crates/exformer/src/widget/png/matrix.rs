//! The matrix view: heatmap of the mean over the selected heads (max-pooled when the input has
//! more tokens than the heatmap has pixels), axes with token labels or positions, colour legend.

use tiny_skia::PathBuilder;

use super::attention::{pooled_mean, sanitize_threshold};
use super::colour::{
    ramp_colour, ramp_lut, ACCENT, BG, BORDER, BORDER_STRONG, FG2, KO, MASK, MUTED,
};
use super::header::{draw_head_legend, draw_header, legend_layout, meta_line, PAD};
use super::predictions::{draw_predictions, panel_height, PANEL_GAP, PANEL_W};
use super::raster::Canvas;
use super::snapshot::{PngView, Snapshot};
use super::text::{fit_text, text_width, Align, FontId};
use super::tokens::{display_token, token_style};

/// Matrix view: heatmap side (pixels) at most.
const MATRIX_SIDE: usize = 640;
const MATRIX_SIDE_PANEL: usize = 600;

fn nice_step(k: usize) -> usize {
    let raw = (k as f64 / 10.0).max(1.0);
    let p = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= raw {
            return (m * p) as usize;
        }
    }
    (10.0 * p) as usize
}

/// Geometry of the matrix view (exposed to tests).
#[derive(Debug, Clone)]
pub(super) struct MatrixGeom {
    pub(super) width: f32,
    pub(super) height: f32,
    /// Heatmap's top-left corner and side in pixels.
    pub(super) hx: f32,
    pub(super) hy: f32,
    pub(super) side: usize,
    /// Cells per side after pooling (≤ K).
    pub(super) grid: usize,
    pub(super) labels: Option<f32>,
}

pub(super) fn matrix_geometry(s: &Snapshot, index: &[usize], heads: &[usize]) -> MatrixGeom {
    let k = index.len();
    let panel = s.predictions.is_some();
    let max_side = if panel {
        MATRIX_SIDE_PANEL
    } else {
        MATRIX_SIDE
    };
    let target = (k * 28).clamp(240, max_side);
    let (side, grid) = if k <= target {
        let cell = (target / k).max(1);
        (cell * k, k)
    } else {
        (target, target)
    };
    let cell = side as f32 / k as f32;
    let labels = if cell >= 7.0 {
        Some((cell * 0.8).clamp(6.5, 11.0))
    } else {
        None
    };
    let lab = match labels {
        Some(px) => {
            let mut longest: f32 = 0.0;
            for &i in index {
                let txt = clip_chars(&display_token(&s.tokens[i].text), 15);
                longest = longest.max(text_width(&txt, FontId::Mono, px));
            }
            (longest + 12.0).clamp(24.0, 130.0)
        }
        None => 34.0,
    };
    let legend_top = PAD + 46.0;
    let hx = PAD + lab;
    let main_right = (hx + side as f32 + 8.0).max(PAD + 560.0);
    let caption_top = legend_top + legend_layout(heads, s.n_heads, main_right - PAD).height;
    let hy = caption_top + 28.0 + lab;
    let width = main_right + PAD + if panel { PANEL_W + PANEL_GAP } else { 0.0 };
    let panel_h = s
        .predictions
        .map_or(0.0, |(_, p)| panel_height(p) + legend_top);
    let height = (hy + side as f32 + 30.0).max(panel_h) + PAD;
    MatrixGeom {
        width,
        height,
        hx,
        hy,
        side,
        grid,
        labels,
    }
}

fn clip_chars(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let mut o: String = s.chars().take(n - 1).collect();
        o.push('…');
        o
    } else {
        s.to_string()
    }
}

pub(super) fn render_matrix(
    s: &Snapshot,
    index: &[usize],
    heads: &[usize],
    focus: Option<usize>,
) -> Canvas {
    let t = s.tokens.len();
    let k = index.len();
    let g = matrix_geometry(s, index, heads);
    let mut cv = Canvas::new(g.width.ceil() as u32, g.height.ceil() as u32);
    let meta = meta_line(s, k, heads, PngView::Matrix, focus);
    draw_header(&mut cv, s, &meta, g.width);
    let main_right = g.width
        - PAD
        - if s.predictions.is_some() {
            PANEL_W + PANEL_GAP
        } else {
            0.0
        };
    let legend_top = PAD + 46.0;
    let y = draw_head_legend(&mut cv, heads, s.n_heads, PAD, legend_top, main_right - PAD);

    // Caption and colour legend.
    let thr = sanitize_threshold(s.threshold);
    let what = if heads.len() == 1 {
        format!("head {}", heads[0])
    } else if heads.len() == s.n_heads {
        format!("mean of all {} heads", s.n_heads)
    } else {
        format!("mean of {} heads", heads.len())
    };
    let caption = format!(
        "{what} · {k}×{k}{} · rows: from (query), columns: to (key)",
        if g.grid < k { " (max-pooled)" } else { "" }
    );
    let cap_y = y + 10.0;
    let caption = fit_text(&caption, FontId::Sans, 12.0, main_right - PAD);
    cv.text(
        &caption,
        FontId::Sans,
        12.0,
        PAD,
        cap_y,
        FG2,
        1.0,
        Align::Left,
    );

    // Heatmap: pooled grid painted with nearest upsampling.
    let vals = pooled_mean(s.attn, t, heads, index, thr, g.grid);
    let (hx, hy) = (g.hx.round() as u32, g.hy.round() as u32);
    let gsz = g.grid;
    let cells: Vec<usize> = (0..g.side)
        .map(|p| (p * gsz / g.side).min(gsz - 1))
        .collect();
    let lut = ramp_lut();
    for py in 0..g.side {
        let row = &vals[cells[py] * gsz..(cells[py] + 1) * gsz];
        for px in 0..g.side {
            let v = row[cells[px]];
            let c = if v > 0.0 {
                lut[(v.min(1.0) * 255.0 + 0.5) as usize]
            } else {
                BG
            };
            cv.put(hx + px as u32, hy + py as u32, c);
        }
    }
    let cell = g.side as f32 / k as f32;
    let (fx, fy, side) = (hx as f32, hy as f32, g.side as f32);
    if cell >= 9.0 {
        let mut pb = PathBuilder::new();
        for c in 1..k {
            let p = (c as f32 * cell).round() + 0.5;
            pb.move_to(fx + p, fy);
            pb.line_to(fx + p, fy + side);
            pb.move_to(fx, fy + p);
            pb.line_to(fx + side, fy + p);
        }
        if let Some(p) = pb.finish() {
            cv.grid_lines(&p, BG, 0.7);
        }
    }
    cv.round_rect(
        fx - 0.5,
        fy - 0.5,
        side + 1.0,
        side + 1.0,
        0.0,
        None,
        Some((BORDER_STRONG, 1.0, 1.0, None)),
    );

    // Colour legend under the heatmap, right-aligned with it.
    let leg_y = fy + side + 20.0;
    let tail = "1 (√ scale)";
    let tail_w = text_width(tail, FontId::Mono, 11.0);
    let lx = (fx + side - tail_w - 4.0 - 96.0).max(PAD + 12.0);
    cv.text(
        "0",
        FontId::Mono,
        11.0,
        lx - 5.0,
        leg_y,
        MUTED,
        1.0,
        Align::Right,
    );
    for i in 0..96u32 {
        let c = ramp_colour(i as f32 / 95.0);
        for yy in 0..10u32 {
            cv.put(lx as u32 + i, (leg_y - 9.0) as u32 + yy, c);
        }
    }
    cv.round_rect(
        lx.floor() - 0.5,
        (leg_y - 9.0).floor() - 0.5,
        97.0,
        11.0,
        1.5,
        None,
        Some((BORDER, 1.0, 1.0, None)),
    );
    cv.text(
        tail,
        FontId::Mono,
        11.0,
        lx + 100.0,
        leg_y,
        MUTED,
        1.0,
        Align::Left,
    );

    // Axes.
    match g.labels {
        Some(px) => {
            for (a, &i) in index.iter().enumerate() {
                let tok = &s.tokens[i];
                let txt = clip_chars(&display_token(&tok.text), 15);
                let st = token_style(tok);
                let c = if tok.special { MUTED } else { st.colour };
                let mid = (a as f32 + 0.5) * cell;
                cv.text(
                    &txt,
                    FontId::Mono,
                    px,
                    fx - 5.0,
                    fy + mid + px * 0.34,
                    c,
                    st.alpha,
                    Align::Right,
                );
                cv.text_up(
                    &txt,
                    FontId::Mono,
                    px,
                    fx + mid + px * 0.34,
                    fy - 5.0,
                    c,
                    st.alpha,
                );
                if tok.masked || tok.knocked_out {
                    let mark = if tok.masked { MASK } else { KO };
                    // small marker bar next to the label
                    cv.fill_rect(
                        fx - 3.0,
                        fy + a as f32 * cell + 1.0,
                        2.0,
                        (cell - 2.0).max(1.0),
                        mark,
                        1.0,
                    );
                    cv.fill_rect(
                        fx + a as f32 * cell + 1.0,
                        fy - 3.0,
                        (cell - 2.0).max(1.0),
                        2.0,
                        mark,
                        1.0,
                    );
                }
            }
        }
        None => {
            // masked / knocked-out tokens: coloured ticks along both axes
            for (a, &i) in index.iter().enumerate() {
                let tok = &s.tokens[i];
                if tok.masked || tok.knocked_out {
                    let mark = if tok.masked { MASK } else { KO };
                    let p = fy + a as f32 * cell;
                    let len = cell.max(2.0);
                    cv.fill_rect(fx - 4.0, p, 3.0, len, mark, 1.0);
                    cv.fill_rect(fx + a as f32 * cell, fy - 4.0, len, 3.0, mark, 1.0);
                }
            }
            let step = nice_step(k);
            for c in (0..k).step_by(step.max(1)) {
                let mid = (c as f32 + 0.5) * cell;
                let lbl = index[c].to_string();
                cv.text(
                    &lbl,
                    FontId::Mono,
                    10.0,
                    fx - 4.0,
                    fy + mid + 3.5,
                    MUTED,
                    1.0,
                    Align::Right,
                );
                cv.text(
                    &lbl,
                    FontId::Mono,
                    10.0,
                    fx + mid,
                    fy - 4.0,
                    MUTED,
                    1.0,
                    Align::Center,
                );
            }
        }
    }

    // Focused token: outline its row (what it attends to) and its column (what attends to it).
    if let Some(fa) = focus.and_then(|f| index.iter().position(|&i| i == f)) {
        let p0 = fa as f32 * cell;
        let wdt = cell.max(1.5);
        cv.round_rect(
            fx,
            fy + p0,
            side,
            wdt,
            0.0,
            None,
            Some((ACCENT, 1.0, 1.5, None)),
        );
        cv.round_rect(
            fx + p0,
            fy,
            wdt,
            side,
            0.0,
            None,
            Some((ACCENT, 0.6, 1.0, Some(&[3.0, 3.0]))),
        );
    }

    if let Some((pos, preds)) = s.predictions {
        draw_predictions(&mut cv, s, pos, preds, main_right + PANEL_GAP, legend_top);
    }
    cv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::attention::kept_index;
    use crate::widget::png::render_image;
    use crate::widget::png::testutil::*;

    #[test]
    fn matrix_view_downsamples_long_inputs() {
        let t = 700;
        let texts: Vec<String> = (0..t).map(|i| format!("t{i}")).collect();
        let tokens = toks(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let mut attn = vec![0u8; t * t];
        for i in 0..t {
            attn[i * t + i] = 255;
        }
        let s = Snapshot {
            threshold: 0.0,
            view: PngView::Matrix,
            ..snap(&tokens, 1, &attn)
        };
        let index = kept_index(&tokens, false);
        let g = matrix_geometry(&s, &index, &[0]);
        assert_eq!(g.side, MATRIX_SIDE);
        assert_eq!(g.grid, MATRIX_SIDE);
        assert!(g.labels.is_none());
        let cv = render_image(&s).unwrap();
        // the diagonal survives max-pooling: every heatmap row has its darkest pixel near the diagonal
        for py in (0..g.side).step_by(37) {
            let c = cv
                .rgb((g.hx + py as f32) as u32, (g.hy + py as f32) as u32)
                .unwrap();
            assert!(close(c, ramp_colour(1.0), 30), "diagonal pixel {py}: {c:?}");
        }
    }
}
