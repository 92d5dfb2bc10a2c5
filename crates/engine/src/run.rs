//! [`Run`]: one forward pass whose attention is computed when asked for.
//!
//! A run keeps, per layer, the post-RoPE queries and keys and the values (O(T·d), on the model's
//! device) instead of every layer's T×T probabilities. Ask for what you show:
//!
//! ```no_run
//! # use exformer_engine::{Model, LoadOptions, Input, Interventions, Pool};
//! let model = Model::load("smollm2", &LoadOptions::default())?;
//! let run = model.forward(&Input::new("The capital of France is"), &Interventions::default())?;
//! let layer5 = run.attention(5)?;                       // [H, T, T]
//! let heads = run.attention_heads(5, &[0, 3])?;         // [2, T, T]
//! let map = run.pooled(5, None, 256, Pool::Max)?;       // [H, 256, 256] (T > 256)
//! let again = model.rerun(&run, &Interventions { knockout: vec![4], ..Default::default() })?;
//! assert!(again.reused_positions() > 0);                // positions < 4 came from `run`
//! # Ok::<(), exformer_engine::EngineError>(())
//! ```

use crate::analysis::{Analysis, Input, Prediction, Token};
use crate::attention::{block_rows, pool_rows_into, tensor_bytes, LayerAttention};
use crate::error::{EngineError, Result};
use std::ops::Range;
use tch::{Kind, Tensor};

/// How [`Run::pooled`] reduces a bin of weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// The strongest weight in the bin (nothing strong disappears when zoomed out).
    Max,
    /// The bin's average.
    Mean,
}

/// Which layers' attention an [`Analysis`] should carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Layers {
    #[default]
    All,
    None,
    Some(Vec<usize>),
}

impl Layers {
    pub(crate) fn wants(&self, l: usize) -> bool {
        match self {
            Layers::All => true,
            Layers::None => false,
            Layers::Some(v) => v.contains(&l),
        }
    }
}

/// The bytes a [`Run`] keeps, by kind ([`Run::kept`]); all on the model's device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptBytes {
    /// Whether they are on an accelerator (else host memory).
    pub on_device: bool,
    /// Every layer's queries, keys and values (what the attention is recomputed from).
    pub qkv: u64,
    /// Kept post-softmax probabilities (short inputs).
    pub probabilities: u64,
    /// Per-head attention outputs, when asked for.
    pub head_outputs: u64,
    pub logits: u64,
    pub hidden_states: u64,
}

impl KeptBytes {
    pub fn total(&self) -> u64 {
        self.qkv + self.probabilities + self.head_outputs + self.logits + self.hidden_states
    }
}

/// One forward pass. Tokens and predictions are computed; attention is computed on demand.
pub struct Run {
    /// Tokens, predictions and interventions; `attention` is empty.
    pub(crate) meta: Analysis,
    pub(crate) layers: Vec<LayerAttention>,
    pub(crate) input: Input,
    pub(crate) ids: Vec<i64>,
    pub(crate) model_id: u64,
    pub(crate) reused: usize,
    /// [T, vocab] f32 when asked for.
    pub(crate) logits: Option<Tensor>,
    pub(crate) hidden_states: Vec<Tensor>,
    /// Set by [`Run::release`]: the tensors are gone, tokens and predictions remain.
    pub(crate) released: bool,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("model", &self.meta.model)
            .field("tokens", &self.seq_len())
            .field("layers", &self.layers.len())
            .field("reused", &self.reused)
            .finish()
    }
}

fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(
        &t.to_kind(Kind::Float)
            .to_device(tch::Device::Cpu)
            .contiguous()
            .view([-1]),
    )?)
}

impl Run {
    pub fn seq_len(&self) -> usize {
        self.meta.tokens.len()
    }
    pub fn n_layers(&self) -> usize {
        self.meta.n_layers
    }
    pub fn n_heads(&self) -> usize {
        self.meta.n_heads
    }
    pub fn tokens(&self) -> &[Token] {
        &self.meta.tokens
    }
    pub fn predictions(&self) -> &[Vec<Prediction>] {
        &self.meta.predictions
    }
    pub fn input(&self) -> &Input {
        &self.input
    }
    /// Model, tokens, predictions and interventions, without attention.
    pub fn meta(&self) -> &Analysis {
        &self.meta
    }
    /// Frees what the run holds on the device: every layer's queries, keys, values and kept
    /// probabilities, the logits and hidden states. Tokens and predictions stay; attention requests
    /// then fail until the run is made again (`Model::forward(run.input(), ..)`, same result).
    pub fn release(&mut self) {
        self.layers = Vec::new();
        self.logits = None;
        self.hidden_states = Vec::new();
        self.released = true;
    }
    /// Frees every layer's kept probabilities (the bulk of a short run's memory); queries, keys and
    /// values stay, and attention is then recomputed from them, whole and identical, when asked
    /// for. Returns the bytes freed.
    pub fn drop_probabilities(&mut self) -> u64 {
        self.layers.iter_mut().map(|l| l.drop_probs()).sum()
    }
    /// Whether [`Run::drop_probabilities`] dropped probabilities this run had kept.
    pub fn probabilities_dropped(&self) -> bool {
        self.layers.iter().any(|l| l.probs_dropped)
    }
    /// What the run keeps, by kind, and where.
    pub fn kept(&self) -> KeptBytes {
        let mut k = KeptBytes {
            on_device: self
                .layers
                .first()
                .is_some_and(|l| l.q.device() != tch::Device::Cpu),
            ..KeptBytes::default()
        };
        for l in &self.layers {
            let (qkv, probs, ctx) = l.kept_bytes();
            k.qkv += qkv;
            k.probabilities += probs;
            k.head_outputs += ctx;
        }
        k.logits = self.logits.as_ref().map(tensor_bytes).unwrap_or(0);
        k.hidden_states = self.hidden_states.iter().map(tensor_bytes).sum();
        k
    }
    /// Whether [`Run::release`] freed this run's tensors.
    pub fn is_released(&self) -> bool {
        self.released
    }
    /// How many leading positions were taken from an earlier run instead of being recomputed.
    pub fn reused_positions(&self) -> usize {
        self.reused
    }
    fn layer(&self, l: usize) -> Result<&LayerAttention> {
        if self.released {
            return Err(EngineError::BadIntervention(
                "this run was released (its tensors freed): run the model on its input again"
                    .into(),
            ));
        }
        self.layers.get(l).ok_or_else(|| {
            EngineError::BadIntervention(format!(
                "layer {l} does not exist: the model has {} layers (0..{})",
                self.layers.len(),
                self.layers.len().saturating_sub(1)
            ))
        })
    }

    /// Probabilities of query rows `rows` for `heads` (None = all) of layer `l`: f32 [h, rows, T] on the device.
    pub(crate) fn probs(
        &self,
        l: usize,
        heads: Option<&[usize]>,
        rows: Range<usize>,
    ) -> Result<Tensor> {
        self.layer(l)?.probs(heads, rows)
    }

    /// Layer `l`'s per-head attention outputs, row-major [T, H, head_dim]: the context vectors its
    /// output projection takes (ablated heads zero). `None` unless the run was made with
    /// [`crate::Interventions::head_outputs`].
    pub fn head_outputs(&self, l: usize) -> Result<Option<Vec<f32>>> {
        self.layer(l)?.context.as_ref().map(to_vec).transpose()
    }

    /// Layer `l`'s post-softmax attention, row-major [H, T, T].
    pub fn attention(&self, l: usize) -> Result<Vec<f32>> {
        self.attention_rows(l, None, 0..self.seq_len())
    }

    /// Some heads of layer `l`, row-major [heads.len(), T, T].
    pub fn attention_heads(&self, l: usize, heads: &[usize]) -> Result<Vec<f32>> {
        self.attention_rows(l, Some(heads), 0..self.seq_len())
    }

    /// Query rows `rows` of layer `l` for `heads` (None = all), row-major [h, rows, T].
    pub fn attention_rows(
        &self,
        l: usize,
        heads: Option<&[usize]>,
        rows: Range<usize>,
    ) -> Result<Vec<f32>> {
        let t = self.seq_len();
        let (r0, r1) = (rows.start.min(t), rows.end.min(t));
        let h = heads.map(|x| x.len()).unwrap_or(self.n_heads());
        let mut blocks = vec![];
        self.attention_blocks(l, heads, r0..r1, |_, n, b| {
            blocks.push((n, b));
            Ok(())
        })?;
        if blocks.len() == 1 {
            return Ok(blocks.pop().map(|(_, b)| b).unwrap_or_default());
        }
        // Blocks of rows, reassembled head-major.
        let mut out = Vec::with_capacity(h * (r1 - r0) * t);
        for hd in 0..h {
            for (n, b) in &blocks {
                out.extend_from_slice(&b[hd * n * t..(hd + 1) * n * t]);
            }
        }
        Ok(out)
    }

    /// Query rows `rows` of layer `l` for `heads` (None = all), a bounded block of rows at a time:
    /// `f(first_row, n_rows, block)` with `block` row-major [h, n_rows, T]. What
    /// [`Run::attention_rows`] assembles; a caller that writes each block out (the command line's
    /// `--layers` into a file) never holds the whole layer.
    pub fn attention_blocks(
        &self,
        l: usize,
        heads: Option<&[usize]>,
        rows: Range<usize>,
        mut f: impl FnMut(usize, usize, Vec<f32>) -> Result<()>,
    ) -> Result<()> {
        let layer = self.layer(l)?;
        let h = heads.map(|x| x.len()).unwrap_or(self.n_heads()) as i64;
        let t = self.seq_len();
        let step = block_rows(h, t as i64) as usize;
        let (r0, r1) = (rows.start.min(t), rows.end.min(t));
        if h == 1 || step >= r1 - r0 {
            return f(r0, r1 - r0, to_vec(&layer.probs(heads, r0..r1)?)?);
        }
        let mut r = r0;
        while r < r1 {
            let n = step.min(r1 - r);
            f(r, n, to_vec(&layer.probs(heads, r..r + n)?)?)?;
            r += n;
        }
        Ok(())
    }

    /// A rectangle of layer `l`: query rows `rows` × key columns `cols` for `heads`, row-major [h, rows, cols].
    pub fn tile(
        &self,
        l: usize,
        heads: Option<&[usize]>,
        rows: Range<usize>,
        cols: Range<usize>,
    ) -> Result<Vec<f32>> {
        let t = self.seq_len();
        let (c0, c1) = (cols.start.min(t), cols.end.min(t));
        let p = self.probs(l, heads, rows)?;
        to_vec(&p.narrow(2, c0 as i64, (c1 - c0) as i64))
    }

    /// Layer `l` pooled to `size`×`size` per head (cell c of T goes to bin floor(c·size/T)), computed
    /// on the device a block of rows at a time: [h, size, size]. `size ≥ T` gives the exact map.
    pub fn pooled(
        &self,
        l: usize,
        heads: Option<&[usize]>,
        size: usize,
        pool: Pool,
    ) -> Result<Vec<f32>> {
        self.pooled_reusing(l, heads, size, pool, None)
    }

    /// [`Run::pooled`], taking the bins of rows this run reused from an earlier run (see
    /// [`Run::reused_positions`]) from `before`: that run's map of the same layer, heads, size and
    /// pool. A click near the end of a long prompt then recomputes only the last bins.
    pub fn pooled_reusing(
        &self,
        l: usize,
        heads: Option<&[usize]>,
        size: usize,
        pool: Pool,
        before: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        let layer = self.layer(l)?;
        let t = self.seq_len() as i64;
        if size as i64 >= t {
            return self.attention_rows(l, heads, 0..t as usize);
        }
        let h = heads.map(|x| x.len() as i64).unwrap_or(layer.n_heads());
        let s = size.max(1) as i64;
        // Bins whose rows all come before the reused prefix's end are unchanged.
        let kept_bins = match before {
            Some(b) if b.len() as i64 == h * s * s => (self.reused as i64 * s / t).min(s),
            _ => 0,
        };
        let first_row = (kept_bins * t + s - 1) / s; // first row of bin `kept_bins`
        let device = layer.q.device();
        let mut out = Tensor::zeros([h, s, s], (Kind::Float, device));
        let mut counts = Tensor::zeros([s, s], (Kind::Float, device));
        let step = block_rows(h, t);
        let mut r = first_row;
        while r < t {
            let n = step.min(t - r);
            let p = layer.probs_visible(heads, r as usize..(r + n) as usize)?;
            pool_rows_into(&p, r, t, s, pool == Pool::Mean, &mut out, &mut counts);
            r += n;
        }
        if pool == Pool::Mean {
            out = out / counts.clamp_min(1.0);
        }
        let mut v = to_vec(&out)?;
        if let Some(b) = before.filter(|_| kept_bins > 0) {
            let (s, kb) = (s as usize, kept_bins as usize);
            for hd in 0..h as usize {
                let at = hd * s * s;
                v[at..at + kb * s].copy_from_slice(&b[at..at + kb * s]);
            }
        }
        Ok(v)
    }

    /// The plain-data analysis with the attention of `layers` (others are empty vectors).
    pub fn analysis(&self, layers: &Layers) -> Result<Analysis> {
        let mut a = self.meta.clone();
        a.attention = (0..self.n_layers())
            .map(|l| {
                if layers.wants(l) {
                    self.attention(l)
                } else {
                    Ok(vec![])
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if self.layers.iter().any(|l| l.context.is_some()) {
            a.head_outputs = Some(
                (0..self.n_layers())
                    .map(|l| Ok(self.head_outputs(l)?.unwrap_or_default()))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        if !self.hidden_states.is_empty() {
            a.hidden_states = Some(
                self.hidden_states
                    .iter()
                    .map(to_vec)
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        Ok(a)
    }

    /// Row-major [T, vocab] f32 logits, when the run was asked to keep them.
    pub fn logits(&self) -> Result<Option<Vec<f32>>> {
        self.logits.as_ref().map(to_vec).transpose()
    }
}
