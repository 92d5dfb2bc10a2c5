//! DistilBERT: word + position embeddings (no token types), post-LN blocks named
//! `transformer.layer.{i}.{attention.{q,k,v,out}_lin, sa_layer_norm, ffn.lin{1,2}, output_layer_norm}`,
//! masked-LM head `vocab_transform`, `vocab_layer_norm`, `vocab_projector`.

use crate::analysis::ModelInfo;
use crate::attention::{attention, split_heads};
use crate::error::{EngineError, Result};
use crate::layers::{read_config, Activation};
use crate::models::arch::{
    Architecture, Batch, Built, Capture, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{LayerNorm, Linear, Weights};
use serde::Deserialize;
use serde_json::Value;
use tch::Tensor;

const EPS: f64 = 1e-12;

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DistilBertConfig {
    pub vocab_size: i64,
    pub dim: i64,
    pub n_layers: i64,
    pub n_heads: i64,
    pub hidden_dim: i64,
    #[serde(default = "DistilBertConfig::default_act")]
    pub activation: String,
    #[serde(default = "DistilBertConfig::default_max_positions")]
    pub max_position_embeddings: i64,
}

impl DistilBertConfig {
    fn default_act() -> String {
        "gelu".into()
    }
    fn default_max_positions() -> i64 {
        512
    }

    pub fn from_json(cfg: &Value) -> Result<Self> {
        let c: DistilBertConfig = read_config(cfg, "DistilBERT")?;
        if c.n_heads <= 0 || c.dim % c.n_heads != 0 {
            return Err(EngineError::UnsupportedArchitecture(format!(
                "dim {} is not a multiple of n_heads {}",
                c.dim, c.n_heads
            )));
        }
        Ok(c)
    }
}

struct Block {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    sa_ln: LayerNorm,
    lin1: Linear,
    lin2: Linear,
    out_ln: LayerNorm,
}

pub(crate) struct DistilBert {
    word: Tensor,
    position: Tensor,
    emb_ln: LayerNorm,
    blocks: Vec<Block>,
    head: Option<(Linear, LayerNorm, Tensor, Tensor)>,
    heads: i64,
    scale: f64,
    act: Activation,
}

impl Architecture for DistilBert {
    fn forward(&self, b: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let device = self.word.device();
        let pos = Tensor::arange(b.len() as i64, (tch::Kind::Int64, device));
        let mut x = self.emb_ln.forward(
            &(self.word.index_select(0, &b.ids_tensor(device))
                + self.position.index_select(0, &pos)),
        );
        let mut cap = Capture::new(iv, &x, self.blocks.len());
        for (i, bl) in self.blocks.iter().enumerate() {
            let q = split_heads(&bl.q.forward(&x), self.heads);
            let k = split_heads(&bl.k.forward(&x), self.heads);
            let v = split_heads(&bl.v.forward(&x), self.heads);
            let a = attention(&q, &k, &v, &iv.spec(i, self.scale))?;
            let sa = bl.sa_ln.forward(&(bl.out.forward(&a.context) + &x));
            let f = bl.lin2.forward(&self.act.forward(&bl.lin1.forward(&sa)));
            x = bl.out_ln.forward(&(f + &sa));
            cap.layer(a.record, &x);
        }
        Ok(cap.finish(x))
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        Ok(self.head.as_ref().map(|(t, ln, proj, bias)| {
            ln.forward(&self.act.forward(&t.forward(x)))
                .linear(proj, Some(bias))
        }))
    }
}

pub(crate) fn load(cfg: &Value, w: &Weights, _ctx: &LoadContext) -> Result<Built> {
    let c = DistilBertConfig::from_json(cfg)?;
    let act = Activation::parse(&c.activation)?;
    let p = w
        .find_prefix(&["distilbert.", ""], "embeddings.word_embeddings.weight")
        .unwrap_or_else(|| "distilbert.".to_string());
    let d = c.dim;
    let (vb, root) = (w.vb(&p), w.vb(""));
    let emb = vb.pp("embeddings");
    let word = emb
        .pp("word_embeddings")
        .get("weight", &[c.vocab_size, d])?;
    let position = emb
        .pp("position_embeddings")
        .get("weight", &[c.max_position_embeddings, d])?;
    let emb_ln = LayerNorm::load(&emb.pp("LayerNorm"), d, EPS)?;
    let layers = vb.pp("transformer").pp("layer");
    let blocks = (0..c.n_layers)
        .map(|i| {
            let l = layers.pp(i);
            let (attn, ffn) = (l.pp("attention"), l.pp("ffn"));
            Ok(Block {
                q: Linear::load(&attn.pp("q_lin"), d, d)?,
                k: Linear::load(&attn.pp("k_lin"), d, d)?,
                v: Linear::load(&attn.pp("v_lin"), d, d)?,
                out: Linear::load(&attn.pp("out_lin"), d, d)?,
                sa_ln: LayerNorm::load(&l.pp("sa_layer_norm"), d, EPS)?,
                lin1: Linear::load(&ffn.pp("lin1"), d, c.hidden_dim)?,
                lin2: Linear::load(&ffn.pp("lin2"), c.hidden_dim, d)?,
                out_ln: LayerNorm::load(&l.pp("output_layer_norm"), d, EPS)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let projector = root.pp("vocab_projector");
    let head = if root.pp("vocab_transform").contains("weight") {
        let proj = projector
            .get_opt("weight", &[c.vocab_size, d])?
            .unwrap_or_else(|| word.shallow_clone());
        Some((
            Linear::load(&root.pp("vocab_transform"), d, d)?,
            LayerNorm::load(&root.pp("vocab_layer_norm"), d, EPS)?,
            proj,
            projector.get("bias", &[c.vocab_size])?,
        ))
    } else {
        None
    };
    let info = ModelInfo::encoder(
        "distilbert",
        head.is_some(),
        c.n_layers,
        c.n_heads,
        d,
        c.vocab_size,
        c.max_position_embeddings as usize,
    );
    let scale = 1.0 / ((d / c.n_heads) as f64).sqrt();
    Ok(Built {
        arch: Box::new(DistilBert {
            word,
            position,
            emb_ln,
            blocks,
            head,
            heads: c.n_heads,
            scale,
            act,
        }),
        info,
    })
}
