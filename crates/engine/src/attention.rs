//! The one attention function every architecture calls.
//!
//! Attention is computed explicitly (never a fused kernel) so that the post-softmax
//! probabilities can be returned and interventions applied exactly:
//!
//! ```text
//! scores = (Q K^T) * scale  [+ bias]  [softcap]  + additive mask (causal / sliding window / padding / knockout)
//! probs  = softmax(scores)            (rows with no allowed key become all-zero)
//! ctx    = probs V, ablated heads zeroed, heads merged -> [T, H*Dv]
//! ```

use crate::error::{EngineError, Result};
use tch::{Kind, Tensor};

/// Everything that shapes one attention call besides Q, K and V.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttentionSpec<'a> {
    /// Multiplies Q K^T (usually 1/sqrt(head_dim)).
    pub scale: f64,
    /// Query i may only attend to keys j <= i (+ offset when S > T: keys are aligned to the end).
    pub causal: bool,
    /// Keys further back than this many positions are hidden (HF semantics: query i sees keys j with i - j < window).
    pub sliding_window: Option<usize>,
    /// `true` marks a padding key that no query may attend to.
    pub key_padding: Option<&'a [bool]>,
    /// Key positions no query may attend to (the knockout intervention).
    pub knockout: &'a [usize],
    /// Heads of this layer whose context vector is zeroed (after probabilities are taken).
    pub ablate_heads: &'a [usize],
    /// Optional additive bias broadcastable to [H, T, S] (relative positions, ALiBi), added before masking.
    pub bias: Option<&'a Tensor>,
    /// Optional tanh soft-capping of the scores: cap * tanh(scores / cap).
    pub softcap: Option<f64>,
}

impl<'a> AttentionSpec<'a> {
    /// Bidirectional attention with the given scale and nothing else.
    pub fn new(scale: f64) -> Self {
        AttentionSpec {
            scale,
            causal: false,
            sliding_window: None,
            key_padding: None,
            knockout: &[],
            ablate_heads: &[],
            bias: None,
            softcap: None,
        }
    }
}

/// Result of [`attention`].
pub(crate) struct AttentionOut {
    /// Context vectors with heads merged: [T, H * Dv].
    pub context: Tensor,
    /// Post-softmax probabilities [H, T, S] in the compute dtype.
    pub probs: Tensor,
}

/// Which (query, key) pairs are allowed, row-major [T, S], plus which query rows have no allowed key.
pub(crate) fn allowed_matrix(t: usize, s: usize, spec: &AttentionSpec) -> (Vec<bool>, Vec<bool>) {
    let offset = s.saturating_sub(t); // queries are the last t positions of the s keys
    let mut allowed = vec![true; t * s];
    let mut key_blocked = vec![false; s];
    for &k in spec.knockout {
        if k < s {
            key_blocked[k] = true;
        }
    }
    if let Some(p) = spec.key_padding {
        for (k, &pad) in p.iter().enumerate().take(s) {
            if pad {
                key_blocked[k] = true;
            }
        }
    }
    let mut dead = vec![false; t];
    for i in 0..t {
        let qpos = i + offset;
        let mut any = false;
        for j in 0..s {
            let mut ok = !key_blocked[j];
            if spec.causal && j > qpos {
                ok = false;
            }
            if let Some(w) = spec.sliding_window {
                if qpos >= j && qpos - j >= w {
                    ok = false;
                }
            }
            allowed[i * s + j] = ok;
            any |= ok;
        }
        dead[i] = !any;
    }
    (allowed, dead)
}

/// Explicit scaled dot-product attention.
///
/// Shapes: `q` [H, T, D], `k` [KVH, S, D], `v` [KVH, S, Dv] with H a multiple of KVH
/// (grouped-query attention: each KV head serves H/KVH consecutive query heads).
pub(crate) fn attention(q: &Tensor, k: &Tensor, v: &Tensor, spec: &AttentionSpec) -> Result<AttentionOut> {
    let (h, t, d) = q.size3().map_err(|e| EngineError::Torch(format!("query must be [heads, T, dim]: {e}")))?;
    let (kvh, s, dk) = k.size3().map_err(|e| EngineError::Torch(format!("key must be [heads, S, dim]: {e}")))?;
    let (kvh2, s2, dv) = v.size3().map_err(|e| EngineError::Torch(format!("value must be [heads, S, dim]: {e}")))?;
    if dk != d || kvh2 != kvh || s2 != s || kvh == 0 || h % kvh != 0 {
        return Err(EngineError::Torch(format!(
            "attention shapes do not match: q [{h},{t},{d}], k [{kvh},{s},{dk}], v [{kvh2},{s2},{dv}]"
        )));
    }
    for &hd in spec.ablate_heads {
        if hd as i64 >= h {
            return Err(EngineError::BadIntervention(format!("head {hd} does not exist (this layer has {h} heads)")));
        }
    }
    let rep = h / kvh;
    let (k, v) = if rep > 1 {
        (k.repeat_interleave_self_int(rep, Some(0), None), v.repeat_interleave_self_int(rep, Some(0), None))
    } else {
        (k.shallow_clone(), v.shallow_clone())
    };
    let out_kind = q.kind();
    // Scores and softmax in f32 for stability whatever the weights dtype.
    let mut scores = q.to_kind(Kind::Float).matmul(&k.to_kind(Kind::Float).transpose(-2, -1)) * spec.scale;
    if let Some(b) = spec.bias {
        scores = scores + b.to_kind(Kind::Float);
    }
    if let Some(cap) = spec.softcap {
        scores = (scores / cap).tanh() * cap;
    }
    let (tu, su) = (t as usize, s as usize);
    let (allowed, dead) = allowed_matrix(tu, su, spec);
    let device = q.device();
    if allowed.iter().any(|a| !a) {
        let blocked: Vec<bool> = allowed.iter().map(|a| !a).collect();
        let m = Tensor::from_slice(&blocked).reshape([1, t, s]).to_device(device);
        scores = scores.masked_fill(&m, f64::NEG_INFINITY);
    }
    let mut probs = scores.softmax(-1, Kind::Float);
    if dead.iter().any(|&x| x) {
        let m = Tensor::from_slice(&dead).reshape([1, t, 1]).to_device(device);
        probs = probs.masked_fill(&m, 0.0);
    }
    let probs = probs.to_kind(out_kind);
    let mut ctx = probs.matmul(&v.to_kind(out_kind)); // [H, T, Dv]
    if !spec.ablate_heads.is_empty() {
        let mut keep = vec![1f32; h as usize];
        for &hd in spec.ablate_heads {
            keep[hd] = 0.0;
        }
        let keep = Tensor::from_slice(&keep).reshape([h, 1, 1]).to_device(device).to_kind(out_kind);
        ctx = ctx * keep;
    }
    let context = ctx.transpose(0, 1).contiguous().reshape([t, h * dv]);
    Ok(AttentionOut { context, probs })
}

/// Splits a [T, H*D] projection into heads: [H, T, D].
pub(crate) fn split_heads(x: &Tensor, heads: i64) -> Tensor {
    let (t, hd) = x.size2().expect("split_heads expects [T, H*D]");
    x.reshape([t, heads, hd / heads]).transpose(0, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(t: &Tensor) -> Vec<f32> {
        let t = t.to_kind(Kind::Float).contiguous().view([-1]);
        Vec::<f32>::try_from(&t).unwrap()
    }

    fn qkv(h: i64, kvh: i64, t: i64, d: i64) -> (Tensor, Tensor, Tensor) {
        tch::manual_seed(0);
        (
            Tensor::randn([h, t, d], (Kind::Float, tch::Device::Cpu)),
            Tensor::randn([kvh, t, d], (Kind::Float, tch::Device::Cpu)),
            Tensor::randn([kvh, t, d], (Kind::Float, tch::Device::Cpu)),
        )
    }

    #[test]
    fn rows_sum_to_one_and_match_reference() {
        let (q, k, v) = qkv(2, 2, 4, 3);
        let out = attention(&q, &k, &v, &AttentionSpec::new(0.5)).unwrap();
        let reference = (q.matmul(&k.transpose(-2, -1)) * 0.5).softmax(-1, Kind::Float);
        let diff = (&out.probs - &reference).abs().max().double_value(&[]);
        assert!(diff < 1e-6);
        let sums = vals(&out.probs.sum_dim_intlist([-1i64].as_slice(), false, Kind::Float));
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
        assert_eq!(out.context.size(), vec![4, 6]);
    }

    #[test]
    fn causal_and_knockout() {
        let (q, k, v) = qkv(1, 1, 4, 3);
        let mut spec = AttentionSpec::new(1.0);
        spec.causal = true;
        let ko = [0usize];
        spec.knockout = &ko;
        let out = attention(&q, &k, &v, &spec).unwrap();
        let p = vals(&out.probs);
        // query 0 can only see key 0, which is knocked out: all-zero row and zero context.
        assert!(p[0..4].iter().all(|&x| x == 0.0));
        assert!(vals(&out.context.get(0)).iter().all(|&x| x == 0.0));
        for i in 1..4 {
            let row = &p[i * 4..i * 4 + 4];
            assert_eq!(row[0], 0.0);
            for (j, &x) in row.iter().enumerate() {
                if j > i {
                    assert_eq!(x, 0.0);
                }
            }
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn sliding_window() {
        let spec = AttentionSpec { causal: true, sliding_window: Some(2), ..AttentionSpec::new(1.0) };
        let (a, dead) = allowed_matrix(4, 4, &spec);
        assert!(dead.iter().all(|d| !d));
        // query 3 sees keys 2 and 3 only
        assert_eq!(&a[12..16], &[false, false, true, true]);
    }

    #[test]
    fn gqa_and_ablation() {
        let (q, k, v) = qkv(4, 2, 3, 2);
        let ab = [1usize];
        let spec = AttentionSpec { ablate_heads: &ab, ..AttentionSpec::new(1.0) };
        let out = attention(&q, &k, &v, &spec).unwrap();
        // heads 0 and 1 share kv head 0
        let k0 = k.get(0);
        let reference = q.get(1).matmul(&k0.transpose(-2, -1)).softmax(-1, Kind::Float);
        assert!((out.probs.get(1) - reference).abs().max().double_value(&[]) < 1e-6);
        let ctx = out.context.reshape([3, 4, 2]);
        assert!(vals(&ctx.select(1, 1)).iter().all(|&x| x == 0.0));
        assert!(vals(&ctx.select(1, 0)).iter().any(|&x| x != 0.0));
        let bad = [7usize];
        let spec = AttentionSpec { ablate_heads: &bad, ..AttentionSpec::new(1.0) };
        assert!(matches!(attention(&q, &k, &v, &spec), Err(EngineError::BadIntervention(_))));
    }
}
