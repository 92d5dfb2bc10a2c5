//! Gemma decoders: Gemma 3 text (`gemma3_text`, and the language model inside `gemma3` checkpoints), and with
//! the same code Gemma 2 (`gemma2`: no q/k norm, one RoPE base, soft-capping, alternate sliding layers) and
//! Gemma 1 (`gemma`: no post norms, no sliding window; `post_attention_layernorm` is the pre-MLP norm).
//!
//! Differences from Llama: embeddings scaled by sqrt(hidden); (1 + w) RMSNorm, also on q and k per head;
//! norms after attention and around the MLP; GeGLU (tanh GELU) MLP; attention scale
//! `query_pre_attn_scalar^-0.5`; sliding-window and global layers (`layer_types`, or legacy
//! `sliding_window_pattern`) with separate RoPE bases (`rope_local_base_freq` for local layers);
//! optional attention and final logit soft-capping.

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use crate::analysis::ModelInfo;
use crate::analysis::ModelKind;
use crate::attention::{self, split_heads};
use crate::error::{EngineError, Result};
use crate::gguf::hparams::GgufHparams;
use crate::gguf::names;
use crate::gguf::reader::GgufFile;
use crate::layers::{
    apply_rope, read_config, require_positive, rope_params, Activation, RmsNorm, Rope,
};
use crate::models::arch::{
    Architecture, Batch, Built, Capture, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{Linear, Vb, Weights};
use serde::Deserialize;

struct Layer {
    in_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    post_attn_norm: Option<RmsNorm>,
    pre_ff_norm: RmsNorm,
    post_ff_norm: Option<RmsNorm>,
    gate: Linear,
    up: Linear,
    down: Linear,
    /// Sliding-window (local) layer: window size.
    sliding_window: Option<usize>,
}

pub(crate) struct Gemma3 {
    embed: Tensor,
    embed_scale: f64,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: Tensor,
    rope_global: Rope,
    rope_local: Rope,
    n_heads: i64,
    n_kv_heads: i64,
    scale: f64,
    act: Activation,
    attn_softcap: Option<f64>,
    final_softcap: Option<f64>,
    device: Device,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    Gemma1,
    Gemma2,
    Gemma3,
}

/// What the engine reads of a Gemma 1/2/3 text `config.json` (GGUF metadata is turned into the
/// same). RoPE parameters stay JSON: they come in several spellings.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GemmaConfig {
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    #[serde(default)]
    pub num_key_value_heads: Option<i64>,
    #[serde(default)]
    pub head_dim: Option<i64>,
    pub intermediate_size: i64,
    #[serde(default)]
    pub rms_norm_eps: Option<f64>,
    #[serde(default)]
    pub max_position_embeddings: Option<i64>,
    #[serde(default)]
    pub hidden_activation: Option<String>,
    #[serde(default)]
    pub hidden_act: Option<String>,
    #[serde(default)]
    pub query_pre_attn_scalar: Option<f64>,
    #[serde(default)]
    pub sliding_window: Option<i64>,
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    #[serde(default)]
    pub sliding_window_pattern: Option<i64>,
    #[serde(default, rename = "_sliding_window_pattern")]
    pub sliding_window_pattern_old: Option<i64>,
    #[serde(default)]
    pub rope_local_base_freq: Option<f64>,
    #[serde(default)]
    pub attn_logit_softcapping: Option<f64>,
    #[serde(default)]
    pub final_logit_softcapping: Option<f64>,
}

impl GemmaConfig {
    pub fn from_json(cfg: &Value) -> Result<Self> {
        let c: GemmaConfig = read_config(cfg, "Gemma")?;
        require_positive(&[
            ("hidden_size", c.hidden_size),
            ("num_hidden_layers", c.num_hidden_layers),
            ("num_attention_heads", c.num_attention_heads),
            ("intermediate_size", c.intermediate_size),
        ])?;
        Ok(c)
    }
}

pub(crate) fn load(cfg_in: &Value, w: &Weights, ctx: &LoadContext) -> Result<Built> {
    // A full `gemma3` (multimodal) config keeps the text model under `text_config`.
    let cfg = cfg_in
        .get("text_config")
        .filter(|c| c.is_object())
        .unwrap_or(cfg_in);
    let (version, arch_name) = match cfg_in
        .get("model_type")
        .and_then(|m| m.as_str())
        .unwrap_or("gemma3_text")
    {
        "gemma" => (Version::Gemma1, "gemma"),
        "gemma2" => (Version::Gemma2, "gemma2"),
        _ => (Version::Gemma3, "gemma3_text"),
    };
    let c = GemmaConfig::from_json(cfg)?;
    let (hidden, n_layers, n_heads, inter) = (
        c.hidden_size,
        c.num_hidden_layers,
        c.num_attention_heads,
        c.intermediate_size,
    );
    let n_kv_heads = c.num_key_value_heads.filter(|&v| v > 0).unwrap_or(n_heads);
    let head_dim = c.head_dim.filter(|&v| v > 0).unwrap_or(256);
    let eps = c.rms_norm_eps.unwrap_or(1e-6);
    let max_pos = c.max_position_embeddings.unwrap_or(131072);
    let act = c
        .hidden_activation
        .clone()
        .or_else(|| c.hidden_act.clone())
        .unwrap_or_else(|| "gelu_pytorch_tanh".into());
    let act = Activation::parse(&act)?;
    let qpas = c.query_pre_attn_scalar.unwrap_or(head_dim as f64);
    let window = c.sliding_window.filter(|&w| w > 0).map(|w| w as usize);
    let types: Vec<bool> = match (version, &c.layer_types) {
        (Version::Gemma1, _) => vec![false; n_layers as usize],
        (_, Some(t)) => (0..n_layers as usize)
            .map(|i| t.get(i).map(|x| x.as_str()) == Some("sliding_attention"))
            .collect(),
        (Version::Gemma2, None) => (0..n_layers).map(|i| i % 2 == 0).collect(),
        (_, None) => {
            let pattern = c
                .sliding_window_pattern
                .or(c.sliding_window_pattern_old)
                .unwrap_or(6)
                .max(1);
            (0..n_layers).map(|i| (i + 1) % pattern != 0).collect()
        }
    };
    // RoPE: transformers 5 keeps one parameter set per layer type; older configs have
    // rope_theta (+ rope_scaling) for global layers and rope_local_base_freq for local ones.
    let (global_p, local_p) = match cfg.get("rope_parameters") {
        _ if version != Version::Gemma3 => (rope_params(cfg, 10_000.0), rope_params(cfg, 10_000.0)),
        Some(p) if p.get("full_attention").is_some() || p.get("sliding_attention").is_some() => (
            p.get("full_attention")
                .cloned()
                .unwrap_or_else(|| json!({"rope_theta": 1_000_000.0})),
            p.get("sliding_attention")
                .cloned()
                .unwrap_or_else(|| json!({"rope_theta": 10_000.0})),
        ),
        _ => (
            rope_params(cfg, 1_000_000.0),
            json!({"rope_type": "default", "rope_theta": c.rope_local_base_freq.unwrap_or(10_000.0)}),
        ),
    };
    let rope_global = Rope::from_params(&global_p, head_dim, max_pos)?;
    let rope_local = Rope::from_params(&local_p, head_dim, max_pos)?;

    let prefix = w
        .find_prefix(
            &[
                "model.",
                "model.language_model.",
                "language_model.model.",
                "",
            ],
            "embed_tokens.weight",
        )
        .ok_or_else(|| EngineError::CorruptWeights {
            path: w.path.clone(),
            reason: "no 'model.embed_tokens.weight' tensor: this is not a Gemma 3 checkpoint"
                .into(),
        })?;
    let vb = w.vb(&prefix);
    let embed = vb.pp("embed_tokens").get_unchecked("weight")?;
    let vocab = embed.size()[0];
    if embed.size() != [vocab, hidden] {
        return Err(EngineError::CorruptWeights {
            path: w.path.clone(),
            reason: format!("embed_tokens has shape {:?}", embed.size()),
        });
    }
    let (gemma1, gemma3) = (version == Version::Gemma1, version == Version::Gemma3);
    // Gemma 1 has one norm between attention and MLP, named post_attention_layernorm.
    let pre_ff = if gemma1 {
        "post_attention_layernorm"
    } else {
        "pre_feedforward_layernorm"
    };
    let mut layers = Vec::with_capacity(n_layers as usize);
    for i in 0..n_layers {
        let p = vb.pp("layers").pp(i);
        let (attn, mlp) = (p.pp("self_attn"), p.pp("mlp"));
        let qd = n_heads * head_dim;
        let kvd = n_kv_heads * head_dim;
        let sliding = types[i as usize];
        if sliding && window.is_none() {
            return Err(EngineError::UnsupportedArchitecture(
                "Gemma 3 sliding layers without a 'sliding_window'".into(),
            ));
        }
        layers.push(Layer {
            in_norm: RmsNorm::load(&p.pp("input_layernorm"), hidden, eps, true)?,
            q: Linear::load_opt_bias(&attn.pp("q_proj"), hidden, qd)?,
            k: Linear::load_opt_bias(&attn.pp("k_proj"), hidden, kvd)?,
            v: Linear::load_opt_bias(&attn.pp("v_proj"), hidden, kvd)?,
            o: Linear::load_opt_bias(&attn.pp("o_proj"), qd, hidden)?,
            q_norm: opt_norm(&attn.pp("q_norm"), head_dim, eps, gemma3)?,
            k_norm: opt_norm(&attn.pp("k_norm"), head_dim, eps, gemma3)?,
            post_attn_norm: opt_norm(&p.pp("post_attention_layernorm"), hidden, eps, !gemma1)?,
            pre_ff_norm: RmsNorm::load(&p.pp(pre_ff), hidden, eps, true)?,
            post_ff_norm: opt_norm(&p.pp("post_feedforward_layernorm"), hidden, eps, !gemma1)?,
            gate: Linear::load_opt_bias(&mlp.pp("gate_proj"), hidden, inter)?,
            up: Linear::load_opt_bias(&mlp.pp("up_proj"), hidden, inter)?,
            down: Linear::load_opt_bias(&mlp.pp("down_proj"), inter, hidden)?,
            sliding_window: if sliding { window } else { None },
        });
    }
    let norm = RmsNorm::load(&vb.pp("norm"), hidden, eps, true)?;
    let lm_head = w
        .vb("lm_head")
        .get_opt("weight", &[vocab, hidden])?
        .unwrap_or_else(|| embed.shallow_clone());
    let info = ModelInfo::arch(
        arch_name,
        ModelKind::CausalLm,
        n_layers as usize,
        n_heads as usize,
        n_kv_heads as usize,
        hidden as usize,
        vocab as usize,
        max_pos as usize,
    );
    let model = Gemma3 {
        embed,
        embed_scale: (hidden as f64).sqrt(),
        layers,
        norm,
        lm_head,
        rope_global,
        rope_local,
        n_heads,
        n_kv_heads,
        scale: qpas.powf(-0.5),
        act,
        attn_softcap: c.attn_logit_softcapping.filter(|&c| c > 0.0),
        final_softcap: c.final_logit_softcapping.filter(|&c| c > 0.0),
        device: ctx.device,
        kind: ctx.kind,
    };
    Ok(Built {
        arch: Box::new(model),
        info,
    })
}

/// A (1 + w) RMSNorm under `vb` this Gemma version has (`want`), or none.
fn opt_norm(vb: &Vb, dim: i64, eps: f64, want: bool) -> Result<Option<RmsNorm>> {
    if want {
        RmsNorm::load(vb, dim, eps, true).map(Some)
    } else {
        Ok(None)
    }
}

impl Architecture for Gemma3 {
    fn forward(&self, batch: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let t = batch.len() as i64;
        let start = iv.start() as i64;
        let ids = batch.ids_tensor(self.device).narrow(0, start, t - start);
        // HF multiplies by the scale held as a tensor of the embedding dtype.
        let scale = Tensor::from(self.embed_scale as f32)
            .to_kind(self.kind)
            .to_device(self.device);
        let mut x = self.embed.index_select(0, &ids) * scale;
        let rows = |(c, s): (Tensor, Tensor)| {
            (c.narrow(0, start, t - start), s.narrow(0, start, t - start))
        };
        let (gcos, gsin) = rows(self.rope_global.cos_sin(t, self.device, self.kind));
        let (lcos, lsin) = rows(self.rope_local.cos_sin(t, self.device, self.kind));
        let mut cap = Capture::new(iv, &x, self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let (cos, sin) = if layer.sliding_window.is_some() {
                (&lcos, &lsin)
            } else {
                (&gcos, &gsin)
            };
            let h = layer.in_norm.forward(&x);
            let mut q = split_heads(&layer.q.forward(&h), self.n_heads);
            let mut k = split_heads(&layer.k.forward(&h), self.n_kv_heads);
            if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
                q = qn.forward(&q);
                k = kn.forward(&k);
            }
            let v = split_heads(&layer.v.forward(&h), self.n_kv_heads);
            let q = apply_rope(&q, cos, sin);
            let k = apply_rope(&k, cos, sin);
            let mut spec = iv.spec(l, self.scale);
            spec.causal = true;
            spec.sliding_window = layer.sliding_window;
            spec.softcap = self.attn_softcap;
            let out = attention::attention(&q, &k, &v, &spec)?;
            let a = layer.o.forward(&out.context);
            x = x + match &layer.post_attn_norm {
                Some(n) => n.forward(&a),
                None => a,
            };
            let h = layer.pre_ff_norm.forward(&x);
            let g = self.act.forward(&layer.gate.forward(&h));
            let m = layer.down.forward(&(g * layer.up.forward(&h)));
            x = x + match &layer.post_ff_norm {
                Some(n) => n.forward(&m),
                None => m,
            };
            cap.layer(out.record, &x);
        }
        Ok(cap.finish_after_norm(self.norm.forward(&x)))
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let logits = x.linear::<Tensor>(&self.lm_head, None);
        Ok(Some(match self.final_softcap {
            Some(cap) => (logits / cap).tanh() * cap,
            None => logits,
        }))
    }

    fn reuses_prefix(&self) -> bool {
        true
    }
}

/// Loads a `gemma3`, `gemma2` or `gemma` GGUF (llama.cpp layout: norms stored as 1 + w; Gemma 3: SWA on every
/// layer but each sixth, local RoPE base 10000; Gemma 2: SWA on even layers, soft-capping from the metadata;
/// attention scale from the head size, or hidden/heads for the 27B models (62 / 46 layers), as llama.cpp does).
pub(crate) fn load_gguf(g: &GgufFile, ctx: &LoadContext) -> Result<Built> {
    let hp = GgufHparams::read(g, "gemma3")?;
    let key = |k: &str| hp.key(k);
    let arch = hp.arch.clone();
    let (n_layers, hidden, n_heads, n_kv) = hp.sizes();
    let head_dim = hp.key_length.map(|v| v as i64).unwrap_or(256);
    let inter = g.require_u64(&key("feed_forward_length"))? as i64;
    let window = g.get_u64(&key("attention.sliding_window")).unwrap_or(4096);
    let mut global = json!({"rope_type": "default", "rope_theta": g.get_f64(&key("rope.freq_base")).unwrap_or(1_000_000.0)});
    match g.get_str(&key("rope.scaling.type")) {
        None | Some("none") => {}
        Some("linear") => {
            global["rope_type"] = json!("linear");
            global["factor"] = json!(g.get_f64(&key("rope.scaling.factor")).unwrap_or(1.0));
        }
        Some(other) => {
            return Err(EngineError::UnsupportedArchitecture(format!(
                "GGUF rope scaling '{other}' for Gemma"
            )))
        }
    }
    let layer_types: Vec<&str> = match (
        arch.as_str(),
        g.get(&key("attention.sliding_window_pattern"))
            .and_then(|v| v.as_array()),
    ) {
        ("gemma", _) => vec!["full_attention"; n_layers as usize],
        (_, Some(a)) => a
            .iter()
            .map(|v| {
                if v.as_bool().unwrap_or(true) {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
            .collect(),
        ("gemma2", None) => (0..n_layers)
            .map(|i| {
                if i % 2 == 0 {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
            .collect(),
        _ => (0..n_layers)
            .map(|i| {
                if (i + 1) % 6 != 0 {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
            .collect(),
    };
    let big = (arch == "gemma3" && n_layers == 62) || (arch == "gemma2" && n_layers == 46);
    let qpas = if big {
        (hidden / n_heads) as f64
    } else {
        head_dim as f64
    };
    let model_type = match arch.as_str() {
        "gemma" => "gemma",
        "gemma2" => "gemma2",
        _ => "gemma3_text",
    };
    let rope = if model_type == "gemma3_text" {
        json!({"full_attention": global, "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})
    } else {
        let mut r = global.clone();
        if g.get_f64(&key("rope.freq_base")).is_none() {
            r["rope_theta"] = json!(10000.0);
        }
        r
    };
    let cfg = json!({
        "model_type": model_type, "hidden_size": hidden, "num_hidden_layers": n_layers, "num_attention_heads": n_heads,
        "num_key_value_heads": n_kv, "head_dim": head_dim, "intermediate_size": inter,
        "rms_norm_eps": g.get_f64(&key("attention.layer_norm_rms_epsilon")).unwrap_or(1e-6),
        "max_position_embeddings": g.get_u64(&key("context_length")).unwrap_or(131072),
        "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": qpas, "sliding_window": window,
        "layer_types": layer_types,
        "rope_parameters": rope,
        "attn_logit_softcapping": g.get_f64(&key("attn_logit_softcapping")),
        "final_logit_softcapping": g.get_f64(&key("final_logit_softcapping")),
    });
    let table = if model_type == "gemma" {
        &names::GEMMA1
    } else {
        &names::GEMMA2
    };
    let report = |m: &str, f: f32| ctx.report("weights", m, f);
    let w = Weights::from_gguf(g, table, ctx.device, ctx.kind, &report, |name, _, t| {
        // llama.cpp stores Gemma's (1 + w) norm weights with the 1 added.
        Ok(if name.ends_with("norm.weight") {
            t - 1.0
        } else {
            t
        })
    })?;
    load(&cfg, &w, ctx)
}
