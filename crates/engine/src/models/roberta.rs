//! RoBERTa (and XLM-R / CamemBERT, same layout): BERT encoder layers, position ids offset by padding_idx + 1,
//! masked-LM head `lm_head.{dense,layer_norm,decoder,bias}` with exact GELU.

use super::bert::{load_layers, run_layers, BertConfig, Embeddings, MlmHead};
use crate::analysis::ModelInfo;
use crate::error::Result;
use crate::layers::Activation;
use crate::models::arch::{
    Architecture, Batch, Built, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{LayerNorm, Linear, Weights};
use serde_json::Value;
use tch::Tensor;

pub(crate) struct Roberta {
    emb: Embeddings,
    layers: Vec<super::bert::BertLayer>,
    head: Option<MlmHead>,
    pad: i64,
}

/// Position ids as fairseq makes them: non-padding tokens are numbered from pad+1, padding gets pad.
pub(crate) fn roberta_positions(ids: &[i64], pad: i64) -> Vec<i64> {
    let mut n = 0;
    ids.iter()
        .map(|&i| {
            if i == pad {
                pad
            } else {
                n += 1;
                pad + n
            }
        })
        .collect()
}

impl Architecture for Roberta {
    fn forward(&self, b: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let device = self.emb.word.device();
        let pos = Tensor::from_slice(&roberta_positions(&b.ids, self.pad)).to_device(device);
        let x = self.emb.forward(b, &pos);
        run_layers(&self.layers, x, iv)
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        self.head.as_ref().map(|h| h.forward(x)).transpose()
    }
}

pub(crate) fn load(cfg: &Value, w: &Weights, _ctx: &LoadContext) -> Result<Built> {
    let c = BertConfig::from_json(cfg)?;
    let arch = cfg
        .get("model_type")
        .and_then(|m| m.as_str())
        .unwrap_or("roberta")
        .to_string();
    let p = w
        .find_prefix(&["roberta.", ""], "embeddings.word_embeddings.weight")
        .unwrap_or_else(|| "roberta.".to_string());
    let vb = w.vb(&p);
    let emb = Embeddings::load(&vb.pp("embeddings"), &c)?;
    let layers = load_layers(&vb, &c)?;
    let h = c.hidden_size;
    let lm = w.vb("lm_head");
    let head = if lm.pp("dense").contains("weight") {
        let decoder = lm
            .pp("decoder")
            .get_opt("weight", &[c.vocab_size, h])?
            .unwrap_or_else(|| emb.word.shallow_clone());
        let bias = match lm.pp("decoder").get_opt("bias", &[c.vocab_size])? {
            Some(b) => b,
            None => lm.get("bias", &[c.vocab_size])?,
        };
        Some(MlmHead {
            dense: Linear::load(&lm.pp("dense"), h, h)?,
            act: Activation::Gelu,
            ln: LayerNorm::load(&lm.pp("layer_norm"), h, c.layer_norm_eps)?,
            decoder,
            bias,
        })
    } else {
        None
    };
    // The first pad+1 position rows are never used, so the usable length is shorter.
    let max_pos = (c.max_position_embeddings - c.pad_token_id - 1).max(0) as usize;
    let info = ModelInfo::encoder(
        &arch,
        head.is_some(),
        c.num_hidden_layers,
        c.num_attention_heads,
        h,
        c.vocab_size,
        max_pos,
    );
    Ok(Built {
        arch: Box::new(Roberta {
            emb,
            layers,
            head,
            pad: c.pad_token_id,
        }),
        info,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_skip_padding() {
        assert_eq!(
            super::roberta_positions(&[0, 5, 6, 2, 1, 1], 1),
            vec![2, 3, 4, 5, 1, 1]
        );
    }
}
