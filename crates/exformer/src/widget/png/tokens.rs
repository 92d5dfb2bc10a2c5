//! Token labels: display form of a token's text, its style (colour, opacity, MASK / KO badge),
//! badges and the knocked-out token's wavy strike-through.

use tiny_skia::PathBuilder;

use super::colour::{Rgb, BG, FG, KO, MASK, MUTED, SEGB};
use super::raster::Canvas;
use super::snapshot::SnapToken;
use super::text::{text_width, Align, FontId};

/// Short display form of a token's text (front end's `displayToken`): leading spaces dropped,
/// whitespace made visible, empty text shown as ∅.
pub(super) fn display_token(text: &str) -> String {
    let vis = |s: &str| s.replace('\n', "↵").replace('\t', "⇥").replace('\r', "");
    if !text.is_empty() && text.chars().all(char::is_whitespace) {
        let s = vis(text).replace(' ', "␣");
        return if s.is_empty() { "∅".into() } else { s };
    }
    let s = vis(text.trim_start_matches(' '));
    if s.is_empty() {
        "∅".into()
    } else {
        s
    }
}

/// Token label style.
pub(super) struct TokStyle {
    pub(super) text: String,
    pub(super) colour: Rgb,
    pub(super) alpha: f32,
    pub(super) badge: Option<(&'static str, Rgb)>,
}

pub(super) fn token_style(t: &SnapToken) -> TokStyle {
    let colour = if t.special {
        MUTED
    } else if t.segment == 1 {
        SEGB
    } else {
        FG
    };
    let badge = if t.masked {
        Some(("MASK", MASK))
    } else if t.knocked_out {
        Some(("KO", KO))
    } else {
        None
    };
    TokStyle {
        text: display_token(&t.text),
        colour,
        alpha: if t.masked || t.knocked_out { 0.55 } else { 1.0 },
        badge,
    }
}

const BADGE_PX: f32 = 8.5;

pub(super) fn badge_width(label: &str) -> f32 {
    text_width(label, FontId::SansBold, BADGE_PX) + 8.0
}

pub(super) fn draw_badge(cv: &mut Canvas, label: &str, colour: Rgb, x: f32, cy: f32) {
    let w = badge_width(label);
    cv.round_rect(x, cy - 6.5, w, 13.0, 3.0, Some((colour, 1.0)), None);
    cv.text(
        label,
        FontId::SansBold,
        BADGE_PX,
        x + w / 2.0,
        cy + 3.2,
        BG,
        1.0,
        Align::Center,
    );
}

pub(super) fn wavy_line(cv: &mut Canvas, x0: f32, x1: f32, y: f32, c: Rgb) {
    if x1 <= x0 {
        return;
    }
    let mut pb = PathBuilder::new();
    pb.move_to(x0, y);
    let step = 2.5;
    let mut x = x0;
    let mut up = true;
    while x < x1 {
        let nx = (x + step).min(x1);
        pb.line_to(nx, if up { y - 1.0 } else { y + 1.0 });
        up = !up;
        x = nx;
    }
    if let Some(p) = pb.finish() {
        cv.stroke_path(&p, c, 0.75, 0.9, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::render_image;
    use crate::widget::png::testutil::*;

    #[test]
    fn masked_and_knocked_out_tokens_are_marked() {
        let mut tokens = toks(&["the", "cat", "sat"]);
        tokens[1].masked = true;
        tokens[2].knocked_out = true;
        let attn = synthetic(2, 3, 11);
        let s = snap(&tokens, 2, &attn);
        let cv = render_image(&s).unwrap();
        let count = |c: Rgb| {
            let mut n = 0;
            for y in 0..cv.height() {
                for x in 0..cv.width() {
                    if close(cv.rgb(x, y).unwrap(), c, 10) {
                        n += 1;
                    }
                }
            }
            n
        };
        assert!(count(MASK) > 40, "MASK badge");
        assert!(count(KO) > 20, "KO badge");
        let plain = toks(&["the", "cat", "sat"]);
        let cv2 = render_image(&snap(&plain, 2, &attn)).unwrap();
        let mut n = 0;
        for y in 0..cv2.height() {
            for x in 0..cv2.width() {
                if close(cv2.rgb(x, y).unwrap(), MASK, 10) {
                    n += 1;
                }
            }
        }
        assert_eq!(n, 0);
    }
}
