// exformer widget: pure logic (no DOM). Everything here is covered by `node --test widget/test/`.
//
// Conventions used throughout:
// - An attention matrix is a row-major Float32Array of T*T weights: row = query ("from"),
//   column = key ("to"). A layer is [n_heads, T, T] laid out head after head.
// - Selected heads: an array of head indices; an EMPTY array means "all heads".
// - Visible tokens: when special tokens are hidden, matrices are compacted to K*K and come with an
//   `index` (Int32Array of length K) mapping compact position -> original token position.

/** @typedef {{text: string, special?: boolean, segment?: number, masked?: boolean, knocked_out?: boolean}} Token */
/** @typedef {{token: string, prob: number}} Prediction */
/** @typedef {"each"|"mean"|"sum"} Combine */
/** @typedef {"all"|"AA"|"AB"|"BA"|"BB"} PairFilter */

/** Longest input (in tokens) for which the head view (curves) is the default view. */
export const HEAD_VIEW_MAX_TOKENS = 60;

/** Views the widget knows. */
export const VIEWS = ["head", "model", "matrix"];
export const COMBINES = ["each", "mean", "sum"];
export const PAIR_FILTERS = ["all", "AA", "AB", "BA", "BB"];

// ---------------------------------------------------------------------------------------------
// Binary buffers
// ---------------------------------------------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  // Also accept the URL-safe alphabet.
  t["-".charCodeAt(0)] = 62;
  t["_".charCodeAt(0)] = 63;
  return t;
})();

/**
 * Decode standard base64 (RFC 4648 §4, padding optional, ASCII whitespace ignored; the URL-safe
 * alphabet is accepted too).
 * @param {string} s
 * @returns {Uint8Array}
 */
export function base64ToBytes(s) {
  if (typeof s !== "string") throw new TypeError("base64ToBytes expects a string");
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61 /* = */) break;
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    const v = c < 256 ? B64_INDEX[c] : -1;
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(s[i])} at offset ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.slice(0, n);
}

/**
 * Encode bytes as standard base64 with padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function bytesToBase64(bytes) {
  const parts = [];
  let chunk = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const t = (a << 16) | (b << 8) | c;
    chunk += B64[(t >> 18) & 63] + B64[(t >> 12) & 63];
    chunk += i + 1 < bytes.length ? B64[(t >> 6) & 63] : "=";
    chunk += i + 2 < bytes.length ? B64[t & 63] : "=";
    if (chunk.length > 8192) {
      parts.push(chunk);
      chunk = "";
    }
  }
  parts.push(chunk);
  return parts.join("");
}

/**
 * View any binary value the widget may receive as a Uint8Array without copying when possible.
 * anywidget hands binary traits over as DataView; tests and the static model may pass
 * ArrayBuffer, typed arrays, plain arrays of bytes, or a base64 string.
 * @param {unknown} buf
 * @returns {Uint8Array|null}
 */
export function toBytes(buf) {
  if (buf == null) return null;
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (Array.isArray(buf)) return Uint8Array.from(buf);
  if (typeof buf === "string") return base64ToBytes(buf);
  // ipywidgets sometimes wraps buffers as {buffer: ArrayBuffer}
  if (typeof buf === "object" && buf && "buffer" in buf) return toBytes(/** @type {any} */ (buf).buffer);
  throw new TypeError(`unsupported binary value of type ${Object.prototype.toString.call(buf)}`);
}

/**
 * Validate the `attn` buffer's size and view it as bytes without copying: Uint8 row-major
 * [nHeads, T, T], weight = byte / 255. Long inputs stay as bytes (T = 4096 with 12 heads is 200 MB
 * of bytes but would be 800 MB as floats).
 * @param {unknown} buffer
 * @param {number} nHeads
 * @param {number} T
 * @returns {Uint8Array}
 */
export function attentionBytes(buffer, nHeads, T) {
  const bytes = toBytes(buffer);
  const want = nHeads * T * T;
  if (!bytes) throw new Error("no attention buffer");
  if (!(nHeads > 0) || !(T > 0)) throw new Error(`bad attention shape: ${nHeads} heads × ${T} tokens`);
  if (bytes.length !== want) {
    throw new Error(
      `attention buffer holds ${bytes.length} bytes but n_heads × T × T = ${nHeads} × ${T} × ${T} = ${want}`,
    );
  }
  return bytes;
}

const BYTE_TO_WEIGHT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/**
 * Decode the `attn` buffer: Uint8 row-major [nHeads, T, T], weight = byte / 255.
 * @param {unknown} buffer
 * @param {number} nHeads
 * @param {number} T
 * @returns {Float32Array} length nHeads*T*T
 */
export function decodeAttention(buffer, nHeads, T) {
  const bytes = attentionBytes(buffer, nHeads, T);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_WEIGHT[bytes[i]];
  return out;
}

/**
 * One head's T*T matrix (a view, not a copy).
 * @template {Float32Array|Uint8Array} A
 * @param {A} attn [nHeads, T, T]
 * @param {number} T
 * @param {number} head
 */
export function headMatrix(attn, T, head) {
  const n = T * T;
  if (head < 0 || (head + 1) * n > attn.length) throw new RangeError(`head ${head} out of range`);
  return attn.subarray(head * n, (head + 1) * n);
}

/**
 * Thumbnail of (layer, head) from the `thumbs` buffer: Uint8 [nLayers, nHeads, S, S] (a view).
 * @param {Uint8Array} thumbs
 * @param {number} nHeads
 * @param {number} S
 * @param {number} layer
 * @param {number} head
 */
export function thumbAt(thumbs, nHeads, S, layer, head) {
  const n = S * S;
  const off = (layer * nHeads + head) * n;
  if (layer < 0 || head < 0 || head >= nHeads || off + n > thumbs.length) {
    throw new RangeError(`thumbnail (${layer}, ${head}) out of range`);
  }
  return thumbs.subarray(off, off + n);
}

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

// ---------------------------------------------------------------------------------------------
// Which edges the head view draws
// ---------------------------------------------------------------------------------------------

/** Per-query edge selections: every edge, the k strongest, or the fewest reaching a share of the row. */
export const EDGE_MODES = ["all", "top1", "top3", "top10", "mass50", "mass90"];

/** How the head view's hint names each edge selection ("each query shows its …"). */
export const EDGE_LABEL = {
  all: "edges",
  top1: "strongest edge",
  top3: "3 strongest edges",
  top10: "10 strongest edges",
  mass50: "strongest edges up to half of its attention",
  mass90: "strongest edges up to 90 % of its attention",
};

/** Default edge selection for T tokens: all when short, the 3 strongest per query past that. @param {number} T */
export function defaultEdges(T) {
  return T <= HEAD_VIEW_MAX_TOKENS ? "all" : "top3";
}

/**
 * Edges of row `a` of a K×K matrix kept by `mode` (weights ≤ minW never count), strongest first.
 * @param {Float32Array} mat
 * @param {number} K
 * @param {number} a
 * @param {string} mode one of EDGE_MODES
 * @param {number} [minW]
 * @returns {number[]} flat [key, weight, key, weight, ...]
 */
export function rowEdges(mat, K, a, mode, minW = 1e-3) {
  const o = a * K;
  /** @type {number[]} */
  const keys = [];
  for (let b = 0; b < K; b++) if (mat[o + b] > minW) keys.push(b);
  if (mode === "all" || !EDGE_MODES.includes(mode)) return keys.flatMap((b) => [b, mat[o + b]]);
  keys.sort((x, y) => mat[o + y] - mat[o + x] || x - y);
  let n = keys.length;
  if (mode.startsWith("top")) n = Math.min(n, Number(mode.slice(3)));
  else {
    const target = Number(mode.slice(4)) / 100;
    let total = 0;
    for (let b = 0; b < K; b++) total += mat[o + b];
    let acc = 0;
    n = 0;
    while (n < keys.length && acc < target * total * (1 - 1e-6)) acc += mat[o + keys[n++]];
  }
  return keys.slice(0, n).flatMap((b) => [b, mat[o + b]]);
}

/**
 * Edges of the given rows, grouped by opacity bucket (one canvas path per bucket).
 * @param {Float32Array} mat
 * @param {number} K
 * @param {Iterable<number>} rows compact query rows
 * @param {string} mode one of EDGE_MODES
 * @param {number} [levels]
 * @returns {{alpha: number, edges: number[]}[]} edges as flat [from, to, ...] pairs
 */
export function bucketRows(mat, K, rows, mode, levels = 24) {
  return opacityBuckets(levels, (add) => {
    for (const a of rows) {
      const e = rowEdges(mat, K, a, mode);
      for (let i = 0; i < e.length; i += 2) add(a, e[i], e[i + 1]);
    }
  });
}

/**
 * Edges grouped by opacity bucket: `fill(add)` calls add(from, to, weight) for each edge; weights
 * at or above 1 go to the top bucket.
 * @param {number} levels
 * @param {(add: (i: number, j: number, w: number) => void) => void} fill
 * @returns {{alpha: number, edges: number[]}[]}
 */
function opacityBuckets(levels, fill) {
  /** @type {number[][]} */
  const buckets = Array.from({ length: levels }, () => []);
  fill((i, j, w) => buckets[Math.min(levels - 1, Math.floor(Math.min(1, w) * levels))].push(i, j));
  const out = [];
  for (let b = 0; b < levels; b++) if (buckets[b].length) out.push({ alpha: (b + 1) / levels, edges: buckets[b] });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Finding tokens, interventions, before → after
// ---------------------------------------------------------------------------------------------

/**
 * Token positions matching a query: "#12" or "12" is that position (if it exists, plus any token
 * whose text is "12"); anything else matches token text, case-insensitive, ignoring the leading
 * space, exact matches first, then in order.
 * @param {Token[]} tokens
 * @param {string} query
 * @returns {number[]}
 */
export function findTokens(tokens, query) {
  const q = String(query ?? "").trim();
  if (!q) return [];
  const out = [];
  const num = /^#?(\d+)$/.exec(q);
  if (num) {
    const i = Number(num[1]);
    if (i < tokens.length) out.push(i);
    if (q.startsWith("#")) return out;
  }
  const needle = q.toLowerCase();
  const exact = [];
  const part = [];
  tokens.forEach((t, i) => {
    const text = String(t?.text ?? "").trim().toLowerCase();
    if (!text || out.includes(i)) return;
    if (text === needle) exact.push(i);
    else if (text.includes(needle)) part.push(i);
  });
  return [...out, ...exact, ...part];
}

/**
 * The interventions on the tokens, in position order (what the interventions line lists).
 * @param {(Token & {pending?: boolean})[]} tokens
 * @returns {{index: number, mode: "mask"|"knockout", text: string, pending: boolean}[]}
 */
export function interventionList(tokens) {
  const out = [];
  tokens.forEach((t, i) => {
    if (t?.masked) out.push({ index: i, mode: /** @type {const} */ ("mask"), text: String(t.text ?? ""), pending: !!t.pending });
    if (t?.knocked_out) out.push({ index: i, mode: /** @type {const} */ ("knockout"), text: String(t.text ?? ""), pending: !!t.pending });
  });
  return out;
}

/**
 * Predictions after an intervention beside the same position's before the intervention:
 * `before` is the earlier probability of the same token (null when it was not in the earlier
 * top-k: a new entry).
 * @param {Prediction[]} after
 * @param {Prediction[]|null|undefined} before
 * @returns {{token: string, prob: number, before: number|null}[]}
 */
export function predictionDiff(after, before) {
  const was = new Map((before || []).map((p) => [p.token, p.prob]));
  return (after || []).map((p) => ({ token: p.token, prob: p.prob, before: was.has(p.token) ? /** @type {number} */ (was.get(p.token)) : null }));
}

// ---------------------------------------------------------------------------------------------
// Resampling (heatmap and thumbnails)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Colours
// ---------------------------------------------------------------------------------------------

/**
 * Head colours: 16 hues chosen to stay distinguishable on white and on dark backgrounds (the first
 * 12, enough for BERT-base, are pairwise furthest apart).
 * Heads beyond 16 reuse the palette (head h gets HEAD_COLOURS[h % 16]).
 */
export const HEAD_COLOURS = [
  "#1f77b4", // blue
  "#ff7f0e", // orange
  "#2ca02c", // green
  "#d62728", // red
  "#9467bd", // purple
  "#8c564b", // brown
  "#e377c2", // pink
  "#17becf", // cyan
  "#bcbd22", // olive
  "#393b79", // indigo
  "#00a087", // teal
  "#c51b7d", // magenta
  "#6baed6", // sky
  "#636363", // grey
  "#7fbf3f", // lime
  "#fdb462", // apricot
];

/** @param {number} h */
export function headColour(h) {
  const n = HEAD_COLOURS.length;
  return HEAD_COLOURS[((h % n) + n) % n];
}

/**
 * Mix a colour toward another: t = 0 gives `a`, 1 gives `b`. Returns "#rrggbb".
 * @param {string} a
 * @param {string} b
 * @param {number} t
 */
export function mixColour(a, b, t) {
  const x = parseColour(a) || [0, 0, 0];
  const y = parseColour(b) || [0, 0, 0];
  const hex = (v) => Math.round(v).toString(16).padStart(2, "0");
  return `#${[0, 1, 2].map((k) => hex(x[k] + (y[k] - x[k]) * t)).join("")}`;
}

/**
 * Head colour for the current theme: on dark backgrounds the palette is lifted toward white so the
 * darker hues (indigo, brown, grey) stay visible.
 * @param {number} h
 * @param {boolean} dark
 */
export function headColourFor(h, dark) {
  const c = headColour(h);
  if (!dark) return c;
  const lum = luminance(parseColour(c) || [0, 0, 0]);
  return mixColour(c, "#ffffff", lum < 0.1 ? 0.45 : lum < 0.2 ? 0.3 : 0.15);
}

/**
 * Parse "#rgb", "#rrggbb", "rgb(r, g, b)" or "rgba(r, g, b, a)" into [r, g, b] (0..255), or null.
 * @param {string} s
 * @returns {[number, number, number]|null}
 */
export function parseColour(s) {
  if (typeof s !== "string") return null;
  s = s.trim().toLowerCase();
  let m = /^#([0-9a-f]{3})$/.exec(s);
  if (m) return /** @type {[number,number,number]} */ ([...m[1]].map((c) => parseInt(c + c, 16)));
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/.exec(s);
  if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s);
  if (m) return [1, 2, 3].map((i) => Math.round(Number(m[i])));
  return null;
}

/** Relative luminance (0..1) of an sRGB colour. @param {[number, number, number]} rgb */
export function luminance(rgb) {
  const lin = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/** Whether a CSS background colour is dark. @param {string} css */
export function isDarkColour(css) {
  const c = parseColour(css);
  return c ? luminance(c) < 0.3 : false;
}

/** Heatmap ramps: weight 0 → first stop, weight 1 → last stop. */
export const RAMP_LIGHT = ["#ffffff", "#e3eef9", "#a9cce8", "#5a9fd4", "#2166ac", "#0b2f6b"];
export const RAMP_DARK = ["#15171c", "#1e2d4a", "#28528a", "#3d8bc4", "#8cc8e8", "#f2fbff"];

/**
 * 256-entry RGBA lookup table interpolated linearly between colour stops.
 * @param {string[]} stops
 * @returns {Uint8ClampedArray} 1024 bytes
 */
export function buildRamp(stops) {
  const rgb = stops.map((s) => parseColour(s) || [0, 0, 0]);
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1);
    const k = Math.min(rgb.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 4 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
    lut[i * 4 + 3] = 255;
  }
  return lut;
}

/**
 * Paint weights into RGBA pixels through a LUT. `gamma` < 1 brightens faint weights.
 * @param {Float32Array} values outW*outH
 * @param {Uint8ClampedArray} lut from buildRamp
 * @param {Uint8ClampedArray} [rgba] destination (e.g. ImageData.data)
 * @param {number} [gamma]
 */
export function colourise(values, lut, rgba = new Uint8ClampedArray(values.length * 4), gamma = 1) {
  const g = gamma > 0 ? gamma : 1;
  for (let i = 0; i < values.length; i++) {
    let v = values[i];
    v = v <= 0 ? 0 : v >= 1 ? 1 : v;
    if (g !== 1) v = v ** g;
    const k = ((v * 255 + 0.5) | 0) * 4;
    const o = i * 4;
    rgba[o] = lut[k];
    rgba[o + 1] = lut[k + 1];
    rgba[o + 2] = lut[k + 2];
    rgba[o + 3] = lut[k + 3];
  }
  return rgba;
}

// ---------------------------------------------------------------------------------------------
// Head-view geometry
// ---------------------------------------------------------------------------------------------

/**
 * Cubic Bézier joining a "from" token (left column) to a "to" token (right column): leaves and
 * arrives horizontally, control points halfway across.
 * @returns {{x1: number, y1: number, c1x: number, c1y: number, c2x: number, c2y: number, x2: number, y2: number}}
 */
export function curve(x1, y1, x2, y2) {
  const dx = (x2 - x1) / 2;
  return { x1, y1, c1x: x1 + dx, c1y: y1, c2x: x2 - dx, c2y: y2, x2, y2 };
}

/** SVG path data for `curve`. */
export function curvePath(x1, y1, x2, y2) {
  const c = curve(x1, y1, x2, y2);
  const f = (v) => Math.round(v * 100) / 100;
  return `M${f(c.x1)},${f(c.y1)} C${f(c.c1x)},${f(c.c1y)} ${f(c.c2x)},${f(c.c2y)} ${f(c.x2)},${f(c.y2)}`;
}

/**
 * Edges worth drawing, grouped by opacity bucket so a canvas can stroke each group in one path.
 * @param {Float32Array} mat K*K (already thresholded / filtered)
 * @param {number} K
 * @param {{focus?: number, side?: "from"|"to", levels?: number, minWeight?: number}} [opt]
 *   focus: compact index whose edges alone are kept (from = its row, to = its column); -1 = all.
 * @returns {{alpha: number, edges: number[]}[]} edges as flat [from, to, from, to, ...] pairs
 */
export function bucketEdges(mat, K, opt = {}) {
  const minW = opt.minWeight ?? 1e-3;
  const focus = opt.focus ?? -1;
  const side = opt.side || "from";
  return opacityBuckets(opt.levels || 24, (add) => {
    const push = (/** @type {number} */ i, /** @type {number} */ j) => {
      const w = mat[i * K + j];
      if (w > minW) add(i, j, w);
    };
    if (focus >= 0 && focus < K) {
      for (let k = 0; k < K; k++) side === "to" ? push(k, focus) : push(focus, k);
    } else {
      for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) push(i, j);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Tokens, predictions, interventions
// ---------------------------------------------------------------------------------------------

/**
 * Short display form of a token's text: leading space dropped (shown by the layout), whitespace
 * made visible, empty text shown as ∅.
 * @param {string} text
 */
export function displayToken(text) {
  if (text == null) return "∅";
  let s = String(text);
  if (/^\s+$/.test(s)) {
    return s.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "").replace(/ /g, "␣");
  }
  s = s.replace(/^ +/, "").replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "");
  return s.length ? s : "∅";
}

/**
 * Accessible label for a token button.
 * @param {Token} t
 * @param {number} i
 */
export function tokenAriaLabel(t, i) {
  const bits = [`token ${i}: ${JSON.stringify(String(t.text ?? ""))}`];
  if (t.special) bits.push("special");
  if (t.segment === 1) bits.push("segment B");
  if (t.masked) bits.push("masked");
  if (t.knocked_out) bits.push("knocked out");
  return bits.join(", ");
}

/** "87.3%", "<0.1%". @param {number} p */
export function formatProb(p) {
  if (!Number.isFinite(p)) return "–";
  const pct = p * 100;
  if (pct > 0 && pct < 0.1) return "<0.1%";
  return `${pct >= 10 ? pct.toFixed(1) : pct.toFixed(2)}%`;
}

/** Default view for an input of T tokens. @param {number} T */
export function defaultView(T) {
  return T <= HEAD_VIEW_MAX_TOKENS ? "head" : "matrix";
}

/**
 * Net effect of a queue of toggle clicks: two toggles of the same (index, mode) cancel out.
 * Order of first appearance is kept.
 * @param {{index: number, mode: string}[]} queue
 * @returns {{index: number, mode: string}[]}
 */
export function coalesceToggles(queue) {
  /** @type {Map<string, {index: number, mode: string, n: number}>} */
  const m = new Map();
  for (const q of queue) {
    const k = `${q.mode}:${q.index}`;
    const e = m.get(k);
    if (e) e.n++;
    else m.set(k, { index: q.index, mode: q.mode, n: 1 });
  }
  return [...m.values()].filter((e) => e.n % 2 === 1).map(({ index, mode }) => ({ index, mode }));
}

/**
 * Tokens as they will look once pending toggles are applied (for optimistic display).
 * @param {Token[]} tokens
 * @param {{index: number, mode: string}[]} pending
 * @returns {(Token & {pending?: boolean})[]}
 */
export function applyPending(tokens, pending) {
  const out = tokens.map((t) => ({ ...t }));
  for (const p of coalesceToggles(pending)) {
    const t = out[p.index];
    if (!t) continue;
    if (p.mode === "mask") t.masked = !t.masked;
    else if (p.mode === "knockout") t.knocked_out = !t.knocked_out;
    t.pending = true;
  }
  return out;
}

/**
 * Which click modes the model supports: masking needs a masked LM.
 * @param {string} kind
 */
export function availableModes(kind) {
  return kind === "masked_lm" ? ["mask", "knockout"] : ["knockout"];
}

/**
 * Heading for the predictions panel.
 * @param {string} kind
 * @param {Token} t
 * @param {number} i
 */
export function predictionCaption(kind, t, i) {
  const shown = JSON.stringify(displayToken(t.text));
  if (kind === "causal_lm") return `Next token after ${shown} (#${i})`;
  if (t.masked) return `[MASK] at #${i} (was ${shown})`;
  return `Token ${shown} (#${i})`;
}

/**
 * Clamp an integer into [lo, hi].
 * @param {number} v
 * @param {number} lo
 * @param {number} hi
 */
export function clampInt(v, lo, hi) {
  v = Math.round(Number(v));
  if (!Number.isFinite(v)) return lo;
  return Math.max(lo, Math.min(hi, v));
}
