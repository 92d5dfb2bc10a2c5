//! BERT (bert-base and friends): embeddings, post-LN encoder layers, optional masked-LM head.
//! Checkpoint names as in `BertForMaskedLM` / `BertModel` (with or without the `bert.` prefix;
//! old `LayerNorm.gamma/beta` names are accepted). The encoder pieces are reused by RoBERTa and ELECTRA.

use crate::analysis::ModelInfo;
use crate::attention::{attention, split_heads, LayerAttention};
use crate::error::{EngineError, Result};
use crate::layers::{read_config, Activation};
use crate::models::arch::{
    Architecture, Batch, Built, Capture, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{LayerNorm, Linear, Vb, Weights};
use serde::Deserialize;
use serde_json::Value;
use tch::Tensor;

/// The fields BERT-like configs share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BertConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    /// Embedding width (ELECTRA/ALBERT may differ from hidden_size).
    pub embedding_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    /// `hidden_act` (default `gelu`).
    pub act: Activation,
    pub max_position_embeddings: i64,
    pub type_vocab_size: i64,
    pub layer_norm_eps: f64,
    pub pad_token_id: i64,
    /// ALBERT only (1 elsewhere).
    pub num_hidden_groups: i64,
    pub inner_group_num: i64,
}

/// A BERT-like `config.json` as written (nulls and absent keys allowed where HF allows them).
#[derive(Debug, Deserialize)]
struct RawBertConfig {
    vocab_size: i64,
    hidden_size: i64,
    embedding_size: Option<i64>,
    num_hidden_layers: i64,
    num_attention_heads: i64,
    intermediate_size: i64,
    hidden_act: Option<String>,
    max_position_embeddings: Option<i64>,
    type_vocab_size: Option<i64>,
    layer_norm_eps: Option<f64>,
    pad_token_id: Option<i64>,
    position_embedding_type: Option<String>,
    /// ALBERT: layers share weights within groups.
    num_hidden_groups: Option<i64>,
    inner_group_num: Option<i64>,
}

impl BertConfig {
    pub fn from_json(cfg: &Value) -> Result<Self> {
        let r: RawBertConfig = read_config(cfg, "BERT-like")?;
        if r.num_attention_heads <= 0 || r.hidden_size % r.num_attention_heads != 0 {
            return Err(EngineError::UnsupportedArchitecture(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                r.hidden_size, r.num_attention_heads
            )));
        }
        let pe = r
            .position_embedding_type
            .unwrap_or_else(|| "absolute".into());
        if pe != "absolute" {
            return Err(EngineError::UnsupportedArchitecture(format!(
                "position_embedding_type '{pe}' (only 'absolute' is supported)"
            )));
        }
        let act = Activation::parse(r.hidden_act.as_deref().unwrap_or("gelu"))?;
        Ok(BertConfig {
            vocab_size: r.vocab_size,
            hidden_size: r.hidden_size,
            embedding_size: r.embedding_size.unwrap_or(r.hidden_size),
            num_hidden_layers: r.num_hidden_layers,
            num_attention_heads: r.num_attention_heads,
            intermediate_size: r.intermediate_size,
            act,
            max_position_embeddings: r.max_position_embeddings.unwrap_or(512),
            type_vocab_size: r.type_vocab_size.unwrap_or(2),
            layer_norm_eps: r.layer_norm_eps.unwrap_or(1e-12),
            pad_token_id: r.pad_token_id.unwrap_or(0),
            num_hidden_groups: r.num_hidden_groups.unwrap_or(1),
            inner_group_num: r.inner_group_num.unwrap_or(1),
        })
    }
}

/// Word + position + token-type embeddings, LayerNorm, optional projection to the hidden size.
pub(crate) struct Embeddings {
    pub word: Tensor,
    pub position: Tensor,
    pub token_type: Option<Tensor>,
    pub ln: LayerNorm,
    pub project: Option<Linear>,
}

impl Embeddings {
    /// Loads `word_embeddings`, `position_embeddings`, `token_type_embeddings` (optional) and `LayerNorm`
    /// under `vb` (e.g. `bert.embeddings`).
    pub fn load(vb: &Vb, c: &BertConfig) -> Result<Self> {
        let e = c.embedding_size;
        Ok(Embeddings {
            word: vb.pp("word_embeddings").get("weight", &[c.vocab_size, e])?,
            position: vb
                .pp("position_embeddings")
                .get("weight", &[c.max_position_embeddings, e])?,
            token_type: vb
                .pp("token_type_embeddings")
                .get_opt("weight", &[c.type_vocab_size, e])?,
            ln: LayerNorm::load(&vb.pp("LayerNorm"), e, c.layer_norm_eps)?,
            project: None,
        })
    }

    /// `position_ids` [T].
    pub fn forward(&self, b: &Batch, position_ids: &Tensor) -> Tensor {
        let device = self.word.device();
        let mut x = self.word.index_select(0, &b.ids_tensor(device));
        if let Some(tt) = &self.token_type {
            let n = tt.size()[0];
            let types = b.type_ids_tensor(device).clamp(0, n - 1);
            x = x + tt.index_select(0, &types);
        }
        x = x + self.position.index_select(0, position_ids);
        let x = self.ln.forward(&x);
        match &self.project {
            Some(p) => p.forward(&x),
            None => x,
        }
    }
}

/// One post-LN transformer encoder layer (BERT naming).
pub(crate) struct BertLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_ln: LayerNorm,
    inter: Linear,
    out: Linear,
    out_ln: LayerNorm,
    heads: i64,
    scale: f64,
    act: Activation,
}

impl BertLayer {
    /// `vb` is e.g. `bert.encoder.layer.3`.
    pub fn load(vb: &Vb, c: &BertConfig) -> Result<Self> {
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        let (attn, attn_output) = (
            vb.pp("attention").pp("self"),
            vb.pp("attention").pp("output"),
        );
        let output = vb.pp("output");
        Ok(BertLayer {
            q: Linear::load(&attn.pp("query"), h, h)?,
            k: Linear::load(&attn.pp("key"), h, h)?,
            v: Linear::load(&attn.pp("value"), h, h)?,
            attn_out: Linear::load(&attn_output.pp("dense"), h, h)?,
            attn_ln: LayerNorm::load(&attn_output.pp("LayerNorm"), h, eps)?,
            inter: Linear::load(&vb.pp("intermediate").pp("dense"), h, c.intermediate_size)?,
            out: Linear::load(&output.pp("dense"), c.intermediate_size, h)?,
            out_ln: LayerNorm::load(&output.pp("LayerNorm"), h, eps)?,
            heads: c.num_attention_heads,
            scale: 1.0 / ((h / c.num_attention_heads) as f64).sqrt(),
            act: c.act,
        })
    }

    /// x [T, H] -> (x', what recomputes the layer's attention).
    pub fn forward(
        &self,
        x: &Tensor,
        layer: usize,
        iv: &TensorInterventions,
    ) -> Result<(Tensor, LayerAttention)> {
        let q = split_heads(&self.q.forward(x), self.heads);
        let k = split_heads(&self.k.forward(x), self.heads);
        let v = split_heads(&self.v.forward(x), self.heads);
        let a = attention(&q, &k, &v, &iv.spec(layer, self.scale))?;
        let x = self
            .attn_ln
            .forward(&(self.attn_out.forward(&a.context) + x));
        let i = self.act.forward(&self.inter.forward(&x));
        let x = self.out_ln.forward(&(self.out.forward(&i) + &x));
        Ok((x, a.record))
    }
}

/// Runs a stack of layers on the embeddings `x`, collecting attention and (optionally) hidden states.
pub(crate) fn run_layers(
    layers: &[BertLayer],
    x: Tensor,
    iv: &TensorInterventions,
) -> Result<ForwardOut> {
    let mut cap = Capture::new(iv, &x, layers.len());
    let mut x = x;
    for (i, l) in layers.iter().enumerate() {
        let (y, p) = l.forward(&x, i, iv)?;
        x = y;
        cap.layer(p, &x);
    }
    Ok(cap.finish(x))
}

/// transform (dense, act, LayerNorm) then decoder to the vocabulary.
pub(crate) struct MlmHead {
    pub dense: Linear,
    pub act: Activation,
    pub ln: LayerNorm,
    pub decoder: Tensor,
    pub bias: Tensor,
}

impl MlmHead {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.ln.forward(&self.act.forward(&self.dense.forward(x)));
        Ok(y.linear(&self.decoder, Some(&self.bias)))
    }
}

/// A BERT model (also ELECTRA's: same forward, different loading).
pub(crate) struct Bert {
    emb: Embeddings,
    layers: Vec<BertLayer>,
    head: Option<MlmHead>,
}

impl Bert {
    pub(crate) fn new(emb: Embeddings, layers: Vec<BertLayer>, head: Option<MlmHead>) -> Self {
        Bert { emb, layers, head }
    }
}

impl Architecture for Bert {
    fn forward(&self, b: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let device = self.emb.word.device();
        let pos = Tensor::arange(b.len() as i64, (tch::Kind::Int64, device));
        let x = self.emb.forward(b, &pos);
        run_layers(&self.layers, x, iv)
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        self.head.as_ref().map(|h| h.forward(x)).transpose()
    }
}

/// Loads the encoder layers `encoder.layer.{i}` under `vb` (the model's prefix, e.g. `bert`).
pub(crate) fn load_layers(vb: &Vb, c: &BertConfig) -> Result<Vec<BertLayer>> {
    let layers = vb.pp("encoder").pp("layer");
    (0..c.num_hidden_layers)
        .map(|i| BertLayer::load(&layers.pp(i), c))
        .collect()
}

pub(crate) fn load(cfg: &Value, w: &Weights, _ctx: &LoadContext) -> Result<Built> {
    let c = BertConfig::from_json(cfg)?;
    let p = w
        .find_prefix(&["bert.", ""], "embeddings.word_embeddings.weight")
        .unwrap_or_else(|| "bert.".to_string());
    let vb = w.vb(&p);
    let emb = Embeddings::load(&vb.pp("embeddings"), &c)?;
    let layers = load_layers(&vb, &c)?;
    let h = c.hidden_size;
    let (pred, transform) = (w.vb("cls.predictions"), w.vb("cls.predictions.transform"));
    let head = if transform.pp("dense").contains("weight") {
        let decoder = match pred.pp("decoder").get_opt("weight", &[c.vocab_size, h])? {
            Some(d) => d,
            None => emb.word.shallow_clone(),
        };
        let bias = if pred.contains("bias") {
            pred.get("bias", &[c.vocab_size])?
        } else {
            pred.pp("decoder").get("bias", &[c.vocab_size])?
        };
        Some(MlmHead {
            dense: Linear::load(&transform.pp("dense"), h, h)?,
            act: c.act,
            ln: LayerNorm::load(&transform.pp("LayerNorm"), h, c.layer_norm_eps)?,
            decoder,
            bias,
        })
    } else {
        None
    };
    let info = ModelInfo::encoder(
        "bert",
        head.is_some(),
        c.num_hidden_layers,
        c.num_attention_heads,
        h,
        c.vocab_size,
        c.max_position_embeddings as usize,
    );
    Ok(Built {
        arch: Box::new(Bert { emb, layers, head }),
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn config_parsing_and_errors() {
        let v: Value = serde_json::json!({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16});
        let c = BertConfig::from_json(&v).unwrap();
        assert_eq!(c.embedding_size, 8);
        assert_eq!(c.type_vocab_size, 2);
        let bad = serde_json::json!({"vocab_size": 10, "hidden_size": 9, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16});
        assert!(matches!(
            BertConfig::from_json(&bad),
            Err(EngineError::UnsupportedArchitecture(_))
        ));
        let missing = serde_json::json!({"hidden_size": 8});
        assert!(BertConfig::from_json(&missing).is_err());
        let rel = serde_json::json!({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "position_embedding_type": "relative_key"});
        assert!(BertConfig::from_json(&rel).is_err());
    }
}
