//! Checkpoint tensors by name: safetensors (single or sharded, memory-mapped), pytorch_model.bin (via libtorch),
//! a GGUF file's tensors renamed to checkpoint names, or any map of tensors. Floating tensors are converted to the requested dtype
//! and moved to the device at load. Models read them through [`Vb`], a view under a name prefix scoped with `pp`
//! as candle-transformers' `VarBuilder` (`vb.pp("encoder").pp("layer").pp(3).get("weight", ..)`).

use crate::error::{EngineError, Result};
use crate::gguf::names::NameTable;
use crate::gguf::reader::GgufFile;
use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// Named tensors of one checkpoint.
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    /// Where they came from (for error messages).
    pub path: PathBuf,
}

fn corrupt(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::CorruptWeights {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn st_kind(d: safetensors::Dtype) -> Option<Kind> {
    use safetensors::Dtype as D;
    Some(match d {
        D::F32 => Kind::Float,
        D::F16 => Kind::Half,
        D::BF16 => Kind::BFloat16,
        D::F64 => Kind::Double,
        D::I64 => Kind::Int64,
        D::I32 => Kind::Int,
        D::I16 => Kind::Int16,
        D::I8 => Kind::Int8,
        D::U8 => Kind::Uint8,
        D::BOOL => Kind::Bool,
        _ => return None,
    })
}

fn place(t: Tensor, device: Device, kind: Kind) -> Tensor {
    if t.is_floating_point() {
        t.to_device(device).to_kind(kind)
    } else {
        t.to_device(device)
    }
}

impl Weights {
    /// Wraps an existing map of tensors.
    pub fn from_map(tensors: HashMap<String, Tensor>, path: impl Into<PathBuf>) -> Self {
        Weights {
            tensors,
            path: path.into(),
        }
    }

    /// Every tensor of `g` that `table` names, dequantised to `device` and `kind`, under its
    /// checkpoint name. `fix(gguf_name, block_base, tensor)` adjusts a tensor on the way (llama.cpp's
    /// layout conventions); it may fail with a clear error. `progress(message, fraction)` is called
    /// every 16 tensors (fractions 0.1 ..= 0.7 of the whole load).
    pub fn from_gguf(
        g: &GgufFile,
        table: &NameTable,
        device: Device,
        kind: Kind,
        progress: &dyn Fn(&str, f32),
        mut fix: impl FnMut(&str, &str, Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        let n = g.tensors.len();
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for (i, info) in g.tensors.iter().enumerate() {
            if i % 16 == 0 {
                progress(
                    &format!("dequantising {i}/{n}"),
                    0.1 + 0.6 * i as f32 / n as f32,
                );
            }
            let name = info.name.as_str();
            let Some((hf, base)) = table.rename(name) else {
                continue;
            };
            let (data, shape) = g.tensor_f32(name)?;
            let t = Tensor::from_slice(&data)
                .reshape(shape.as_slice())
                .to_device(device)
                .to_kind(kind);
            map.insert(hf, fix(name, base, t)?);
        }
        Ok(Weights::from_map(map, g.path.clone()))
    }

    /// Loads the weights of a Hugging Face model folder (model.safetensors, a sharded
    /// model.safetensors.index.json, or pytorch_model.bin), calling `progress` with the fraction of
    /// tensors read (0.0 ..= 1.0).
    pub fn from_hf_dir(
        dir: &Path,
        device: Device,
        kind: Kind,
        progress: &dyn Fn(f32),
    ) -> Result<Self> {
        let single = dir.join("model.safetensors");
        if single.is_file() {
            return Self::read_safetensors(&[single], device, kind, progress);
        }
        let index = dir.join("model.safetensors.index.json");
        if index.is_file() {
            let text = std::fs::read_to_string(&index)?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| corrupt(&index, format!("invalid JSON: {e}")))?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| corrupt(&index, "no weight_map"))?;
            let mut files: Vec<String> = map
                .values()
                .filter_map(|f| f.as_str().map(String::from))
                .collect();
            files.sort();
            files.dedup();
            let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
            let mut w = Self::read_safetensors(&paths, device, kind, progress)?;
            w.path = index;
            return Ok(w);
        }
        let bin = dir.join("pytorch_model.bin");
        if bin.is_file() {
            return Self::from_pytorch_bin(&bin, device, kind);
        }
        Err(EngineError::MissingFile(single))
    }

    fn read_safetensors(
        paths: &[PathBuf],
        device: Device,
        kind: Kind,
        progress: &dyn Fn(f32),
    ) -> Result<Self> {
        let mut tensors = HashMap::new();
        let n_files = paths.len().max(1) as f32;
        for (fi, path) in paths.iter().enumerate() {
            if !path.is_file() {
                return Err(EngineError::MissingFile(path.clone()));
            }
            let file = std::fs::File::open(path)?;
            // SAFETY: the file is opened read-only and the map lives only while we copy tensors out of it.
            let mmap = unsafe { memmap2::Mmap::map(&file)? };
            let st = safetensors::SafeTensors::deserialize(&mmap)
                .map_err(|e| corrupt(path, format!("not a valid safetensors file ({e})")))?;
            let n = st.len().max(1) as f32;
            let mut last = -1.0f32;
            for (i, (name, view)) in st.tensors().into_iter().enumerate() {
                let frac = (fi as f32 + i as f32 / n) / n_files;
                if frac - last >= 0.05 {
                    progress(frac);
                    last = frac;
                }
                let k = st_kind(view.dtype()).ok_or_else(|| {
                    corrupt(
                        path,
                        format!("tensor {name} has unsupported dtype {:?}", view.dtype()),
                    )
                })?;
                let shape: Vec<i64> = view.shape().iter().map(|&s| s as i64).collect();
                let t = Tensor::f_from_data_size(view.data(), &shape, k)
                    .map_err(|e| corrupt(path, format!("tensor {name}: {e}")))?;
                tensors.insert(name, place(t, device, kind));
            }
        }
        progress(1.0);
        let path = paths.first().cloned().unwrap_or_default();
        Ok(Weights { tensors, path })
    }

    /// Reads a PyTorch zip checkpoint (pytorch_model.bin) with libtorch.
    pub fn from_pytorch_bin(path: &Path, device: Device, kind: Kind) -> Result<Self> {
        let list = Tensor::loadz_multi(path)
            .map_err(|e| corrupt(path, format!("not a readable PyTorch checkpoint ({e})")))?;
        let tensors = list
            .into_iter()
            .map(|(n, t)| (n, place(t, device, kind)))
            .collect();
        Ok(Weights {
            tensors,
            path: path.to_path_buf(),
        })
    }

    fn lookup(&self, name: &str) -> Option<&Tensor> {
        if let Some(t) = self.tensors.get(name) {
            return Some(t);
        }
        // Old checkpoints name LayerNorm parameters gamma/beta.
        let alt = if let Some(p) = name.strip_suffix(".weight") {
            format!("{p}.gamma")
        } else if let Some(p) = name.strip_suffix(".bias") {
            format!("{p}.beta")
        } else if let Some(p) = name.strip_suffix(".gamma") {
            format!("{p}.weight")
        } else if let Some(p) = name.strip_suffix(".beta") {
            format!("{p}.bias")
        } else {
            return None;
        };
        self.tensors.get(&alt)
    }

    /// Whether a tensor exists (gamma/beta aliases included).
    pub fn contains(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// A tensor by checkpoint name.
    pub fn get(&self, name: &str) -> Result<Tensor> {
        self.lookup(name)
            .map(|t| t.shallow_clone())
            .ok_or_else(|| corrupt(&self.path, format!("tensor '{name}' is missing")))
    }

    /// A tensor that must have exactly this shape.
    pub fn get_shape(&self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let t = self.get(name)?;
        if t.size() != shape {
            return Err(corrupt(
                &self.path,
                format!(
                    "tensor '{name}' has shape {:?}, expected {:?}",
                    t.size(),
                    shape
                ),
            ));
        }
        Ok(t)
    }

    /// An optional tensor that, if present, must have this shape.
    pub fn get_opt(&self, name: &str, shape: &[i64]) -> Result<Option<Tensor>> {
        if self.contains(name) {
            self.get_shape(name, shape).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The first prefix p in `candidates` for which `p + probe` exists.
    pub fn find_prefix(&self, candidates: &[&str], probe: &str) -> Option<String> {
        candidates
            .iter()
            .find(|p| self.contains(&format!("{p}{probe}")))
            .map(|p| p.to_string())
    }

    /// A view of these tensors under `prefix` ("bert." and "bert" alike; "" for the root).
    pub(crate) fn vb(&self, prefix: &str) -> Vb<'_> {
        Vb {
            w: self,
            prefix: prefix.trim_end_matches('.').to_string(),
        }
    }
}

/// `a.b`, or whichever of the two is not empty.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}.{b}"),
    }
}

/// The tensors of a [`Weights`] under a dotted name prefix, as candle-transformers' `VarBuilder`:
/// `pp` scopes one level down, the getters take the leaf name, and errors name the full tensor.
#[derive(Clone)]
pub(crate) struct Vb<'a> {
    w: &'a Weights,
    prefix: String,
}

impl<'a> Vb<'a> {
    /// The view one level down (`part` joined with "."; an empty part leaves the prefix as it is).
    pub fn pp(&self, part: impl Display) -> Vb<'a> {
        Vb {
            w: self.w,
            prefix: join(&self.prefix, part.to_string().trim_end_matches('.')),
        }
    }
    /// The full checkpoint name of `leaf` under this prefix.
    pub fn name(&self, leaf: &str) -> String {
        join(&self.prefix, leaf)
    }
    /// Whether `leaf` exists (gamma/beta aliases included).
    pub fn contains(&self, leaf: &str) -> bool {
        self.w.contains(&self.name(leaf))
    }
    /// `leaf`, which must have exactly this shape.
    pub fn get(&self, leaf: &str, shape: &[i64]) -> Result<Tensor> {
        self.w.get_shape(&self.name(leaf), shape)
    }
    /// `leaf`, of whatever shape (the caller checks it).
    pub fn get_unchecked(&self, leaf: &str) -> Result<Tensor> {
        self.w.get(&self.name(leaf))
    }
    /// An optional `leaf` that, if present, must have this shape.
    pub fn get_opt(&self, leaf: &str, shape: &[i64]) -> Result<Option<Tensor>> {
        self.w.get_opt(&self.name(leaf), shape)
    }
}

/// A linear layer y = x W^T + b with weights stored as in PyTorch ([out, in]).
pub(crate) struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    /// Loads `weight` (`[out, in]`) and `bias` (`[out]`) under `vb` (the bias is required).
    pub fn load(vb: &Vb, in_dim: i64, out_dim: i64) -> Result<Self> {
        Ok(Linear {
            weight: vb.get("weight", &[out_dim, in_dim])?,
            bias: Some(vb.get("bias", &[out_dim])?),
        })
    }
    /// Loads `weight` and an optional `bias` under `vb`.
    pub fn load_opt_bias(vb: &Vb, in_dim: i64, out_dim: i64) -> Result<Self> {
        Ok(Linear {
            weight: vb.get("weight", &[out_dim, in_dim])?,
            bias: vb.get_opt("bias", &[out_dim])?,
        })
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, self.bias.as_ref())
    }
}

/// LayerNorm with weight and bias.
pub(crate) struct LayerNorm {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub eps: f64,
    pub dim: i64,
}

impl LayerNorm {
    /// Loads `weight` and an optional `bias` (both `[dim]`) under `vb`.
    pub fn load(vb: &Vb, dim: i64, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: vb.get("weight", &[dim])?,
            bias: vb.get_opt("bias", &[dim])?,
            eps,
            dim,
        })
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(
            [self.dim].as_slice(),
            Some(&self.weight),
            self.bias.as_ref(),
            self.eps,
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "exformer-weights-test-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn missing_and_corrupt_files_are_typed_errors() {
        let d = tmp("errors");
        assert!(matches!(
            Weights::from_hf_dir(&d, Device::Cpu, Kind::Float, &|_| {}),
            Err(EngineError::MissingFile(_))
        ));
        std::fs::write(
            d.join("model.safetensors"),
            b"\x05\x00\x00\x00\x00\x00\x00\x00{bad}",
        )
        .unwrap();
        assert!(matches!(
            Weights::from_hf_dir(&d, Device::Cpu, Kind::Float, &|_| {}),
            Err(EngineError::CorruptWeights { .. })
        ));
        std::fs::write(d.join("model.safetensors"), b"").unwrap();
        assert!(matches!(
            Weights::from_hf_dir(&d, Device::Cpu, Kind::Float, &|_| {}),
            Err(EngineError::CorruptWeights { .. })
        ));
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        std::fs::write(d.join("pytorch_model.bin"), b"not a zip").unwrap();
        assert!(matches!(
            Weights::from_hf_dir(&d, Device::Cpu, Kind::Float, &|_| {}),
            Err(EngineError::CorruptWeights { .. })
        ));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn round_trip_aliases_and_shapes() {
        let d = tmp("roundtrip");
        let data: Vec<u8> = [1f32, 2., 3., 4.]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 2], &data)
            .unwrap();
        let g =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &data).unwrap();
        safetensors::serialize_to_file(
            vec![("a.weight", v), ("ln.gamma", g)],
            None,
            &d.join("model.safetensors"),
        )
        .unwrap();
        let w = Weights::from_hf_dir(&d, Device::Cpu, Kind::BFloat16, &|_| {}).unwrap();
        assert_eq!(w.get("a.weight").unwrap().kind(), Kind::BFloat16);
        assert!(w.contains("ln.weight"));
        assert!(w.get_shape("a.weight", &[4]).is_err());
        assert!(matches!(
            w.get("nope"),
            Err(EngineError::CorruptWeights { .. })
        ));
        assert_eq!(w.find_prefix(&["x.", ""], "a.weight").as_deref(), Some(""));
        let root = w.vb("");
        assert_eq!(root.pp("a").name("weight"), "a.weight");
        assert_eq!(w.vb("x.").pp("").pp(3).name("w"), "x.3.w");
        assert!(root.pp("ln").contains("weight") && !root.contains("weight"));
        assert_eq!(root.pp("a").get("weight", &[2, 2]).unwrap().size(), [2, 2]);
        assert!(root.pp("ln").get_opt("bias", &[4]).unwrap().is_none());
        let missing = w.vb("enc.").pp("layer").pp(0).get("weight", &[1]);
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("tensor 'enc.layer.0.weight' is missing"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
