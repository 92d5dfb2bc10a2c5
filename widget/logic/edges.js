// exformer widget logic: the head view's edges (which ones each query draws, grouped by opacity)
// and its curves.

import { enumValues, stateDefault } from "./protocol.js";

// ---------------------------------------------------------------------------------------------
// Which edges the head view draws
// ---------------------------------------------------------------------------------------------

/** Per-query edge selections: every edge, the k strongest, or the fewest reaching a share of the row. */
export const EDGE_MODES = enumValues("edges");

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
  return stateDefault("edges", T);
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
