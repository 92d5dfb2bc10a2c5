//! The predictions side panel: the top-k tokens at one position with probability bars.

use super::colour::{ACCENT, BG2, BG3, BORDER, FG, FG2, MUTED};
use super::header::LABEL_PX;
use super::raster::Canvas;
use super::snapshot::Snapshot;
use super::text::{fit_text, Align, FontId};
use super::tokens::display_token;

pub(super) const PANEL_W: f32 = 220.0;
pub(super) const PANEL_GAP: f32 = 16.0;

/// "87.3%", "4.97%", "<0.1%" (front end's `formatProb`).
fn format_prob(p: f32) -> String {
    if !p.is_finite() {
        return "–".into();
    }
    let pct = p * 100.0;
    if pct > 0.0 && pct < 0.1 {
        return "<0.1%".into();
    }
    if pct >= 10.0 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.2}%")
    }
}

pub(super) fn panel_height(preds: &[(String, f32)]) -> f32 {
    52.0 + preds.len().max(1) as f32 * 20.0 + 6.0
}

pub(super) fn draw_predictions(
    cv: &mut Canvas,
    s: &Snapshot,
    pos: usize,
    preds: &[(String, f32)],
    x: f32,
    y: f32,
) {
    let h = panel_height(preds);
    cv.round_rect(
        x + 0.5,
        y + 0.5,
        PANEL_W - 1.0,
        h,
        6.0,
        Some((BG2, 1.0)),
        Some((BORDER, 1.0, 1.0, None)),
    );
    let ix = x + 10.0;
    let iw = PANEL_W - 20.0;
    cv.text(
        "PREDICTIONS",
        FontId::SansBold,
        LABEL_PX,
        ix,
        y + 18.0,
        MUTED,
        1.0,
        Align::Left,
    );
    let caption = match s.tokens.get(pos) {
        Some(t) if t.masked => format!("[MASK] at #{pos} (was “{}”)", display_token(&t.text)),
        Some(t) => format!("at #{pos} “{}”", display_token(&t.text)),
        None => format!("at #{pos}"),
    };
    let caption = fit_text(&caption, FontId::Sans, 12.0, iw);
    cv.text(
        &caption,
        FontId::Sans,
        12.0,
        ix,
        y + 36.0,
        FG2,
        1.0,
        Align::Left,
    );
    let mut ry = y + 52.0;
    if preds.is_empty() {
        cv.text(
            "no predictions for this position",
            FontId::Sans,
            12.0,
            ix,
            ry + 12.0,
            MUTED,
            1.0,
            Align::Left,
        );
        return;
    }
    let (bar_w, p_w, gap) = (60.0, 48.0, 6.0);
    let tok_w = iw - bar_w - p_w - 2.0 * gap;
    for (r, (tok, p)) in preds.iter().enumerate() {
        let fid = if r == 0 {
            FontId::MonoBold
        } else {
            FontId::Mono
        };
        let label = fit_text(&display_token(tok), fid, 12.0, tok_w);
        let base = ry + 13.0;
        cv.text(&label, fid, 12.0, ix, base, FG, 1.0, Align::Left);
        let bx = ix + tok_w + gap;
        cv.round_rect(bx, base - 8.0, bar_w, 8.0, 4.0, Some((BG3, 1.0)), None);
        let pv = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if pv > 0.0 {
            cv.round_rect(
                bx,
                base - 8.0,
                (bar_w * pv).max(3.0),
                8.0,
                4.0,
                Some((ACCENT, 1.0)),
                None,
            );
        }
        cv.text(
            &format_prob(*p),
            FontId::Mono,
            11.0,
            ix + iw,
            base,
            FG2,
            1.0,
            Align::Right,
        );
        ry += 20.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::head::head_geometry;
    use crate::widget::png::render_image;
    use crate::widget::png::testutil::*;

    #[test]
    fn predictions_panel_lists_top_k_with_bars() {
        let tokens = toks(&["the", "cat"]);
        let attn = synthetic(1, 2, 3);
        let preds = vec![("sat".to_string(), 0.8f32), ("ran".to_string(), 0.1)];
        let without = render_image(&snap(&tokens, 1, &attn)).unwrap();
        let s = Snapshot {
            predictions: Some((1, &preds)),
            ..snap(&tokens, 1, &attn)
        };
        let with = render_image(&s).unwrap();
        assert!(with.width() > without.width(), "panel adds width");
        let g = head_geometry(&s, &[0, 1], &[0]);
        // accent-coloured bar pixels inside the panel; the first bar is longer than the second
        let mut rows: Vec<(u32, usize)> = Vec::new();
        for y in 0..with.height() {
            let n = (g.panel_x as u32..with.width())
                .filter(|&x| close(with.rgb(x, y).unwrap(), ACCENT, 6))
                .count();
            if n > 0 {
                rows.push((y, n));
            }
        }
        assert!(!rows.is_empty(), "no probability bars");
        let first = rows.first().unwrap().1;
        let last = rows.last().unwrap().1;
        assert!(
            first > 3 * last,
            "bar lengths follow the probabilities ({first} vs {last})"
        );
        assert_eq!(format_prob(0.623), "62.3%");
        assert_eq!(format_prob(0.0497), "4.97%");
        assert_eq!(format_prob(0.0004), "<0.1%");
    }
}
