//! Colours of the light theme (head palette and heatmap ramp from `widget/protocol.json`, which the
//! front end reads too; colours from `widget/exformer.css`) and the heatmap's colour ramp.

use std::sync::OnceLock;

use tiny_skia::Color;

use crate::widget::protocol::{hex_colour, protocol};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rgb(pub(super) u8, pub(super) u8, pub(super) u8);

impl Rgb {
    const fn hex(v: u32) -> Rgb {
        Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
    }
    pub(super) fn color(self, alpha: f32) -> Color {
        Color::from_rgba8(
            self.0,
            self.1,
            self.2,
            (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
        )
    }
    pub(super) fn mix(self, other: Rgb, t: f32) -> Rgb {
        let f = |a: u8, b: u8| {
            (a as f32 + (b as f32 - a as f32) * t)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        Rgb(f(self.0, other.0), f(self.1, other.1), f(self.2, other.2))
    }
}

/// Head colours: widget/protocol.json's `palette.head_colours` (head h gets entry h % 16).
fn head_colours() -> &'static [Rgb] {
    static COLOURS: OnceLock<Vec<Rgb>> = OnceLock::new();
    COLOURS.get_or_init(|| {
        protocol()
            .palette
            .head_colours
            .iter()
            .map(|c| Rgb::hex(hex_colour(c)))
            .collect()
    })
}

pub(super) fn head_colour(h: usize) -> Rgb {
    let c = head_colours();
    c[h % c.len()]
}

pub(super) const BG: Rgb = Rgb::hex(0xffffff);
pub(super) const BG2: Rgb = Rgb::hex(0xf8f9fb);
pub(super) const BG3: Rgb = Rgb::hex(0xeef1f5);
pub(super) const FG: Rgb = Rgb::hex(0x1b1f24);
pub(super) const FG2: Rgb = Rgb::hex(0x3a4048);
pub(super) const MUTED: Rgb = Rgb::hex(0x6a7380);
pub(super) const BORDER: Rgb = Rgb::hex(0xe3e6eb);
pub(super) const BORDER_STRONG: Rgb = Rgb::hex(0xc5cbd3);
pub(super) const ACCENT: Rgb = Rgb::hex(0x2f6fde);
pub(super) const ERROR: Rgb = Rgb::hex(0xc62828);
pub(super) const MASK: Rgb = Rgb::hex(0xc2410c);
pub(super) const KO: Rgb = Rgb::hex(0x7c3aed);
pub(super) const SEGB: Rgb = Rgb::hex(0x0e7c66);

/// 256-entry colour table for the heatmap (widget/protocol.json's `palette.ramp_light`: weight 0 →
/// first stop, 1 → last) with a square-root scale (the front end's default
/// "boost faint weights").
pub(super) fn ramp_lut() -> &'static [Rgb; 256] {
    static LUT: OnceLock<[Rgb; 256]> = OnceLock::new();
    LUT.get_or_init(|| {
        let stops: Vec<Rgb> = protocol()
            .palette
            .ramp_light
            .iter()
            .map(|c| Rgb::hex(hex_colour(c)))
            .collect();
        let mut lut = [BG; 256];
        for (i, e) in lut.iter_mut().enumerate() {
            let v = (i as f32 / 255.0).sqrt();
            let t = v * (stops.len() - 1) as f32;
            let k = (t.floor() as usize).min(stops.len() - 2);
            *e = stops[k].mix(stops[k + 1], t - k as f32);
        }
        lut
    })
}

pub(super) fn ramp_colour(v: f32) -> Rgb {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ramp_lut()[(v * 255.0 + 0.5) as usize]
}
