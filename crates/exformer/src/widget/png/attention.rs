//! Attention arithmetic (mirrors widget/logic/matrices.js `viewMatrices`): which heads and tokens are
//! shown, per-head and pooled mean matrices, the threshold, and the snapshot's size check.

use super::snapshot::{SnapToken, Snapshot};

/// Concrete list of selected heads: sorted, deduplicated, in range; empty (or nothing valid) = all.
pub(super) fn selected_heads(heads: &[usize], n_heads: usize) -> Vec<usize> {
    let mut v: Vec<usize> = heads.iter().copied().filter(|&h| h < n_heads).collect();
    v.sort_unstable();
    v.dedup();
    if v.is_empty() {
        (0..n_heads).collect()
    } else {
        v
    }
}

/// Positions of the visible tokens (special tokens dropped when `hide_special`; if that would
/// leave nothing, every token stays).
pub(super) fn kept_index(tokens: &[SnapToken], hide_special: bool) -> Vec<usize> {
    let kept: Vec<usize> = (0..tokens.len())
        .filter(|&i| !(hide_special && tokens[i].special))
        .collect();
    if kept.is_empty() {
        (0..tokens.len()).collect()
    } else {
        kept
    }
}

/// One head's weights restricted to `index` (K×K, row-major). When tokens were dropped
/// (`index.len() < t`) each row is rescaled to sum to 1 over the kept keys (rows with no kept
/// weight stay zero); otherwise the weights are the bytes / 255 unchanged.
pub(super) fn head_matrix(attn: &[u8], t: usize, head: usize, index: &[usize]) -> Vec<f32> {
    let k = index.len();
    let mut out = vec![0f32; k * k];
    let base = head * t * t;
    let compact = k != t;
    for (a, &i) in index.iter().enumerate() {
        let row = &attn[base + i * t..base + (i + 1) * t];
        let dst = &mut out[a * k..(a + 1) * k];
        if compact {
            let sum: u32 = index.iter().map(|&j| row[j] as u32).sum();
            if sum == 0 {
                continue;
            }
            let s = 1.0 / sum as f32;
            for (d, &j) in dst.iter_mut().zip(index) {
                *d = row[j] as f32 * s;
            }
        } else {
            for (d, &b) in dst.iter_mut().zip(row) {
                *d = b as f32 * (1.0 / 255.0);
            }
        }
    }
    out
}

pub(super) fn sanitize_threshold(t: f32) -> f32 {
    if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Mean over `heads` of the (renormalised) kept-token matrices, weights below `threshold` zeroed,
/// max-pooled into `g × g` bins (`g ≤ K`; bin of cell c = floor(c·g/K), the front end's binning).
/// Streams one query row at a time: memory is O(K + g²) even at T = 4096.
pub(super) fn pooled_mean(
    attn: &[u8],
    t: usize,
    heads: &[usize],
    index: &[usize],
    threshold: f32,
    g: usize,
) -> Vec<f32> {
    let k = index.len();
    let g = g.clamp(1, k.max(1));
    let mut out = vec![0f32; g * g];
    if k == 0 || heads.is_empty() {
        return out;
    }
    let compact = k != t;
    let col_bin: Vec<usize> = (0..k).map(|c| (c * g / k).min(g - 1)).collect();
    let nh = heads.len() as f32;
    let mut acc = vec![0f32; k];
    let mut gathered = vec![0u8; k];
    for (a, &i) in index.iter().enumerate() {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for &h in heads {
            let base = h * t * t + i * t;
            let row = &attn[base..base + t];
            let src: &[u8] = if compact {
                for (d, &j) in gathered.iter_mut().zip(index) {
                    *d = row[j];
                }
                &gathered
            } else {
                row
            };
            let s = if compact {
                let sum: u32 = src.iter().map(|&b| b as u32).sum();
                if sum == 0 {
                    continue;
                }
                1.0 / (sum as f32 * nh)
            } else {
                1.0 / (255.0 * nh)
            };
            for (v, &b) in acc.iter_mut().zip(src) {
                *v += b as f32 * s;
            }
        }
        let y = (a * g / k).min(g - 1);
        let orow = &mut out[y * g..(y + 1) * g];
        for (c, &v) in acc.iter().enumerate() {
            if v >= threshold && v > orow[col_bin[c]] {
                orow[col_bin[c]] = v;
            }
        }
    }
    out
}

pub(super) fn validate(s: &Snapshot) -> Result<(), String> {
    let t = s.tokens.len();
    if t == 0 {
        return Err("there are no tokens to draw (the token list is empty)".into());
    }
    if s.n_heads == 0 {
        return Err("n_heads is 0: the attention has no heads".into());
    }
    let want = s.n_heads.checked_mul(t).and_then(|x| x.checked_mul(t));
    match want {
        Some(w) if w == s.attn.len() => Ok(()),
        Some(w) => Err(format!(
            "the attention buffer holds {} bytes but n_heads × T × T = {} × {} × {} = {}",
            s.attn.len(),
            s.n_heads,
            t,
            t,
            w
        )),
        None => Err(format!(
            "n_heads × T × T overflows ({} heads, {} tokens)",
            s.n_heads, t
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::testutil::*;

    #[test]
    fn hide_special_renormalises_rows_per_head() {
        let mut tokens = toks(&["[CLS]", "x", "y", "[SEP]"]);
        tokens[0].special = true;
        tokens[3].special = true;
        let t = 4;
        let attn = synthetic(2, t, 7);
        let index = kept_index(&tokens, true);
        assert_eq!(index, vec![1, 2]);
        for h in 0..2 {
            let m = head_matrix(&attn, t, h, &index);
            assert_eq!(m.len(), 4);
            for a in 0..2 {
                let row = &m[a * 2..a * 2 + 2];
                let sum: f32 = row.iter().sum();
                assert!(
                    (sum - 1.0).abs() < 1e-5,
                    "row {a} of head {h} sums to {sum}"
                );
                // proportions between the kept keys are preserved
                let (b1, b2) = (
                    attn[(h * t + index[a]) * t + 1] as f32,
                    attn[(h * t + index[a]) * t + 2] as f32,
                );
                assert!((row[0] - b1 / (b1 + b2)).abs() < 1e-5);
            }
        }
        // without hiding, weights are bytes / 255 unchanged
        let all = kept_index(&tokens, false);
        let m = head_matrix(&attn, t, 1, &all);
        assert!((m[5] - attn[t * t + 5] as f32 / 255.0).abs() < 1e-6);
        // every token special: everything stays
        let specials: Vec<SnapToken> = tokens
            .iter()
            .map(|x| SnapToken {
                special: true,
                ..x.clone()
            })
            .collect();
        assert_eq!(kept_index(&specials, true).len(), 4);
        // the pooled mean (matrix view) agrees with the per-head matrices
        let pooled = pooled_mean(&attn, t, &[0, 1], &index, 0.0, 2);
        let (m0, m1) = (
            head_matrix(&attn, t, 0, &index),
            head_matrix(&attn, t, 1, &index),
        );
        for c in 0..4 {
            assert!((pooled[c] - (m0[c] + m1[c]) / 2.0).abs() < 1e-5);
        }
    }

    #[test]
    fn pooled_mean_max_pools_and_thresholds() {
        let t = 4;
        let mut attn = vec![0u8; t * t];
        attn[0] = 255; // (0,0)
        attn[t + 3] = 100; // (1,3)
        attn[2 * t + 1] = 5; // (2,1), below threshold
        let index: Vec<usize> = (0..t).collect();
        let p = pooled_mean(&attn, t, &[0], &index, 0.05, 2);
        assert_eq!(p.len(), 4);
        assert!((p[0] - 1.0).abs() < 1e-6);
        assert!((p[1] - 100.0 / 255.0).abs() < 1e-6);
        assert_eq!(p[2], 0.0, "5/255 < threshold");
        assert_eq!(p[3], 0.0);
    }
}
