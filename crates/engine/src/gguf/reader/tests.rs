//! The reader's tests, and a minimal GGUF writer the other GGUF tests use.

use super::*;

/// Minimal GGUF writer for tests.
pub struct Writer {
    pub version: u32,
    pub alignment: u64,
    pub kv: Vec<(String, u32, Vec<u8>)>,
    pub tensors: Vec<(String, Vec<u64>, u32, Vec<u8>)>,
}

pub fn enc_str(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

impl Writer {
    pub fn new() -> Self {
        Writer {
            version: 3,
            alignment: 32,
            kv: vec![],
            tensors: vec![],
        }
    }
    pub fn kv(&mut self, k: &str, ty: u32, payload: Vec<u8>) -> &mut Self {
        self.kv.push((k.to_string(), ty, payload));
        self
    }
    pub fn kv_str(&mut self, k: &str, v: &str) -> &mut Self {
        self.kv(k, 8, enc_str(v))
    }
    pub fn kv_u32(&mut self, k: &str, v: u32) -> &mut Self {
        self.kv(k, 4, v.to_le_bytes().to_vec())
    }
    pub fn tensor(&mut self, name: &str, dims: Vec<u64>, ty: u32, data: Vec<u8>) -> &mut Self {
        self.tensors.push((name.to_string(), dims, ty, data));
        self
    }
    pub fn build(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.kv.len() as u64).to_le_bytes());
        for (k, ty, p) in &self.kv {
            out.extend(enc_str(k));
            out.extend(ty.to_le_bytes());
            out.extend(p);
        }
        let a = self.alignment;
        let mut off = 0u64;
        let mut offsets = vec![];
        for (name, dims, ty, data) in &self.tensors {
            out.extend(enc_str(name));
            out.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(ty.to_le_bytes());
            out.extend(off.to_le_bytes());
            offsets.push(off);
            off = (off + data.len() as u64).div_ceil(a) * a;
        }
        while !(out.len() as u64).is_multiple_of(a) {
            out.push(0);
        }
        let base = out.len();
        for ((_, _, _, data), o) in self.tensors.iter().zip(offsets) {
            out.resize(base + o as usize, 0);
            out.extend(data);
        }
        out
    }
}

fn sample() -> Vec<u8> {
    let mut w = Writer::new();
    w.kv_str("general.architecture", "llama")
        .kv_u32("llama.block_count", 2);
    // array of strings
    let mut arr = 8u32.to_le_bytes().to_vec();
    arr.extend(2u64.to_le_bytes());
    arr.extend(enc_str("a"));
    arr.extend(enc_str("bc"));
    w.kv("tokenizer.ggml.tokens", 9, arr);
    w.kv("f", 6, 1.5f32.to_le_bytes().to_vec());
    w.kv("b", 7, vec![1]);
    w.kv("i64", 11, (-7i64).to_le_bytes().to_vec());
    w.kv("f64", 12, 2.25f64.to_le_bytes().to_vec());
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    w.tensor("w", vec![3, 2], 0, data);
    let h: Vec<u8> = [0.5f32, -1.0]
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect();
    w.tensor("h", vec![2], 1, h);
    w.build()
}

#[test]
fn peeks_one_key() {
    let p = std::env::temp_dir().join(format!("exformer-peek-{}.gguf", std::process::id()));
    std::fs::write(&p, sample()).unwrap();
    assert_eq!(
        peek_metadata_str(&p, "general.architecture").as_deref(),
        Some("llama")
    );
    assert_eq!(peek_metadata_str(&p, "no.such.key"), None);
    std::fs::write(&p, &sample()[..20]).unwrap();
    assert_eq!(peek_metadata_str(&p, "general.architecture"), None);
    let _ = std::fs::remove_file(&p);
}

#[test]
fn parses_metadata_and_tensors() {
    let g = GgufFile::from_bytes(sample(), "mem.gguf").unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.architecture(), Some("llama"));
    assert_eq!(g.get_u64("llama.block_count"), Some(2));
    assert_eq!(g.get_f64("f"), Some(1.5));
    assert_eq!(g.get_bool("b"), Some(true));
    assert_eq!(g.get("i64").unwrap().as_i64(), Some(-7));
    assert_eq!(g.get_f64("f64"), Some(2.25));
    let toks = g.get("tokenizer.ggml.tokens").unwrap().as_array().unwrap();
    assert_eq!(
        toks.iter().map(|t| t.as_str().unwrap()).collect::<Vec<_>>(),
        ["a", "bc"]
    );
    let (w, shape) = g.tensor_f32("w").unwrap();
    assert_eq!(shape, vec![2, 3]);
    assert_eq!(w, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let (h, _) = g.tensor_f32("h").unwrap();
    assert_eq!(h, vec![0.5, -1.0]);
    assert_eq!(g.data_offset % 32, 0);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = sample();
    for n in 0..bytes.len() {
        match GgufFile::from_bytes(bytes[..n].to_vec(), "cut.gguf") {
            Err(EngineError::TruncatedGguf) => {}
            Err(EngineError::CorruptWeights { .. }) if n < 4 => {}
            other => panic!("cut at {n}: expected TruncatedGguf, got {other:?}"),
        }
    }
}

#[test]
fn corrupt_bytes_give_typed_errors() {
    let bytes = sample();
    // Flip every byte in the header/metadata region in turn: any outcome but a panic is fine.
    for i in 0..bytes.len().min(400) {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        let _ = GgufFile::from_bytes(b, "flip.gguf").map(|g| {
            for t in g.tensors.clone() {
                let _ = g.tensor_f32(&t.name);
            }
        });
    }
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(matches!(
        GgufFile::from_bytes(bad, "x"),
        Err(EngineError::CorruptWeights { .. })
    ));
    let mut huge = bytes.clone();
    huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(GgufFile::from_bytes(huge, "x").is_err());
}

#[test]
fn unknown_type_is_unsupported_quant() {
    let mut w = Writer::new();
    w.tensor("q", vec![32], 16, vec![0u8; 66]); // IQ2_XXS with a 32-wide row: not a block multiple
    assert!(matches!(
        GgufFile::from_bytes(w.build(), "x"),
        Err(EngineError::CorruptWeights { .. })
    ));
    let mut w = Writer::new();
    w.tensor("q", vec![256], 16, vec![0u8; 66]);
    let g = GgufFile::from_bytes(w.build(), "x").unwrap();
    match g.tensor_f32("q") {
        Err(EngineError::UnsupportedQuant(n)) => assert_eq!(n, "IQ2_XXS"),
        other => panic!("{other:?}"),
    }
    let mut w = Writer::new();
    w.tensor("q", vec![4], 99, vec![0u8; 16]);
    let g = GgufFile::from_bytes(w.build(), "x").unwrap();
    assert!(matches!(
        g.tensor_f32("q"),
        Err(EngineError::UnsupportedQuant(_))
    ));
}
