//! The error card drawn instead of a view when the snapshot's input is inconsistent.

use super::colour::{BG, ERROR, FG2};
use super::header::PAD;
use super::raster::Canvas;
use super::text::{wrap_text, Align, FontId};

/// A readable card explaining why nothing could be drawn.
pub(super) fn error_card(msg: &str) -> Canvas {
    let width = 640.0;
    let lines = wrap_text(msg, FontId::Sans, 12.5, width - 2.0 * PAD - 24.0);
    let height = PAD * 2.0 + 40.0 + lines.len() as f32 * 18.0 + 14.0;
    let mut cv = Canvas::new(width as u32, height as u32);
    let bg = ERROR.mix(BG, 0.9);
    cv.round_rect(
        PAD + 0.5,
        PAD + 0.5,
        width - 2.0 * PAD - 1.0,
        height - 2.0 * PAD - 1.0,
        6.0,
        Some((bg, 1.0)),
        Some((ERROR, 0.35, 1.0, None)),
    );
    cv.text(
        "exformer: cannot draw this attention snapshot",
        FontId::SansBold,
        13.5,
        PAD + 12.0,
        PAD + 26.0,
        ERROR,
        1.0,
        Align::Left,
    );
    for (n, l) in lines.iter().enumerate() {
        cv.text(
            l,
            FontId::Sans,
            12.5,
            PAD + 12.0,
            PAD + 48.0 + n as f32 * 18.0,
            FG2,
            1.0,
            Align::Left,
        );
    }
    cv
}
