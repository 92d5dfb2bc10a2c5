//! Llama family decoders: Llama 1-3, SmolLM2, Mistral (sliding window), Qwen2 (q/k/v biases), Qwen3 (per-head
//! q/k RMSNorm).
//!
//! RMSNorm, rotary position embeddings (default, linear, dynamic NTK, llama3, yarn), grouped-query
//! attention through the shared [`attention::attention`], SwiGLU MLP, optionally tied embeddings.
//! Weights are named as in Hugging Face checkpoints (`model.layers.N.self_attn.q_proj.weight`); GGUF
//! files (`blk.N.attn_q.weight`) are renamed to those names by [`load_gguf`], which also undoes
//! llama.cpp's Q/K row permutation for `llama`-architecture files.

use serde_json::{json, Value};

use crate::layers::{
    apply_rope, read_config, require_positive, rope_params, Activation, RmsNorm, Rope,
};
use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use crate::analysis::ModelInfo;
use crate::analysis::ModelKind;
use crate::attention::{self, split_heads};
use crate::error::{EngineError, Result};
use crate::gguf::hparams::GgufHparams;
use crate::gguf::names;
use crate::gguf::reader::GgufFile;
use crate::models::arch::{
    Architecture, Batch, Built, Capture, ForwardOut, LoadContext, TensorInterventions,
};
use crate::weights::{Linear, Vb, Weights};

// ---------------------------------------------------------------- model

/// Self-attention: q/k/v projections (optional biases: Qwen2), optional per-head q/k RMSNorm
/// (Qwen3), RoPE, grouped-query attention through [`attention::attention`], output projection.
struct Attention {
    /// Qwen3: RMSNorm of each query / key head before RoPE.
    qk_norm: Option<(RmsNorm, RmsNorm)>,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    n_heads: i64,
    n_kv_heads: i64,
    sliding_window: Option<usize>,
}

impl Attention {
    /// `vb` is e.g. `model.layers.3.self_attn`.
    fn load(vb: &Vb, c: &LlamaConfig, sliding_window: Option<usize>) -> Result<Self> {
        let (hidden, head_dim, eps) = (c.hidden_size, c.head_dim(), c.rms_norm_eps);
        let (n_heads, n_kv_heads) = (c.num_attention_heads, c.kv_heads());
        let qd = n_heads * head_dim;
        let kvd = n_kv_heads * head_dim;
        Ok(Attention {
            qk_norm: if vb.pp("q_norm").contains("weight") {
                Some((
                    RmsNorm::load(&vb.pp("q_norm"), head_dim, eps, false)?,
                    RmsNorm::load(&vb.pp("k_norm"), head_dim, eps, false)?,
                ))
            } else {
                None
            },
            q: Linear::load_opt_bias(&vb.pp("q_proj"), hidden, qd)?,
            k: Linear::load_opt_bias(&vb.pp("k_proj"), hidden, kvd)?,
            v: Linear::load_opt_bias(&vb.pp("v_proj"), hidden, kvd)?,
            o: Linear::load_opt_bias(&vb.pp("o_proj"), qd, hidden)?,
            n_heads,
            n_kv_heads,
            sliding_window,
        })
    }

    /// Normed input `h` [T', hidden] → (the projected context [T', hidden], the layer's record).
    fn forward(
        &self,
        h: &Tensor,
        (cos, sin): (&Tensor, &Tensor),
        mut spec: attention::AttentionSpec<'_>,
    ) -> Result<(Tensor, attention::LayerAttention)> {
        let mut q = split_heads(&self.q.forward(h), self.n_heads);
        let mut k = split_heads(&self.k.forward(h), self.n_kv_heads);
        if let Some((qn, kn)) = &self.qk_norm {
            q = qn.forward(&q);
            k = kn.forward(&k);
        }
        let q = apply_rope(&q, cos, sin);
        let k = apply_rope(&k, cos, sin);
        let v = split_heads(&self.v.forward(h), self.n_kv_heads);
        spec.causal = true;
        spec.sliding_window = self.sliding_window;
        let out = attention::attention(&q, &k, &v, &spec)?;
        Ok((self.o.forward(&out.context), out.record))
    }
}

/// SwiGLU MLP: down(act(gate(h)) * up(h)).
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
    act: Activation,
}

impl Mlp {
    /// `vb` is e.g. `model.layers.3.mlp`.
    fn load(vb: &Vb, c: &LlamaConfig, act: Activation) -> Result<Self> {
        let (hidden, inter) = (c.hidden_size, c.intermediate_size);
        Ok(Mlp {
            gate: Linear::load_opt_bias(&vb.pp("gate_proj"), hidden, inter)?,
            up: Linear::load_opt_bias(&vb.pp("up_proj"), hidden, inter)?,
            down: Linear::load_opt_bias(&vb.pp("down_proj"), inter, hidden)?,
            act,
        })
    }

    fn forward(&self, h: &Tensor) -> Tensor {
        let g = self.act.forward(&self.gate.forward(h));
        self.down.forward(&(g * self.up.forward(h)))
    }
}

/// One pre-norm decoder layer: x + attn(norm(x)), then x + mlp(norm(x)).
struct Block {
    in_norm: RmsNorm,
    attn: Attention,
    post_norm: RmsNorm,
    mlp: Mlp,
}

impl Block {
    /// `vb` is e.g. `model.layers.3`.
    fn load(
        vb: &Vb,
        c: &LlamaConfig,
        act: Activation,
        sliding_window: Option<usize>,
    ) -> Result<Self> {
        let (hidden, eps) = (c.hidden_size, c.rms_norm_eps);
        Ok(Block {
            in_norm: RmsNorm::load(&vb.pp("input_layernorm"), hidden, eps, false)?,
            attn: Attention::load(&vb.pp("self_attn"), c, sliding_window)?,
            post_norm: RmsNorm::load(&vb.pp("post_attention_layernorm"), hidden, eps, false)?,
            mlp: Mlp::load(&vb.pp("mlp"), c, act)?,
        })
    }

    fn forward(
        &self,
        x: Tensor,
        rope: (&Tensor, &Tensor),
        spec: attention::AttentionSpec<'_>,
    ) -> Result<(Tensor, attention::LayerAttention)> {
        let (a, record) = self.attn.forward(&self.in_norm.forward(&x), rope, spec)?;
        let x = x + a;
        let h = self.post_norm.forward(&x);
        Ok((x + self.mlp.forward(&h), record))
    }
}

pub(crate) struct Llama {
    embed: Tensor,
    layers: Vec<Block>,
    norm: RmsNorm,
    lm_head: Tensor,
    rope: Rope,
    head_dim: i64,
    device: Device,
    kind: Kind,
}

/// What the engine reads of a Llama-family `config.json` (GGUF metadata is turned into the same).
/// RoPE parameters stay JSON: [`rope_params`] reads their several spellings.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LlamaConfig {
    #[serde(default = "LlamaConfig::default_model_type")]
    pub model_type: String,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    #[serde(default)]
    pub num_key_value_heads: Option<i64>,
    #[serde(default)]
    pub head_dim: Option<i64>,
    pub intermediate_size: i64,
    #[serde(default = "LlamaConfig::default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "LlamaConfig::default_max_positions")]
    pub max_position_embeddings: i64,
    #[serde(default = "LlamaConfig::default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub sliding_window: Option<i64>,
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    #[serde(default)]
    pub use_sliding_window: Option<bool>,
    #[serde(default)]
    pub max_window_layers: Option<i64>,
}

impl LlamaConfig {
    fn default_model_type() -> String {
        "llama".into()
    }
    fn default_eps() -> f64 {
        1e-6
    }
    fn default_max_positions() -> i64 {
        2048
    }
    fn default_act() -> String {
        "silu".into()
    }

    /// Reads and checks a config: every size must be positive.
    pub fn from_json(cfg: &Value) -> Result<Self> {
        let c: LlamaConfig = read_config(cfg, "Llama-family")?;
        require_positive(&[
            ("hidden_size", c.hidden_size),
            ("num_hidden_layers", c.num_hidden_layers),
            ("num_attention_heads", c.num_attention_heads),
            ("intermediate_size", c.intermediate_size),
        ])?;
        Ok(c)
    }

    pub fn kv_heads(&self) -> i64 {
        self.num_key_value_heads
            .filter(|&v| v > 0)
            .unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> i64 {
        self.head_dim
            .filter(|&v| v > 0)
            .unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    /// Which layers use a sliding window, from `layer_types` / `sliding_window` / `use_sliding_window`.
    pub fn sliding_windows(&self) -> Vec<Option<usize>> {
        let n_layers = self.num_hidden_layers as usize;
        let Some(w) = self.sliding_window.filter(|&w| w > 0).map(|w| w as usize) else {
            return vec![None; n_layers];
        };
        if let Some(types) = &self.layer_types {
            return (0..n_layers)
                .map(|i| {
                    (types.get(i).map(|t| t.as_str()) == Some("sliding_attention")).then_some(w)
                })
                .collect();
        }
        match self.model_type.as_str() {
            "qwen2" | "qwen3" => {
                if self.use_sliding_window.unwrap_or(false) {
                    let from = self.max_window_layers.unwrap_or(0).max(0) as usize;
                    (0..n_layers).map(|i| (i >= from).then_some(w)).collect()
                } else {
                    vec![None; n_layers]
                }
            }
            "llama" => vec![None; n_layers],
            _ => vec![Some(w); n_layers],
        }
    }
}

/// Builds a Llama-family model from an HF config and checkpoint-named weights.
pub(crate) fn load(cfg: &Value, w: &Weights, ctx: &LoadContext) -> Result<Built> {
    let c = LlamaConfig::from_json(cfg)?;
    let model_type = c.model_type.clone();
    let (hidden, n_layers, n_heads) = (c.hidden_size, c.num_hidden_layers, c.num_attention_heads);
    let (n_kv_heads, head_dim) = (c.kv_heads(), c.head_dim());
    let (eps, max_pos, act) = (
        c.rms_norm_eps,
        c.max_position_embeddings,
        c.hidden_act.clone(),
    );
    let act = Activation::parse(&act)?;
    if n_heads % n_kv_heads != 0 {
        return Err(EngineError::UnsupportedArchitecture(format!(
            "{n_heads} query heads cannot share {n_kv_heads} key/value heads"
        )));
    }
    let prefix = w
        .find_prefix(&["model.", ""], "embed_tokens.weight")
        .ok_or_else(|| EngineError::CorruptWeights {
            path: w.path.clone(),
            reason: "no 'model.embed_tokens.weight' tensor: this is not a Llama-family checkpoint"
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
    let windows = c.sliding_windows();
    let mut layers = Vec::with_capacity(n_layers as usize);
    for i in 0..n_layers {
        ctx.report(
            "building",
            &format!("layer {}/{}", i + 1, n_layers),
            0.7 + 0.2 * i as f32 / n_layers as f32,
        );
        let layer = vb.pp("layers").pp(i);
        layers.push(Block::load(&layer, &c, act, windows[i as usize])?);
    }
    let norm = RmsNorm::load(&vb.pp("norm"), hidden, eps, false)?;
    let root = w.vb("");
    let lm_head = match root.pp("lm_head").get_opt("weight", &[vocab, hidden])? {
        Some(t) => t,
        None => embed.shallow_clone(),
    };
    let mut rope = Rope::from_params(&rope_params(cfg, 10000.0), head_dim, max_pos)?;
    if let Some(f) = root.pp("rope_freqs").get_opt("weight", &[head_dim / 2])? {
        rope = rope.with_freq_factors(&f);
    }
    let info = ModelInfo::arch(
        &model_type,
        ModelKind::CausalLm,
        n_layers as usize,
        n_heads as usize,
        n_kv_heads as usize,
        hidden as usize,
        vocab as usize,
        max_pos as usize,
    );
    let model = Llama {
        embed,
        layers,
        norm,
        lm_head,
        rope,
        head_dim,
        device: ctx.device,
        kind: ctx.kind,
    };
    Ok(Built {
        arch: Box::new(model),
        info,
    })
}

impl Architecture for Llama {
    fn forward(&self, batch: &Batch, iv: &TensorInterventions) -> Result<ForwardOut> {
        let t = batch.len() as i64;
        let start = iv.start() as i64;
        let ids = batch.ids_tensor(self.device).narrow(0, start, t - start);
        let mut x = self.embed.index_select(0, &ids);
        let (cos, sin) = self.rope.cos_sin(t, self.device, self.kind);
        let (cos, sin) = (
            cos.narrow(0, start, t - start),
            sin.narrow(0, start, t - start),
        );
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let mut cap = Capture::new(iv, &x, self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let (y, record) = layer.forward(x, (&cos, &sin), iv.spec(l, scale))?;
            x = y;
            cap.layer(record, &x);
        }
        Ok(cap.finish_after_norm(self.norm.forward(&x)))
    }

    fn logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(x.linear::<Tensor>(&self.lm_head, None)))
    }

    fn reuses_prefix(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------- GGUF

/// Undo llama.cpp's interleaving of Q/K rows (HF rotate-half layout back from GGML's pairwise layout).
pub(crate) fn reverse_permute(t: &Tensor, n_head: i64) -> Tensor {
    let shape = t.size();
    let rows = shape[0];
    let dim = rows / n_head / 2;
    let mut s = vec![n_head, dim, 2];
    s.extend_from_slice(&shape[1..]);
    t.reshape(s.as_slice())
        .swapaxes(1, 2)
        .reshape(shape.as_slice())
}

/// Loads a `llama` / `qwen2` / `qwen3` / `mistral` GGUF by renaming its tensors to checkpoint names and
/// writing an HF-style config from its metadata.
pub(crate) fn load_gguf(g: &GgufFile, ctx: &LoadContext) -> Result<Built> {
    let hp = GgufHparams::read(g, "llama")?;
    let key = |k: &str| hp.key(k);
    let arch = hp.arch.clone();
    let (n_layers, hidden, n_heads, n_kv) = hp.sizes();
    let head_dim = hp
        .key_length
        .map(|v| v as i64)
        .unwrap_or(hidden / n_heads.max(1));
    let inter = g.require_u64(&key("feed_forward_length"))? as i64;
    let eps = g
        .get_f64(&key("attention.layer_norm_rms_epsilon"))
        .unwrap_or(1e-5);
    let theta = g.get_f64(&key("rope.freq_base")).unwrap_or(10000.0);
    let ctx_len = g.get_u64(&key("context_length")).unwrap_or(2048) as i64;
    let mut rope = json!({"rope_type": "default", "rope_theta": theta});
    match g.get_str(&key("rope.scaling.type")) {
        None | Some("none") => {}
        Some(ty @ ("linear" | "yarn")) => {
            let f = g.get_f64(&key("rope.scaling.factor")).unwrap_or(1.0);
            rope["rope_type"] = json!(ty);
            rope["factor"] = json!(f);
            if let Some(o) = g.get_u64(&key("rope.scaling.original_context_length")) {
                rope["original_max_position_embeddings"] = json!(o);
            }
        }
        Some(other) => {
            return Err(EngineError::UnsupportedArchitecture(format!(
                "GGUF rope scaling '{other}'"
            )))
        }
    }
    let mut cfg = json!({
        "model_type": arch, "hidden_size": hidden, "num_hidden_layers": n_layers, "num_attention_heads": n_heads,
        "num_key_value_heads": n_kv, "head_dim": head_dim, "intermediate_size": inter, "rms_norm_eps": eps,
        "max_position_embeddings": ctx_len, "hidden_act": "silu", "rope_parameters": rope,
    });
    if let Some(w) = g.get_u64(&key("attention.sliding_window")) {
        cfg["sliding_window"] = json!(w);
    }
    // llama.cpp permutes Q/K rows for the llama architecture (GGML's rope pairs adjacent values).
    let permuted = arch == "llama" || arch == "mistral";
    let report = |m: &str, f: f32| ctx.report("weights", m, f);
    let w = Weights::from_gguf(
        g,
        &names::LLAMA,
        ctx.device,
        ctx.kind,
        &report,
        |name, base, t| {
            if !permuted || (base != "attn_q" && base != "attn_k") {
                return Ok(t);
            }
            let heads = if base == "attn_q" { n_heads } else { n_kv };
            let rows = t.size().first().copied().unwrap_or(0);
            if heads <= 0 || rows % (2 * heads) != 0 {
                return Err(g.corrupt(format!(
                    "tensor '{name}' has {rows} rows, which do not split into {heads} rotary heads"
                )));
            }
            Ok(reverse_permute(&t, heads))
        },
    )?;
    load(&cfg, &w, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_read_with_defaults_nulls_and_windows() {
        let c = LlamaConfig::from_json(&json!({
            "model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
            "num_key_value_heads": null, "intermediate_size": 128, "sliding_window": 3, "use_sliding_window": true, "max_window_layers": 2,
        }))
        .unwrap();
        assert_eq!(
            (
                c.kv_heads(),
                c.head_dim(),
                c.hidden_act.as_str(),
                c.max_position_embeddings
            ),
            (4, 16, "silu", 2048)
        );
        assert_eq!(c.sliding_windows(), vec![None, None, Some(3), Some(3)]);
        let typed = LlamaConfig::from_json(&json!({
            "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
            "sliding_window": 5, "layer_types": ["sliding_attention", "full_attention"],
        }))
        .unwrap();
        assert_eq!(typed.sliding_windows(), vec![Some(5), None]);
        let missing = LlamaConfig::from_json(&json!({"num_hidden_layers": 2}))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("hidden_size"), "{missing}");
        let zero = LlamaConfig::from_json(
            &json!({"hidden_size": 0, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 8}),
        );
        assert!(zero.unwrap_err().to_string().contains("'hidden_size'"));
    }
}
