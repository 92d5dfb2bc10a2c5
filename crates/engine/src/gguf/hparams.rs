//! The hyperparameters every llama.cpp architecture writes under `{arch}.` in a GGUF file's metadata.

use super::reader::GgufFile;
use crate::error::Result;

/// The opening every GGUF loader reads: `{arch}.block_count`, `{arch}.embedding_length` and
/// `{arch}.attention.head_count` (required), `{arch}.attention.head_count_kv` (default: the head
/// count) and `{arch}.attention.key_length` (optional).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GgufHparams {
    /// `general.architecture`: the prefix of the keys.
    pub arch: String,
    pub n_layers: u64,
    pub hidden: u64,
    pub n_heads: u64,
    pub n_kv_heads: u64,
    /// Per-head size of queries and keys, when written.
    pub key_length: Option<u64>,
}

impl GgufHparams {
    /// Reads the opening (`default_arch` names the keys of a file without `general.architecture`).
    pub fn read(g: &GgufFile, default_arch: &str) -> Result<Self> {
        let arch = g.architecture().unwrap_or(default_arch).to_string();
        let key = |k: &str| format!("{arch}.{k}");
        let n_layers = g.require_u64(&key("block_count"))?;
        let hidden = g.require_u64(&key("embedding_length"))?;
        let n_heads = g.require_u64(&key("attention.head_count"))?;
        let n_kv_heads = g
            .get_u64(&key("attention.head_count_kv"))
            .unwrap_or(n_heads);
        let key_length = g.get_u64(&key("attention.key_length"));
        Ok(GgufHparams {
            arch,
            n_layers,
            hidden,
            n_heads,
            n_kv_heads,
            key_length,
        })
    }

    /// (layers, hidden size, heads, key/value heads) as the model code counts them.
    pub fn sizes(&self) -> (i64, i64, i64, i64) {
        (
            self.n_layers as i64,
            self.hidden as i64,
            self.n_heads as i64,
            self.n_kv_heads as i64,
        )
    }

    /// The metadata key `{arch}.{k}`.
    pub fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.arch)
    }
}
