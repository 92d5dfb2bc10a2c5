//! Helpers shared by the unit tests of the png modules.

use super::colour::Rgb;
use super::snapshot::{PngView, SnapToken, Snapshot};

pub(super) fn toks(texts: &[&str]) -> Vec<SnapToken> {
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

pub(super) fn snap<'a>(tokens: &'a [SnapToken], n_heads: usize, attn: &'a [u8]) -> Snapshot<'a> {
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
pub(super) fn synthetic(n_heads: usize, t: usize, seed: u64) -> Vec<u8> {
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

pub(super) fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut dec = png::Decoder::new(png_bytes);
    // the PNG is RGB: the tests read RGBA (alpha 255)
    dec.set_transformations(png::Transformations::ALPHA);
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, info.height, buf)
}

pub(super) fn ihdr_size(png_bytes: &[u8]) -> (u32, u32) {
    assert!(png_bytes.len() > 33);
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png_bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png_bytes[20..24].try_into().unwrap());
    (w, h)
}

pub(super) fn close(a: Rgb, b: Rgb, tol: i32) -> bool {
    (a.0 as i32 - b.0 as i32).abs() <= tol
        && (a.1 as i32 - b.1 as i32).abs() <= tol
        && (a.2 as i32 - b.2 as i32).abs() <= tol
}
