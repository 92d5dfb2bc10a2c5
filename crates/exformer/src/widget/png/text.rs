//! Fonts and text: the four DejaVu faces (parsed once per process), the glyph cache, layout
//! (fallback fonts, fitting with "…", word wrap) and drawing text onto the canvas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::colour::Rgb;
use super::raster::Canvas;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum FontId {
    Sans = 0,
    SansBold = 1,
    Mono = 2,
    MonoBold = 3,
}

type Fonts = [OnceLock<Option<fontdue::Font>>; 4];

/// Parsed fonts (tens of MB) and the glyph cache are process-wide: evcxr copies a crate's statics
/// into every cell, so plain statics would parse the fonts again in each cell that draws a PNG.
fn fonts() -> &'static Fonts {
    crate::global::global("png.fonts", || -> Fonts { [const { OnceLock::new() }; 4] })
}

pub(super) fn font_loaded(id: FontId) -> bool {
    fonts()[id as usize].get().is_some()
}

pub(super) fn font(id: FontId) -> Option<&'static fontdue::Font> {
    fonts()[id as usize]
        .get_or_init(|| {
            let bytes: &'static [u8] = match id {
                FontId::Sans => dejavu::sans::regular(),
                FontId::SansBold => dejavu::sans::bold(),
                FontId::Mono => dejavu::sans_mono::regular(),
                FontId::MonoBold => dejavu::sans_mono::bold(),
            };
            fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default()).ok()
        })
        .as_ref()
}

/// Fonts tried in order for a character missing from the requested one.
fn fallbacks(id: FontId) -> &'static [FontId] {
    match id {
        FontId::Sans => &[FontId::Sans, FontId::Mono],
        FontId::SansBold => &[FontId::SansBold, FontId::Sans, FontId::Mono],
        FontId::Mono => &[FontId::Mono, FontId::Sans],
        FontId::MonoBold => &[FontId::MonoBold, FontId::SansBold, FontId::Sans],
    }
}

struct Glyph {
    xmin: i32,
    ymin: i32,
    w: usize,
    h: usize,
    advance: f32,
    cov: Vec<u8>,
}

type GlyphKey = (u8, u16, u32);

fn glyph_cache() -> &'static Mutex<HashMap<GlyphKey, Arc<Glyph>>> {
    crate::global::global("png.glyphs", || Mutex::new(HashMap::new()))
}

/// A laid-out run of text: glyphs with their pen positions (relative to the run's origin).
struct TextRun {
    glyphs: Vec<(Arc<Glyph>, f32)>,
    width: f32,
}

fn layout(text: &str, id: FontId, px: f32) -> TextRun {
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0f32;
    let mut cache = match glyph_cache().lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    if cache.len() > 20_000 {
        cache.clear();
    }
    let size_key = (px * 64.0).round() as u32;
    for ch in text.chars() {
        let mut chosen = None;
        for &fid in fallbacks(id) {
            if let Some(f) = font(fid) {
                let gi = f.lookup_glyph_index(ch);
                if gi != 0 {
                    chosen = Some((fid, f, gi));
                    break;
                }
            }
        }
        // Nothing has it: the primary font's "missing glyph" box.
        let (fid, f, gi) = match chosen {
            Some(c) => c,
            None => match font(id) {
                Some(f) => (id, f, 0),
                None => continue,
            },
        };
        let g = cache
            .entry((fid as u8, gi, size_key))
            .or_insert_with(|| {
                let (m, cov) = f.rasterize_indexed(gi, px);
                Arc::new(Glyph {
                    xmin: m.xmin,
                    ymin: m.ymin,
                    w: m.width,
                    h: m.height,
                    advance: m.advance_width,
                    cov,
                })
            })
            .clone();
        let adv = g.advance;
        glyphs.push((g, pen));
        pen += adv;
    }
    TextRun { glyphs, width: pen }
}

pub(super) fn text_width(text: &str, id: FontId, px: f32) -> f32 {
    layout(text, id, px).width
}

/// `text` shortened with "…" to fit `max_w` pixels.
pub(super) fn fit_text(text: &str, id: FontId, px: f32, max_w: f32) -> String {
    let run = layout(text, id, px);
    if run.width <= max_w {
        return text.to_string();
    }
    let ell = text_width("…", id, px);
    let chars: Vec<char> = text.chars().collect();
    let mut n = 0;
    for (k, (g, x)) in run.glyphs.iter().enumerate() {
        if x + g.advance + ell > max_w {
            break;
        }
        n = k + 1;
    }
    let mut s: String = chars.iter().take(n).collect();
    s.push('…');
    s
}

/// Greedy word wrap to `max_w` pixels (long words are cut with "…").
pub(super) fn wrap_text(text: &str, id: FontId, px: f32, max_w: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let cand = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&cand, id, px) <= max_w || line.is_empty() {
                line = cand;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_string();
            }
        }
        lines.push(fit_text(&line, id, px, max_w));
    }
    lines
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
    Center,
}

impl Canvas {
    /// Draw `text` with its baseline at `y`; `x` is the left edge, right edge or centre per
    /// `align`. Returns the width drawn.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text(
        &mut self,
        text: &str,
        id: FontId,
        px: f32,
        x: f32,
        y: f32,
        c: Rgb,
        alpha: f32,
        align: Align,
    ) -> f32 {
        let run = layout(text, id, px);
        let x0 = match align {
            Align::Left => x,
            Align::Right => x - run.width,
            Align::Center => x - run.width / 2.0,
        };
        let by = y.round() as i32;
        for (g, pen) in &run.glyphs {
            let gx = (x0 + pen).round() as i32 + g.xmin;
            let gy = by - (g.ymin + g.h as i32);
            for row in 0..g.h {
                for col in 0..g.w {
                    let cov = g.cov[row * g.w + col];
                    if cov != 0 {
                        self.blend(gx + col as i32, gy + row as i32, c, coverage(cov) * alpha);
                    }
                }
            }
        }
        run.width
    }

    /// Draw `text` rotated a quarter turn anticlockwise (reading upward), starting at (x, y) with
    /// the baseline along the vertical line x.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text_up(
        &mut self,
        text: &str,
        id: FontId,
        px: f32,
        x: f32,
        y: f32,
        c: Rgb,
        alpha: f32,
    ) {
        let run = layout(text, id, px);
        let bx = x.round() as i32;
        let by = y.round() as i32;
        for (g, pen) in &run.glyphs {
            let u0 = pen.round() as i32 + g.xmin;
            let v0 = -(g.ymin + g.h as i32);
            for row in 0..g.h {
                for col in 0..g.w {
                    let cov = g.cov[row * g.w + col];
                    if cov != 0 {
                        let u = u0 + col as i32;
                        let v = v0 + row as i32;
                        self.blend(bx + v, by - u, c, coverage(cov) * alpha);
                    }
                }
            }
        }
    }
}

/// Coverage → opacity, slightly boosted so small text on white does not look washed out.
#[inline]
fn coverage(c: u8) -> f32 {
    static LUT: OnceLock<[f32; 256]> = OnceLock::new();
    LUT.get_or_init(|| {
        let mut t = [0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            *v = (i as f32 / 255.0).powf(0.8);
        }
        t
    })[c as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::testutil::*;
    use crate::widget::png::tokens::display_token;
    use crate::widget::png::{render_png, PngView, Snapshot};

    #[test]
    fn unicode_tokens_render() {
        let tokens = toks(&[
            "Größe",
            " 東京",
            "naïve",
            "🙂",
            "\n",
            " ",
            "",
            "Ωμέγα",
            "\u{0301}x",
        ]);
        let t = tokens.len();
        let attn = synthetic(3, t, 9);
        for view in [PngView::Head, PngView::Matrix] {
            let s = Snapshot {
                view,
                ..snap(&tokens, 3, &attn)
            };
            let bytes = render_png(&s);
            let (w, h) = ihdr_size(&bytes);
            assert!(w > 500 && h > 100);
        }
        assert_eq!(display_token(" Paris"), "Paris");
        assert_eq!(display_token("\n"), "↵");
        assert_eq!(display_token(" "), "␣");
        assert_eq!(display_token(""), "∅");
        // DejaVu has real glyphs for accented Latin, Greek and the whitespace markers
        for c in ['ö', 'ß', 'Ω', 'μ', '↵', '␣', '∅', '…'] {
            assert!(
                fallbacks(FontId::Mono)
                    .iter()
                    .any(|&f| font(f).unwrap().lookup_glyph_index(c) != 0),
                "{c}"
            );
        }
        assert!(text_width("Größe", FontId::Mono, 12.0) > text_width("Gr", FontId::Mono, 12.0));
        let long = "a".repeat(200);
        assert!(fit_text(&long, FontId::Mono, 12.0, 100.0).ends_with('…'));
        assert!(
            text_width(
                &fit_text(&long, FontId::Mono, 12.0, 100.0),
                FontId::Mono,
                12.0
            ) <= 100.0
        );
    }
}
