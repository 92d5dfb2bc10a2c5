//! ggml tensor types ([`GgmlType`]: ids and block geometry) and their block formats to f32.
//!
//! Block layouts follow ggml's `ggml-common.h` / `ggml-quants.c` reference dequantisers:
//! legacy 32-value blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and 256-value k-quant super-blocks
//! (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K). Types not listed give [`EngineError::UnsupportedQuant`].

use half::{bf16, f16};

use crate::error::{EngineError, Result};

/// A ggml tensor type id with its block geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GgmlType(pub u32);

impl GgmlType {
    pub const F32: GgmlType = GgmlType(0);
    pub const F16: GgmlType = GgmlType(1);
    pub const Q4_0: GgmlType = GgmlType(2);
    pub const Q4_1: GgmlType = GgmlType(3);
    pub const Q5_0: GgmlType = GgmlType(6);
    pub const Q5_1: GgmlType = GgmlType(7);
    pub const Q8_0: GgmlType = GgmlType(8);
    pub const Q2_K: GgmlType = GgmlType(10);
    pub const Q3_K: GgmlType = GgmlType(11);
    pub const Q4_K: GgmlType = GgmlType(12);
    pub const Q5_K: GgmlType = GgmlType(13);
    pub const Q6_K: GgmlType = GgmlType(14);
    pub const I8: GgmlType = GgmlType(24);
    pub const I16: GgmlType = GgmlType(25);
    pub const I32: GgmlType = GgmlType(26);
    pub const F64: GgmlType = GgmlType(28);
    pub const BF16: GgmlType = GgmlType(30);

    /// (name, elements per block, bytes per block) as in ggml's type table.
    fn traits(self) -> Option<(&'static str, u64, u64)> {
        Some(match self.0 {
            0 => ("F32", 1, 4),
            1 => ("F16", 1, 2),
            2 => ("Q4_0", 32, 18),
            3 => ("Q4_1", 32, 20),
            6 => ("Q5_0", 32, 22),
            7 => ("Q5_1", 32, 24),
            8 => ("Q8_0", 32, 34),
            9 => ("Q8_1", 32, 40),
            10 => ("Q2_K", 256, 84),
            11 => ("Q3_K", 256, 110),
            12 => ("Q4_K", 256, 144),
            13 => ("Q5_K", 256, 176),
            14 => ("Q6_K", 256, 210),
            15 => ("Q8_K", 256, 292),
            16 => ("IQ2_XXS", 256, 66),
            17 => ("IQ2_XS", 256, 74),
            18 => ("IQ3_XXS", 256, 98),
            19 => ("IQ1_S", 256, 50),
            20 => ("IQ4_NL", 32, 18),
            21 => ("IQ3_S", 256, 110),
            22 => ("IQ2_S", 256, 82),
            23 => ("IQ4_XS", 256, 136),
            24 => ("I8", 1, 1),
            25 => ("I16", 1, 2),
            26 => ("I32", 1, 4),
            27 => ("I64", 1, 8),
            28 => ("F64", 1, 8),
            29 => ("IQ1_M", 256, 56),
            30 => ("BF16", 1, 2),
            34 => ("TQ1_0", 256, 54),
            35 => ("TQ2_0", 256, 66),
            39 => ("MXFP4", 32, 17),
            _ => return None,
        })
    }

    /// ggml's name for the type ("Q4_K"), or "type N" for ids this reader does not know.
    pub fn name(self) -> String {
        match self.traits() {
            Some((n, _, _)) => n.to_string(),
            None => format!("unknown ggml type {}", self.0),
        }
    }
    /// Elements per quantisation block, if the type is known.
    pub fn block_size(self) -> Option<u64> {
        self.traits().map(|t| t.1)
    }
    /// Bytes per quantisation block, if the type is known.
    pub fn type_size(self) -> Option<u64> {
        self.traits().map(|t| t.2)
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

const QK_K: usize = 256;

#[inline]
fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Dequantise `n` values of type `ty` stored in `data`.
pub fn dequantize(ty: GgmlType, data: &[u8], n: usize) -> Result<Vec<f32>> {
    let (bs, ts) = match (ty.block_size(), ty.type_size()) {
        (Some(b), Some(t)) => (b as usize, t as usize),
        _ => return Err(EngineError::UnsupportedQuant(ty.name())),
    };
    let f: fn(&[u8], &mut [f32]) = match ty.0 {
        0 => |b, y| y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        1 => |b, y| y[0] = f16_at(b, 0),
        30 => |b, y| y[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        28 => |b, y| y[0] = f64::from_le_bytes(b[..8].try_into().unwrap()) as f32,
        24 => |b, y| y[0] = b[0] as i8 as f32,
        25 => |b, y| y[0] = i16::from_le_bytes([b[0], b[1]]) as f32,
        26 => |b, y| y[0] = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
        2 => q4_0,
        3 => q4_1,
        6 => q5_0,
        7 => q5_1,
        8 => q8_0,
        10 => q2_k,
        11 => q3_k,
        12 => q4_k,
        13 => q5_k,
        14 => q6_k,
        _ => return Err(EngineError::UnsupportedQuant(ty.name())),
    };
    if !n.is_multiple_of(bs) || data.len() < n / bs * ts {
        return Err(EngineError::TruncatedGguf);
    }
    let mut out = vec![0f32; n];
    match ty.0 {
        0 => {
            for (y, b) in out.iter_mut().zip(data.chunks_exact(4)) {
                *y = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        1 => {
            for (y, b) in out.iter_mut().zip(data.chunks_exact(2)) {
                *y = f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        _ => {
            let run = |y: &mut [f32], d: &[u8]| {
                for (y, b) in y.chunks_exact_mut(bs).zip(d.chunks_exact(ts)) {
                    f(b, y);
                }
            };
            // Large tensors: split the blocks over the available cores.
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(16);
            let blocks = n / bs;
            if threads > 1 && n >= 1 << 20 {
                let per = blocks.div_ceil(threads);
                std::thread::scope(|sc| {
                    for (y, d) in out.chunks_mut(per * bs).zip(data.chunks(per * ts)) {
                        sc.spawn(move || run(y, d));
                    }
                });
            } else {
                run(&mut out, data);
            }
        }
    }
    Ok(out)
}

fn q4_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    for j in 0..16 {
        y[j] = ((qs[j] & 0x0f) as i32 - 8) as f32 * d;
        y[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
    }
}

fn q4_1(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qs = &b[4..20];
    for j in 0..16 {
        y[j] = (qs[j] & 0x0f) as f32 * d + m;
        y[j + 16] = (qs[j] >> 4) as f32 * d + m;
    }
}

fn q5_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let qs = &b[6..22];
    for j in 0..16 {
        let xh0 = (((qh >> j) << 4) & 0x10) as u8;
        let xh1 = ((qh >> (j + 12)) & 0x10) as u8;
        y[j] = (((qs[j] & 0x0f) | xh0) as i32 - 16) as f32 * d;
        y[j + 16] = (((qs[j] >> 4) | xh1) as i32 - 16) as f32 * d;
    }
}

fn q5_1(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let qs = &b[8..24];
    for j in 0..16 {
        let xh0 = (((qh >> j) << 4) & 0x10) as u8;
        let xh1 = ((qh >> (j + 12)) & 0x10) as u8;
        y[j] = ((qs[j] & 0x0f) | xh0) as f32 * d + m;
        y[j + 16] = ((qs[j] >> 4) | xh1) as f32 * d + m;
    }
}

fn q8_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    for j in 0..32 {
        y[j] = b[2 + j] as i8 as f32 * d;
    }
}

/// 6-bit scale and min number `j` of the 12 packed bytes of Q4_K/Q5_K.
#[inline]
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

fn q2_k(b: &[u8], y: &mut [f32]) {
    // scales[16], qs[64], d, dmin
    let scales = &b[0..16];
    let qs = &b[16..80];
    let d = f16_at(b, 80);
    let dmin = f16_at(b, 82);
    let mut yi = 0;
    let mut is = 0;
    for n in (0..QK_K).step_by(128) {
        let q = &qs[n / 4..n / 4 + 32];
        let mut shift = 0;
        for _ in 0..4 {
            let sc = scales[is];
            is += 1;
            let (dl, ml) = (d * (sc & 0xf) as f32, dmin * (sc >> 4) as f32);
            for &ql in &q[..16] {
                y[yi] = dl * ((ql >> shift) & 3) as f32 - ml;
                yi += 1;
            }
            let sc = scales[is];
            is += 1;
            let (dl, ml) = (d * (sc & 0xf) as f32, dmin * (sc >> 4) as f32);
            for &ql in &q[16..32] {
                y[yi] = dl * ((ql >> shift) & 3) as f32 - ml;
                yi += 1;
            }
            shift += 2;
        }
    }
}

fn q3_k(b: &[u8], y: &mut [f32]) {
    // hmask[32], qs[64], scales[12], d
    let hm = &b[0..32];
    let qs = &b[32..96];
    let sraw = &b[96..108];
    let d_all = f16_at(b, 108);
    const KMASK1: u32 = 0x0303_0303;
    const KMASK2: u32 = 0x0f0f_0f0f;
    let mut aux = [
        u32::from_le_bytes(sraw[0..4].try_into().unwrap()),
        u32::from_le_bytes(sraw[4..8].try_into().unwrap()),
        u32::from_le_bytes(sraw[8..12].try_into().unwrap()),
        0,
    ];
    let tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & KMASK2) | (((tmp >> 4) & KMASK1) << 4);
    aux[3] = ((aux[1] >> 4) & KMASK2) | (((tmp >> 6) & KMASK1) << 4);
    aux[0] = (aux[0] & KMASK2) | ((tmp & KMASK1) << 4);
    aux[1] = (aux[1] & KMASK2) | (((tmp >> 2) & KMASK1) << 4);
    let mut scales = [0i8; 16];
    for (i, a) in aux.iter().enumerate() {
        for (k, byte) in a.to_le_bytes().iter().enumerate() {
            scales[i * 4 + k] = *byte as i8;
        }
    }
    let mut m: u8 = 1;
    let mut is = 0;
    let mut yi = 0;
    for n in (0..QK_K).step_by(128) {
        let q = &qs[n / 4..n / 4 + 32];
        let mut shift = 0;
        for _ in 0..4 {
            let dl = d_all * (scales[is] as i32 - 32) as f32;
            is += 1;
            for l in 0..16 {
                let v = ((q[l] >> shift) & 3) as i32 - if hm[l] & m != 0 { 0 } else { 4 };
                y[yi] = dl * v as f32;
                yi += 1;
            }
            let dl = d_all * (scales[is] as i32 - 32) as f32;
            is += 1;
            for l in 0..16 {
                let v = ((q[l + 16] >> shift) & 3) as i32 - if hm[l + 16] & m != 0 { 0 } else { 4 };
                y[yi] = dl * v as f32;
                yi += 1;
            }
            shift += 2;
            m = m.wrapping_shl(1);
        }
    }
}

fn q4_k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = &b[4..16];
    let qs = &b[16..144];
    let mut is = 0;
    for (blk, j) in (0..QK_K).step_by(64).enumerate() {
        let q = &qs[blk * 32..blk * 32 + 32];
        let (sc, m) = scale_min_k4(is, scales);
        let (d1, m1) = (d * sc as f32, dmin * m as f32);
        let (sc, m) = scale_min_k4(is + 1, scales);
        let (d2, m2) = (d * sc as f32, dmin * m as f32);
        for l in 0..32 {
            y[j + l] = d1 * (q[l] & 0x0f) as f32 - m1;
            y[j + 32 + l] = d2 * (q[l] >> 4) as f32 - m2;
        }
        is += 2;
    }
}

fn q5_k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = &b[4..16];
    let qh = &b[16..48];
    let qs = &b[48..176];
    let mut is = 0;
    let (mut u1, mut u2) = (1u8, 2u8);
    for (blk, j) in (0..QK_K).step_by(64).enumerate() {
        let ql = &qs[blk * 32..blk * 32 + 32];
        let (sc, m) = scale_min_k4(is, scales);
        let (d1, m1) = (d * sc as f32, dmin * m as f32);
        let (sc, m) = scale_min_k4(is + 1, scales);
        let (d2, m2) = (d * sc as f32, dmin * m as f32);
        for l in 0..32 {
            let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
            let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
            y[j + l] = d1 * ((ql[l] & 0x0f) + h1) as f32 - m1;
            y[j + 32 + l] = d2 * ((ql[l] >> 4) + h2) as f32 - m2;
        }
        is += 2;
        u1 = u1.wrapping_shl(2);
        u2 = u2.wrapping_shl(2);
    }
}

fn q6_k(b: &[u8], y: &mut [f32]) {
    let ql_all = &b[0..128];
    let qh_all = &b[128..192];
    let sc_all = &b[192..208];
    let d = f16_at(b, 208);
    for half_ in 0..2 {
        let ql = &ql_all[half_ * 64..];
        let qh = &qh_all[half_ * 32..];
        let sc = &sc_all[half_ * 8..];
        let yo = half_ * 128;
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            y[yo + l] = d * (sc[is] as i8 as f32) * q1 as f32;
            y[yo + l + 32] = d * (sc[is + 2] as i8 as f32) * q2 as f32;
            y[yo + l + 64] = d * (sc[is + 4] as i8 as f32) * q3 as f32;
            y[yo + l + 96] = d * (sc[is + 6] as i8 as f32) * q4 as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_and_q4_0_by_hand() {
        let mut b = half::f16::from_f32(0.5).to_le_bytes().to_vec();
        b.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let y = dequantize(GgmlType::Q8_0, &b, 32).unwrap();
        assert_eq!(y[0], -8.0);
        assert_eq!(y[31], 7.5);
        let mut b = half::f16::from_f32(2.0).to_le_bytes().to_vec();
        b.extend([0x1fu8; 16]);
        let y = dequantize(GgmlType::Q4_0, &b, 32).unwrap();
        assert_eq!(y[0], 14.0); // (15-8)*2
        assert_eq!(y[16], -14.0); // (1-8)*2
    }

    #[test]
    fn short_data_and_unknown_types_are_errors() {
        assert!(matches!(
            dequantize(GgmlType::Q4_1, &[0u8; 19], 32),
            Err(EngineError::TruncatedGguf)
        ));
        assert!(matches!(
            dequantize(GgmlType::Q4_1, &[0u8; 20], 31),
            Err(EngineError::TruncatedGguf)
        ));
        assert!(
            matches!(dequantize(GgmlType(16), &[0u8; 66], 256), Err(EngineError::UnsupportedQuant(n)) if n == "IQ2_XXS")
        );
        assert!(matches!(
            dequantize(GgmlType(1234), &[], 0),
            Err(EngineError::UnsupportedQuant(_))
        ));
    }
}
