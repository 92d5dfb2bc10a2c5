//! ELECTRA: BERT encoder layers with embeddings of `embedding_size` projected to the hidden size
//! (`electra.embeddings_project`), and the generator's masked-LM head
//! (`generator_predictions.{dense,LayerNorm}`, `generator_lm_head`). A discriminator checkpoint
//! (no generator head) loads as an encoder.

use super::bert::{load_layers, Bert, BertConfig, Embeddings, MlmHead};
use crate::analysis::ModelInfo;
use crate::error::Result;
use crate::layers::Activation;
use crate::models::arch::{Built, LoadContext};
use crate::weights::{LayerNorm, Linear, Weights};
use serde_json::Value;

pub(crate) fn load(cfg: &Value, w: &Weights, _ctx: &LoadContext) -> Result<Built> {
    let c = BertConfig::from_json(cfg)?;
    let p = w
        .find_prefix(&["electra.", ""], "embeddings.word_embeddings.weight")
        .unwrap_or_else(|| "electra.".to_string());
    let vb = w.vb(&p);
    let (h, e) = (c.hidden_size, c.embedding_size);
    let mut emb = Embeddings::load(&vb.pp("embeddings"), &c)?;
    if e != h {
        emb.project = Some(Linear::load(&vb.pp("embeddings_project"), e, h)?);
    }
    let layers = load_layers(&vb, &c)?;
    let (pred, lm) = (w.vb("generator_predictions"), w.vb("generator_lm_head"));
    let head = if pred.pp("dense").contains("weight") {
        let decoder = lm
            .get_opt("weight", &[c.vocab_size, e])?
            .unwrap_or_else(|| emb.word.shallow_clone());
        Some(MlmHead {
            dense: Linear::load(&pred.pp("dense"), h, e)?,
            act: Activation::Gelu,
            ln: LayerNorm::load(&pred.pp("LayerNorm"), e, c.layer_norm_eps)?,
            decoder,
            bias: lm.get("bias", &[c.vocab_size])?,
        })
    } else {
        None
    };
    let info = ModelInfo::encoder(
        "electra",
        head.is_some(),
        c.num_hidden_layers,
        c.num_attention_heads,
        h,
        c.vocab_size,
        c.max_position_embeddings as usize,
    );
    Ok(Built {
        arch: Box::new(Bert::new(emb, layers, head)),
        info,
    })
}
