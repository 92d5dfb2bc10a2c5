//! Turning an [`Analysis`] into widget state (docs/widget-protocol.md): JSON traits plus the
//! binary `attn` (one layer, one byte per weight) and `thumbs` (every layer and head, max-pooled).

use exformer_engine::{Analysis, ModelKind};
use serde_json::{json, Value};

/// Heads view up to this many tokens, heatmap beyond (same rule as the front end).
pub const HEAD_VIEW_MAX_TOKENS: usize = 60;
/// Largest thumbnail side.
pub const MAX_THUMB: usize = 32;

/// One weight as a byte: round(p × 255), clamped.
pub fn quantize(p: f32) -> u8 {
    if p.is_nan() {
        return 0;
    }
    (p.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Layer `layer` as Uint8 [n_heads, T, T].
pub fn layer_bytes(a: &Analysis, layer: usize) -> Vec<u8> {
    a.attention.get(layer).map(|l| l.iter().map(|&p| quantize(p)).collect()).unwrap_or_default()
}

/// Every layer, concatenated (for offline HTML).
pub fn all_layer_bytes(a: &Analysis) -> Vec<u8> {
    a.attention.iter().flat_map(|l| l.iter().map(|&p| quantize(p))).collect()
}

/// Thumbnail side for T tokens.
pub fn thumb_size(t: usize) -> usize {
    t.clamp(1, MAX_THUMB)
}

/// Uint8 [n_layers, n_heads, S, S]: each head's map max-pooled, cell c → bin floor(c·S/T).
pub fn thumbs(a: &Analysis) -> (Vec<u8>, usize) {
    let t = a.seq_len();
    let s = thumb_size(t);
    let mut out = vec![0u8; a.n_layers * a.n_heads * s * s];
    if t == 0 {
        return (out, s);
    }
    let bin: Vec<usize> = (0..t).map(|c| c * s / t).collect();
    for (l, layer) in a.attention.iter().enumerate().take(a.n_layers) {
        for h in 0..a.n_heads {
            let base = (l * a.n_heads + h) * s * s;
            let src = &layer[h * t * t..(h + 1) * t * t];
            for q in 0..t {
                let row = &src[q * t..(q + 1) * t];
                let rb = bin[q] * s;
                for (k, &p) in row.iter().enumerate() {
                    let cell = &mut out[base + rb + bin[k]];
                    let v = quantize(p);
                    if v > *cell {
                        *cell = v;
                    }
                }
            }
        }
    }
    (out, s)
}

pub fn kind_str(k: ModelKind) -> &'static str {
    match k {
        ModelKind::MaskedLm => "masked_lm",
        ModelKind::CausalLm => "causal_lm",
        ModelKind::Encoder => "encoder",
    }
}

pub fn tokens_json(a: &Analysis) -> Value {
    Value::Array(
        a.tokens
            .iter()
            .map(|t| json!({"text": t.text, "special": t.special, "segment": t.segment, "masked": t.masked, "knocked_out": t.knocked_out}))
            .collect(),
    )
}

pub fn predictions_json(a: &Analysis) -> Value {
    Value::Array(
        a.predictions
            .iter()
            .map(|p| Value::Array(p.iter().map(|x| json!({"token": x.token, "prob": x.prob})).collect()))
            .collect(),
    )
}

/// The initial view for T tokens.
pub fn default_view(t: usize) -> &'static str {
    if t <= HEAD_VIEW_MAX_TOKENS {
        "head"
    } else {
        "matrix"
    }
}

/// The suggested threshold for T tokens.
pub fn default_threshold(t: usize) -> f64 {
    if t <= HEAD_VIEW_MAX_TOKENS {
        0.05
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exformer_engine::{Interventions, Prediction, Token};

    pub(crate) fn synthetic(t: usize, layers: usize, heads: usize) -> Analysis {
        let mut attention = Vec::new();
        for l in 0..layers {
            let mut m = vec![0f32; heads * t * t];
            for h in 0..heads {
                for q in 0..t {
                    // Causal, each row sums to one, with a peak that depends on layer and head.
                    let keys = q + 1;
                    let peak = (q + l + h) % keys;
                    for k in 0..keys {
                        m[h * t * t + q * t + k] = if keys == 1 { 1.0 } else if k == peak { 0.5 } else { 0.5 / (keys - 1) as f32 };
                    }
                }
            }
            attention.push(m);
        }
        Analysis {
            model: "synthetic".into(),
            architecture: "llama".into(),
            kind: ModelKind::CausalLm,
            tokens: (0..t)
                .map(|i| Token { id: i as u32, text: format!("t{i}"), start: 0, end: 0, special: i == 0, segment: 0, masked: false, knocked_out: false })
                .collect(),
            n_layers: layers,
            n_heads: heads,
            attention,
            predictions: (0..t).map(|_| vec![Prediction { id: 1, token: "x".into(), prob: 0.5 }]).collect(),
            hidden_states: None,
            interventions: Interventions::default(),
        }
    }

    #[test]
    fn quantize_rounds_and_clamps() {
        assert_eq!(quantize(0.0), 0);
        assert_eq!(quantize(1.0), 255);
        assert_eq!(quantize(0.5), 128);
        assert_eq!(quantize(1.5), 255);
        assert_eq!(quantize(-0.1), 0);
        assert_eq!(quantize(f32::NAN), 0);
    }

    #[test]
    fn layer_bytes_match_weights() {
        let a = synthetic(5, 2, 3);
        let b = layer_bytes(&a, 1);
        assert_eq!(b.len(), 3 * 5 * 5);
        for (i, &p) in a.attention[1].iter().enumerate() {
            assert_eq!(b[i], quantize(p));
        }
        assert!(layer_bytes(&a, 9).is_empty());
        assert_eq!(all_layer_bytes(&a).len(), 2 * 3 * 25);
    }

    #[test]
    fn thumbs_are_max_pooled() {
        // T = 40 > 32: bins of up to two cells.
        let a = synthetic(40, 2, 2);
        let (th, s) = thumbs(&a);
        assert_eq!(s, 32);
        assert_eq!(th.len(), 2 * 2 * 32 * 32);
        for l in 0..2 {
            for h in 0..2 {
                for q in 0..40 {
                    for k in 0..40 {
                        let p = quantize(a.attention[l][h * 1600 + q * 40 + k]);
                        let cell = th[((l * 2 + h) * 32 + q * 32 / 40) * 32 + k * 32 / 40];
                        assert!(cell >= p, "bin must hold the max");
                    }
                }
            }
        }
        // T ≤ 32: thumbnails are the exact bytes.
        let a = synthetic(7, 1, 1);
        let (th, s) = thumbs(&a);
        assert_eq!(s, 7);
        assert_eq!(th, layer_bytes(&a, 0));
    }

    #[test]
    fn json_traits() {
        let a = synthetic(3, 1, 1);
        assert_eq!(tokens_json(&a)[0]["special"], true);
        assert_eq!(predictions_json(&a).as_array().unwrap().len(), 3);
        assert_eq!(kind_str(ModelKind::MaskedLm), "masked_lm");
        assert_eq!(default_view(60), "head");
        assert_eq!(default_view(61), "matrix");
    }
}
