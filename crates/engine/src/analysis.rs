//! Plain data that leaves the engine: inputs, interventions and the analysis of one run.
//! Nothing here holds a tensor.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What kind of head a model has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Encoder with a masked-language-model head (BERT-style): predictions are the distribution at each position.
    MaskedLm,
    /// Decoder with a language-model head: predictions are the next token after each position.
    CausalLm,
    /// Encoder without an LM head: predictions are empty.
    Encoder,
}

impl ModelKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelKind::MaskedLm => "maskedlm",
            ModelKind::CausalLm => "causallm",
            ModelKind::Encoder => "encoder",
        }
    }
}

/// The text to analyse; `text_pair` is segment B (encoders only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Input {
    pub text: String,
    #[serde(default)]
    pub text_pair: Option<String>,
}

impl Input {
    pub fn new(text: impl Into<String>) -> Self {
        Input {
            text: text.into(),
            text_pair: None,
        }
    }
    /// Adds a second segment (sentence B).
    pub fn with_pair(mut self, pair: impl Into<String>) -> Self {
        self.text_pair = Some(pair.into());
        self
    }
}

fn default_top_k() -> usize {
    5
}

/// Changes applied to one run. Positions are token indices (including special tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interventions {
    /// Token positions replaced by the mask token (masked LMs only).
    #[serde(default)]
    pub mask: Vec<usize>,
    /// Key positions no query may attend to, in every layer and head.
    #[serde(default)]
    pub knockout: Vec<usize>,
    /// (layer, head) pairs whose context vector is zeroed before the output projection.
    #[serde(default)]
    pub ablate_heads: Vec<(usize, usize)>,
    /// How many predictions to keep per position.
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// Whether to return the hidden states (embeddings + every layer).
    #[serde(default)]
    pub hidden_states: bool,
    /// Whether to keep every layer's per-head attention outputs: the context vectors the output
    /// projection takes (what exBERT-style corpus search indexes). Costs T × hidden per layer.
    #[serde(default)]
    pub head_outputs: bool,
}

impl Interventions {
    /// True when nothing is masked, knocked out or ablated (the run is the model's own).
    pub fn is_none(&self) -> bool {
        self.mask.is_empty() && self.knockout.is_empty() && self.ablate_heads.is_empty()
    }
}

impl Default for Interventions {
    fn default() -> Self {
        Interventions {
            mask: vec![],
            knockout: vec![],
            ablate_heads: vec![],
            top_k: 5,
            hidden_states: false,
            head_outputs: false,
        }
    }
}

/// One token of the input as the model saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The id the model saw (the mask token's id when `masked`).
    pub id: u32,
    /// Display text: the piece as a human reads it (" Paris" for byte-level BPE, "##ing" kept);
    /// for a masked token, the original piece (so a view can show what was masked).
    pub text: String,
    /// Byte offsets into the text of its segment (`text` for segment 0, `text_pair` for segment 1); 0,0 for specials.
    pub start: usize,
    pub end: usize,
    pub special: bool,
    /// 0 = sentence A, 1 = sentence B.
    pub segment: u8,
    pub masked: bool,
    pub knocked_out: bool,
}

/// One predicted token with its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub id: u32,
    pub token: String,
    pub prob: f32,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub model: String,
    pub architecture: String,
    pub kind: ModelKind,
    pub tokens: Vec<Token>,
    pub n_layers: usize,
    pub n_heads: usize,
    /// Per layer, row-major [n_heads, T, T], post-softmax.
    #[serde(default)]
    pub attention: Vec<Vec<f32>>,
    /// Per position, top_k predictions in descending probability. For `ModelKind::Encoder` every
    /// position's list is empty (the outer vector still has one entry per token).
    pub predictions: Vec<Vec<Prediction>>,
    /// n_layers+1 entries of row-major [T, hidden] when requested.
    #[serde(default)]
    pub hidden_states: Option<Vec<Vec<f32>>>,
    /// Per layer, row-major [T, n_heads, head_dim] when requested: each head's attention output
    /// (its probabilities times its values) before the output projection; ablated heads are zero.
    #[serde(default)]
    pub head_outputs: Option<Vec<Vec<f32>>>,
    pub interventions: Interventions,
}

impl Analysis {
    /// Number of tokens T.
    pub fn seq_len(&self) -> usize {
        self.tokens.len()
    }
    /// Attention probability of `query` on `key` in one head of one layer.
    pub fn attention_at(&self, layer: usize, head: usize, query: usize, key: usize) -> f32 {
        let t = self.seq_len();
        self.attention[layer][(head * t + query) * t + key]
    }
    /// One layer's attention, row-major [n_heads, T, T].
    pub fn layer(&self, l: usize) -> &[f32] {
        &self.attention[l]
    }
}

/// Progress of a load, reported through [`crate::LoadOptions::progress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadProgress {
    /// What is happening ("resolving", "weights", "tokenizer", "ready", ...).
    pub stage: String,
    /// A sentence for humans.
    pub message: String,
    /// 0.0 ..= 1.0.
    pub fraction: f32,
}

/// Progress callback.
pub type ProgressFn = Arc<dyn Fn(LoadProgress) + Send + Sync>;

/// What a loaded model is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    /// Path or id it came from.
    pub source: String,
    /// "bert", "roberta", "llama", ...
    pub architecture: String,
    pub kind: ModelKind,
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub hidden_size: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub mask_token: Option<String>,
    pub device: String,
    pub dtype: String,
}

impl ModelInfo {
    /// Architecture-level info; name, source, device, dtype and mask token are filled in by `Model::load`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn arch(
        architecture: &str,
        kind: ModelKind,
        n_layers: usize,
        n_heads: usize,
        n_kv_heads: usize,
        hidden_size: usize,
        vocab_size: usize,
        max_positions: usize,
    ) -> Self {
        ModelInfo {
            name: String::new(),
            source: String::new(),
            architecture: architecture.to_string(),
            kind,
            n_layers,
            n_heads,
            n_kv_heads,
            hidden_size,
            vocab_size,
            max_positions,
            mask_token: None,
            device: String::new(),
            dtype: String::new(),
        }
    }

    /// An encoder family's info (every head its own keys and values): a masked LM when it has
    /// its MLM head, else a bare encoder.
    pub(crate) fn encoder(
        architecture: &str,
        has_mlm_head: bool,
        n_layers: i64,
        n_heads: i64,
        hidden_size: i64,
        vocab_size: i64,
        max_positions: usize,
    ) -> Self {
        let kind = if has_mlm_head {
            ModelKind::MaskedLm
        } else {
            ModelKind::Encoder
        };
        let n = n_heads as usize;
        Self::arch(
            architecture,
            kind,
            n_layers as usize,
            n,
            n,
            hidden_size as usize,
            vocab_size as usize,
            max_positions,
        )
    }
}
