//! GPT-2: learned positions, pre-LayerNorm blocks, fused `c_attn` projection. Checkpoints store the
//! projections as `Conv1D` weights [in, out]; they are transposed to PyTorch's [out, in] at load.

use serde_json::Value;
use tch::{Device, Kind, Tensor};

use crate::analysis::ModelInfo;
use crate::analysis::ModelKind;
use crate::attention::{self, split_heads};
use crate::error::{EngineError, Result};
use crate::gguf::hparams::GgufHparams;
use crate::gguf::names;
use crate::gguf::reader::GgufFile;
use crate::layers::{read_config, require_positive, Activation};
use crate::models::arch::{
    Architecture, Batch, Built, Capture, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{LayerNorm, Linear, Vb, Weights};
use serde::Deserialize;

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

pub(crate) struct Gpt2 {
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Tensor,
    n_heads: i64,
    hidden: i64,
    act: Activation,
    scale_weights: bool,
    inverse_layer_idx: bool,
    device: Device,
}

/// A Conv1D layer ([in, out] weight) under `vb` as a Linear ([out, in]).
fn conv1d(vb: &Vb, in_dim: i64, out_dim: i64) -> Result<Linear> {
    let weight = vb
        .get("weight", &[in_dim, out_dim])?
        .transpose(0, 1)
        .contiguous();
    let bias = vb.get_opt("bias", &[out_dim])?;
    Ok(Linear { weight, bias })
}

/// What the engine reads of a GPT-2 `config.json` (GGUF metadata is turned into the same).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Gpt2Config {
    #[serde(alias = "hidden_size")]
    pub n_embd: i64,
    #[serde(alias = "num_hidden_layers")]
    pub n_layer: i64,
    #[serde(alias = "num_attention_heads")]
    pub n_head: i64,
    #[serde(default)]
    pub n_inner: Option<i64>,
    #[serde(default = "Gpt2Config::default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "Gpt2Config::default_act")]
    pub activation_function: String,
    #[serde(default = "Gpt2Config::yes")]
    pub scale_attn_weights: bool,
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
}

impl Gpt2Config {
    fn default_eps() -> f64 {
        1e-5
    }
    fn default_act() -> String {
        "gelu_new".into()
    }
    fn yes() -> bool {
        true
    }

    pub fn from_json(cfg: &Value) -> Result<Self> {
        let c: Gpt2Config = read_config(cfg, "GPT-2")?;
        require_positive(&[
            ("n_embd", c.n_embd),
            ("n_layer", c.n_layer),
            ("n_head", c.n_head),
        ])?;
        Ok(c)
    }
}

pub(crate) fn load(cfg: &Value, w: &Weights, ctx: &LoadContext) -> Result<Built> {
    let c = Gpt2Config::from_json(cfg)?;
    let (hidden, n_layers, n_heads) = (c.n_embd, c.n_layer, c.n_head);
    let inner = c.n_inner.filter(|&v| v > 0).unwrap_or(4 * hidden);
    let (eps, act) = (c.layer_norm_epsilon, c.activation_function.clone());
    let act = Activation::parse(&act)?;
    if hidden % n_heads != 0 {
        return Err(EngineError::UnsupportedArchitecture(format!(
            "hidden size {hidden} is not a multiple of {n_heads} heads"
        )));
    }
    let prefix = w
        .find_prefix(&["transformer.", ""], "wte.weight")
        .ok_or_else(|| EngineError::CorruptWeights {
            path: w.path.clone(),
            reason: "no 'transformer.wte.weight' tensor: this is not a GPT-2 checkpoint".into(),
        })?;
    let vb = w.vb(&prefix);
    let wte = vb.pp("wte").get_unchecked("weight")?;
    let vocab = wte.size()[0];
    let wpe = vb.pp("wpe").get_unchecked("weight")?;
    let max_pos = wpe.size()[0];
    if wte.size() != [vocab, hidden] || wpe.size() != [max_pos, hidden] {
        return Err(EngineError::CorruptWeights {
            path: w.path.clone(),
            reason: "wte/wpe shapes do not match n_embd".into(),
        });
    }
    let mut blocks = Vec::with_capacity(n_layers as usize);
    for i in 0..n_layers {
        let b = vb.pp("h").pp(i);
        let (attn, mlp) = (b.pp("attn"), b.pp("mlp"));
        blocks.push(Block {
            ln_1: LayerNorm::load(&b.pp("ln_1"), hidden, eps)?,
            c_attn: conv1d(&attn.pp("c_attn"), hidden, 3 * hidden)?,
            c_proj: conv1d(&attn.pp("c_proj"), hidden, hidden)?,
            ln_2: LayerNorm::load(&b.pp("ln_2"), hidden, eps)?,
            c_fc: conv1d(&mlp.pp("c_fc"), hidden, inner)?,
            mlp_proj: conv1d(&mlp.pp("c_proj"), inner, hidden)?,
        });
    }
    let ln_f = LayerNorm::load(&vb.pp("ln_f"), hidden, eps)?;
    let lm_head = w
        .vb("lm_head")
        .get_opt("weight", &[vocab, hidden])?
        .unwrap_or_else(|| wte.shallow_clone());
    let info = ModelInfo::arch(
        "gpt2",
        ModelKind::CausalLm,
        n_layers as usize,
        n_heads as usize,
        n_heads as usize,
        hidden as usize,
        vocab as usize,
        max_pos as usize,
    );
    let model = Gpt2 {
        wte,
        wpe,
        blocks,
        ln_f,
        lm_head,
        n_heads,
        hidden,
        act,
        scale_weights: c.scale_attn_weights,
        inverse_layer_idx: c.scale_attn_by_inverse_layer_idx,
        device: ctx.device,
    };
    Ok(Built {
        arch: Box::new(model),
        info,
    })
}

impl Architecture for Gpt2 {
    fn forward(&self, batch: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let t = batch.len() as i64;
        let start = iv.start() as i64;
        let ids = batch.ids_tensor(self.device).narrow(0, start, t - start);
        let pos = Tensor::arange_start(start, t, (Kind::Int64, self.device));
        let mut x = self.wte.index_select(0, &ids) + self.wpe.index_select(0, &pos);
        let head_dim = self.hidden / self.n_heads;
        let mut cap = Capture::new(iv, &x, self.blocks.len());
        for (l, b) in self.blocks.iter().enumerate() {
            let h = b.ln_1.forward(&x);
            let qkv = b.c_attn.forward(&h);
            let parts = qkv.split(self.hidden, -1);
            let (q, k, v) = (
                split_heads(&parts[0], self.n_heads),
                split_heads(&parts[1], self.n_heads),
                split_heads(&parts[2], self.n_heads),
            );
            let mut scale = if self.scale_weights {
                1.0 / (head_dim as f64).sqrt()
            } else {
                1.0
            };
            if self.inverse_layer_idx {
                scale /= (l + 1) as f64;
            }
            let mut spec = iv.spec(l, scale);
            spec.causal = true;
            let out = attention::attention(&q, &k, &v, &spec)?;
            x = x + b.c_proj.forward(&out.context);
            let h = b.ln_2.forward(&x);
            x = x + b.mlp_proj.forward(&self.act.forward(&b.c_fc.forward(&h)));
            cap.layer(out.record, &x);
        }
        Ok(cap.finish_after_norm(self.ln_f.forward(&x)))
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(x.linear::<Tensor>(&self.lm_head, None)))
    }

    fn reuses_prefix(&self) -> bool {
        true
    }
}

/// Loads a `gpt2` GGUF: llama.cpp stores the projections as [out, in] matrices, which go back to the
/// checkpoints' Conv1D layout [in, out] so the HF loader above builds the model.
pub(crate) fn load_gguf(g: &GgufFile, ctx: &LoadContext) -> Result<Built> {
    let hp = GgufHparams::read(g, "gpt2")?;
    let key = |k: &str| hp.key(k);
    let cfg = serde_json::json!({
        "model_type": "gpt2",
        "n_layer": hp.n_layers,
        "n_embd": hp.hidden,
        "n_head": hp.n_heads,
        "n_inner": g.get_u64(&key("feed_forward_length")),
        "layer_norm_epsilon": g.get_f64(&key("attention.layer_norm_epsilon")).unwrap_or(1e-5),
        "activation_function": "gelu_new",
    });
    // llama.cpp stores the projections as [out, in] matrices; the checkpoints' Conv1D layout is [in, out].
    let report = |m: &str, f: f32| ctx.report("weights", m, f);
    let w = Weights::from_gguf(
        g,
        &names::GPT2,
        ctx.device,
        ctx.kind,
        &report,
        |name, base, t| {
            let conv = matches!(base, "attn_qkv" | "attn_output" | "ffn_up" | "ffn_down")
                && name.ends_with(".weight");
            Ok(if conv {
                t.transpose(0, 1).contiguous()
            } else {
                t
            })
        },
    )?;
    load(&cfg, &w, ctx)
}
