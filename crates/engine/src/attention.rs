//! The one attention function every architecture calls, and probabilities on demand.
//!
//! A forward pass never materialises attention probabilities. Each layer's context vectors come
//! from libtorch's fused scaled-dot-product attention (flash kernel when the mask allows it), and
//! the layer keeps a [`LayerAttention`]: its post-RoPE queries and keys, values, and the mask
//! rules. Probabilities of any rows and heads are recomputed from those on demand, with exactly
//! the explicit formula below, so a caller who asks gets what eager attention gives:
//!
//! ```text
//! scores = (Q K^T) * scale  [softcap]  + mask (causal / sliding window / padding / knockout)
//! probs  = softmax(scores)            (rows with no allowed key become all-zero)
//! ctx    = probs V, ablated heads zeroed, heads merged -> [T, H*Dv]
//! ```
//!
//! Soft-capped layers (Gemma 2), which the fused kernel cannot express, take the explicit path for
//! their context, one block of rows at a time. Causal models can re-run from position `start`
//! reusing an earlier run's keys and values of positions `< start` ([`Prefix`]).

use crate::error::{EngineError, Result};
use std::ops::Range;
use tch::{Device, Kind, Tensor};

/// Layers of at most this many scores (heads × T × T) take the explicit path and keep their
/// probabilities (10 MB a layer).
const EAGER_PROBS_ELEMENTS: i64 = 5 << 19;

/// Query rows per fused-attention call under an explicit mask.
const MASKED_QUERY_BLOCK: i64 = 1024;

/// Largest number of score elements (heads × rows × keys) computed at once: 32 M floats, 128 MB.
const MAX_BLOCK_ELEMENTS: i64 = 32 << 20;

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
    /// Optional tanh soft-capping of the scores: cap * tanh(scores / cap).
    pub softcap: Option<f64>,
    /// Keys and values of positions before the queries, reused from an earlier run (causal re-runs).
    pub past: Option<&'a LayerAttention>,
    /// Keep a copy of the context vectors (per-head attention outputs) in the layer's record.
    pub keep_context: bool,
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
            softcap: None,
            past: None,
            keep_context: false,
        }
    }
}

/// The mask rules of one layer, owned, so probabilities can be recomputed after the forward.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MaskRules {
    pub scale: f64,
    pub causal: bool,
    pub sliding_window: Option<usize>,
    /// Knocked-out and padding keys, sorted.
    pub blocked_keys: Vec<usize>,
    pub softcap: Option<f64>,
}

impl MaskRules {
    fn from_spec(spec: &AttentionSpec, s: usize) -> Self {
        let mut blocked: Vec<usize> = spec.knockout.iter().copied().filter(|&k| k < s).collect();
        if let Some(p) = spec.key_padding {
            blocked.extend(
                p.iter()
                    .enumerate()
                    .take(s)
                    .filter(|(_, &pad)| pad)
                    .map(|(k, _)| k),
            );
        }
        blocked.sort_unstable();
        blocked.dedup();
        MaskRules {
            scale: spec.scale,
            causal: spec.causal,
            sliding_window: spec.sliding_window,
            blocked_keys: blocked,
            softcap: spec.softcap,
        }
    }

    /// Blocked (query, key) pairs for query positions `rows` (absolute) and keys 0..s, as a bool
    /// tensor [rows, s] on `device`, or None when nothing is blocked.
    fn blocked(&self, rows: Range<i64>, s: i64, device: Device) -> Option<Tensor> {
        if !self.causal && self.sliding_window.is_none() && self.blocked_keys.is_empty() {
            return None;
        }
        let q = Tensor::arange_start(rows.start, rows.end, (Kind::Int64, device)).unsqueeze(1);
        let k = Tensor::arange(s, (Kind::Int64, device)).unsqueeze(0);
        let mut m = Tensor::zeros([rows.end - rows.start, s], (Kind::Bool, device));
        if self.causal {
            m = m.logical_or(&k.gt_tensor(&q));
        }
        if let Some(w) = self.sliding_window {
            m = m.logical_or(&(&q - &k).ge(w as i64));
        }
        // Only the knocked-out keys among 0..s: a causal block of early rows sees fewer keys.
        let keys: Vec<i64> = self
            .blocked_keys
            .iter()
            .map(|&k| k as i64)
            .filter(|&k| k < s)
            .collect();
        if !keys.is_empty() {
            let kb = Tensor::zeros([s], (Kind::Bool, device)).index_fill(
                0,
                &Tensor::from_slice(&keys).to_device(device),
                1,
            );
            m = m.logical_or(&kb.unsqueeze(0));
        }
        Some(m)
    }

    /// Whether the fused kernel's own causal mask is the whole mask (no window, nothing blocked).
    fn plain_causal(&self) -> bool {
        self.causal && self.sliding_window.is_none() && self.blocked_keys.is_empty()
    }
}

/// What one layer keeps after the forward: enough to recompute its probabilities exactly, and
/// the keys and values a causal re-run reuses. O(T·d) per layer.
#[derive(Debug)]
pub(crate) struct LayerAttention {
    /// Post-RoPE queries [H, T, D], compute dtype.
    pub q: Tensor,
    /// Post-RoPE keys [KVH, T, D].
    pub k: Tensor,
    /// Values [KVH, T, Dv].
    pub v: Tensor,
    pub rules: MaskRules,
    /// Short inputs: the probabilities [H, T, T] (f32) the forward computed anyway (explicit path).
    pub probs: Option<Tensor>,
    /// Set when `probs` was dropped to save memory ([`LayerAttention::drop_probs`]): they are
    /// recomputed whole, by the forward's own call, whenever asked for (same values, bit for bit).
    pub probs_dropped: bool,
    /// When asked for: the context vectors [T, H*Dv] the output projection took (per-head
    /// attention outputs, heads merged, ablated heads zero), compute dtype.
    pub context: Option<Tensor>,
}

impl LayerAttention {
    pub fn n_heads(&self) -> i64 {
        self.q.size()[0]
    }
    pub fn seq_len(&self) -> i64 {
        self.q.size()[1]
    }

    /// The first `start` positions (shallow views), for a re-run that reuses them.
    pub fn prefix(&self, start: usize) -> LayerAttention {
        let n = start as i64;
        LayerAttention {
            q: self.q.narrow(1, 0, n),
            k: self.k.narrow(1, 0, n),
            v: self.v.narrow(1, 0, n),
            rules: self.rules.clone(),
            probs: self.kept_or_recomputed_probs().map(|p| p.narrow(1, 0, n)),
            probs_dropped: false,
            context: self.context.as_ref().map(|c| c.narrow(0, 0, n)),
        }
    }

    /// Frees the kept probabilities (their bytes); asking for them later recomputes them whole.
    pub fn drop_probs(&mut self) -> u64 {
        match self.probs.take() {
            Some(p) => {
                self.probs_dropped = true;
                tensor_bytes(&p)
            }
            None => 0,
        }
    }

    /// The kept probabilities, or the dropped ones made again by the explicit path's own call on
    /// the kept queries and keys (what the forward computed them with: identical values).
    fn kept_or_recomputed_probs(&self) -> Option<Tensor> {
        if let Some(p) = &self.probs {
            return Some(p.shallow_clone());
        }
        if !self.probs_dropped {
            return None;
        }
        let kr = repeat_kv(&self.k, self.n_heads());
        let t = self.seq_len();
        Some(probs_from(&self.q, &kr, &self.rules, 0..t, self.q.kind()))
    }

    /// Bytes this layer keeps: (queries + keys + values, probabilities, context vectors).
    pub fn kept_bytes(&self) -> (u64, u64, u64) {
        let qkv = tensor_bytes(&self.q) + tensor_bytes(&self.k) + tensor_bytes(&self.v);
        let probs = self.probs.as_ref().map(tensor_bytes).unwrap_or(0);
        let ctx = self.context.as_ref().map(tensor_bytes).unwrap_or(0);
        (qkv, probs, ctx)
    }

    /// Keys of the given query heads (GQA: each KV head serves H/KVH consecutive query heads).
    fn keys_for(&self, heads: &Tensor) -> Tensor {
        let rep = self.n_heads() / self.k.size()[0];
        if rep == 1 {
            self.k.index_select(0, heads)
        } else {
            self.k
                .index_select(0, &heads.divide_scalar_mode(rep, "floor"))
        }
    }

    /// Post-softmax probabilities of query rows `rows` for `heads` (None = all): f32 [h, rows, T].
    pub fn probs(&self, heads: Option<&[usize]>, rows: Range<usize>) -> Result<Tensor> {
        let t = self.seq_len();
        let p = self.probs_visible(heads, rows)?;
        let kc = p.size()[2];
        Ok(if kc < t {
            p.constant_pad_nd([0, t - kc])
        } else {
            p
        })
    }

    /// Like [`LayerAttention::probs`] but only over the keys these rows can see: [h, rows, kc]
    /// with every key from kc on weighing 0 (causal layers: kc = last row + 1, so a block of rows
    /// never computes the empty upper triangle).
    pub fn probs_visible(&self, heads: Option<&[usize]>, rows: Range<usize>) -> Result<Tensor> {
        let h = self.n_heads();
        let device = self.q.device();
        let idx: Vec<i64> = match heads {
            Some(hs) => {
                for &x in hs {
                    if x as i64 >= h {
                        return Err(EngineError::BadIntervention(format!(
                            "head {x} does not exist (this layer has {h} heads)"
                        )));
                    }
                }
                hs.iter().map(|&x| x as i64).collect()
            }
            None => (0..h).collect(),
        };
        let t = self.seq_len();
        let (r0, r1) = (rows.start as i64, (rows.end as i64).min(t));
        if r0 >= r1 {
            return Ok(Tensor::zeros(
                [idx.len() as i64, 0, t],
                (Kind::Float, device),
            ));
        }
        let kc = if self.rules.causal { r1 } else { t };
        let idx = Tensor::from_slice(&idx).to_device(device);
        if let Some(p) = &self.kept_or_recomputed_probs() {
            return Ok(p
                .index_select(0, &idx)
                .narrow(1, r0, r1 - r0)
                .narrow(2, 0, kc));
        }
        let q = self.q.index_select(0, &idx).narrow(1, r0, r1 - r0);
        let k = self.keys_for(&idx).narrow(1, 0, kc);
        Ok(probs_from(&q, &k, &self.rules, r0..r1, self.q.kind()))
    }
}

/// Explicit probabilities for queries `q` [h, n, D] at absolute rows `rows` against keys `k` [h, S, D].
fn probs_from(
    q: &Tensor,
    k: &Tensor,
    rules: &MaskRules,
    rows: Range<i64>,
    out_kind: Kind,
) -> Tensor {
    let s = k.size()[1];
    // Scores and softmax in f32 for stability whatever the weights dtype.
    let mut scores = q
        .to_kind(Kind::Float)
        .matmul(&k.to_kind(Kind::Float).transpose(-2, -1))
        * rules.scale;
    if let Some(cap) = rules.softcap {
        scores = (scores / cap).tanh() * cap;
    }
    let blocked = rules.blocked(rows, s, q.device());
    if let Some(m) = &blocked {
        scores = scores.masked_fill(&m.unsqueeze(0), f64::NEG_INFINITY);
    }
    let mut probs = scores.softmax(-1, Kind::Float);
    if let Some(m) = &blocked {
        let dead = m.all_dim(-1, true); // [n, 1]: no allowed key
        probs = probs.masked_fill(&dead.unsqueeze(0), 0.0);
    }
    if out_kind != Kind::Float {
        // What the model multiplied V with (probabilities rounded to the compute dtype).
        probs = probs.to_kind(out_kind).to_kind(Kind::Float);
    }
    probs
}

/// Keys or values [KVH, T, D] repeated for `heads` query heads (grouped-query attention: each KV
/// head serves heads/KVH consecutive query heads); the same tensor when there is no grouping.
fn repeat_kv(x: &Tensor, heads: i64) -> Tensor {
    let rep = heads / x.size()[0];
    if rep > 1 {
        x.repeat_interleave_self_int(rep, Some(0), None)
    } else {
        x.shallow_clone()
    }
}

/// Whether a layer of `heads` heads over `t` tokens keeps its probabilities (explicit path).
pub(crate) fn keeps_probs(heads: i64, t: i64) -> bool {
    heads * t * t <= EAGER_PROBS_ELEMENTS
}

/// Bytes a tensor's elements take.
pub(crate) fn tensor_bytes(t: &Tensor) -> u64 {
    (t.numel() * t.kind().elt_size_in_bytes()) as u64
}

/// Rows per block so that heads × rows × keys stays under [`MAX_BLOCK_ELEMENTS`].
pub(crate) fn block_rows(heads: i64, keys: i64) -> i64 {
    (MAX_BLOCK_ELEMENTS / (heads * keys).max(1)).max(1)
}

/// Result of [`attention`].
pub(crate) struct AttentionOut {
    /// Context vectors with heads merged: [T, H * Dv] (only the new rows on a prefix re-run).
    pub context: Tensor,
    /// What the layer keeps (all positions, prefix included).
    pub record: LayerAttention,
}

/// Scaled dot-product attention through the fused kernel (explicit for soft-capped layers).
///
/// Shapes: `q` [H, T, D], `k` [KVH, T, D], `v` [KVH, T, Dv] with H a multiple of KVH (grouped-query
/// attention: each KV head serves H/KVH consecutive query heads). With `spec.past`, the queries are
/// positions `start..start+T` and the first `start` keys and values come from the past.
pub(crate) fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    spec: &AttentionSpec,
) -> Result<AttentionOut> {
    attention_with(q, k, v, spec, EAGER_PROBS_ELEMENTS)
}

/// [`attention`] with layers of at most `eager_limit` scores on the explicit path.
fn attention_with(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    spec: &AttentionSpec,
    eager_limit: i64,
) -> Result<AttentionOut> {
    let (h, t, d) = q
        .size3()
        .map_err(|e| EngineError::Torch(format!("query must be [heads, T, dim]: {e}")))?;
    let (kvh, tk, dk) = k
        .size3()
        .map_err(|e| EngineError::Torch(format!("key must be [heads, S, dim]: {e}")))?;
    let (kvh2, tv, dv) = v
        .size3()
        .map_err(|e| EngineError::Torch(format!("value must be [heads, S, dim]: {e}")))?;
    if dk != d || kvh2 != kvh || tk != t || tv != t || kvh == 0 || h % kvh != 0 {
        return Err(EngineError::Torch(format!("attention shapes do not match: q [{h},{t},{d}], k [{kvh},{tk},{dk}], v [{kvh2},{tv},{dv}]")));
    }
    for &hd in spec.ablate_heads {
        if hd as i64 >= h {
            return Err(EngineError::BadIntervention(format!(
                "head {hd} does not exist (this layer has {h} heads)"
            )));
        }
    }
    // Keys and values of every position: the reused prefix, then this call's.
    let (start, q_all, k_all, v_all) = match spec.past {
        Some(p) => {
            let start = p.seq_len();
            (
                start,
                Tensor::cat(&[&p.q, q], 1),
                Tensor::cat(&[&p.k, k], 1),
                Tensor::cat(&[&p.v, v], 1),
            )
        }
        None => (0, q.shallow_clone(), k.shallow_clone(), v.shallow_clone()),
    };
    let s = start + t;
    let rules = MaskRules::from_spec(spec, s as usize);
    let (kr, vr) = (repeat_kv(&k_all, h), repeat_kv(&v_all, h));
    let device = q.device();
    // Short inputs: the explicit path, keeping its probabilities (recomputing them would cost more
    // than holding them); beyond, the fused kernel and probabilities on demand.
    let eager = h * t * s <= eager_limit && spec.past.is_none_or(|p| p.probs.is_some());
    let mut probs = None;
    let mut ctx = if eager {
        let p = probs_from(q, &kr, &rules, start..s, q.kind());
        let c = p.to_kind(q.kind()).matmul(&vr);
        probs = Some(match spec.past.and_then(|x| x.probs.as_ref()) {
            Some(before) => {
                Tensor::cat(&[&before.constant_pad_nd([0, s - before.size()[2]]), &p], 1)
            }
            None => p,
        });
        c
    } else if rules.softcap.is_some() {
        // The fused kernel cannot soft-cap: explicit, a block of rows at a time.
        let step = block_rows(h, s);
        let mut parts = vec![];
        let mut r = 0;
        while r < t {
            let n = step.min(t - r);
            let p = probs_from(
                &q.narrow(1, r, n),
                &kr,
                &rules,
                start + r..start + r + n,
                q.kind(),
            );
            parts.push(p.to_kind(q.kind()).matmul(&vr));
            r += n;
        }
        Tensor::cat(&parts, 1)
    } else {
        // 4-D [1, H, T, D] inputs: libtorch only picks its fused (flash) kernels for batched input.
        let (q4, k4, v4) = (q.unsqueeze(0), kr.unsqueeze(0), vr.unsqueeze(0));
        // Queries `qb` against the first `kend` keys.
        let sdpa = |qb: Tensor, mask: Option<Tensor>, kend: i64, causal: bool| {
            let (kb, vb) = if kend == s {
                (k4.shallow_clone(), v4.shallow_clone())
            } else {
                (k4.narrow(2, 0, kend), v4.narrow(2, 0, kend))
            };
            Tensor::scaled_dot_product_attention(
                &qb,
                &kb,
                &vb,
                mask,
                0.0,
                causal,
                Some(rules.scale),
                false,
            )
            .squeeze_dim(0)
        };
        // Query rows `rows` (absolute) under the explicit mask; rows with no allowed key get a zero
        // context (the fused kernel may give NaN there).
        let masked = |qb: Tensor, rows: Range<i64>, kend: i64| {
            let blocked = rules.blocked(rows.clone(), kend, device);
            let c = sdpa(
                qb,
                blocked
                    .as_ref()
                    .map(|m| m.logical_not().unsqueeze(0).unsqueeze(0)),
                kend,
                false,
            );
            match &blocked {
                Some(m) => c.masked_fill(&m.all_dim(-1, true).unsqueeze(0), 0.0),
                None => c,
            }
        };
        if rules.plain_causal() && start == 0 {
            sdpa(q4.shallow_clone(), None, s, true)
        } else if rules.causal {
            // An explicit mask: blocks of query rows, each against the keys it can see (causal), so
            // the fused kernel skips the upper triangle as it does for its own causal mask.
            let mut parts = vec![];
            let mut r = 0;
            while r < t {
                let n = MASKED_QUERY_BLOCK.min(t - r);
                let kend = start + r + n;
                parts.push(masked(q4.narrow(2, r, n), start + r..kend, kend));
                r += n;
            }
            Tensor::cat(&parts, 1)
        } else {
            masked(q4.shallow_clone(), start..s, s)
        }
    };
    if !spec.ablate_heads.is_empty() {
        let mut keep = vec![1f32; h as usize];
        for &hd in spec.ablate_heads {
            keep[hd] = 0.0;
        }
        let keep = Tensor::from_slice(&keep)
            .reshape([h, 1, 1])
            .to_device(device)
            .to_kind(ctx.kind());
        ctx = ctx * keep;
    }
    let context = ctx.transpose(0, 1).contiguous().reshape([t, h * dv]);
    // A copy: architectures may update their context in place.
    let kept = spec
        .keep_context
        .then(|| match spec.past.and_then(|p| p.context.as_ref()) {
            Some(before) => Tensor::cat(&[before, &context], 0),
            None => context.copy(),
        });
    Ok(AttentionOut {
        context,
        record: LayerAttention {
            q: q_all,
            k: k_all,
            v: v_all,
            rules,
            probs,
            probs_dropped: false,
            context: kept,
        },
    })
}

/// Splits a [T, H*D] projection into heads: [H, T, D].
pub(crate) fn split_heads(x: &Tensor, heads: i64) -> Tensor {
    let (t, hd) = x.size2().expect("split_heads expects [T, H*D]");
    x.reshape([t, heads, hd / heads]).transpose(0, 1)
}

/// Pools [h, n, kc] probability rows (keys from kc to T weigh 0) into `out` [h, size, size] (max,
/// or sums for a mean with `counts` [size, size]), rows starting at absolute row `r0` of a T×T map;
/// bins as the widget's: cell c → floor(c·size/T).
pub(crate) fn pool_rows_into(
    p: &Tensor,
    r0: i64,
    t: i64,
    size: i64,
    mean: bool,
    out: &mut Tensor,
    counts: &mut Tensor,
) {
    let (h, n, kc) = p.size3().expect("pool expects [h, n, kc]");
    let device = p.device();
    let bins = |from: i64, len: i64| {
        (Tensor::arange_start(from, from + len, (Kind::Int64, device)) * size)
            .divide_scalar_mode(t, "floor")
    };
    if mean {
        let (col_bin, row_bin) = (bins(0, kc), bins(r0, n));
        let cols = Tensor::zeros([h, n, size], (Kind::Float, device)).index_add(2, &col_bin, p);
        *out = out.index_add(1, &row_bin, &cols);
        let ones = |k: i64| Tensor::ones([k], (Kind::Float, device));
        let cc = Tensor::zeros([size], (Kind::Float, device)).index_add(0, &bins(0, t), &ones(t));
        let rc = Tensor::zeros([size], (Kind::Float, device)).index_add(0, &row_bin, &ones(n));
        *counts = &*counts + rc.outer(&cc);
    } else {
        // Bins are runs of consecutive cells: gather each bin's cells into a fixed width (short
        // bins repeat their last cell, which leaves the max alone), then take the max.
        let (cols_idx, nb_c, w_c) = bin_cells(0, kc, t, size, device);
        let cols = p
            .index_select(2, &cols_idx)
            .reshape([h, n, nb_c, w_c])
            .amax([-1i64].as_slice(), false);
        let cols = if nb_c < size {
            cols.constant_pad_nd([0, size - nb_c])
        } else {
            cols
        };
        let b0 = r0 * size / t;
        let (rows_idx, nb_r, w_r) = bin_cells(r0, n, t, size, device);
        let rows = cols
            .index_select(1, &(rows_idx - r0))
            .reshape([h, nb_r, w_r, size])
            .amax([2i64].as_slice(), false);
        let mut cur = out.narrow(1, b0, nb_r);
        let merged = cur.maximum(&rows);
        cur.copy_(&merged);
    }
}

/// Cells `from..from+len` of a T-cell axis grouped by bin (cell c → bin floor(c·size/T)): an index of
/// [bins × width] cells, each bin's run padded with its last cell, and the bin count and width.
/// The first of the `t` cells that pooled bin `b` of `size` covers: the cells `c` with
/// `floor(c·size/t) = b` start at `ceil(b·t/size)`. The widget's `binRange` and the snapshot's
/// `bin_range` say the same (`widget/test/vectors/bins.json`, checked on all three sides).
pub(crate) fn bin_start(b: i64, t: i64, size: i64) -> i64 {
    (b * t + size - 1) / size
}

fn bin_cells(from: i64, len: i64, t: i64, size: i64, device: Device) -> (Tensor, i64, i64) {
    let bin = |c: i64| c * size / t;
    let (b0, b1) = (bin(from), bin(from + len - 1));
    let first = |b: i64| bin_start(b, t, size).max(from);
    let width = (b0..=b1)
        .map(|b| first(b + 1).min(from + len) - first(b))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut idx = Vec::with_capacity(((b1 - b0 + 1) * width) as usize);
    for b in b0..=b1 {
        let (lo, hi) = (first(b), first(b + 1).min(from + len));
        idx.extend((0..width).map(|i| (lo + i).min(hi - 1)));
    }
    (
        Tensor::from_slice(&idx).to_device(device),
        b1 - b0 + 1,
        width,
    )
}

#[cfg(test)]
mod tests;
