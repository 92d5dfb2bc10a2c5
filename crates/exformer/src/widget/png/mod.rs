//! Static PNG snapshot of the attention view.
//!
//! Every widget output carries an `image/png` rendering of the current view so that GitHub,
//! nbviewer and untrusted notebooks (where the interactive front end does not run) still show the
//! picture. The look follows the front end in `widget/` (head palette and heatmap ramp from
//! `widget/protocol.json`, which the front end reads too; colours from `widget/exformer.css`):
//!
//! - **Head view** (exBERT style): queries in the left column, keys in the right one, every
//!   (query, key) pair joined by a cubic curve whose opacity is the weight, one colour per head.
//! - **Matrix view**: heatmap of the mean over the selected heads, max-pooled when the input has more
//!   tokens than the heatmap has pixels. Used automatically when more than
//!   `HEAD_VIEW_MAX_TOKENS` (widget/protocol.json) tokens are shown, whatever view was asked for.
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
//!
//! # Layout
//! - `mod.rs`: the public entry points ([`render_png`], [`effective_view`], [`warm_up`]).
//! - `snapshot.rs`: what a snapshot draws ([`Snapshot`], [`SnapToken`], [`PngView`]); every file
//!   here imports its siblings, none imports `mod.rs`.
//! - `attention.rs`: visible tokens and heads, per-head and pooled matrices, the size check.
//! - `colour.rs`: the theme's colours, head palette and heatmap ramp.
//! - `raster.rs`: the canvas and its drawing primitives, PNG encoding.
//! - `text.rs`: fonts, the glyph cache, text layout and drawing.
//! - `tokens.rs`: token labels (display text, style, badges, strike-through marks).
//! - `header.rs`: margins, title and meta line, head legend.
//! - `predictions.rs`: the predictions panel.
//! - `curves.rs`: the head view's curve rasteriser.
//! - `head.rs`: the head view.
//! - `matrix.rs`: the matrix view.
//! - `card.rs`: the error card.
//! - `testutil.rs`: helpers for the unit tests (which sit in each file's `tests` module).

mod attention;
mod card;
mod colour;
mod curves;
mod head;
mod header;
mod matrix;
mod predictions;
mod raster;
mod snapshot;
#[cfg(test)]
mod testutil;
mod text;
mod tokens;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::widget::protocol::head_view_max_tokens;

use attention::{kept_index, selected_heads, validate};
use card::error_card;
use colour::ramp_lut;
use head::render_head;
use matrix::render_matrix;
use raster::Canvas;
use text::{font, font_loaded, FontId};

pub use snapshot::{PngView, SnapToken, Snapshot};

/// Render the snapshot as PNG bytes. Never panics: bad sizes render an error card.
///
/// Every evcxr cell carries its own copy of this crate's code; drawing with each cell's copy would
/// page in another ~1.7 MB of renderer code (tiny-skia, fontdue, deflate) per cell. The first copy
/// that draws is registered process-wide and draws for every later cell (the types are the same
/// build's, as `crate::global` checks).
pub fn render_png(s: &Snapshot) -> Vec<u8> {
    type Render = for<'a, 'b> fn(&'a Snapshot<'b>) -> Vec<u8>;
    let shared: &Render = crate::global::global("png.render", || render_png_here as Render);
    shared(s)
}

fn render_png_here(s: &Snapshot) -> Vec<u8> {
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
/// `HEAD_VIEW_MAX_TOKENS` (widget/protocol.json) tokens are visible, else the requested one.
pub fn effective_view(s: &Snapshot) -> PngView {
    let k = kept_index(s.tokens, s.hide_special).len();
    resolve_view(s.view, k)
}

fn resolve_view(requested: PngView, visible: usize) -> PngView {
    if visible > head_view_max_tokens() {
        PngView::Matrix
    } else {
        requested
    }
}

/// Draws the snapshot; `Err` carries the message for the error card.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::colour::{head_colour, Rgb};
    use crate::widget::png::head::head_geometry;
    use crate::widget::png::matrix::matrix_geometry;
    use crate::widget::png::testutil::*;

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
                if c.2 as u32 > c.0 as u32 + 60 {
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
