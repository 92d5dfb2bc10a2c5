//! ALBERT: factorised embeddings (`embedding_size` → `encoder.embedding_hidden_mapping_in`), layers shared in
//! `num_hidden_groups` groups of `inner_group_num` layers (`encoder.albert_layer_groups.{g}.albert_layers.{j}.`),
//! masked-LM head `predictions.{dense,LayerNorm,decoder,bias}`. Every attention call is reported as one layer,
//! so n_layers = num_hidden_layers * inner_group_num (as HF reports attentions).

use super::bert::{BertConfig, Embeddings, MlmHead};
use crate::analysis::ModelInfo;
use crate::attention::{attention, split_heads};
use crate::error::{EngineError, Result};
use crate::layers::Activation;
use crate::models::arch::{
    Architecture, Batch, Built, Capture, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{LayerNorm, Linear, Weights};
use serde_json::Value;
use tch::Tensor;

struct AlbertLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    dense: Linear,
    attn_ln: LayerNorm,
    ffn: Linear,
    ffn_out: Linear,
    full_ln: LayerNorm,
}

pub(crate) struct Albert {
    emb: Embeddings,
    mapping_in: Linear,
    groups: Vec<Vec<AlbertLayer>>,
    num_hidden_layers: usize,
    head: Option<MlmHead>,
    heads: i64,
    scale: f64,
    act: Activation,
}

impl Architecture for Albert {
    fn forward(&self, b: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let device = self.emb.word.device();
        let pos = Tensor::arange(b.len() as i64, (tch::Kind::Int64, device));
        let mut x = self.mapping_in.forward(&self.emb.forward(b, &pos));
        let n_groups = self.groups.len();
        let mut cap = Capture::new(iv, &x, self.num_hidden_layers);
        for i in 0..self.num_hidden_layers {
            let g = i * n_groups / self.num_hidden_layers;
            for l in &self.groups[g] {
                let li = cap.len();
                let q = split_heads(&l.q.forward(&x), self.heads);
                let k = split_heads(&l.k.forward(&x), self.heads);
                let v = split_heads(&l.v.forward(&x), self.heads);
                let a = attention(&q, &k, &v, &iv.spec(li, self.scale))?;
                let ao = l.attn_ln.forward(&(&x + l.dense.forward(&a.context)));
                let f = l.ffn_out.forward(&self.act.forward(&l.ffn.forward(&ao)));
                x = l.full_ln.forward(&(f + &ao));
                cap.layer(a.record, &x);
            }
        }
        Ok(cap.finish(x))
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        self.head.as_ref().map(|h| h.forward(x)).transpose()
    }
}

pub(crate) fn load(cfg: &Value, w: &Weights, _ctx: &LoadContext) -> Result<Built> {
    let c = BertConfig::from_json(cfg)?;
    let (n_groups, inner) = (c.num_hidden_groups, c.inner_group_num);
    if n_groups <= 0 || inner <= 0 || c.num_hidden_layers % n_groups != 0 {
        return Err(EngineError::UnsupportedArchitecture(format!(
            "num_hidden_layers {} must be a multiple of num_hidden_groups {n_groups}",
            c.num_hidden_layers
        )));
    }
    let p = w
        .find_prefix(&["albert.", ""], "embeddings.word_embeddings.weight")
        .unwrap_or_else(|| "albert.".to_string());
    let vb = w.vb(&p);
    let emb = Embeddings::load(&vb.pp("embeddings"), &c)?;
    let (h, e, ff, eps) = (
        c.hidden_size,
        c.embedding_size,
        c.intermediate_size,
        c.layer_norm_eps,
    );
    let encoder = vb.pp("encoder");
    let mapping_in = Linear::load(&encoder.pp("embedding_hidden_mapping_in"), e, h)?;
    let groups = (0..n_groups)
        .map(|g| {
            let group = encoder.pp("albert_layer_groups").pp(g).pp("albert_layers");
            (0..inner)
                .map(|j| {
                    let l = group.pp(j);
                    let attn = l.pp("attention");
                    Ok(AlbertLayer {
                        q: Linear::load(&attn.pp("query"), h, h)?,
                        k: Linear::load(&attn.pp("key"), h, h)?,
                        v: Linear::load(&attn.pp("value"), h, h)?,
                        dense: Linear::load(&attn.pp("dense"), h, h)?,
                        attn_ln: LayerNorm::load(&attn.pp("LayerNorm"), h, eps)?,
                        ffn: Linear::load(&l.pp("ffn"), h, ff)?,
                        ffn_out: Linear::load(&l.pp("ffn_output"), ff, h)?,
                        full_ln: LayerNorm::load(&l.pp("full_layer_layer_norm"), h, eps)?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let pred = w.vb("predictions");
    let head = if pred.pp("dense").contains("weight") {
        let decoder = pred
            .pp("decoder")
            .get_opt("weight", &[c.vocab_size, e])?
            .unwrap_or_else(|| emb.word.shallow_clone());
        let bias = match pred.pp("decoder").get_opt("bias", &[c.vocab_size])? {
            Some(b) => b,
            None => pred.get("bias", &[c.vocab_size])?,
        };
        Some(MlmHead {
            dense: Linear::load(&pred.pp("dense"), h, e)?,
            act: c.act,
            ln: LayerNorm::load(&pred.pp("LayerNorm"), e, eps)?,
            decoder,
            bias,
        })
    } else {
        None
    };
    let info = ModelInfo::encoder(
        "albert",
        head.is_some(),
        c.num_hidden_layers * inner,
        c.num_attention_heads,
        h,
        c.vocab_size,
        c.max_position_embeddings as usize,
    );
    let scale = 1.0 / ((h / c.num_attention_heads) as f64).sqrt();
    Ok(Built {
        arch: Box::new(Albert {
            emb,
            mapping_in,
            groups,
            num_hidden_layers: c.num_hidden_layers as usize,
            head,
            heads: c.num_attention_heads,
            scale,
            act: c.act,
        }),
        info,
    })
}
