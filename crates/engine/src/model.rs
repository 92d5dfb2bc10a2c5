//! [`Model`]: load (resolve the spec → `models::load`: weights, architecture, tokenizer) and run
//! (tokenize → interventions → the architecture's forward → predictions → [`Run`]).

use crate::analysis::{
    Analysis, Input, Interventions, ModelInfo, ModelKind, Prediction, ProgressFn,
};
use crate::device::{device_name, DTypeSpec, DeviceSpec};
use crate::error::{EngineError, Result};
use crate::models;
use crate::models::arch::{Architecture, Batch, LoadContext, TensorInterventions};
use crate::run::{KeptBytes, Layers, Run};
use crate::source;
use crate::tokenize::{Encoded, TextTokenizer};
use std::sync::Mutex;
use tch::{Kind, Tensor};

/// How to load a model.
#[derive(Clone, Default)]
pub struct LoadOptions {
    pub device: DeviceSpec,
    pub dtype: DTypeSpec,
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("device", &self.device)
            .field("dtype", &self.dtype)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// A loaded model. `Send + Sync`: runs are serialised by an internal mutex.
pub struct Model {
    arch: Mutex<Box<dyn Architecture>>,
    tokenizer: TextTokenizer,
    info: ModelInfo,
    /// Tells this model's runs apart from other models' (prefix reuse needs the same weights).
    id: u64,
    /// Bytes of one element of the compute dtype.
    elt_bytes: usize,
}

fn next_model_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// What one forward pass keeps beyond what every run keeps, and the earlier run it may take an
/// unchanged prefix from: the options of [`Model::forward_with`], the one entry point.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions<'a> {
    /// Keep the raw [T, vocab] logits ([`Run::logits`]).
    pub keep_logits: bool,
    /// An earlier run of this model on the same input: on causal models the positions before the
    /// first token whose intervention changed are taken from it ([`Run::reused_positions`]).
    /// Ignored when its input differs.
    pub reuse: Option<&'a Run>,
    /// An earlier run of the same input and interventions (a released one will do: it keeps its
    /// predictions) whose predictions to take instead of computing them: the LM head is skipped,
    /// about a fifth of a decoder's forward. Making a released run again needs nothing else.
    /// Ignored when the input, the interventions differ or `keep_logits` is set.
    pub predictions_from: Option<&'a Run>,
}

/// Top-k of softmax(logits) per row, computing the logits a block of rows at a time from the final
/// hidden states (the softmax is never materialised: p = exp(logit - logsumexp(row))). With
/// `keep`, the blocks' logits are also returned, as one [T, vocab] f32 tensor.
fn top_k(
    arch: &dyn Architecture,
    hidden: &Tensor,
    k: usize,
    tok: &TextTokenizer,
    keep: bool,
    vocab: usize,
) -> Result<(Vec<Vec<Prediction>>, Option<Tensor>)> {
    let t = hidden.size()[0];
    let mut out = Vec::with_capacity(t as usize);
    let mut kept = vec![];
    // Blocks of about 256 MB of logits: big enough that the LM head's weight is packed for the
    // matrix product a few times per run, not once per small block.
    let step = ((64 << 20) / vocab.max(1) as i64).max(1);
    let mut r = 0;
    while r < t {
        let n = step.min(t - r);
        let Some(block) = arch.logits(&hidden.narrow(0, r, n))? else {
            return Ok((vec![vec![]; t as usize], None));
        };
        let block = block.to_kind(Kind::Float);
        let v = block.size()[1];
        let kk = (k as i64).min(v);
        if kk > 0 {
            let lse = block.logsumexp([-1i64].as_slice(), true);
            let (vals, idx) = block.f_topk(kk, -1, true, true)?;
            let probs = (vals - lse).exp();
            let vals =
                Vec::<f32>::try_from(&probs.to_device(tch::Device::Cpu).contiguous().view([-1]))?;
            let idx =
                Vec::<i64>::try_from(&idx.to_device(tch::Device::Cpu).contiguous().view([-1]))?;
            let ku = kk as usize;
            for i in 0..n as usize {
                out.push(
                    (0..ku)
                        .map(|j| {
                            let id = idx[i * ku + j] as u32;
                            Prediction {
                                id,
                                token: tok.display_id(id),
                                prob: vals[i * ku + j],
                            }
                        })
                        .collect(),
                );
            }
        } else {
            out.extend((0..n).map(|_| vec![]));
        }
        if keep {
            kept.push(block);
        }
        r += n;
    }
    Ok((
        out,
        if keep && !kept.is_empty() {
            Some(Tensor::cat(&kept, 0))
        } else {
            None
        },
    ))
}

impl Model {
    /// Loads a model by short name, HF folder, .gguf file, or HF hub id (offline cache).
    pub fn load(spec: &str, opts: &LoadOptions) -> Result<Model> {
        let ctx = LoadContext {
            device: opts.device.resolve()?,
            kind: opts.dtype.kind(),
            progress: opts.progress.clone(),
        };
        ctx.report("resolving", &format!("looking for {spec}"), 0.0);
        let resolved = source::resolve(spec)?;
        let (built, tokenizer) = catch(|| models::load(&resolved, &ctx))?;
        let mut info = built.info;
        info.name = resolved.name.clone();
        info.source = resolved.source.clone();
        info.device = device_name(ctx.device);
        info.dtype = opts.dtype.to_string();
        info.mask_token = tokenizer.mask_token().map(|m| m.0);
        ctx.report("ready", "model ready", 1.0);
        Ok(Model {
            arch: Mutex::new(built.arch),
            tokenizer,
            info,
            id: next_model_id(),
            elt_bytes: ctx.kind.elt_size_in_bytes(),
        })
    }

    /// About what a run of `tokens` tokens with `iv` keeps ([`Run::kept`]), before running it: to
    /// check a memory budget first. Head sizes are taken as hidden / heads.
    pub fn kept_estimate(&self, tokens: usize, iv: &Interventions, keep_logits: bool) -> KeptBytes {
        let i = &self.info;
        let (t, e) = (tokens as u64, self.elt_bytes as u64);
        let (l, h, kvh) = (
            i.n_layers as u64,
            i.n_heads as u64,
            i.n_kv_heads.max(1) as u64,
        );
        let d = (i.hidden_size as u64 / h.max(1)).max(1);
        let eager = crate::attention::keeps_probs(h as i64, t as i64);
        KeptBytes {
            on_device: !i.device.starts_with("cpu"),
            qkv: l * (h + 2 * kvh) * t * d * e,
            probabilities: if eager { l * h * t * t * 4 } else { 0 },
            head_outputs: if iv.head_outputs {
                l * t * h * d * e
            } else {
                0
            },
            logits: if keep_logits {
                t * i.vocab_size as u64 * 4
            } else {
                0
            },
            hidden_states: if iv.hidden_states {
                (l + 1) * t * i.hidden_size as u64 * e
            } else {
                0
            },
        }
    }

    /// What was loaded.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Tokenizes without running the model.
    pub fn tokenize(&self, input: &Input) -> Result<Vec<crate::analysis::Token>> {
        self.encode_checked(input).map(|e| e.tokens)
    }

    fn encode_checked(&self, input: &Input) -> Result<Encoded> {
        if input.text_pair.is_some() && self.info.kind == ModelKind::CausalLm {
            return Err(EngineError::Unsupported(format!(
                "{} is a decoder: sentence pairs are for encoders only",
                self.info.name
            )));
        }
        let enc = self.tokenizer.encode(input)?;
        if self.info.max_positions > 0 && enc.ids.len() > self.info.max_positions {
            return Err(EngineError::TooLong {
                tokens: enc.ids.len(),
                max: self.info.max_positions,
            });
        }
        Ok(enc)
    }

    /// Runs the model on one input with interventions; the analysis carries every layer's attention.
    pub fn run(&self, input: &Input, iv: &Interventions) -> Result<Analysis> {
        self.forward(input, iv)?.analysis(&Layers::All)
    }

    /// Runs the model; attention is computed later, when asked for ([`Run::attention`], [`Run::pooled`]).
    pub fn forward(&self, input: &Input, iv: &Interventions) -> Result<Run> {
        self.forward_with(input, iv, RunOptions::default())
    }

    /// Runs `prev`'s input again with other interventions. On causal models, positions before the
    /// first token whose intervention changed cannot see the change: their keys, values and
    /// predictions are taken from `prev` and only the rest is computed. Equal to a full run.
    pub fn rerun(&self, prev: &Run, iv: &Interventions) -> Result<Run> {
        let reuse = Some(prev);
        self.forward_with(
            prev.input(),
            iv,
            RunOptions {
                reuse,
                ..Default::default()
            },
        )
    }

    /// The one entry point every run goes through ([`Model::forward`] and [`Model::rerun`] are
    /// its two common cases): the model on `input` with `iv`, keeping what `opts` asks for. One
    /// `forward` span (debug level, `EXFORMER_LOG`) with its token and layer counts, how much it
    /// reused and how long it took.
    pub fn forward_with(&self, input: &Input, iv: &Interventions, opts: RunOptions) -> Result<Run> {
        let prev = opts.reuse.filter(|p| p.input() == input);
        let keep_logits = opts.keep_logits;
        let t0 = std::time::Instant::now();
        let span = tracing::debug_span!(
            "forward",
            model = %self.info.name,
            layers = self.info.n_layers,
            rerun = prev.is_some()
        );
        let _entered = span.enter();
        let out = self.forward_untraced(input, iv, keep_logits, prev, opts.predictions_from);
        match &out {
            Ok(run) => tracing::debug!(
                tokens = run.seq_len(),
                reused = run.reused_positions(),
                ms = t0.elapsed().as_millis() as u64,
                "forward done"
            ),
            Err(e) => tracing::debug!("forward failed: {e}"),
        }
        out
    }

    /// The first position whose computation differs between `prev` and a run with `iv`, when the
    /// positions before it can be reused.
    fn reusable_prefix(
        &self,
        prev: &Run,
        iv: &Interventions,
        t: usize,
        keep_logits: bool,
        arch: &dyn Architecture,
    ) -> Option<usize> {
        if prev.model_id != self.id
            || prev.is_released()
            || self.info.kind != ModelKind::CausalLm
            || !arch.reuses_prefix()
            || iv.hidden_states
            || iv.head_outputs
            || prev.ids.len() != t
            || (keep_logits && prev.logits.is_none())
        {
            return None;
        }
        let old = &prev.meta.interventions;
        let same_heads = {
            let mut a = old.ablate_heads.clone();
            let mut b = iv.ablate_heads.clone();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            a == b
        };
        if !same_heads || !old.mask.is_empty() || !iv.mask.is_empty() || old.top_k != iv.top_k {
            return None;
        }
        // Knocking out key j changes queries >= j only.
        let changed = old
            .knockout
            .iter()
            .filter(|k| !iv.knockout.contains(k))
            .chain(iv.knockout.iter().filter(|k| !old.knockout.contains(k)))
            .min()
            .copied();
        let start = changed.unwrap_or(t).min(t.saturating_sub(1));
        (start > 0).then_some(start)
    }

    fn forward_untraced(
        &self,
        input: &Input,
        iv: &Interventions,
        keep_logits: bool,
        prev: Option<&Run>,
        predictions_from: Option<&Run>,
    ) -> Result<Run> {
        let mut enc = self.encode_checked(input)?;
        let t = enc.ids.len();
        let info = &self.info;
        for &p in iv.mask.iter().chain(iv.knockout.iter()) {
            if p >= t {
                return Err(EngineError::BadIntervention(format!(
                    "position {p} is out of range: the input has {t} tokens (0..{})",
                    t - 1
                )));
            }
        }
        if !iv.mask.is_empty() {
            let mask_id = match (info.kind, self.tokenizer.mask_token()) {
                (ModelKind::MaskedLm, Some((_, id))) => id,
                _ => return Err(EngineError::Unsupported(format!("{} has no masked-language-model head with a mask token, so tokens cannot be masked", info.name))),
            };
            for &p in &iv.mask {
                enc.ids[p] = mask_id as i64;
                enc.tokens[p].id = mask_id;
                enc.tokens[p].masked = true;
            }
        }
        for &p in &iv.knockout {
            enc.tokens[p].knocked_out = true;
        }
        let mut ablate = vec![vec![]; info.n_layers];
        for &(l, h) in &iv.ablate_heads {
            if l >= info.n_layers || h >= info.n_heads {
                return Err(EngineError::BadIntervention(format!(
                    "head {l}:{h} does not exist: the model has {} layers of {} heads",
                    info.n_layers, info.n_heads
                )));
            }
            if !ablate[l].contains(&h) {
                ablate[l].push(h);
            }
        }
        let mut knockout = iv.knockout.clone();
        knockout.sort_unstable();
        knockout.dedup();
        let mut tiv = TensorInterventions {
            knockout,
            ablate,
            hidden_states: iv.hidden_states,
            head_outputs: iv.head_outputs,
            prefix: vec![],
        };
        let batch = Batch {
            ids: enc.ids.clone(),
            type_ids: enc.type_ids.clone(),
        };
        let arch = self
            .arch
            .lock()
            .map_err(|_| EngineError::Torch("a previous run crashed; reload the model".into()))?;
        let start = match prev {
            Some(p) => self
                .reusable_prefix(p, iv, t, keep_logits, arch.as_ref())
                .filter(|_| p.ids == enc.ids)
                .unwrap_or(0),
            _ => 0,
        };
        if let (Some(p), true) = (prev, start > 0) {
            tiv.prefix = p.layers.iter().map(|l| l.prefix(start)).collect();
        }
        let out = catch(|| tch::no_grad(|| arch.forward(&batch, &tiv)))?;
        let taken = predictions_from
            .filter(|p| !keep_logits && p.input() == input && p.meta.interventions == *iv)
            .filter(|p| p.meta.predictions.len() == enc.ids.len())
            .map(|p| p.meta.predictions.clone());
        let took = taken.is_some();
        let (mut predictions, new_logits) = match taken {
            Some(all) => (all, None),
            None => catch(|| {
                tch::no_grad(|| {
                    top_k(
                        arch.as_ref(),
                        &out.hidden,
                        iv.top_k,
                        &self.tokenizer,
                        keep_logits,
                        info.vocab_size,
                    )
                })
            })?,
        };
        drop(arch);
        if let (Some(p), true, false) = (prev, start > 0, took) {
            let mut all = p.meta.predictions[..start].to_vec();
            all.append(&mut predictions);
            predictions = all;
        }
        let meta = Analysis {
            model: info.name.clone(),
            architecture: info.architecture.clone(),
            kind: info.kind,
            tokens: enc.tokens,
            n_layers: out.attentions.len(),
            n_heads: info.n_heads,
            attention: vec![],
            predictions,
            hidden_states: None,
            head_outputs: None,
            interventions: iv.clone(),
        };
        let logits = match (new_logits, prev.and_then(|p| p.logits.as_ref())) {
            (Some(l), Some(before)) if start > 0 => {
                Some(Tensor::cat(&[&before.narrow(0, 0, start as i64), &l], 0))
            }
            (l, _) => l,
        };
        Ok(Run {
            meta,
            layers: out.attentions,
            input: input.clone(),
            ids: enc.ids,
            model_id: self.id,
            reused: start,
            logits,
            hidden_states: out.hidden_states,
            released: false,
        })
    }
}

/// Runs `f`, turning a panic inside libtorch bindings into an error.
fn catch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown failure".into());
            Err(EngineError::Torch(msg))
        }
    }
}
