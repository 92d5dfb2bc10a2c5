//! Pieces several architectures share: activations, RMSNorm, and rotary position embeddings with their scaling
//! variants (default, linear, dynamic NTK, llama3, yarn), whose parameters come as JSON in several
//! spellings (each model's own config is a serde struct in its file).

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use crate::error::{EngineError, Result};
use crate::weights::Vb;

// ---------------------------------------------------------------- model configs

/// Reads a model's serde config out of `config.json`, naming the architecture in the error.
pub(crate) fn read_config<T: serde::de::DeserializeOwned>(cfg: &Value, what: &str) -> Result<T> {
    serde_json::from_value(cfg.clone()).map_err(|e| {
        EngineError::UnsupportedArchitecture(format!(
            "the model config cannot be read as a {what} config: {e}"
        ))
    })
}

/// Every named size must be positive.
pub(crate) fn require_positive(sizes: &[(&str, i64)]) -> Result<()> {
    match sizes.iter().find(|(_, v)| *v <= 0) {
        Some((key, _)) => Err(EngineError::UnsupportedArchitecture(format!(
            "the model config has no valid '{key}' (a positive integer is needed)"
        ))),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- values of RoPE parameter JSON

fn cfg_f(cfg: &Value, key: &str) -> Option<f64> {
    cfg.get(key).and_then(|v| v.as_f64())
}
fn cfg_b(cfg: &Value, key: &str) -> Option<bool> {
    cfg.get(key).and_then(|v| v.as_bool())
}
fn cfg_s<'a>(cfg: &'a Value, key: &str) -> Option<&'a str> {
    cfg.get(key).and_then(|v| v.as_str())
}

// ---------------------------------------------------------------- activations

/// An activation function, named as in HF configs: parsed (so checked) when a model loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `gelu`, `gelu_python`: exact GELU.
    Gelu,
    /// `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`, `gelu_approximate`: GELU's tanh approximation.
    GeluTanh,
    Relu,
    /// `silu`, `swish`.
    Silu,
    Tanh,
}

impl Activation {
    /// The activation a config names.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "gelu" | "gelu_python" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu_approximate" => {
                Activation::GeluTanh
            }
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            "tanh" => Activation::Tanh,
            other => {
                return Err(EngineError::UnsupportedArchitecture(format!(
                    "activation function '{other}'"
                )))
            }
        })
    }

    pub fn forward(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Gelu => x.gelu("none"),
            Activation::GeluTanh => x.gelu("tanh"),
            Activation::Relu => x.relu(),
            Activation::Silu => x.silu(),
            Activation::Tanh => x.tanh(),
        }
    }
}

// ---------------------------------------------------------------- RMSNorm

/// RMSNorm as in HF: computed in f32, `weight * x` (Llama) or `(1 + weight) * x` (Gemma).
pub(crate) struct RmsNorm {
    pub weight: Tensor,
    pub eps: f64,
    pub plus_one: bool,
}

impl RmsNorm {
    /// Loads `weight` (`[dim]`) under `vb`.
    pub fn load(vb: &Vb, dim: i64, eps: f64, plus_one: bool) -> Result<Self> {
        Ok(RmsNorm {
            weight: vb.get("weight", &[dim])?,
            eps,
            plus_one,
        })
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let kind = x.kind();
        let xf = x.to_kind(Kind::Float);
        let var = xf
            .pow_tensor_scalar(2)
            .mean_dim([-1i64].as_slice(), true, Kind::Float);
        let y = xf * (var + self.eps).rsqrt();
        if self.plus_one {
            (y * (self.weight.to_kind(Kind::Float) + 1.0)).to_kind(kind)
        } else {
            &self.weight * y.to_kind(kind)
        }
    }
}

// ---------------------------------------------------------------- RoPE

/// Rotary position embeddings (rotate-half convention, as in HF).
pub(crate) struct Rope {
    /// Inverse frequencies [dim/2] (f32, CPU).
    inv_freq: Tensor,
    dim: i64,
    /// Multiplies cos and sin (yarn).
    attention_factor: f64,
    /// Dynamic NTK: (base, factor, max_positions) to recompute frequencies for longer inputs.
    dynamic: Option<(f64, f64, i64)>,
}

fn base_inv_freq(base: f64, dim: i64) -> Tensor {
    // Same op order and dtype as HF so cos/sin agree to the last bit.
    let exps = Tensor::arange_start_step(0, dim, 2, (Kind::Int64, Device::Cpu))
        .to_kind(Kind::Float)
        / dim as f64;
    Tensor::pow_scalar(base, &exps).reciprocal()
}

impl Rope {
    /// From an HF `rope_parameters` dict (or legacy `rope_scaling` merged with `rope_theta`).
    pub fn from_params(p: &Value, head_dim: i64, max_positions: i64) -> Result<Rope> {
        let base = cfg_f(p, "rope_theta").unwrap_or(10000.0);
        let partial = cfg_f(p, "partial_rotary_factor").unwrap_or(1.0);
        if (partial - 1.0).abs() > 1e-9 {
            return Err(EngineError::UnsupportedArchitecture(format!(
                "partial rotary embeddings (partial_rotary_factor {partial})"
            )));
        }
        let dim = head_dim;
        let ty = cfg_s(p, "rope_type")
            .or_else(|| cfg_s(p, "type"))
            .unwrap_or("default");
        let factor = cfg_f(p, "factor");
        let need_factor = || {
            factor.ok_or_else(|| {
                EngineError::UnsupportedArchitecture(format!("rope type '{ty}' without a factor"))
            })
        };
        let inv = base_inv_freq(base, dim);
        let mut rope = Rope {
            inv_freq: inv.shallow_clone(),
            dim,
            attention_factor: 1.0,
            dynamic: None,
        };
        match ty {
            "default" => {}
            "linear" => rope.inv_freq = inv / need_factor()?,
            "dynamic" => rope.dynamic = Some((base, need_factor()?, max_positions)),
            "llama3" => {
                let factor = need_factor()?;
                let low = cfg_f(p, "low_freq_factor").unwrap_or(1.0);
                let high = cfg_f(p, "high_freq_factor").unwrap_or(4.0);
                let old = cfg_f(p, "original_max_position_embeddings").unwrap_or(8192.0);
                let low_wl = old / low;
                let high_wl = old / high;
                let wavelen = inv.reciprocal() * (2.0 * std::f64::consts::PI);
                let scaled = &inv / factor;
                let inv_l = scaled.where_self(&wavelen.gt(low_wl), &inv);
                let smooth = (wavelen.reciprocal() * old - low) / (high - low);
                let smoothed: Tensor = (smooth.neg() + 1.0) * &inv_l / factor + &smooth * &inv_l;
                let medium = wavelen
                    .lt(high_wl)
                    .logical_not()
                    .logical_and(&wavelen.gt(low_wl).logical_not());
                rope.inv_freq = smoothed.where_self(&medium, &inv_l);
            }
            "yarn" => {
                let factor = match factor {
                    Some(f) => f,
                    None => {
                        let orig = cfg_f(p, "original_max_position_embeddings")
                            .unwrap_or(max_positions as f64);
                        max_positions as f64 / orig
                    }
                };
                let orig =
                    cfg_f(p, "original_max_position_embeddings").unwrap_or(max_positions as f64);
                let get_mscale = |s: f64, m: f64| {
                    if s <= 1.0 {
                        1.0
                    } else {
                        0.1 * m * s.ln() + 1.0
                    }
                };
                let mscale = cfg_f(p, "mscale");
                let mscale_all = cfg_f(p, "mscale_all_dim");
                rope.attention_factor = match cfg_f(p, "attention_factor") {
                    Some(a) => a,
                    None => match (mscale, mscale_all) {
                        (Some(m), Some(ma)) if m != 0.0 && ma != 0.0 => {
                            get_mscale(factor, m) / get_mscale(factor, ma)
                        }
                        _ => get_mscale(factor, 1.0),
                    },
                };
                let beta_fast = cfg_f(p, "beta_fast").filter(|&b| b != 0.0).unwrap_or(32.0);
                let beta_slow = cfg_f(p, "beta_slow").filter(|&b| b != 0.0).unwrap_or(1.0);
                let truncate = cfg_b(p, "truncate").unwrap_or(true);
                let d = dim as f64;
                let corr = |rot: f64| {
                    (d * (orig / (rot * 2.0 * std::f64::consts::PI)).ln()) / (2.0 * base.ln())
                };
                let (mut lo, mut hi) = (corr(beta_fast), corr(beta_slow));
                if truncate {
                    lo = lo.floor();
                    hi = hi.ceil();
                }
                let lo = lo.max(0.0);
                let mut hi = hi.min(d - 1.0);
                if lo == hi {
                    hi += 0.001;
                }
                let ramp = ((Tensor::arange(dim / 2, (Kind::Float, Device::Cpu)) - lo) / (hi - lo))
                    .clamp(0.0, 1.0);
                let extra: Tensor = ramp.neg() + 1.0;
                let interp = &inv / factor;
                rope.inv_freq = interp * (extra.neg() + 1.0) + &inv * &extra;
            }
            other => {
                return Err(EngineError::UnsupportedArchitecture(format!(
                    "rope scaling type '{other}'"
                )))
            }
        }
        Ok(rope)
    }

    /// Divide the frequencies by per-dimension factors (llama.cpp's `rope_freqs.weight`).
    pub fn with_freq_factors(mut self, factors: &Tensor) -> Self {
        self.inv_freq = &self.inv_freq / factors.to_kind(Kind::Float).to_device(Device::Cpu);
        self
    }

    /// cos and sin [T, dim] for positions 0..t.
    pub fn cos_sin(&self, t: i64, device: Device, kind: Kind) -> (Tensor, Tensor) {
        let inv = match self.dynamic {
            Some((base, factor, max_pos)) if t > max_pos => {
                let d = self.dim as f64;
                let b = base
                    * ((factor * t as f64 / max_pos as f64) - (factor - 1.0)).powf(d / (d - 2.0));
                base_inv_freq(b, self.dim)
            }
            _ => self.inv_freq.shallow_clone(),
        };
        let pos = Tensor::arange(t, (Kind::Float, Device::Cpu));
        let freqs = pos.outer(&inv); // [T, dim/2]
        let emb = Tensor::cat(&[&freqs, &freqs], -1);
        let cos = (emb.cos() * self.attention_factor)
            .to_kind(kind)
            .to_device(device);
        let sin = (emb.sin() * self.attention_factor)
            .to_kind(kind)
            .to_device(device);
        (cos, sin)
    }
}

/// x [H, T, D] rotated: x * cos + rotate_half(x) * sin.
pub(crate) fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let d = x.size()[2];
    let x1 = x.narrow(-1, 0, d / 2);
    let x2 = x.narrow(-1, d / 2, d - d / 2);
    let rot = Tensor::cat(&[&(-x2), &x1], -1);
    x * cos + rot * sin
}

/// The rope parameters of an HF config: `rope_parameters` (transformers 5) or `rope_theta` + `rope_scaling`.
pub(crate) fn rope_params(cfg: &Value, default_theta: f64) -> Value {
    if let Some(p) = cfg.get("rope_parameters").filter(|p| p.is_object()) {
        let mut p = p.clone();
        if p.get("rope_theta").is_none() {
            p["rope_theta"] = json!(cfg_f(cfg, "rope_theta").unwrap_or(default_theta));
        }
        return p;
    }
    let mut p = cfg
        .get("rope_scaling")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    p["rope_theta"] = json!(cfg_f(cfg, "rope_theta").unwrap_or(default_theta));
    p
}
