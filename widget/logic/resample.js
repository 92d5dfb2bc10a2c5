// exformer widget logic: resampling a matrix to pixels (the heatmap) and per-head thumbnails.

import { headMatrix } from "./buffers.js";

/**
 * Resample a K×K matrix to outW×outH pixels. Where a pixel covers several cells they are pooled
 * ("max" keeps sparse peaks visible, "mean" keeps totals honest); where a cell covers several pixels
 * it is repeated (nearest). Bins are [floor(p*K/out), floor((p+1)*K/out)).
 * @param {Float32Array} mat
 * @param {number} K
 * @param {number} outW
 * @param {number} outH
 * @param {"max"|"mean"} how
 * @returns {Float32Array} outW*outH, row-major
 */
export function resampleMatrix(mat, K, outW, outH = outW, how = "max") {
  outW = Math.max(1, Math.floor(outW));
  outH = Math.max(1, Math.floor(outH));
  if (mat.length < K * K) throw new Error("matrix shorter than K × K");
  const out = new Float32Array(outW * outH);
  if (K === 0) return out;
  const useMax = how !== "mean";
  if (outW <= K && outH <= K) {
    // Pool: one pass over the source, each cell lands in exactly one pixel.
    const colBin = new Int32Array(K);
    for (let c = 0; c < K; c++) colBin[c] = Math.min(outW - 1, Math.floor((c * outW) / K));
    for (let r = 0; r < K; r++) {
      const y = Math.min(outH - 1, Math.floor((r * outH) / K));
      const o = y * outW;
      const src = r * K;
      if (useMax) {
        for (let c = 0; c < K; c++) {
          const v = mat[src + c];
          const p = o + colBin[c];
          if (v > out[p]) out[p] = v;
        }
      } else {
        for (let c = 0; c < K; c++) out[o + colBin[c]] += mat[src + c];
      }
    }
    if (!useMax) {
      const cw = binCounts(K, outW);
      const ch = binCounts(K, outH);
      for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) out[y * outW + x] /= cw[x] * ch[y] || 1;
    }
    return out;
  }
  // At least one axis is upsampled: iterate pixels, pooling over each pixel's (small) cell range.
  const range = (p, out_) => {
    const a = Math.floor((p * K) / out_);
    const b = Math.max(a + 1, Math.floor(((p + 1) * K) / out_));
    return [Math.min(a, K - 1), Math.min(b, K)];
  };
  const xr = Array.from({ length: outW }, (_, x) => range(x, outW));
  for (let y = 0; y < outH; y++) {
    const [r0, r1] = range(y, outH);
    for (let x = 0; x < outW; x++) {
      const [c0, c1] = xr[x];
      let acc = 0;
      for (let r = r0; r < r1; r++) {
        const base = r * K;
        for (let c = c0; c < c1; c++) {
          const v = mat[base + c];
          if (useMax) {
            if (v > acc) acc = v;
          } else acc += v;
        }
      }
      out[y * outW + x] = useMax ? acc : acc / ((r1 - r0) * (c1 - c0));
    }
  }
  return out;
}

/** How many of n source cells fall in each of `bins` bins. */
function binCounts(n, bins) {
  const cnt = new Int32Array(bins);
  for (let i = 0; i < n; i++) cnt[Math.min(bins - 1, Math.floor((i * bins) / n))]++;
  return cnt;
}

/**
 * Max-pool every (layer, head) map into S×S bytes: what the back end is expected to send as
 * `thumbs`. Provided for the static model / tests / demos; same binning as resampleMatrix.
 * @param {Float32Array[]} layers per layer [nHeads, T, T]
 * @param {number} nHeads
 * @param {number} T
 * @param {number} S
 * @returns {Uint8Array} [nLayers, nHeads, S, S]
 */
export function makeThumbs(layers, nHeads, T, S) {
  const out = new Uint8Array(layers.length * nHeads * S * S);
  let o = 0;
  for (const attn of layers) {
    for (let h = 0; h < nHeads; h++) {
      const r = resampleMatrix(headMatrix(attn, T, h), T, S, S, "max");
      for (let i = 0; i < r.length; i++) out[o++] = Math.round(Math.min(1, Math.max(0, r[i])) * 255);
    }
  }
  return out;
}

/** Suggested thumbnail side for T tokens. @param {number} T */
export function suggestedThumbSize(T) {
  return Math.max(1, Math.min(T, 32));
}
