//! The contract between the engine and an architecture: what a model file builds ([`Built`]: an
//! [`Architecture`] and its [`ModelInfo`]) from a [`LoadContext`], and what one forward pass takes
//! ([`Batch`], [`TensorInterventions`]) and returns ([`ForwardOut`], collected through [`Capture`]).

use crate::analysis::{LoadProgress, ModelInfo, ProgressFn};
use crate::attention;
use crate::error::Result;
use tch::{Kind, Tensor};

/// Device and dtype an architecture is built for.
pub(crate) struct LoadContext {
    pub device: tch::Device,
    pub kind: Kind,
    pub progress: Option<ProgressFn>,
}

impl LoadContext {
    pub fn report(&self, stage: &str, message: &str, fraction: f32) {
        if let Some(p) = &self.progress {
            p(LoadProgress {
                stage: stage.into(),
                message: message.into(),
                fraction,
            });
        }
    }
}

/// One forward pass's input (batch of one sequence).
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    /// Token ids [T] (mask substitution already applied).
    pub ids: Vec<i64>,
    /// Segment / token-type ids [T].
    pub type_ids: Vec<i64>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// Ids as an int64 tensor [T] on `device`.
    pub fn ids_tensor(&self, device: tch::Device) -> Tensor {
        Tensor::from_slice(&self.ids).to_device(device)
    }
    pub fn type_ids_tensor(&self, device: tch::Device) -> Tensor {
        Tensor::from_slice(&self.type_ids).to_device(device)
    }
}

/// Interventions in the form architectures use.
#[derive(Debug, Default)]
pub(crate) struct TensorInterventions {
    /// Key positions hidden from every query.
    pub knockout: Vec<usize>,
    /// Per layer, heads whose context is zeroed.
    pub ablate: Vec<Vec<usize>>,
    /// Collect hidden states (embeddings + every layer output).
    pub hidden_states: bool,
    /// Keep every layer's context vectors (per-head attention outputs) in its record.
    pub head_outputs: bool,
    /// Per layer, queries, keys and values of positions `0..start` reused from an earlier run
    /// (causal models): the forward computes only positions `start..T`. Empty = a full run.
    pub prefix: Vec<attention::LayerAttention>,
}

impl TensorInterventions {
    pub fn heads_for(&self, layer: usize) -> &[usize] {
        self.ablate.get(layer).map(|v| v.as_slice()).unwrap_or(&[])
    }
    /// First position the forward computes (0 unless a prefix is reused).
    pub fn start(&self) -> usize {
        self.prefix
            .first()
            .map(|p| p.seq_len() as usize)
            .unwrap_or(0)
    }
    /// An attention spec with knockout, this layer's ablations and its reused prefix filled in.
    pub fn spec(&self, layer: usize, scale: f64) -> attention::AttentionSpec<'_> {
        attention::AttentionSpec {
            knockout: &self.knockout,
            ablate_heads: self.heads_for(layer),
            past: self.prefix.get(layer),
            keep_context: self.head_outputs,
            ..attention::AttentionSpec::new(scale)
        }
    }
}

/// What one forward pass returns.
pub(crate) struct ForwardOut {
    /// Final hidden states of the computed positions [T - start, hidden]: the LM head's input
    /// ([`Architecture::logits`] turns a block of rows into logits, so [T, vocab] never has to exist).
    pub hidden: Tensor,
    /// Per layer, what recomputes its probabilities (all positions, prefix included).
    pub attentions: Vec<attention::LayerAttention>,
    /// n_layers+1 tensors [T, hidden] when requested, else empty.
    pub hidden_states: Vec<Tensor>,
}

/// What a forward pass collects as it goes, the same in every model: each layer's attention record
/// and, when asked (`iv.hidden_states`), the hidden states (the embeddings, then each layer's output).
pub(crate) struct Capture {
    attentions: Vec<attention::LayerAttention>,
    hidden_states: Option<Vec<Tensor>>,
}

impl Capture {
    /// Starts a pass of `n_layers` layers whose input (the embeddings) is `x`.
    pub fn new(iv: &TensorInterventions, x: &Tensor, n_layers: usize) -> Self {
        Capture {
            attentions: Vec::with_capacity(n_layers),
            hidden_states: iv.hidden_states.then(|| vec![x.shallow_clone()]),
        }
    }

    /// Layers done so far.
    pub fn len(&self) -> usize {
        self.attentions.len()
    }

    /// One layer done: what recomputes its attention, and its output `x`.
    pub fn layer(&mut self, record: attention::LayerAttention, x: &Tensor) {
        self.attentions.push(record);
        if let Some(h) = &mut self.hidden_states {
            h.push(x.shallow_clone());
        }
    }

    /// An encoder's output: `hidden` is the last layer's output.
    pub fn finish(self, hidden: Tensor) -> ForwardOut {
        ForwardOut {
            hidden,
            attentions: self.attentions,
            hidden_states: self.hidden_states.unwrap_or_default(),
        }
    }

    /// A decoder's output: `hidden` comes after the final norm, and so does the last of the
    /// requested hidden states (as in transformers).
    pub fn finish_after_norm(self, hidden: Tensor) -> ForwardOut {
        let mut hidden_states = self.hidden_states.unwrap_or_default();
        if let Some(last) = hidden_states.last_mut() {
            *last = hidden.shallow_clone();
        }
        ForwardOut {
            hidden,
            attentions: self.attentions,
            hidden_states,
        }
    }
}

/// Implemented once per architecture (models/<arch>.rs).
pub(crate) trait Architecture: Send {
    /// Runs the whole model on one sequence (positions `iv.start()..` when a prefix is reused).
    /// Must compute attention through `attention::attention` with `iv.spec(..)`.
    fn forward(&self, batch: &Batch, iv: &TensorInterventions) -> Result<ForwardOut>;
    /// Logits [n, vocab] of final hidden rows [n, hidden]; None without an LM head.
    fn logits(&self, hidden: &Tensor) -> Result<Option<Tensor>>;
    /// Whether `forward` honours `iv.prefix` (causal models whose positions are absolute offsets).
    fn reuses_prefix(&self) -> bool {
        false
    }
}

/// An architecture with its info.
pub(crate) struct Built {
    pub arch: Box<dyn Architecture>,
    pub info: ModelInfo,
}
