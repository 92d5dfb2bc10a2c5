// exformer widget logic: what a view draws from a layer's attention (no DOM). Heads, hidden
// special tokens, pair filters and thresholds; server-pooled layers and zoomed tiles; attention sinks.
//
// Conventions used throughout:
// - An attention matrix is a row-major Float32Array of T*T weights: row = query ("from"),
//   column = key ("to"). A layer is [n_heads, T, T] laid out head after head.
// - Selected heads: an array of head indices; an EMPTY array means "all heads".
// - Visible tokens: when special tokens are hidden, matrices are compacted to K*K and come with an
//   `index` (Int32Array of length K) mapping compact position -> original token position.

import { enumValues } from "./protocol.js";

/** @typedef {import("./tokens.js").Token} Token */
/** @typedef {"each"|"mean"|"sum"} Combine */
/** @typedef {"all"|"AA"|"AB"|"BA"|"BB"} PairFilter */

/** The schema's (widget/protocol.json) `combine` and `pair_filter` values. */
export const COMBINES = enumValues("combine");
export const PAIR_FILTERS = enumValues("pair_filter");

// ---------------------------------------------------------------------------------------------
// Heads
// ---------------------------------------------------------------------------------------------

/**
 * Concrete list of selected heads (empty selection = all heads), sorted, deduplicated, in range.
 * @param {number[]|null|undefined} heads
 * @param {number} nHeads
 * @returns {number[]}
 */
export function selectedHeads(heads, nHeads) {
  const all = Array.from({ length: nHeads }, (_, i) => i);
  if (!heads || heads.length === 0) return all;
  const set = new Set();
  for (const h of heads) if (Number.isInteger(h) && h >= 0 && h < nHeads) set.add(h);
  const out = [...set].sort((a, b) => a - b);
  return out.length ? out : all;
}

/**
 * Toggle one head in a selection; never leaves nothing selected. Returns the canonical form
 * (empty array when every head ends up selected).
 * @param {number[]} heads
 * @param {number} head
 * @param {number} nHeads
 * @returns {number[]}
 */
export function toggleHead(heads, head, nHeads) {
  const cur = new Set(selectedHeads(heads, nHeads));
  if (cur.has(head)) {
    if (cur.size === 1) return canonicalHeads([...cur], nHeads);
    cur.delete(head);
  } else if (head >= 0 && head < nHeads) {
    cur.add(head);
  }
  return canonicalHeads([...cur], nHeads);
}

/**
 * @param {number[]} heads
 * @param {number} nHeads
 */
export function canonicalHeads(heads, nHeads) {
  const s = selectedHeads(heads, nHeads);
  return s.length === nHeads ? [] : s;
}

/**
 * Combine heads of one layer into a single T*T matrix.
 * @param {Float32Array} attn [nHeads, T, T]
 * @param {number} nHeads
 * @param {number} T
 * @param {number[]} heads selection (empty = all)
 * @param {"mean"|"sum"} how
 * @returns {Float32Array}
 */
export function combineHeads(attn, nHeads, T, heads, how = "mean") {
  if (how !== "mean" && how !== "sum") throw new Error(`combine must be "mean" or "sum", got ${JSON.stringify(how)}`);
  if (attn.length !== nHeads * T * T) throw new Error("attention length does not match n_heads × T × T");
  const hs = selectedHeads(heads, nHeads);
  const n = T * T;
  const out = new Float32Array(n);
  for (const h of hs) {
    const off = h * n;
    for (let i = 0; i < n; i++) out[i] += attn[off + i];
  }
  if (how === "mean") {
    const s = 1 / hs.length;
    for (let i = 0; i < n; i++) out[i] *= s;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Special tokens, renormalising, thresholds, pair filters
// ---------------------------------------------------------------------------------------------

/**
 * Which token positions stay visible.
 * @param {Token[]} tokens
 * @param {boolean} hideSpecial
 * @returns {Uint8Array} 1 = keep
 */
export function keepMask(tokens, hideSpecial) {
  const m = new Uint8Array(tokens.length).fill(1);
  if (hideSpecial) tokens.forEach((t, i) => (m[i] = t && t.special ? 0 : 1));
  // Hiding every token would leave nothing to show: keep all instead.
  if (!m.some((v) => v === 1)) m.fill(1);
  return m;
}

/**
 * Drop rows/cols whose keep flag is 0 and rescale each remaining row to sum to 1 (rows whose kept
 * weights sum to 0 stay all-zero).
 * @param {Float32Array} mat T*T
 * @param {number} T
 * @param {ArrayLike<number>} keep length T, truthy = keep
 * @returns {{mat: Float32Array, index: Int32Array, K: number}}
 */
export function renormaliseRows(mat, T, keep) {
  const index = keptIndex(keep, T);
  const K = index.length;
  const out = new Float32Array(K * K);
  for (let a = 0; a < K; a++) {
    const row = index[a] * T;
    let sum = 0;
    for (let b = 0; b < K; b++) sum += mat[row + index[b]];
    const s = sum > 0 ? 1 / sum : 0;
    const o = a * K;
    for (let b = 0; b < K; b++) out[o + b] = mat[row + index[b]] * s;
  }
  return { mat: out, index, K };
}

/**
 * @param {ArrayLike<number>} keep
 * @param {number} T
 */
export function keptIndex(keep, T) {
  const idx = [];
  for (let i = 0; i < T; i++) if (keep[i]) idx.push(i);
  return Int32Array.from(idx);
}

/**
 * Zero every weight below `threshold` (new array).
 * @param {Float32Array} mat
 * @param {number} threshold
 */
export function applyThreshold(mat, threshold) {
  const out = new Float32Array(mat.length);
  const t = Number.isFinite(threshold) ? threshold : 0;
  for (let i = 0; i < mat.length; i++) {
    const v = mat[i];
    out[i] = v >= t ? v : 0;
  }
  return out;
}

/** Whether the input has a second segment (B). @param {Token[]} tokens */
export function hasPair(tokens) {
  return tokens.some((t) => t && t.segment === 1);
}

/**
 * T*T mask of which (query, key) pairs a segment filter lets through: "AB" = queries in segment A
 * attending to keys in segment B, and so on. "all" lets everything through.
 * @param {Token[]} tokens
 * @param {PairFilter} filter
 * @returns {Uint8Array}
 */
export function pairFilterMask(tokens, filter) {
  const T = tokens.length;
  const out = new Uint8Array(T * T);
  if (filter === "all" || filter == null || filter === "") return out.fill(1);
  if (!PAIR_FILTERS.includes(filter)) throw new Error(`unknown pair filter ${JSON.stringify(filter)}`);
  const qs = filter[0] === "A" ? 0 : 1;
  const ks = filter[1] === "A" ? 0 : 1;
  for (let i = 0; i < T; i++) {
    if ((tokens[i].segment || 0) !== qs) continue;
    for (let j = 0; j < T; j++) if ((tokens[j].segment || 0) === ks) out[i * T + j] = 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pooled layers, zoomed tiles, the view pipeline
// ---------------------------------------------------------------------------------------------

/**
 * Token range of pooled bin b (of P bins over T tokens): the cells c with floor(c·P/T) = b.
 * @param {number} b @param {number} P @param {number} T
 * @returns {[number, number]} first and last token index
 */
export function binRange(b, P, T) {
  const lo = Math.ceil((b * T) / P);
  const hi = Math.max(lo, Math.ceil(((b + 1) * T) / P) - 1);
  return [lo, Math.min(hi, T - 1)];
}

/**
 * What a view draws from a server-pooled layer (long inputs): `attn` is Uint8 [nHeads, P, P], each
 * bin the max of its tokens' weights. Heads are combined (mean or sum; "each" means mean here),
 * then the threshold applies. Special tokens and pair filters need token resolution and are not
 * applied. `index[a]` is the first token of bin a, `binEnd[a]` its last.
 * @param {{attn: Uint8Array, nHeads: number, P: number, T: number, heads?: number[], combine?: string,
 *   threshold?: number, dropKeys?: number[]}} o
 * @returns {{K: number, index: Int32Array, binEnd: Int32Array, pooled: true, stretch: boolean,
 *   mats: {head: number|null, mat: Float32Array}[]}}
 */
export function pooledMatrices(o) {
  const { attn, nHeads, P, T } = o;
  if (attn.length !== nHeads * P * P) throw new Error("pooled attention length does not match n_heads × P × P");
  const hs = selectedHeads(o.heads, nHeads);
  const n = P * P;
  const mat = new Float32Array(n);
  const w = (o.combine === "sum" ? 1 : 1 / hs.length) / 255;
  for (const h of hs) {
    const off = h * n;
    for (let i = 0; i < n; i++) mat[i] += attn[off + i] * w;
  }
  const thr = o.threshold || 0;
  if (thr > 0) for (let i = 0; i < n; i++) if (mat[i] < thr) mat[i] = 0;
  const index = new Int32Array(P);
  const binEnd = new Int32Array(P);
  for (let b = 0; b < P; b++) [index[b], binEnd[b]] = binRange(b, P, T);
  // Left-out keys (sinks): their bins' columns are zeroed. Max-pooled rows cannot be rescaled, so
  // the view stretches its colours to what is left instead (`stretch`).
  const dropBins = [...new Set((o.dropKeys || []).filter((j) => j >= 0 && j < T).map((j) => Math.min(P - 1, Math.floor((j * P) / T))))];
  for (const b of dropBins) for (let a = 0; a < P; a++) mat[a * P + b] = 0;
  return { K: P, index, binEnd, pooled: true, stretch: dropBins.length > 0, mats: [{ head: null, mat }] };
}

/**
 * A zoomed full-resolution tile (`tile`, Uint8 [nHeads, n, n], rows r0.., columns c0..) as the matrix
 * view draws it: heads combined (mean or sum), threshold applied. `index` = the rows' tokens,
 * `colIndex` = the columns' tokens.
 * @param {{bytes: Uint8Array, nHeads: number, n: number, r0: number, c0: number, heads?: number[],
 *   combine?: string, threshold?: number, dropKeys?: number[]}} o
 * @returns {{K: number, index: Int32Array, colIndex: Int32Array, tile: true, stretch: boolean, mats: {head: number|null, mat: Float32Array}[]}}
 */
export function tileMatrices(o) {
  const { bytes, nHeads, n } = o;
  if (bytes.length !== nHeads * n * n) throw new Error("tile length does not match n_heads × n × n");
  const hs = selectedHeads(o.heads, nHeads);
  const mat = new Float32Array(n * n);
  const w = (o.combine === "sum" ? 1 : 1 / hs.length) / 255;
  for (const h of hs) {
    const off = h * n * n;
    for (let i = 0; i < n * n; i++) mat[i] += bytes[off + i] * w;
  }
  const thr = o.threshold || 0;
  if (thr > 0) for (let i = 0; i < n * n; i++) if (mat[i] < thr) mat[i] = 0;
  const index = new Int32Array(n);
  const colIndex = new Int32Array(n);
  for (let a = 0; a < n; a++) {
    index[a] = o.r0 + a;
    colIndex[a] = o.c0 + a;
  }
  // Left-out keys (sinks) inside the tile: zeroed, colours stretched to the rest (a tile has no
  // whole rows to rescale).
  const drop = (o.dropKeys || []).map((j) => j - o.c0).filter((b) => b >= 0 && b < n);
  for (const b of drop) for (let a = 0; a < n; a++) mat[a * n + b] = 0;
  return { K: n, index, colIndex, tile: true, stretch: drop.length > 0, mats: [{ head: null, mat }] };
}

/** Side of the zoom window the matrix view asks the kernel for (tokens per axis, labels readable). */
export const ZOOM_TOKENS = 64;

/**
 * The zoom window centred on token (row, col), clamped to the input.
 * @param {number} row @param {number} col @param {number} T @param {number} [n]
 * @returns {{r0: number, c0: number, n: number}}
 */
export function zoomAround(row, col, T, n = ZOOM_TOKENS) {
  const m = Math.max(1, Math.min(n, T));
  const clamp = (/** @type {number} */ x) => Math.max(0, Math.min(T - m, Math.round(x - m / 2)));
  return { r0: clamp(row), c0: clamp(col), n: m };
}

/**
 * Full pipeline from a layer to what a view draws.
 * Order: per head, drop hidden tokens and left-out keys (attention sinks) and renormalise rows →
 * combine heads (unless "each") → pair filter (zeroes disallowed pairs; no renormalising) →
 * threshold.
 * `attn` may be the decoded Float32Array or the raw bytes (Uint8Array, weight = byte/255): long
 * inputs are processed straight from the bytes without a float copy of the whole layer.
 * `dropKeys` (original positions) are zeroed as keys (their rows stay) and every row is rescaled to
 * the mass left.
 * @param {{attn: Float32Array|Uint8Array, nHeads: number, T: number, tokens: Token[], heads?: number[],
 *   combine?: Combine, hideSpecial?: boolean, pairFilter?: PairFilter, threshold?: number,
 *   dropKeys?: number[]}} o
 * @returns {{K: number, index: Int32Array, mats: {head: number|null, mat: Float32Array}[]}}
 */
export function viewMatrices(o) {
  const { attn, nHeads, T, tokens } = o;
  const combine = o.combine || "each";
  if (!COMBINES.includes(combine)) throw new Error(`unknown combine ${JSON.stringify(combine)}`);
  if (attn.length !== nHeads * T * T) throw new Error("attention length does not match n_heads × T × T");
  const scale = attn instanceof Uint8Array ? 1 / 255 : 1;
  const hs = selectedHeads(o.heads, nHeads);
  const keep = keepMask(tokens, !!o.hideSpecial);
  const index = keptIndex(keep, T);
  const K = index.length;
  const compactOf = new Int32Array(T).fill(-1);
  index.forEach((orig, a) => (compactOf[orig] = a));
  // left-out keys, as compact columns (a hidden token is already gone)
  const drop = [...new Set(o.dropKeys || [])].map((j) => (j >= 0 && j < T ? compactOf[j] : -1)).filter((b) => b >= 0);
  const renorm = K !== T || drop.length > 0;
  const n = K * K;

  /**
   * Add head h (renormalised over the kept keys when some are hidden or left out) times `w`.
   * @param {Float32Array} acc
   * @param {number} h
   * @param {number} w
   */
  const addHead = (acc, h, w) => {
    const off = h * T * T;
    if (!renorm) {
      const s = w * scale;
      for (let i = 0; i < n; i++) acc[i] += attn[off + i] * s;
      return;
    }
    for (let a = 0; a < K; a++) {
      const row = off + index[a] * T;
      let sum = 0;
      for (let b = 0; b < K; b++) sum += attn[row + index[b]];
      for (const b of drop) sum -= attn[row + index[b]];
      if (!(sum > 0)) continue;
      const s = w / sum;
      const o2 = a * K;
      for (let b = 0; b < K; b++) acc[o2 + b] += attn[row + index[b]] * s;
      for (const b of drop) acc[o2 + b] -= attn[row + index[b]] * s;
    }
  };
  /** @type {{head: number|null, mat: Float32Array}[]} */
  let mats;
  if (combine === "each") {
    mats = hs.map((h) => {
      const m = new Float32Array(n);
      addHead(m, h, 1);
      return { head: h, mat: m };
    });
  } else if (K === T || K < T / 2) {
    const acc = new Float32Array(n);
    const w = combine === "mean" ? 1 / hs.length : 1;
    for (const h of hs) addHead(acc, h, w);
    mats = [{ head: null, mat: acc }];
  } else {
    // Long inputs hide few tokens: accumulate full rows contiguously (row sum over kept keys =
    // full row sum minus the hidden and left-out columns), then compact once at the end.
    const hidden = [];
    for (let j = 0; j < T; j++) if (!keep[j]) hidden.push(j);
    for (const b of drop) hidden.push(index[b]);
    const full = new Float32Array(T * T);
    const w = combine === "mean" ? 1 / hs.length : 1;
    for (const h of hs) {
      const off = h * T * T;
      for (let a = 0; a < K; a++) {
        const row = index[a] * T;
        const src = off + row;
        let sum = 0;
        for (let j = 0; j < T; j++) sum += attn[src + j];
        for (const j of hidden) sum -= attn[src + j];
        if (!(sum > 0)) continue;
        const sc = w / sum;
        for (let j = 0; j < T; j++) full[row + j] += attn[src + j] * sc;
      }
    }
    const acc = new Float32Array(n);
    for (let a = 0; a < K; a++) {
      const row = index[a] * T;
      const o2 = a * K;
      for (let b = 0; b < K; b++) acc[o2 + b] = full[row + index[b]];
    }
    for (const b of drop) for (let a = 0; a < K; a++) acc[a * K + b] = 0;
    mats = [{ head: null, mat: acc }];
  }
  if (drop.length) for (const { mat } of mats) for (const b of drop) for (let a = 0; a < K; a++) mat[a * K + b] = 0;
  const pf = o.pairFilter || "all";
  if (pf !== "all") {
    const full = pairFilterMask(tokens, pf);
    for (const { mat } of mats) {
      for (let a = 0; a < K; a++) {
        const row = index[a] * T;
        for (let b = 0; b < K; b++) if (!full[row + index[b]]) mat[a * K + b] = 0;
      }
    }
  }
  const thr = o.threshold || 0;
  if (thr > 0) {
    for (const m of mats) {
      const x = m.mat;
      for (let i = 0; i < x.length; i++) if (x[i] < thr) x[i] = 0;
    }
  }
  return { K, index, mats };
}

// ---------------------------------------------------------------------------------------------
// Attention sinks
// ---------------------------------------------------------------------------------------------

/** A key whose mean weight over all queries (and the heads) reaches this is a sink. */
export const SINK_MIN_SHARE = 0.3;
/** "auto" leaves sinks out when the strongest one takes at least this share. */
export const SINK_AUTO_SHARE = 0.5;

/**
 * Keys that soak up attention ("attention sinks"): mean weight each key receives over all S rows
 * and every head of a layer ([nHeads, S, S], floats or bytes = weight·255), strongest first.
 * @param {Float32Array|Uint8Array} attn
 * @param {number} nHeads
 * @param {number} S side (tokens, or bins of a pooled map)
 * @param {number} [minShare]
 * @returns {{key: number, share: number}[]}
 */
export function sinkKeys(attn, nHeads, S, minShare = SINK_MIN_SHARE) {
  if (!attn || !(S > 0) || attn.length !== nHeads * S * S) return [];
  const scale = attn instanceof Uint8Array ? 1 / 255 : 1;
  const col = new Float64Array(S);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < S; i++) {
      const row = (h * S + i) * S;
      for (let j = 0; j <= i && j < S; j++) col[j] += attn[row + j];
    }
  }
  const denom = nHeads * S;
  const out = [];
  for (let j = 0; j < S; j++) {
    const share = (col[j] * scale) / denom;
    if (share >= minShare) out.push({ key: j, share });
  }
  return out.sort((a, b) => b.share - a.share);
}

/**
 * Whether sinks are left out: "on" / "off" as asked, "auto" when the strongest one takes at least
 * SINK_AUTO_SHARE of the layer's attention.
 * @param {string} setting
 * @param {{share: number}[]} sinks
 */
export function dropSinks(setting, sinks) {
  if (!sinks.length || setting === "off") return false;
  if (setting === "on") return true;
  return sinks[0].share >= SINK_AUTO_SHARE;
}
