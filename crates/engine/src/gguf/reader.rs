//! GGUF v2/v3 parser over a memory-mapped file.
//!
//! Layout (little endian): magic `GGUF`, version u32, tensor count u64, metadata count u64, the metadata
//! key/value pairs, the tensor infos (name, dims, ggml type, offset relative to the data section), padding
//! to `general.alignment` (default 32), then the tensor data. Every read is bounds-checked: a file that
//! ends early gives [`EngineError::TruncatedGguf`], one with impossible contents gives
//! [`EngineError::CorruptWeights`]; nothing here panics or reads outside the mapping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::dequant::{dequantize, GgmlType};
use crate::error::{EngineError, Result};

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<GgufValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl GgufValue {
    /// Any integer (or bool) as i64; None for floats, strings and arrays.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            GgufValue::U8(v) => v as i64,
            GgufValue::I8(v) => v as i64,
            GgufValue::U16(v) => v as i64,
            GgufValue::I16(v) => v as i64,
            GgufValue::U32(v) => v as i64,
            GgufValue::I32(v) => v as i64,
            GgufValue::U64(v) => i64::try_from(v).ok()?,
            GgufValue::I64(v) => v,
            GgufValue::Bool(v) => v as i64,
            _ => return None,
        })
    }
    /// A non-negative integer as u64.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U64(v) => Some(v),
            _ => self.as_i64().and_then(|v| u64::try_from(v).ok()),
        }
    }
    /// Any number as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            GgufValue::F32(v) => Some(v as f64),
            GgufValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            GgufValue::Bool(v) => Some(v),
            _ => self.as_i64().map(|v| v != 0),
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            GgufValue::Array(v) => Some(v),
            _ => None,
        }
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the fastest-varying (row length). PyTorch shape is the reverse.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset relative to the start of the data section.
    pub offset: u64,
    /// Bytes of data; None when the type is unknown (its size cannot be computed).
    pub n_bytes: Option<u64>,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
    /// Shape in PyTorch order (slowest dimension first).
    pub fn shape(&self) -> Vec<i64> {
        self.dims.iter().rev().map(|&d| d as i64).collect()
    }
}

enum Storage {
    Mmap(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mmap(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

/// A parsed GGUF file; tensor data stays in the mapping until asked for.
pub struct GgufFile {
    pub path: PathBuf,
    storage: Storage,
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, GgufValue)>,
    meta_index: HashMap<String, usize>,
    pub tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    pub alignment: u64,
    pub data_offset: u64,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn corrupt(&self, reason: impl Into<String>) -> EngineError {
        EngineError::CorruptWeights {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(EngineError::TruncatedGguf);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// A length or count, checked against what is left so a corrupt count cannot trigger a huge allocation.
    fn count(&mut self, version: u32, min_item_bytes: usize, what: &str) -> Result<usize> {
        let n = if version == 1 {
            self.u32()? as u64
        } else {
            self.u64()?
        };
        let n = usize::try_from(n)
            .map_err(|_| self.corrupt(format!("{what} count {n} is impossible")))?;
        if n.checked_mul(min_item_bytes.max(1))
            .is_none_or(|b| b > self.remaining())
        {
            // More items than bytes left: either a truncated file or a garbage count.
            if n > (1usize << 40) {
                return Err(self.corrupt(format!("{what} count {n} is impossible")));
            }
            return Err(EngineError::TruncatedGguf);
        }
        Ok(n)
    }
    fn string(&mut self, version: u32) -> Result<String> {
        let n = self.count(version, 1, "string length")?;
        let bytes = self.take(n)?;
        // Token lists hold arbitrary bytes in some files; keep them readable rather than failing.
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        })
    }
    fn value(&mut self, ty: u32, version: u32, depth: usize) -> Result<GgufValue> {
        Ok(match ty {
            0 => GgufValue::U8(self.u8()?),
            1 => GgufValue::I8(self.u8()? as i8),
            2 => GgufValue::U16(self.u16()?),
            3 => GgufValue::I16(self.u16()? as i16),
            4 => GgufValue::U32(self.u32()?),
            5 => GgufValue::I32(self.u32()? as i32),
            6 => GgufValue::F32(f32::from_bits(self.u32()?)),
            7 => {
                let b = self.u8()?;
                if b > 1 {
                    return Err(
                        self.corrupt(format!("boolean metadata value {b} is neither 0 nor 1"))
                    );
                }
                GgufValue::Bool(b == 1)
            }
            8 => GgufValue::String(self.string(version)?),
            9 => {
                if depth > 4 {
                    return Err(self.corrupt("metadata arrays are nested too deeply"));
                }
                let item_ty = self.u32()?;
                let min = min_value_bytes(item_ty).ok_or_else(|| {
                    self.corrupt(format!("unknown metadata value type {item_ty}"))
                })?;
                let n = self.count(version, min, "array")?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.value(item_ty, version, depth + 1)?);
                }
                GgufValue::Array(v)
            }
            10 => GgufValue::U64(self.u64()?),
            11 => GgufValue::I64(self.u64()? as i64),
            12 => GgufValue::F64(f64::from_bits(self.u64()?)),
            t => return Err(self.corrupt(format!("unknown metadata value type {t}"))),
        })
    }
}

/// Smallest encoding of one value of a type (used to bound counts).
fn min_value_bytes(ty: u32) -> Option<usize> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 => 8,
        9 => 12,
        10..=12 => 8,
        _ => return None,
    })
}

/// One metadata string of a GGUF file (e.g. "general.architecture"), reading only as far as that key.
/// None when the file cannot be read, is not GGUF, or lacks the key.
pub fn peek_metadata_str(path: &Path, key: &str) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: read-only mapping, dropped before returning.
    let mmap = unsafe { memmap2::Mmap::map(&file).ok()? };
    let mut c = Cursor {
        buf: &mmap,
        pos: 0,
        path,
    };
    if c.take(4).ok()? != MAGIC {
        return None;
    }
    let version = c.u32().ok()?;
    if !(2..=3).contains(&version) {
        return None;
    }
    let _n_tensors = c.u64().ok()?;
    let n_kv = c.u64().ok()?;
    for _ in 0..n_kv {
        let k = c.string(version).ok()?;
        let ty = c.u32().ok()?;
        let v = c.value(ty, version, 0).ok()?;
        if k == key {
            return v.as_str().map(str::to_string);
        }
    }
    None
}

impl GgufFile {
    /// Memory-map and parse a GGUF file.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                EngineError::MissingFile(path.to_path_buf())
            } else {
                EngineError::Io(e)
            }
        })?;
        // SAFETY: the mapping is read-only; the file is not expected to change while the model is loaded.
        let mmap = unsafe { memmap2::Mmap::map(&file)? };
        Self::parse(path.to_path_buf(), Storage::Mmap(mmap))
    }

    /// Parse GGUF bytes held in memory (tests, downloads).
    pub fn from_bytes(bytes: Vec<u8>, path: impl Into<PathBuf>) -> Result<GgufFile> {
        Self::parse(path.into(), Storage::Owned(bytes))
    }

    fn parse(path: PathBuf, storage: Storage) -> Result<GgufFile> {
        let buf = storage.bytes();
        let mut c = Cursor {
            buf,
            pos: 0,
            path: &path,
        };
        let magic = c.take(4)?;
        if magic != MAGIC {
            return Err(c.corrupt("it is not a GGUF file (the first four bytes are not 'GGUF')"));
        }
        let version = c.u32()?;
        if !(1..=3).contains(&version) {
            return Err(c.corrupt(format!(
                "GGUF version {version} is not supported (1 to 3 are)"
            )));
        }
        if version == 1 {
            return Err(c.corrupt(
                "GGUF version 1 is obsolete; convert the file again with a current llama.cpp",
            ));
        }
        let n_tensors = c.count(version, 24, "tensor")?;
        let n_kv = c.count(version, 13, "metadata")?;
        let mut metadata = Vec::with_capacity(n_kv);
        let mut meta_index = HashMap::with_capacity(n_kv);
        for _ in 0..n_kv {
            let key = c.string(version)?;
            let ty = c.u32()?;
            let value = c.value(ty, version, 0)?;
            meta_index.insert(key.clone(), metadata.len());
            metadata.push((key, value));
        }
        let alignment = match meta_index.get("general.alignment").map(|&i| &metadata[i].1) {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => {
                    return Err(c.corrupt(format!("general.alignment {v:?} is not a power of two")))
                }
            },
        };
        let mut tensors = Vec::with_capacity(n_tensors);
        let mut tensor_index = HashMap::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = c.string(version)?;
            let n_dims = c.u32()?;
            if n_dims > MAX_DIMS {
                return Err(c.corrupt(format!(
                    "tensor '{name}' has {n_dims} dimensions (at most {MAX_DIMS} allowed)"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(if version == 1 {
                    c.u32()? as u64
                } else {
                    c.u64()?
                });
            }
            let ggml_type = GgmlType(c.u32()?);
            let offset = c.u64()?;
            let n_elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
            let Some(n_elements) = n_elements.filter(|&n| n < (1u64 << 50)) else {
                return Err(c.corrupt(format!(
                    "tensor '{name}' has impossible dimensions {dims:?}"
                )));
            };
            let n_bytes = match (ggml_type.block_size(), ggml_type.type_size()) {
                (Some(bs), Some(ts)) => {
                    let row = dims.first().copied().unwrap_or(1);
                    if row % bs != 0 {
                        return Err(c.corrupt(format!(
                            "tensor '{name}' has rows of {row} values, not a multiple of the {} block size {bs}",
                            ggml_type.name()
                        )));
                    }
                    Some(n_elements / bs * ts)
                }
                _ => None,
            };
            if offset % alignment != 0 {
                return Err(c.corrupt(format!(
                    "tensor '{name}' starts at offset {offset}, not aligned to {alignment} bytes"
                )));
            }
            if tensor_index.insert(name.clone(), tensors.len()).is_some() {
                return Err(c.corrupt(format!("tensor '{name}' appears twice")));
            }
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
                n_bytes,
            });
        }
        let pos = c.pos as u64;
        let data_offset = pos.div_ceil(alignment) * alignment;
        let file_len = buf.len() as u64;
        for t in &tensors {
            if let Some(n) = t.n_bytes {
                let end = data_offset
                    .checked_add(t.offset)
                    .and_then(|s| s.checked_add(n));
                match end {
                    Some(end) if end <= file_len => {}
                    Some(_) => return Err(EngineError::TruncatedGguf),
                    None => {
                        return Err(EngineError::CorruptWeights {
                            path: path.clone(),
                            reason: format!("tensor '{}' has an impossible offset", t.name),
                        })
                    }
                }
            }
        }
        Ok(GgufFile {
            path,
            storage,
            version,
            metadata,
            meta_index,
            tensors,
            tensor_index,
            alignment,
            data_offset,
        })
    }

    /// The raw bytes of the whole file.
    pub fn bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| v.as_str())
    }
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.as_u64())
    }
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(|v| v.as_f64())
    }
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(|v| v.as_bool())
    }
    /// `general.architecture`, e.g. "llama".
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }
    /// A metadata value that must be present, as an error the user can read when it is not.
    pub fn require_u64(&self, key: &str) -> Result<u64> {
        self.get_u64(key).ok_or_else(|| {
            self.corrupt(format!(
                "the metadata key '{key}' is missing or not an integer"
            ))
        })
    }

    pub fn corrupt(&self, reason: impl Into<String>) -> EngineError {
        EngineError::CorruptWeights {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// The stored bytes of a tensor (bounds were checked at open).
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<&[u8]> {
        let n = info
            .n_bytes
            .ok_or_else(|| EngineError::UnsupportedQuant(info.ggml_type.name()))?;
        let start = self
            .data_offset
            .checked_add(info.offset)
            .ok_or(EngineError::TruncatedGguf)?;
        let end = start.checked_add(n).ok_or(EngineError::TruncatedGguf)?;
        let buf = self.bytes();
        if end > buf.len() as u64 {
            return Err(EngineError::TruncatedGguf);
        }
        Ok(&buf[start as usize..end as usize])
    }

    /// A tensor dequantised to f32, with its PyTorch-order shape.
    pub fn tensor_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<i64>)> {
        let info = self
            .tensor_info(name)
            .ok_or_else(|| self.corrupt(format!("the tensor '{name}' is missing")))?;
        let bytes = self.tensor_bytes(info)?;
        let data = dequantize(info.ggml_type, bytes, info.n_elements() as usize)?;
        Ok((data, info.shape()))
    }
}

#[cfg(test)]
pub(crate) mod tests;
