//! Static PNG snapshot of the attention view.
//!
//! Every widget output carries an `image/png` rendering of the current view so that GitHub,
//! nbviewer and untrusted notebooks (where the interactive front end does not run) still show the
//! picture. The look follows the front end in `widget/` (palette from `widget/logic.js`, colours from
//! `widget/exformer.css`):
//!
//! - **Head view** (exBERT style): queries in the left column, keys in the right one, every
//!   (query, key) pair joined by a cubic curve whose opacity is the weight, one colour per head.
//! - **Matrix view**: heatmap of the mean over the selected heads, max-pooled when the input has more
//!   tokens than the heatmap has pixels. Used automatically when more than
//!   [`HEAD_VIEW_MAX_TOKENS`] tokens are shown, whatever view was asked for.
//! - An optional predictions panel (top-k tokens with probability bars).
//!
//! Drawing uses `tiny-skia` (anti-aliased), text is DejaVu Sans / Sans Mono rasterised with
//! `fontdue` (glyphs cached across renders), PNG encoding is tiny-skia's.
//!
//! [`render_png`] never panics: inconsistent input (attention size not `n_heads × T × T`, no tokens,
//! no heads) renders a readable error card instead. Out-of-range heads, focus or prediction
//! positions and a non-finite threshold are tolerated (ignored / treated as 0).
//!
//! Eyeballing and timing (not part of the normal test run):
//! `cargo test --release -p exformer --lib png_samples -- --ignored` writes `/tmp/exformer_png_*.png`;
//! `cargo test --release -p exformer --lib png_timing -- --ignored --nocapture` prints a timing table.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use tiny_skia::{
    Color, LineCap, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, StrokeDash, Transform,
};

/// Longest input (visible tokens) drawn as a head view; longer inputs switch to the matrix view
/// (same rule as the front end's `HEAD_VIEW_MAX_TOKENS`).
pub const HEAD_VIEW_MAX_TOKENS: usize = 60;

// =============================================================================================
// Public interface
// =============================================================================================

/// Which view to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngView {
    /// Two token columns joined by curves (only up to [`HEAD_VIEW_MAX_TOKENS`] visible tokens).
    Head,
    /// Heatmap of the mean over the selected heads.
    Matrix,
}

/// One token as the snapshot shows it.
#[derive(Debug, Clone)]
pub struct SnapToken {
    /// Display text (a leading space is dropped on screen, whitespace is made visible).
    pub text: String,
    /// A special token ([CLS], <s>, ...): drawn muted; dropped with `hide_special`.
    pub special: bool,
    /// Masked by the user: struck through with a MASK badge.
    pub masked: bool,
    /// Knocked out by the user: struck through (wavy) with a KO badge and a dashed outline.
    pub knocked_out: bool,
    /// 0 = segment A, 1 = segment B (drawn in the segment-B colour).
    pub segment: u8,
}

/// Everything the snapshot draws.
pub struct Snapshot<'a> {
    /// Title line, e.g. "SmolLM2-135M-Instruct · layer 3 of 30".
    pub title: &'a str,
    /// The T tokens.
    pub tokens: &'a [SnapToken],
    /// Number of heads in `attn`.
    pub n_heads: usize,
    /// The selected layer: Uint8 row-major `[n_heads, T, T]`, weight = byte / 255; rows are queries
    /// ("from"), columns keys ("to").
    pub attn: &'a [u8],
    /// Selected heads; empty = all.
    pub heads: &'a [usize],
    /// Hide weights below this (0..1).
    pub threshold: f32,
    /// Drop special tokens' rows and columns and renormalise each row (per head).
    pub hide_special: bool,
    /// Requested view (the head view turns into the matrix view above [`HEAD_VIEW_MAX_TOKENS`]).
    pub view: PngView,
    /// If set, only that token's attention (from it and to it) is drawn in full, the rest faint.
    pub focus: Option<usize>,
    /// A position and its top-k `(token, prob)` listed in a side panel.
    pub predictions: Option<(usize, &'a [(String, f32)])>,
}

/// Render the snapshot as PNG bytes. Never panics: bad sizes render an error card.
pub fn render_png(s: &Snapshot) -> Vec<u8> {
    let img = match catch_unwind(AssertUnwindSafe(|| render_image(s))) {
        Ok(Ok(img)) => img,
        Ok(Err(msg)) => error_card(&msg),
        Err(_) => error_card("internal error while drawing the snapshot"),
    };
    match img.encode() {
        Some(bytes) => bytes,
        // Encoding a freshly allocated pixmap does not fail in practice; fall back to a tiny card.
        None => Canvas::new(8, 8).encode().unwrap_or_default(),
    }
}

/// Load the fonts and colour tables now (the first [`render_png`] otherwise pays for it: fontdue
/// parses every glyph outline of the four DejaVu faces, ~50–150 ms once per process). Safe to call
/// from a background thread, any number of times.
pub fn warm_up() {
    const ALL: [FontId; 4] = [
        FontId::Sans,
        FontId::SansBold,
        FontId::Mono,
        FontId::MonoBold,
    ];
    if ALL.iter().all(|&id| font_loaded(id)) {
        return;
    }
    // Parse the faces in parallel (each is independent); fall back to this thread if spawning fails.
    std::thread::scope(|sc| {
        for id in ALL {
            if std::thread::Builder::new()
                .spawn_scoped(sc, move || {
                    let _ = font(id);
                })
                .is_err()
            {
                let _ = font(id);
            }
        }
    });
    let _ = ramp_lut();
}

/// The view [`render_png`] draws for this snapshot: the matrix view when more than
/// [`HEAD_VIEW_MAX_TOKENS`] tokens are visible, else the requested one.
pub fn effective_view(s: &Snapshot) -> PngView {
    let k = kept_index(s.tokens, s.hide_special).len();
    resolve_view(s.view, k)
}

fn resolve_view(requested: PngView, visible: usize) -> PngView {
    if visible > HEAD_VIEW_MAX_TOKENS {
        PngView::Matrix
    } else {
        requested
    }
}

// =============================================================================================
// Colours (widget/logic.js, widget/exformer.css light theme)
// =============================================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    const fn hex(v: u32) -> Rgb {
        Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
    }
    fn color(self, alpha: f32) -> Color {
        Color::from_rgba8(
            self.0,
            self.1,
            self.2,
            (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
        )
    }
    fn mix(self, other: Rgb, t: f32) -> Rgb {
        let f = |a: u8, b: u8| {
            (a as f32 + (b as f32 - a as f32) * t)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        Rgb(f(self.0, other.0), f(self.1, other.1), f(self.2, other.2))
    }
}

/// Head colours, same order as the front end's `HEAD_COLOURS` (head h gets entry h % 16).
pub(crate) const HEAD_COLOURS: [Rgb; 16] = [
    Rgb::hex(0x1f77b4), // blue
    Rgb::hex(0xff7f0e), // orange
    Rgb::hex(0x2ca02c), // green
    Rgb::hex(0xd62728), // red
    Rgb::hex(0x9467bd), // purple
    Rgb::hex(0x8c564b), // brown
    Rgb::hex(0xe377c2), // pink
    Rgb::hex(0x17becf), // cyan
    Rgb::hex(0xbcbd22), // olive
    Rgb::hex(0x393b79), // indigo
    Rgb::hex(0x00a087), // teal
    Rgb::hex(0xc51b7d), // magenta
    Rgb::hex(0x6baed6), // sky
    Rgb::hex(0x636363), // grey
    Rgb::hex(0x7fbf3f), // lime
    Rgb::hex(0xfdb462), // apricot
];

pub(crate) fn head_colour(h: usize) -> Rgb {
    HEAD_COLOURS[h % HEAD_COLOURS.len()]
}

const BG: Rgb = Rgb::hex(0xffffff);
const BG2: Rgb = Rgb::hex(0xf8f9fb);
const BG3: Rgb = Rgb::hex(0xeef1f5);
const FG: Rgb = Rgb::hex(0x1b1f24);
const FG2: Rgb = Rgb::hex(0x3a4048);
const MUTED: Rgb = Rgb::hex(0x6a7380);
const BORDER: Rgb = Rgb::hex(0xe3e6eb);
const BORDER_STRONG: Rgb = Rgb::hex(0xc5cbd3);
const ACCENT: Rgb = Rgb::hex(0x2f6fde);
const ERROR: Rgb = Rgb::hex(0xc62828);
const MASK: Rgb = Rgb::hex(0xc2410c);
const KO: Rgb = Rgb::hex(0x7c3aed);
const SEGB: Rgb = Rgb::hex(0x0e7c66);

/// Heatmap ramp (front end's `RAMP_LIGHT`): weight 0 → first stop, 1 → last.
const RAMP_LIGHT: [u32; 6] = [0xffffff, 0xe3eef9, 0xa9cce8, 0x5a9fd4, 0x2166ac, 0x0b2f6b];

/// 256-entry colour table for the heatmap with a square-root scale (the front end's default
/// "boost faint weights").
fn ramp_lut() -> &'static [Rgb; 256] {
    static LUT: OnceLock<[Rgb; 256]> = OnceLock::new();
    LUT.get_or_init(|| {
        let stops: Vec<Rgb> = RAMP_LIGHT.iter().map(|&v| Rgb::hex(v)).collect();
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

fn ramp_colour(v: f32) -> Rgb {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ramp_lut()[(v * 255.0 + 0.5) as usize]
}

// =============================================================================================
// Attention arithmetic (mirrors widget/logic.js `viewMatrices`)
// =============================================================================================

/// Concrete list of selected heads: sorted, deduplicated, in range; empty (or nothing valid) = all.
pub(crate) fn selected_heads(heads: &[usize], n_heads: usize) -> Vec<usize> {
    let mut v: Vec<usize> = heads.iter().copied().filter(|&h| h < n_heads).collect();
    v.sort_unstable();
    v.dedup();
    if v.is_empty() {
        (0..n_heads).collect()
    } else {
        v
    }
}

/// Positions of the visible tokens (special tokens dropped when `hide_special`; if that would
/// leave nothing, every token stays).
pub(crate) fn kept_index(tokens: &[SnapToken], hide_special: bool) -> Vec<usize> {
    let kept: Vec<usize> = (0..tokens.len())
        .filter(|&i| !(hide_special && tokens[i].special))
        .collect();
    if kept.is_empty() {
        (0..tokens.len()).collect()
    } else {
        kept
    }
}

/// One head's weights restricted to `index` (K×K, row-major). When tokens were dropped
/// (`index.len() < t`) each row is rescaled to sum to 1 over the kept keys (rows with no kept
/// weight stay zero); otherwise the weights are the bytes / 255 unchanged.
pub(crate) fn head_matrix(attn: &[u8], t: usize, head: usize, index: &[usize]) -> Vec<f32> {
    let k = index.len();
    let mut out = vec![0f32; k * k];
    let base = head * t * t;
    let compact = k != t;
    for (a, &i) in index.iter().enumerate() {
        let row = &attn[base + i * t..base + (i + 1) * t];
        let dst = &mut out[a * k..(a + 1) * k];
        if compact {
            let sum: u32 = index.iter().map(|&j| row[j] as u32).sum();
            if sum == 0 {
                continue;
            }
            let s = 1.0 / sum as f32;
            for (d, &j) in dst.iter_mut().zip(index) {
                *d = row[j] as f32 * s;
            }
        } else {
            for (d, &b) in dst.iter_mut().zip(row) {
                *d = b as f32 * (1.0 / 255.0);
            }
        }
    }
    out
}

fn sanitize_threshold(t: f32) -> f32 {
    if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Mean over `heads` of the (renormalised) kept-token matrices, weights below `threshold` zeroed,
/// max-pooled into `g × g` bins (`g ≤ K`; bin of cell c = floor(c·g/K), the front end's binning).
/// Streams one query row at a time: memory is O(K + g²) even at T = 4096.
pub(crate) fn pooled_mean(
    attn: &[u8],
    t: usize,
    heads: &[usize],
    index: &[usize],
    threshold: f32,
    g: usize,
) -> Vec<f32> {
    let k = index.len();
    let g = g.clamp(1, k.max(1));
    let mut out = vec![0f32; g * g];
    if k == 0 || heads.is_empty() {
        return out;
    }
    let compact = k != t;
    let col_bin: Vec<usize> = (0..k).map(|c| (c * g / k).min(g - 1)).collect();
    let nh = heads.len() as f32;
    let mut acc = vec![0f32; k];
    let mut gathered = vec![0u8; k];
    for (a, &i) in index.iter().enumerate() {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for &h in heads {
            let base = h * t * t + i * t;
            let row = &attn[base..base + t];
            let src: &[u8] = if compact {
                for (d, &j) in gathered.iter_mut().zip(index) {
                    *d = row[j];
                }
                &gathered
            } else {
                row
            };
            let s = if compact {
                let sum: u32 = src.iter().map(|&b| b as u32).sum();
                if sum == 0 {
                    continue;
                }
                1.0 / (sum as f32 * nh)
            } else {
                1.0 / (255.0 * nh)
            };
            for (v, &b) in acc.iter_mut().zip(src) {
                *v += b as f32 * s;
            }
        }
        let y = (a * g / k).min(g - 1);
        let orow = &mut out[y * g..(y + 1) * g];
        for (c, &v) in acc.iter().enumerate() {
            if v >= threshold && v > orow[col_bin[c]] {
                orow[col_bin[c]] = v;
            }
        }
    }
    out
}

/// Short display form of a token's text (front end's `displayToken`): leading spaces dropped,
/// whitespace made visible, empty text shown as ∅.
pub(crate) fn display_token(text: &str) -> String {
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

/// "87.3%", "4.97%", "<0.1%" (front end's `formatProb`).
pub(crate) fn format_prob(p: f32) -> String {
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

fn validate(s: &Snapshot) -> Result<(), String> {
    let t = s.tokens.len();
    if t == 0 {
        return Err("there are no tokens to draw (the token list is empty)".into());
    }
    if s.n_heads == 0 {
        return Err("n_heads is 0: the attention has no heads".into());
    }
    let want = s.n_heads.checked_mul(t).and_then(|x| x.checked_mul(t));
    match want {
        Some(w) if w == s.attn.len() => Ok(()),
        Some(w) => Err(format!(
            "the attention buffer holds {} bytes but n_heads × T × T = {} × {} × {} = {}",
            s.attn.len(),
            s.n_heads,
            t,
            t,
            w
        )),
        None => Err(format!(
            "n_heads × T × T overflows ({} heads, {} tokens)",
            s.n_heads, t
        )),
    }
}

// =============================================================================================
// Fonts and text
// =============================================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FontId {
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

fn font_loaded(id: FontId) -> bool {
    fonts()[id as usize].get().is_some()
}

fn font(id: FontId) -> Option<&'static fontdue::Font> {
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

fn text_width(text: &str, id: FontId, px: f32) -> f32 {
    layout(text, id, px).width
}

/// `text` shortened with "…" to fit `max_w` pixels.
fn fit_text(text: &str, id: FontId, px: f32, max_w: f32) -> String {
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
fn wrap_text(text: &str, id: FontId, px: f32, max_w: f32) -> Vec<String> {
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
enum Align {
    Left,
    Right,
    Center,
}

// =============================================================================================
// Canvas
// =============================================================================================

/// An opaque RGBA image being drawn (white background).
pub(crate) struct Canvas {
    pm: Pixmap,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        let w = w.clamp(1, 8192);
        let h = h.clamp(1, 8192);
        let mut pm = Pixmap::new(w, h).unwrap_or_else(|| Pixmap::new(1, 1).expect("1×1 pixmap"));
        pm.fill(BG.color(1.0));
        Canvas { pm }
    }

    #[cfg(test)]
    pub(crate) fn width(&self) -> u32 {
        self.pm.width()
    }

    #[cfg(test)]
    pub(crate) fn height(&self) -> u32 {
        self.pm.height()
    }

    /// RGB of pixel (x, y) (the image is opaque).
    #[cfg(test)]
    pub(crate) fn rgb(&self, x: u32, y: u32) -> Option<Rgb> {
        self.pm
            .pixel(x, y)
            .map(|p| Rgb(p.red(), p.green(), p.blue()))
    }

    fn encode(&self) -> Option<Vec<u8>> {
        self.pm.encode_png().ok()
    }

    fn paint(c: Rgb, alpha: f32) -> Paint<'static> {
        let mut p = Paint::default();
        p.set_color(c.color(alpha));
        p.anti_alias = true;
        p
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, c: Rgb, alpha: f32) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.pm
                .fill_rect(r, &Self::paint(c, alpha), Transform::identity(), None);
        }
    }

    fn fill_path(&mut self, p: &Path, c: Rgb, alpha: f32) {
        self.pm.fill_path(
            p,
            &Self::paint(c, alpha),
            tiny_skia::FillRule::Winding,
            Transform::identity(),
            None,
        );
    }

    fn stroke_path(&mut self, p: &Path, c: Rgb, alpha: f32, width: f32, dash: Option<&[f32]>) {
        let mut st = Stroke {
            width,
            line_cap: LineCap::Round,
            ..Stroke::default()
        };
        if let Some(d) = dash {
            st.line_cap = LineCap::Butt;
            st.dash = StrokeDash::new(d.to_vec(), 0.0);
        }
        self.pm
            .stroke_path(p, &Self::paint(c, alpha), &st, Transform::identity(), None);
    }

    #[allow(clippy::too_many_arguments)]
    fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: Rgb, alpha: f32, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x0, y0);
        pb.line_to(x1, y1);
        if let Some(p) = pb.finish() {
            let st = Stroke {
                width,
                line_cap: LineCap::Butt,
                ..Stroke::default()
            };
            self.pm
                .stroke_path(&p, &Self::paint(c, alpha), &st, Transform::identity(), None);
        }
    }

    /// Rounded rectangle: optional fill, optional (colour, alpha, width, dash) outline.
    #[allow(clippy::too_many_arguments)]
    fn round_rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        r: f32,
        fill: Option<(Rgb, f32)>,
        stroke: Option<(Rgb, f32, f32, Option<&[f32]>)>,
    ) {
        let Some(p) = round_rect_path(x, y, w, h, r) else {
            return;
        };
        if let Some((c, a)) = fill {
            self.fill_path(&p, c, a);
        }
        if let Some((c, a, wd, dash)) = stroke {
            self.stroke_path(&p, c, a, wd, dash);
        }
    }

    #[inline]
    fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.pm.width() as i32 || y >= self.pm.height() as i32 || a <= 0.0
        {
            return;
        }
        let w = self.pm.width() as usize;
        let o = (y as usize * w + x as usize) * 4;
        let d = self.pm.data_mut();
        let a = a.min(1.0);
        for (k, s) in [c.0, c.1, c.2].into_iter().enumerate() {
            let v = d[o + k] as f32;
            d[o + k] = (v + (s as f32 - v) * a + 0.5) as u8;
        }
        d[o + 3] = 255;
    }

    /// Write an opaque pixel.
    #[inline]
    fn put(&mut self, x: u32, y: u32, c: Rgb) {
        if x >= self.pm.width() || y >= self.pm.height() {
            return;
        }
        let o = (y as usize * self.pm.width() as usize + x as usize) * 4;
        let d = self.pm.data_mut();
        d[o] = c.0;
        d[o + 1] = c.1;
        d[o + 2] = c.2;
        d[o + 3] = 255;
    }

    /// Draw `text` with its baseline at `y`; `x` is the left edge, right edge or centre per
    /// `align`. Returns the width drawn.
    #[allow(clippy::too_many_arguments)]
    fn text(
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
    fn text_up(&mut self, text: &str, id: FontId, px: f32, x: f32, y: f32, c: Rgb, alpha: f32) {
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

fn round_rect_path(x: f32, y: f32, w: f32, h: f32, r: f32) -> Option<Path> {
    if !(w > 0.0 && h > 0.0) {
        return None;
    }
    let r = r.min(w / 2.0).min(h / 2.0).max(0.0);
    let k = 0.552_284_8 * r;
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.cubic_to(x + w - r + k, y, x + w, y + r - k, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.cubic_to(x + w, y + h - r + k, x + w - r + k, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.cubic_to(x + r - k, y + h, x, y + h - r + k, x, y + h - r);
    pb.line_to(x, y + r);
    pb.cubic_to(x, y + r - k, x + r - k, y, x + r, y);
    pb.close();
    pb.finish()
}

// =============================================================================================
// Layout constants
// =============================================================================================

const PAD: f32 = 16.0;
const TITLE_PX: f32 = 15.0;
const META_PX: f32 = 12.0;
const LABEL_PX: f32 = 10.5;
const PANEL_W: f32 = 220.0;
const PANEL_GAP: f32 = 16.0;
/// Head view: main area width with / without the predictions panel.
const HEAD_MAIN_W: f32 = 740.0;
const HEAD_MAIN_W_PANEL: f32 = 620.0;
/// Head view: rows get at most this much height in total before they shrink (to MIN_ROW).
const ROWS_CAP: f32 = 960.0;
const MAX_ROW: f32 = 22.0;
const MIN_ROW: f32 = 16.0;
/// Matrix view: heatmap side (pixels) at most.
const MATRIX_SIDE: usize = 640;
const MATRIX_SIDE_PANEL: usize = 600;

/// Token label style.
struct TokStyle {
    text: String,
    colour: Rgb,
    alpha: f32,
    badge: Option<(&'static str, Rgb)>,
}

fn token_style(t: &SnapToken) -> TokStyle {
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

fn badge_width(label: &str) -> f32 {
    text_width(label, FontId::SansBold, BADGE_PX) + 8.0
}

fn draw_badge(cv: &mut Canvas, label: &str, colour: Rgb, x: f32, cy: f32) {
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

/// Title and meta line; returns the y below them.
fn draw_header(cv: &mut Canvas, s: &Snapshot, meta: &str, width: f32) -> f32 {
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

struct LegendLayout {
    label: String,
    /// (head, x, y, width) of each swatch, relative to the legend's top-left corner.
    swatches: Vec<(usize, f32, f32, f32)>,
    height: f32,
}

/// "HEADS" + one numbered swatch per selected head, wrapping within `max_w`.
fn legend_layout(heads: &[usize], n_heads: usize, max_w: f32) -> LegendLayout {
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
fn draw_head_legend(
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
fn meta_line(
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
                "matrix view (head view shows ≤ {HEAD_VIEW_MAX_TOKENS} tokens)"
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

// =============================================================================================
// Predictions panel
// =============================================================================================

fn panel_height(preds: &[(String, f32)]) -> f32 {
    52.0 + preds.len().max(1) as f32 * 20.0 + 6.0
}

fn draw_predictions(
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

// =============================================================================================
// Rendering
// =============================================================================================

fn render_image(s: &Snapshot) -> Result<Canvas, String> {
    warm_up();
    validate(s)?;
    let index = kept_index(s.tokens, s.hide_special);
    let heads = selected_heads(s.heads, s.n_heads);
    let view = resolve_view(s.view, index.len());
    // Focus only counts when that token is visible.
    let focus = s.focus.filter(|f| index.contains(f));
    Ok(match view {
        PngView::Head => render_head(s, &index, &heads, focus),
        PngView::Matrix => render_matrix(s, &index, &heads, focus),
    })
}

/// Geometry of the head view (exposed to tests).
#[derive(Debug, Clone)]
pub(crate) struct HeadGeom {
    pub width: f32,
    pub height: f32,
    /// Right edge of the query column.
    pub from_right: f32,
    /// Left edge of the key column.
    pub to_left: f32,
    /// Curves start at x1 and end at x2.
    pub x1: f32,
    pub x2: f32,
    /// Top of the first token row and the row height.
    pub rows_top: f32,
    pub row_h: f32,
    pub tok_px: f32,
    pub legend_top: f32,
    pub panel_x: f32,
}

impl HeadGeom {
    pub fn row_center(&self, a: usize) -> f32 {
        self.rows_top + (a as f32 + 0.5) * self.row_h
    }
}

fn label_width(st: &TokStyle, px: f32) -> f32 {
    text_width(&st.text, FontId::Mono, px) + st.badge.map_or(0.0, |(b, _)| badge_width(b) + 4.0)
}

fn head_geometry(s: &Snapshot, index: &[usize], heads: &[usize]) -> HeadGeom {
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

/// Pixel-exact rasteriser for the head view's curves. Every curve joins (x1, y1) to (x2, y2) with
/// control points halfway across (front end's `curve`), so x(t) = x1 + L·(1.5·t·(1−t) + t³) is the
/// same for every curve and y = y1 + (y2 − y1)·s(x) with s the smoothstep of t. The profile s(x) and
/// its slope are computed once per sub-column; a curve is then drawn as anti-aliased vertical spans
/// (4 sub-samples per pixel column) whose height is the stroke width over the cosine of the slope.
/// Drawing curves one by one with their own opacity matches the interactive view (and exBERT), and
/// is ~20× faster than general path stroking for thousands of curves.
struct CurveLayer {
    x0: i32,
    y0: i32,
    w: usize,
    h: usize,
    /// (s, ds/dx) per sub-sample: 4 per pixel column.
    prof: Vec<(f32, f32)>,
    rgb: Vec<[f32; 3]>,
}

const SUB: usize = 4;

type PatternCache = HashMap<(u32, u32, u32), Vec<(u32, i32, f32)>>;

impl CurveLayer {
    fn new(x1: f32, x2: f32, y_top: f32, y_bottom: f32) -> CurveLayer {
        let x0 = x1.floor() as i32;
        let w = ((x2.ceil() as i32) - x0).max(1) as usize;
        let y0 = y_top.floor() as i32;
        let h = ((y_bottom.ceil() as i32) - y0).max(1) as usize;
        let len = (x2 - x1).max(1e-3);
        let mut prof = Vec::with_capacity(w * SUB);
        for c in 0..w * SUB {
            let x = x0 as f32 + (c as f32 + 0.5) / SUB as f32;
            let u = (x - x1) / len;
            if !(0.0..=1.0).contains(&u) {
                prof.push((f32::NAN, 0.0));
                continue;
            }
            // invert u = 1.5 t (1 - t) + t^3 (monotonic, derivative ≥ 0.75): Newton from t = u
            let mut t = u;
            for _ in 0..8 {
                let f = 1.5 * t * (1.0 - t) + t * t * t - u;
                let d = 1.5 - 3.0 * t + 3.0 * t * t;
                t = (t - f / d).clamp(0.0, 1.0);
            }
            let s = t * t * (3.0 - 2.0 * t);
            let ds_du = (6.0 * t - 6.0 * t * t) / (1.5 - 3.0 * t + 3.0 * t * t);
            prof.push((s, ds_du / len));
        }
        CurveLayer {
            x0,
            y0,
            w,
            h,
            prof,
            rgb: vec![[BG.0 as f32, BG.1 as f32, BG.2 as f32]; w * h],
        }
    }

    /// Coverage of one curve from y1 (left) to y2 (right), `width` px thick, as (column, row
    /// relative to floor(y1), coverage) triples. The pattern depends only on y2 − y1, the
    /// fractional part of y1 and the width, so it is shared by every pair of rows the same distance
    /// apart (see [`CurveLayer::curve`]).
    fn pattern(&self, y1: f32, y2: f32, width: f32) -> Vec<(u32, i32, f32)> {
        let mut out = Vec::new();
        let dy = y2 - y1;
        let base = y1.floor();
        let frac = y1 - base;
        let hw = width / 2.0;
        let mut lo = [0f32; SUB];
        let mut hi = [0f32; SUB];
        for px in 0..self.w {
            let mut ymin = f32::INFINITY;
            let mut ymax = f32::NEG_INFINITY;
            for k in 0..SUB {
                let (s, d) = self.prof[px * SUB + k];
                if s.is_nan() {
                    // outside the curve's x range: an empty span
                    lo[k] = f32::INFINITY;
                    hi[k] = f32::NEG_INFINITY;
                    continue;
                }
                let m = dy * d;
                let hv = hw * (1.0 + m * m).sqrt();
                let yc = frac + dy * s;
                lo[k] = yc - hv;
                hi[k] = yc + hv;
                ymin = ymin.min(lo[k]);
                ymax = ymax.max(hi[k]);
            }
            if ymin >= ymax {
                continue;
            }
            for py in ymin.floor() as i32..ymax.ceil() as i32 {
                let (top, bot) = (py as f32, py as f32 + 1.0);
                let mut cov = 0.0;
                for k in 0..SUB {
                    cov += (hi[k].min(bot) - lo[k].max(top)).max(0.0);
                }
                if cov > 0.0 {
                    out.push((px as u32, py, cov / SUB as f32));
                }
            }
        }
        out
    }

    /// Draw one curve in colour `c` at opacity `alpha`, reusing cached coverage patterns.
    #[allow(clippy::too_many_arguments)]
    fn curve(
        &mut self,
        cache: &mut PatternCache,
        y1: f32,
        y2: f32,
        width: f32,
        c: Rgb,
        alpha: f32,
    ) {
        let key = (
            (y2 - y1).to_bits(),
            (y1 - y1.floor()).to_bits(),
            width.to_bits(),
        );
        let pat = cache
            .entry(key)
            .or_insert_with(|| self.pattern(y1, y2, width));
        let base = y1.floor() as i32 - self.y0;
        let col = [c.0 as f32, c.1 as f32, c.2 as f32];
        for &(px, py, v) in pat.iter() {
            let row = base + py;
            if row < 0 || row as usize >= self.h {
                continue;
            }
            let a = alpha * v;
            let d = &mut self.rgb[row as usize * self.w + px as usize];
            for ch in 0..3 {
                d[ch] += (col[ch] - d[ch]) * a;
            }
        }
    }

    fn composite(&self, cv: &mut Canvas) {
        for py in 0..self.h {
            for px in 0..self.w {
                let d = self.rgb[py * self.w + px];
                let x = self.x0 + px as i32;
                let y = self.y0 + py as i32;
                if x >= 0 && y >= 0 {
                    cv.put(
                        x as u32,
                        y as u32,
                        Rgb((d[0] + 0.5) as u8, (d[1] + 0.5) as u8, (d[2] + 0.5) as u8),
                    );
                }
            }
        }
    }
}

/// Opacity of a curve of weight w (floor so every edge above the threshold stays visible; the
/// front end's 24 opacity buckets).
fn edge_alpha(w: f32) -> f32 {
    let b = ((w.min(1.0) * 24.0) as usize).min(23);
    (0.1 + 0.9 * (b + 1) as f32 / 24.0).min(1.0)
}

fn render_head(s: &Snapshot, index: &[usize], heads: &[usize], focus: Option<usize>) -> Canvas {
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

fn wavy_line(cv: &mut Canvas, x0: f32, x1: f32, y: f32, c: Rgb) {
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
pub(crate) struct MatrixGeom {
    pub width: f32,
    pub height: f32,
    /// Heatmap's top-left corner and side in pixels.
    pub hx: f32,
    pub hy: f32,
    pub side: usize,
    /// Cells per side after pooling (≤ K).
    pub grid: usize,
    pub labels: Option<f32>,
}

fn matrix_geometry(s: &Snapshot, index: &[usize], heads: &[usize]) -> MatrixGeom {
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

fn render_matrix(s: &Snapshot, index: &[usize], heads: &[usize], focus: Option<usize>) -> Canvas {
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
            let st = Stroke {
                width: 1.0,
                ..Stroke::default()
            };
            let mut paint = Canvas::paint(BG, 0.7);
            paint.anti_alias = false;
            cv.pm
                .stroke_path(&p, &paint, &st, Transform::identity(), None);
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

/// A readable card explaining why nothing could be drawn.
fn error_card(msg: &str) -> Canvas {
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

// =============================================================================================
// Tests
// =============================================================================================

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(texts: &[&str]) -> Vec<SnapToken> {
        texts
            .iter()
            .map(|t| SnapToken {
                text: t.to_string(),
                special: false,
                masked: false,
                knocked_out: false,
                segment: 0,
            })
            .collect()
    }

    fn snap<'a>(tokens: &'a [SnapToken], n_heads: usize, attn: &'a [u8]) -> Snapshot<'a> {
        Snapshot {
            title: "test · layer 0 of 1",
            tokens,
            n_heads,
            attn,
            heads: &[],
            threshold: 0.05,
            hide_special: false,
            view: PngView::Head,
            focus: None,
            predictions: None,
        }
    }

    /// Deterministic pseudo-random attention whose rows sum to ~255 (a softmax-like layer).
    fn synthetic(n_heads: usize, t: usize, seed: u64) -> Vec<u8> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = vec![0u8; n_heads * t * t];
        let mut row = vec![0f32; t];
        for h in 0..n_heads {
            for i in 0..t {
                let mut sum = 0.0;
                for (j, r) in row.iter_mut().enumerate() {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let u = ((x >> 33) as f32) / (1u64 << 31) as f32;
                    // peaked: a few keys get most of the weight
                    let near = if (i + h) % t == j || j == 0 { 4.0 } else { 0.0 };
                    *r = (u * 3.0 + near).exp();
                    sum += *r;
                }
                for j in 0..t {
                    out[(h * t + i) * t + j] = (row[j] / sum * 255.0).round() as u8;
                }
            }
        }
        out
    }

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(png_bytes);
        let mut reader = dec.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("png frame");
        buf.truncate(info.buffer_size());
        assert_eq!(info.color_type, png::ColorType::Rgba);
        (info.width, info.height, buf)
    }

    fn ihdr_size(png_bytes: &[u8]) -> (u32, u32) {
        assert!(png_bytes.len() > 33);
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&png_bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png_bytes[20..24].try_into().unwrap());
        (w, h)
    }

    fn close(a: Rgb, b: Rgb, tol: i32) -> bool {
        (a.0 as i32 - b.0 as i32).abs() <= tol
            && (a.1 as i32 - b.1 as i32).abs() <= tol
            && (a.2 as i32 - b.2 as i32).abs() <= tol
    }

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
    fn png_decodes_with_ihdr_size() {
        let tokens = toks(&["[CLS]", "the", "cat", "sat", "[SEP]"]);
        let attn = synthetic(4, 5, 1);
        let s = snap(&tokens, 4, &attn);
        let bytes = render_png(&s);
        let (w, h) = ihdr_size(&bytes);
        assert!((700..=1000).contains(&w), "head view width {w}");
        assert!(h > 150 && h < 2000, "height {h}");
        let (dw, dh, px) = decode(&bytes);
        assert_eq!((dw, dh), (w, h));
        // opaque white background in the corner, something non-white drawn
        assert_eq!(&px[..4], &[255, 255, 255, 255]);
        assert!(
            px.chunks(4).any(|p| p[0] < 100 && p[1] < 100 && p[2] < 100),
            "no dark (text) pixels"
        );
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
    fn hide_special_renormalises_rows_per_head() {
        let mut tokens = toks(&["[CLS]", "x", "y", "[SEP]"]);
        tokens[0].special = true;
        tokens[3].special = true;
        let t = 4;
        let attn = synthetic(2, t, 7);
        let index = kept_index(&tokens, true);
        assert_eq!(index, vec![1, 2]);
        for h in 0..2 {
            let m = head_matrix(&attn, t, h, &index);
            assert_eq!(m.len(), 4);
            for a in 0..2 {
                let row = &m[a * 2..a * 2 + 2];
                let sum: f32 = row.iter().sum();
                assert!(
                    (sum - 1.0).abs() < 1e-5,
                    "row {a} of head {h} sums to {sum}"
                );
                // proportions between the kept keys are preserved
                let (b1, b2) = (
                    attn[(h * t + index[a]) * t + 1] as f32,
                    attn[(h * t + index[a]) * t + 2] as f32,
                );
                assert!((row[0] - b1 / (b1 + b2)).abs() < 1e-5);
            }
        }
        // without hiding, weights are bytes / 255 unchanged
        let all = kept_index(&tokens, false);
        let m = head_matrix(&attn, t, 1, &all);
        assert!((m[5] - attn[t * t + 5] as f32 / 255.0).abs() < 1e-6);
        // every token special: everything stays
        let specials: Vec<SnapToken> = tokens
            .iter()
            .map(|x| SnapToken {
                special: true,
                ..x.clone()
            })
            .collect();
        assert_eq!(kept_index(&specials, true).len(), 4);
        // the pooled mean (matrix view) agrees with the per-head matrices
        let pooled = pooled_mean(&attn, t, &[0, 1], &index, 0.0, 2);
        let (m0, m1) = (
            head_matrix(&attn, t, 0, &index),
            head_matrix(&attn, t, 1, &index),
        );
        for c in 0..4 {
            assert!((pooled[c] - (m0[c] + m1[c]) / 2.0).abs() < 1e-5);
        }
    }

    #[test]
    fn pooled_mean_max_pools_and_thresholds() {
        let t = 4;
        let mut attn = vec![0u8; t * t];
        attn[0] = 255; // (0,0)
        attn[t + 3] = 100; // (1,3)
        attn[2 * t + 1] = 5; // (2,1), below threshold
        let index: Vec<usize> = (0..t).collect();
        let p = pooled_mean(&attn, t, &[0], &index, 0.05, 2);
        assert_eq!(p.len(), 4);
        assert!((p[0] - 1.0).abs() < 1e-6);
        assert!((p[1] - 100.0 / 255.0).abs() < 1e-6);
        assert_eq!(p[2], 0.0, "5/255 < threshold");
        assert_eq!(p[3], 0.0);
    }

    #[test]
    fn more_than_60_tokens_switches_to_matrix() {
        let texts: Vec<String> = (0..61).map(|i| format!("w{i}")).collect();
        let tokens: Vec<SnapToken> = toks(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let attn = synthetic(2, 61, 3);
        let s = snap(&tokens, 2, &attn);
        assert_eq!(effective_view(&s), PngView::Matrix);
        let index = kept_index(&tokens, false);
        let g = matrix_geometry(&s, &index, &[0, 1]);
        let bytes = render_png(&s);
        assert_eq!(
            ihdr_size(&bytes),
            (g.width.ceil() as u32, g.height.ceil() as u32)
        );
        // the heatmap area is painted with ramp colours (the diagonal-ish peaks are dark blue)
        let (w, _, px) = decode(&bytes);
        let at = |x: u32, y: u32| {
            let o = ((y * w + x) * 4) as usize;
            Rgb(px[o], px[o + 1], px[o + 2])
        };
        let mut dark = 0;
        for y in 0..g.side as u32 {
            for x in 0..g.side as u32 {
                let c = at(g.hx as u32 + x, g.hy as u32 + y);
                if c.2 > c.0 + 60 {
                    dark += 1;
                }
            }
        }
        assert!(dark > 1000, "heatmap has blue cells ({dark})");
        // 60 tokens stay a head view; so do 62 tokens when 2 special ones are hidden
        let s60 = Snapshot {
            tokens: &tokens[..60],
            attn: &attn[..0],
            ..snap(&tokens, 2, &attn)
        };
        assert_eq!(effective_view(&s60), PngView::Head);
        let mut t62: Vec<SnapToken> = toks(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        t62.push(t62[0].clone());
        t62[0].special = true;
        t62[61].special = true;
        let hidden = Snapshot {
            tokens: &t62,
            hide_special: true,
            ..snap(&tokens, 2, &attn)
        };
        assert_eq!(effective_view(&hidden), PngView::Head);
    }

    #[test]
    fn bad_sizes_render_an_error_card() {
        let tokens = toks(&["a", "b", "c"]);
        let attn = vec![0u8; 10]; // not 2 × 3 × 3
        let s = snap(&tokens, 2, &attn);
        assert!(validate(&s).unwrap_err().contains("18"));
        let bytes = render_png(&s);
        let (w, h) = ihdr_size(&bytes);
        assert_eq!(w, 640);
        let (_, _, px) = decode(&bytes);
        assert_eq!(px.len(), (w * h * 4) as usize);
        // the error colour appears (title text)
        assert!(
            px.chunks(4).any(|p| p[0] > 150 && p[1] < 90 && p[2] < 90),
            "red error text"
        );

        // T = 0 and n_heads = 0
        let empty: Vec<SnapToken> = Vec::new();
        assert!(validate(&snap(&empty, 1, &[])).is_err());
        assert_eq!(ihdr_size(&render_png(&snap(&empty, 1, &[]))).0, 640);
        assert_eq!(ihdr_size(&render_png(&snap(&tokens, 0, &[]))).0, 640);
        // absurd sizes do not overflow
        assert!(validate(&snap(&tokens, usize::MAX, &attn)).is_err());
        // out-of-range heads / focus / prediction position are tolerated
        let ok = synthetic(2, 3, 5);
        let heads = [7usize, 1, 1];
        let preds = vec![("x".to_string(), 0.5f32)];
        let s = Snapshot {
            heads: &heads,
            focus: Some(99),
            predictions: Some((42, &preds)),
            threshold: f32::NAN,
            ..snap(&tokens, 2, &ok)
        };
        let (w, _) = ihdr_size(&render_png(&s));
        assert!(w > 640);
    }

    #[test]
    fn single_token() {
        let tokens = toks(&["hello"]);
        let attn = vec![255u8];
        for view in [PngView::Head, PngView::Matrix] {
            let s = Snapshot {
                view,
                focus: Some(0),
                ..snap(&tokens, 1, &attn)
            };
            let bytes = render_png(&s);
            let (w, h) = ihdr_size(&bytes);
            assert!(w >= 500 && h >= 100, "{view:?}: {w}×{h}");
            decode(&bytes);
        }
        // the self-edge of a head view is a horizontal line in head 0's colour
        let s = snap(&tokens, 1, &attn);
        let cv = render_image(&s).unwrap();
        let g = head_geometry(&s, &[0], &[0]);
        let y = g.row_center(0) as u32;
        let p = cv.rgb(((g.x1 + g.x2) / 2.0) as u32, y).unwrap();
        assert!(close(p, head_colour(0), 40), "{p:?}");
    }

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

    /// Random shapes, flags and odd values straight into the unwrapped renderer: it must return
    /// an image or a message, never panic (render_png's catch_unwind is only a last resort).
    #[test]
    fn random_inputs_never_panic_in_the_renderer() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut next = |n: usize| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as usize) % n.max(1)
        };
        let texts = [
            "",
            " ",
            "\n",
            "[CLS]",
            "Ġthe",
            "东京",
            "a\u{0}b",
            "🙂🙂🙂",
            "x".repeat(80).leak(),
            "\t\r",
        ];
        let floats = [0.0f32, 0.05, 0.5, 1.0, 1.5, -1.0, f32::NAN, f32::INFINITY];
        let (mut images, mut cards) = (0, 0);
        for _ in 0..300 {
            let t = next(70);
            let nh = next(5);
            let tokens: Vec<SnapToken> = (0..t)
                .map(|_| SnapToken {
                    text: texts[next(texts.len())].to_string(),
                    special: next(4) == 0,
                    masked: next(6) == 0,
                    knocked_out: next(6) == 0,
                    segment: next(3) as u8,
                })
                .collect();
            let want = nh * t * t;
            let len = if next(8) == 0 { next(want + 3) } else { want };
            let attn: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
            let heads: Vec<usize> = (0..next(4)).map(|_| next(nh + 3)).collect();
            let preds: Vec<(String, f32)> = (0..next(4))
                .map(|_| {
                    (
                        texts[next(texts.len())].to_string(),
                        floats[next(floats.len())],
                    )
                })
                .collect();
            let s = Snapshot {
                title: texts[next(texts.len())],
                tokens: &tokens,
                n_heads: nh,
                attn: &attn,
                heads: &heads,
                threshold: floats[next(floats.len())],
                hide_special: next(2) == 0,
                view: if next(2) == 0 {
                    PngView::Head
                } else {
                    PngView::Matrix
                },
                focus: if next(2) == 0 {
                    Some(next(t + 2))
                } else {
                    None
                },
                predictions: if next(2) == 0 {
                    Some((next(t + 2), &preds))
                } else {
                    None
                },
            };
            match render_image(&s) {
                Ok(cv) => {
                    assert!(validate(&s).is_ok());
                    assert!(cv.width() > 100 && cv.height() > 100);
                    images += 1;
                }
                Err(msg) => {
                    assert!(!msg.is_empty());
                    cards += 1;
                }
            }
        }
        assert!(
            images > 100 && cards > 20,
            "{images} images, {cards} error cards"
        );
    }

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

    /// Writes sample images to /tmp for eyeballing (`cargo test ... png_samples -- --ignored`).
    #[test]
    #[ignore]
    fn png_samples() {
        let words = [
            "[CLS]", "the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired", ".",
            "[SEP]",
        ];
        let mut tokens = toks(&words);
        tokens[0].special = true;
        tokens[12].special = true;
        tokens[3].masked = true;
        tokens[8].knocked_out = true;
        let t = tokens.len();
        let attn = synthetic(12, t, 42);
        let preds: Vec<(String, f32)> = vec![
            ("because".into(), 0.623),
            ("mat".into(), 0.178),
            ("on".into(), 0.108),
            ("dog".into(), 0.0497),
            ("bed".into(), 0.0211),
        ];
        let base = Snapshot {
            title: "bert-base-uncased · layer 3 of 12",
            predictions: Some((7, &preds)),
            ..snap(&tokens, 12, &attn)
        };
        std::fs::write("/tmp/exformer_png_head.png", render_png(&base)).unwrap();
        let heads = [2usize, 5, 9];
        std::fs::write(
            "/tmp/exformer_png_heads.png",
            render_png(&Snapshot {
                heads: &heads,
                predictions: None,
                ..base
            }),
        )
        .unwrap();
        std::fs::write(
            "/tmp/exformer_png_focus.png",
            render_png(&Snapshot {
                focus: Some(7),
                ..base
            }),
        )
        .unwrap();
        std::fs::write(
            "/tmp/exformer_png_matrix.png",
            render_png(&Snapshot {
                view: PngView::Matrix,
                ..base
            }),
        )
        .unwrap();
        let t2 = 120;
        let texts: Vec<String> = (0..t2).map(|i| format!(" tok{i}")).collect();
        let tk2 = toks(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let a2 = synthetic(9, t2, 5);
        std::fs::write(
            "/tmp/exformer_png_long.png",
            render_png(&Snapshot {
                threshold: 0.0,
                ..snap(&tk2, 9, &a2)
            }),
        )
        .unwrap();
        let bad = [1u8, 2, 3];
        std::fs::write(
            "/tmp/exformer_png_error.png",
            render_png(&snap(&tokens, 12, &bad)),
        )
        .unwrap();
    }

    /// Timings (`cargo test --release ... png_timing -- --ignored --nocapture`): prints a table.
    #[test]
    #[ignore]
    fn png_timing() {
        let cases: [(usize, usize, PngView, f32); 5] = [
            (13, 12, PngView::Head, 0.05),
            (60, 12, PngView::Head, 0.05),
            (60, 12, PngView::Head, 0.0),
            (512, 12, PngView::Matrix, 0.0),
            (4096, 12, PngView::Matrix, 0.0),
        ];
        let t0 = std::time::Instant::now();
        warm_up();
        for id in [
            FontId::Sans,
            FontId::SansBold,
            FontId::Mono,
            FontId::MonoBold,
        ] {
            assert!(font(id).is_some());
        }
        println!(
            "loading the four DejaVu faces (once per process): {:.1} ms\n",
            t0.elapsed().as_secs_f64() * 1000.0
        );
        println!("| T | heads | view | threshold | draw ms | encode ms | total ms | png KiB |");
        println!("|---|---|---|---|---|---|---|---|");
        for (t, nh, view, thr) in cases {
            let texts: Vec<String> = (0..t).map(|i| format!(" w{i}")).collect();
            let tokens = toks(&texts.iter().map(String::as_str).collect::<Vec<_>>());
            let attn = synthetic(nh, t, 1);
            let s = Snapshot {
                view,
                threshold: thr,
                ..snap(&tokens, nh, &attn)
            };
            let _ = render_png(&s); // warm the font / glyph caches
            let reps = if t > 1000 { 2 } else { 5 };
            let (mut draw, mut enc, mut size) = (0.0, 0.0, 0);
            for _ in 0..reps {
                let t0 = std::time::Instant::now();
                let cv = render_image(&s).unwrap();
                let t1 = std::time::Instant::now();
                size = cv.encode().unwrap().len();
                draw += (t1 - t0).as_secs_f64();
                enc += t1.elapsed().as_secs_f64();
            }
            let (draw, enc) = (draw * 1000.0 / reps as f64, enc * 1000.0 / reps as f64);
            println!(
                "| {t} | {nh} | {view:?} | {thr} | {draw:.1} | {enc:.1} | {:.1} | {} |",
                draw + enc,
                size / 1024
            );
        }
    }
}
