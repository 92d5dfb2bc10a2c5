// exformer widget: GENERATED single-file ES module (esbuild 0.28.2 bundle of widget/main.js).
// Do not edit by hand: edit the sources in widget/ and run `npm --prefix widget run build`
// (`node --test widget/test/` fails when this file is stale).
// Interface (anywidget AFM): export default { render }; named exports HEAD_VIEW_MAX_TOKENS, createStaticModel.

// logic/buffers.js
var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
var B64_INDEX = /* @__PURE__ */ (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  t["-".charCodeAt(0)] = 62;
  t["_".charCodeAt(0)] = 63;
  return t;
})();
function base64ToBytes(s) {
  if (typeof s !== "string") throw new TypeError("base64ToBytes expects a string");
  const out = new Uint8Array(Math.floor(s.length * 3 / 4) + 3);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61) break;
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    const v = c < 256 ? B64_INDEX[c] : -1;
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(s[i])} at offset ${i}`);
    acc = (acc << 6 | v) & 16777215;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = acc >> bits & 255;
    }
  }
  return out.slice(0, n);
}
function toBytes(buf) {
  if (buf == null) return null;
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (Array.isArray(buf)) return Uint8Array.from(buf);
  if (typeof buf === "string") return base64ToBytes(buf);
  if (typeof buf === "object" && buf && "buffer" in buf) return toBytes(
    /** @type {any} */
    buf.buffer
  );
  throw new TypeError(`unsupported binary value of type ${Object.prototype.toString.call(buf)}`);
}
function attentionBytes(buffer, nHeads, T) {
  const bytes = toBytes(buffer);
  const want = nHeads * T * T;
  if (!bytes) throw new Error("no attention buffer");
  if (!(nHeads > 0) || !(T > 0)) throw new Error(`bad attention shape: ${nHeads} heads × ${T} tokens`);
  if (bytes.length !== want) {
    throw new Error(
      `attention buffer holds ${bytes.length} bytes but n_heads × T × T = ${nHeads} × ${T} × ${T} = ${want}`
    );
  }
  return bytes;
}
function thumbAt(thumbs, nHeads, S, layer, head) {
  const n = S * S;
  const off = (layer * nHeads + head) * n;
  if (layer < 0 || head < 0 || head >= nHeads || off + n > thumbs.length) {
    throw new RangeError(`thumbnail (${layer}, ${head}) out of range`);
  }
  return thumbs.subarray(off, off + n);
}

// protocol.json
var protocol_default = {
  $comment: 'The widget state schema the kernel and the front end both read; docs/widget-protocol.md, "The schema", says what each field means.',
  constants: {
    HEAD_VIEW_MAX_TOKENS: 60
  },
  palette: {
    head_colours: [
      "#1f77b4",
      "#ff7f0e",
      "#2ca02c",
      "#d62728",
      "#9467bd",
      "#8c564b",
      "#e377c2",
      "#17becf",
      "#bcbd22",
      "#393b79",
      "#00a087",
      "#c51b7d",
      "#6baed6",
      "#636363",
      "#7fbf3f",
      "#fdb462"
    ],
    ramp_light: ["#ffffff", "#e3eef9", "#a9cce8", "#5a9fd4", "#2166ac", "#0b2f6b"],
    ramp_dark: ["#15171c", "#1e2d4a", "#28528a", "#3d8bc4", "#8cc8e8", "#f2fbff"]
  },
  state: {
    model_name: { owner: "kernel", type: "string" },
    kind: { owner: "kernel", type: "enum", values: ["masked_lm", "causal_lm", "encoder"] },
    n_layers: { owner: "kernel", type: "int" },
    n_heads: { owner: "kernel", type: "int" },
    seq_len: { owner: "kernel", type: "int" },
    tokens: { owner: "kernel", type: "json" },
    predictions: { owner: "kernel", type: "json" },
    predictions_base: { owner: "kernel", type: "json" },
    layer: { owner: "front", type: "index", of: "n_layers", outside: "clamp", redraw: true },
    heads: { owner: "front", type: "index_set", of: "n_heads", default: [], redraw: true },
    view: {
      owner: "front",
      type: "enum",
      values: ["head", "model", "matrix"],
      default: { short: "head", long: "matrix" },
      redraw: true,
      reset_with_text: true
    },
    threshold: {
      owner: "front",
      type: "number",
      range: [0, 1],
      default: { short: 0.05, long: 0 },
      redraw: true,
      reset_with_text: true
    },
    hide_special: { owner: "front", type: "bool", default: false, redraw: true },
    combine: {
      owner: "front",
      type: "enum",
      values: ["each", "mean", "sum"],
      default: { short: "each", long: "mean" },
      reset_with_text: true
    },
    edges: {
      owner: "front",
      type: "enum",
      values: ["all", "top1", "top3", "top10", "mass50", "mass90"],
      default: { short: "all", long: "top3" },
      reset_with_text: true
    },
    sinks: { owner: "front", type: "enum", values: ["auto", "on", "off"], default: "auto" },
    pair_filter: { owner: "front", type: "enum", values: ["all", "AA", "AB", "BA", "BB"], default: "all" },
    mode: {
      owner: "front",
      type: "enum",
      values: ["mask", "knockout"],
      default: { masked_lm: "mask", other: "knockout" }
    },
    focus: {
      owner: "front",
      type: "index",
      of: "seq_len",
      outside: -1,
      default: -1,
      redraw: true,
      reset_with_text: true
    },
    zoom: { owner: "front", type: "zoom", default: null, redraw: true, reset_with_text: true },
    attn: { owner: "kernel", type: "binary" },
    attn_size: { owner: "kernel", type: "int" },
    attn_layer: { owner: "kernel", type: "int" },
    thumbs: { owner: "kernel", type: "binary" },
    thumb_size: { owner: "kernel", type: "int" },
    attn_all: { owner: "kernel", type: "binary" },
    tile: { owner: "kernel", type: "binary" },
    tile_rect: { owner: "kernel", type: "json" },
    busy: { owner: "kernel", type: "bool" },
    busy_text: { owner: "kernel", type: "string" },
    error: { owner: "kernel", type: "string" },
    run_id: { owner: "kernel", type: "int" },
    _static: { owner: "page", type: "bool" }
  }
};

// logic/protocol.js
var STATE_KEYS = Object.keys(protocol_default.state);
var HEAD_VIEW_MAX_TOKENS = (
  /** @type {number} */
  protocol_default.constants.HEAD_VIEW_MAX_TOKENS
);
var PALETTE = (
  /** @type {{head_colours: string[], ramp_light: string[], ramp_dark: string[]}} */
  protocol_default.palette
);
function keySpec(key) {
  return (
    /** @type {Record<string, KeySpec>} */
    protocol_default.state[key]
  );
}
function enumValues(key) {
  return keySpec(key)?.values ?? [];
}
function stateDefault(key, T = 0, kind = "") {
  const d = keySpec(key)?.default;
  if (d && typeof d === "object" && !Array.isArray(d)) {
    if ("short" in d) return T <= HEAD_VIEW_MAX_TOKENS ? d.short : d.long;
    if ("other" in d) return kind in d ? d[kind] : d.other;
  }
  return d;
}

// logic/matrices.js
var COMBINES = enumValues("combine");
var PAIR_FILTERS = enumValues("pair_filter");
function selectedHeads(heads, nHeads) {
  const all = Array.from({ length: nHeads }, (_, i) => i);
  if (!heads || heads.length === 0) return all;
  const set = /* @__PURE__ */ new Set();
  for (const h2 of heads) if (Number.isInteger(h2) && h2 >= 0 && h2 < nHeads) set.add(h2);
  const out = [...set].sort((a, b) => a - b);
  return out.length ? out : all;
}
function toggleHead(heads, head, nHeads) {
  const cur = new Set(selectedHeads(heads, nHeads));
  if (cur.has(head)) {
    if (cur.size === 1) return canonicalHeads([...cur], nHeads);
    cur.delete(head);
  } else if (head >= 0 && head < nHeads) {
    cur.add(head);
  }
  return canonicalHeads([...cur], nHeads);
}
function canonicalHeads(heads, nHeads) {
  const s = selectedHeads(heads, nHeads);
  return s.length === nHeads ? [] : s;
}
function keepMask(tokens, hideSpecial) {
  const m = new Uint8Array(tokens.length).fill(1);
  if (hideSpecial) tokens.forEach((t, i) => m[i] = t && t.special ? 0 : 1);
  if (!m.some((v) => v === 1)) m.fill(1);
  return m;
}
function keptIndex(keep, T) {
  const idx = [];
  for (let i = 0; i < T; i++) if (keep[i]) idx.push(i);
  return Int32Array.from(idx);
}
function hasPair(tokens) {
  return tokens.some((t) => t && t.segment === 1);
}
function pairFilterMask(tokens, filter) {
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
function binRange(b, P, T) {
  const lo = Math.ceil(b * T / P);
  const hi = Math.max(lo, Math.ceil((b + 1) * T / P) - 1);
  return [lo, Math.min(hi, T - 1)];
}
function pooledMatrices(o) {
  const { attn, nHeads, P, T } = o;
  if (attn.length !== nHeads * P * P) throw new Error("pooled attention length does not match n_heads × P × P");
  const hs = selectedHeads(o.heads, nHeads);
  const n = P * P;
  const mat = new Float32Array(n);
  const w = (o.combine === "sum" ? 1 : 1 / hs.length) / 255;
  for (const h2 of hs) {
    const off = h2 * n;
    for (let i = 0; i < n; i++) mat[i] += attn[off + i] * w;
  }
  const thr = o.threshold || 0;
  if (thr > 0) {
    for (let i = 0; i < n; i++) if (mat[i] < thr) mat[i] = 0;
  }
  const index = new Int32Array(P);
  const binEnd = new Int32Array(P);
  for (let b = 0; b < P; b++) [index[b], binEnd[b]] = binRange(b, P, T);
  const dropBins = [...new Set((o.dropKeys || []).filter((j) => j >= 0 && j < T).map((j) => Math.min(P - 1, Math.floor(j * P / T))))];
  for (const b of dropBins) for (let a = 0; a < P; a++) mat[a * P + b] = 0;
  return { K: P, index, binEnd, pooled: true, stretch: dropBins.length > 0, mats: [{ head: null, mat }] };
}
function tileMatrices(o) {
  const { bytes, nHeads, n } = o;
  if (bytes.length !== nHeads * n * n) throw new Error("tile length does not match n_heads × n × n");
  const hs = selectedHeads(o.heads, nHeads);
  const mat = new Float32Array(n * n);
  const w = (o.combine === "sum" ? 1 : 1 / hs.length) / 255;
  for (const h2 of hs) {
    const off = h2 * n * n;
    for (let i = 0; i < n * n; i++) mat[i] += bytes[off + i] * w;
  }
  const thr = o.threshold || 0;
  if (thr > 0) {
    for (let i = 0; i < n * n; i++) if (mat[i] < thr) mat[i] = 0;
  }
  const index = new Int32Array(n);
  const colIndex = new Int32Array(n);
  for (let a = 0; a < n; a++) {
    index[a] = o.r0 + a;
    colIndex[a] = o.c0 + a;
  }
  const drop = (o.dropKeys || []).map((j) => j - o.c0).filter((b) => b >= 0 && b < n);
  for (const b of drop) for (let a = 0; a < n; a++) mat[a * n + b] = 0;
  return { K: n, index, colIndex, tile: true, stretch: drop.length > 0, mats: [{ head: null, mat }] };
}
var ZOOM_TOKENS = 64;
function zoomAround(row, col, T, n = ZOOM_TOKENS) {
  const m = Math.max(1, Math.min(n, T));
  const clamp = (x) => Math.max(0, Math.min(T - m, Math.round(x - m / 2)));
  return { r0: clamp(row), c0: clamp(col), n: m };
}
function viewMatrices(o) {
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
  index.forEach((orig, a) => compactOf[orig] = a);
  const drop = [...new Set(o.dropKeys || [])].map((j) => j >= 0 && j < T ? compactOf[j] : -1).filter((b) => b >= 0);
  const renorm = K !== T || drop.length > 0;
  const n = K * K;
  const addHead = (acc, h2, w) => {
    const off = h2 * T * T;
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
  let mats;
  if (combine === "each") {
    mats = hs.map((h2) => {
      const m = new Float32Array(n);
      addHead(m, h2, 1);
      return { head: h2, mat: m };
    });
  } else if (K === T || K < T / 2) {
    const acc = new Float32Array(n);
    const w = combine === "mean" ? 1 / hs.length : 1;
    for (const h2 of hs) addHead(acc, h2, w);
    mats = [{ head: null, mat: acc }];
  } else {
    const hidden = [];
    for (let j = 0; j < T; j++) if (!keep[j]) hidden.push(j);
    for (const b of drop) hidden.push(index[b]);
    const full = new Float32Array(T * T);
    const w = combine === "mean" ? 1 / hs.length : 1;
    for (const h2 of hs) {
      const off = h2 * T * T;
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
var SINK_MIN_SHARE = 0.3;
var SINK_AUTO_SHARE = 0.5;
function sinkKeys(attn, nHeads, S, minShare = SINK_MIN_SHARE) {
  if (!attn || !(S > 0) || attn.length !== nHeads * S * S) return [];
  const scale = attn instanceof Uint8Array ? 1 / 255 : 1;
  const col = new Float64Array(S);
  for (let h2 = 0; h2 < nHeads; h2++) {
    for (let i = 0; i < S; i++) {
      const row = (h2 * S + i) * S;
      for (let j = 0; j <= i && j < S; j++) col[j] += attn[row + j];
    }
  }
  const denom = nHeads * S;
  const out = [];
  for (let j = 0; j < S; j++) {
    const share = col[j] * scale / denom;
    if (share >= minShare) out.push({ key: j, share });
  }
  return out.sort((a, b) => b.share - a.share);
}
function dropSinks(setting, sinks) {
  if (!sinks.length || setting === "off") return false;
  if (setting === "on") return true;
  return sinks[0].share >= SINK_AUTO_SHARE;
}

// logic/edges.js
var EDGE_MODES = enumValues("edges");
var EDGE_LABEL = {
  all: "edges",
  top1: "strongest edge",
  top3: "3 strongest edges",
  top10: "10 strongest edges",
  mass50: "strongest edges up to half of its attention",
  mass90: "strongest edges up to 90 % of its attention"
};
function defaultEdges(T) {
  return stateDefault("edges", T);
}
function rowEdges(mat, K, a, mode, minW = 1e-3) {
  const o = a * K;
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
function bucketRows(mat, K, rows, mode, levels = 24) {
  return opacityBuckets(levels, (add) => {
    for (const a of rows) {
      const e = rowEdges(mat, K, a, mode);
      for (let i = 0; i < e.length; i += 2) add(a, e[i], e[i + 1]);
    }
  });
}
function opacityBuckets(levels, fill) {
  const buckets = Array.from({ length: levels }, () => []);
  fill((i, j, w) => buckets[Math.min(levels - 1, Math.floor(Math.min(1, w) * levels))].push(i, j));
  const out = [];
  for (let b = 0; b < levels; b++) if (buckets[b].length) out.push({ alpha: (b + 1) / levels, edges: buckets[b] });
  return out;
}
function curve(x1, y1, x2, y2) {
  const dx = (x2 - x1) / 2;
  return { x1, y1, c1x: x1 + dx, c1y: y1, c2x: x2 - dx, c2y: y2, x2, y2 };
}
function bucketEdges(mat, K, opt = {}) {
  const minW = opt.minWeight ?? 1e-3;
  const focus = opt.focus ?? -1;
  const side = opt.side || "from";
  return opacityBuckets(opt.levels || 24, (add) => {
    const push = (i, j) => {
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

// logic/colour.js
var HEAD_COLOURS = PALETTE.head_colours;
function headColour(h2) {
  const n = HEAD_COLOURS.length;
  return HEAD_COLOURS[(h2 % n + n) % n];
}
function mixColour(a, b, t) {
  const x = parseColour(a) || [0, 0, 0];
  const y = parseColour(b) || [0, 0, 0];
  const hex = (v) => Math.round(v).toString(16).padStart(2, "0");
  return `#${[0, 1, 2].map((k) => hex(x[k] + (y[k] - x[k]) * t)).join("")}`;
}
function headColourFor(h2, dark) {
  const c = headColour(h2);
  if (!dark) return c;
  const lum = luminance(parseColour(c) || [0, 0, 0]);
  return mixColour(c, "#ffffff", lum < 0.1 ? 0.45 : lum < 0.2 ? 0.3 : 0.15);
}
function parseColour(s) {
  if (typeof s !== "string") return null;
  s = s.trim().toLowerCase();
  let m = /^#([0-9a-f]{3})$/.exec(s);
  if (m) return (
    /** @type {[number,number,number]} */
    [...m[1]].map((c) => parseInt(c + c, 16))
  );
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/.exec(s);
  if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s);
  if (m) return [1, 2, 3].map((i) => Math.round(Number(m[i])));
  return null;
}
function luminance(rgb) {
  const lin = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}
function isDarkColour(css) {
  const c = parseColour(css);
  return c ? luminance(c) < 0.3 : false;
}
var RAMP_LIGHT = PALETTE.ramp_light;
var RAMP_DARK = PALETTE.ramp_dark;
function buildRamp(stops) {
  const rgb = stops.map((s) => parseColour(s) || [0, 0, 0]);
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = i / 255 * (rgb.length - 1);
    const k = Math.min(rgb.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 4 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
    lut[i * 4 + 3] = 255;
  }
  return lut;
}
function colourise(values, lut, rgba = new Uint8ClampedArray(values.length * 4), gamma = 1) {
  const g = gamma > 0 ? gamma : 1;
  for (let i = 0; i < values.length; i++) {
    let v = values[i];
    v = v <= 0 ? 0 : v >= 1 ? 1 : v;
    if (g !== 1) v = v ** g;
    const k = (v * 255 + 0.5 | 0) * 4;
    const o = i * 4;
    rgba[o] = lut[k];
    rgba[o + 1] = lut[k + 1];
    rgba[o + 2] = lut[k + 2];
    rgba[o + 3] = lut[k + 3];
  }
  return rgba;
}

// logic/tokens.js
var VIEWS = enumValues("view");
function displayToken(text) {
  if (text == null) return "∅";
  let s = String(text);
  if (/^\s+$/.test(s)) {
    return s.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "").replace(/ /g, "␣");
  }
  s = s.replace(/^ +/, "").replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "");
  return s.length ? s : "∅";
}
function tokenAriaLabel(t, i) {
  const bits = [`token ${i}: ${JSON.stringify(String(t.text ?? ""))}`];
  if (t.special) bits.push("special");
  if (t.segment === 1) bits.push("segment B");
  if (t.masked) bits.push("masked");
  if (t.knocked_out) bits.push("knocked out");
  return bits.join(", ");
}
function formatProb(p) {
  if (!Number.isFinite(p)) return "–";
  const pct = p * 100;
  if (pct > 0 && pct < 0.1) return "<0.1%";
  return `${pct >= 10 ? pct.toFixed(1) : pct.toFixed(2)}%`;
}
function defaultView(T) {
  return stateDefault("view", T);
}
function coalesceToggles(queue) {
  const m = /* @__PURE__ */ new Map();
  for (const q of queue) {
    const k = `${q.mode}:${q.index}`;
    const e = m.get(k);
    if (e) e.n++;
    else m.set(k, { index: q.index, mode: q.mode, n: 1 });
  }
  return [...m.values()].filter((e) => e.n % 2 === 1).map(({ index, mode }) => ({ index, mode }));
}
function applyPending(tokens, pending) {
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
function availableModes(kind) {
  return kind === "masked_lm" ? ["mask", "knockout"] : ["knockout"];
}
function predictionCaption(kind, t, i) {
  const shown = JSON.stringify(displayToken(t.text));
  if (kind === "causal_lm") return `Next token after ${shown} (#${i})`;
  if (t.masked) return `[MASK] at #${i} (was ${shown})`;
  return `Token ${shown} (#${i})`;
}
function clampInt(v, lo, hi) {
  v = Math.round(Number(v));
  if (!Number.isFinite(v)) return lo;
  return Math.max(lo, Math.min(hi, v));
}
function findTokens(tokens, query) {
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
function interventionList(tokens) {
  const out = [];
  tokens.forEach((t, i) => {
    if (t?.masked) out.push({ index: i, mode: (
      /** @type {const} */
      "mask"
    ), text: String(t.text ?? ""), pending: !!t.pending });
    if (t?.knocked_out) out.push({ index: i, mode: (
      /** @type {const} */
      "knockout"
    ), text: String(t.text ?? ""), pending: !!t.pending });
  });
  return out;
}
function predictionDiff(after, before) {
  const was = new Map((before || []).map((p) => [p.token, p.prob]));
  return (after || []).map((p) => ({ token: p.token, prob: p.prob, before: was.has(p.token) ? (
    /** @type {number} */
    was.get(p.token)
  ) : null }));
}

// static_model.js
function createStaticModel(state, opts = {}) {
  const data = {};
  for (const [k, v] of Object.entries(state || {})) if (k !== "_buffers") data[k] = v;
  const bufs = state && state._buffers || {};
  for (const [k, v] of Object.entries(bufs)) {
    const bytes = typeof v === "string" ? base64ToBytes(v) : toBytes(v);
    data[k] = bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  }
  if (!("_static" in data)) data._static = true;
  if (data.attn_all && !data.attn) sliceLayer(data, data.layer ?? 0);
  const listeners = /* @__PURE__ */ new Map();
  const dirty = /* @__PURE__ */ new Set();
  const emit = (event, ...args) => {
    const set = listeners.get(event);
    if (!set) return;
    for (const cb of [...set]) {
      try {
        cb(...args);
      } catch (e) {
        console.error(`exformer: listener for ${event} failed`, e);
      }
    }
  };
  const model = {
    /** @param {string} name */
    get(name) {
      return data[name];
    },
    /**
     * @param {string} name
     * @param {any} value
     */
    set(name, value) {
      if (same(data[name], value)) return;
      data[name] = value;
      dirty.add(name);
      emit(`change:${name}`, model, value);
      emit("change", model);
    },
    save_changes() {
      const changed = {};
      for (const k of dirty) changed[k] = data[k];
      dirty.clear();
      if (opts.onSave) opts.onSave(changed, model);
      if ("layer" in changed && data.attn_all) {
        Promise.resolve().then(() => {
          const l = data.layer;
          const upd = {};
          sliceLayer(upd, l, data);
          model.set("attn", upd.attn);
          model.set("attn_layer", upd.attn_layer);
          dirty.delete("attn");
          dirty.delete("attn_layer");
        });
      }
    },
    /**
     * @param {string} event
     * @param {Function} cb
     */
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, /* @__PURE__ */ new Set());
      listeners.get(event).add(cb);
    },
    /**
     * @param {string} [event]
     * @param {Function} [cb]
     */
    off(event, cb) {
      if (event == null) listeners.clear();
      else if (cb == null) listeners.delete(event);
      else listeners.get(event)?.delete(cb);
    },
    /**
     * @param {any} content
     * @param {any} [callbacks]
     * @param {any[]} [buffers]
     */
    send(content, callbacks, buffers) {
      if (opts.onSend) opts.onSend(content, buffers, model);
    },
    /** Deliver a custom message to the widget as if the back end had sent it. */
    receive(content, buffers = []) {
      emit("msg:custom", content, buffers);
    },
    /** Number of listeners (for tests / leak checks). */
    listenerCount() {
      let n = 0;
      for (const s of listeners.values()) n += s.size;
      return n;
    }
  };
  return model;
}
function sliceLayer(target, l, src = target) {
  const all = toBytes(src.attn_all);
  const nL = src.n_layers;
  const per = src.n_heads * src.seq_len * src.seq_len;
  if (!all || !(nL > 0) || all.length !== nL * per) return;
  const layer = Math.max(0, Math.min(nL - 1, l | 0));
  const view = all.subarray(layer * per, (layer + 1) * per);
  target.attn = new DataView(view.buffer, view.byteOffset, view.byteLength);
  target.attn_layer = layer;
}
function same(a, b) {
  if (a === b) return true;
  if (a == null || b == null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return false;
  if (typeof a === "object" && typeof b === "object") {
    try {
      return JSON.stringify(a) === JSON.stringify(b);
    } catch {
      return false;
    }
  }
  return false;
}

// views/dom.js
function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith("svg:") ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  const signal = attrs.signal;
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false || k === "signal") continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = v;
    else if (k === "style") {
      for (const [sk, sv] of Object.entries(v)) {
        if (sk.startsWith("--")) el.style.setProperty(sk, sv);
        else el.style[
          /** @type {any} */
          sk
        ] = sv;
      }
    } else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on:")) el.addEventListener(k.slice(3), v, signal ? { signal } : void 0);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return (
    /** @type {HTMLElement} */
    el
  );
}
function fitCanvas(canvas, w, hgt) {
  const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  const W = Math.max(1, Math.round(w * dpr));
  const H = Math.max(1, Math.round(hgt * dpr));
  if (canvas.width !== W) canvas.width = W;
  if (canvas.height !== H) canvas.height = H;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hgt}px`;
  const ctx = (
    /** @type {CanvasRenderingContext2D} */
    canvas.getContext("2d")
  );
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, dpr, W, H };
}
function segmented(o) {
  const group = h("div", { class: "xf-seg", role: "radiogroup", "aria-label": o.label });
  const buttons = /* @__PURE__ */ new Map();
  for (const opt of o.options) {
    const b = h("button", {
      type: "button",
      class: "xf-seg-btn",
      role: "radio",
      "aria-checked": "false",
      title: opt.title,
      text: opt.label,
      dataset: { value: opt.value },
      signal: o.signal,
      "on:click": () => o.onChange(opt.value)
    });
    buttons.set(opt.value, b);
    group.append(b);
  }
  return {
    el: group,
    /** @param {string} v */
    set(v) {
      for (const [k, b] of buttons) {
        const on = k === v;
        b.classList.toggle("is-on", on);
        b.setAttribute("aria-checked", String(on));
      }
    },
    /** @param {string} v @param {boolean} show */
    show(v, show) {
      const b = buttons.get(v);
      if (b) b.hidden = !show;
    }
  };
}

// views/controls.js
var KIND_LABEL = { masked_lm: "masked LM", causal_lm: "causal LM", encoder: "encoder" };
function options(key, labels) {
  return enumValues(key).map((value) => ({ value, label: labels[value]?.[0] ?? value, title: labels[value]?.[1] ?? "" }));
}
function selectOptions(key, labels) {
  return enumValues(key).map((value) => h("option", { value, text: labels[value] ?? value }));
}
function createControls(app) {
  const signal = app.signal;
  const title = h("span", { class: "xf-title" });
  const kind = h("span", { class: "xf-chip" });
  const meta = h("span", { class: "xf-meta" });
  const snapshot = h("span", {
    class: "xf-chip xf-chip-muted",
    text: "snapshot",
    hidden: true,
    title: "Saved page: explore freely; masking and knock-outs need a running kernel"
  });
  const views = segmented({
    label: "View",
    signal,
    options: options("view", {
      head: ["Heads", "Attention curves between the tokens, one colour per head"],
      model: ["Model", "Every layer and head at a glance"],
      matrix: ["Matrix", "Heatmap of the selected layer (scales to long inputs)"]
    }),
    onChange: (v) => app.setState("view", v)
  });
  const header = h(
    "div",
    { class: "xf-header" },
    h("div", { class: "xf-titleblock" }, title, kind, snapshot, meta),
    views.el
  );
  const layerSel = h("select", {
    class: "xf-select",
    "aria-label": "Layer",
    signal,
    "on:change": (e) => app.setLayer(Number(e.target.value))
  });
  const prev = h("button", {
    type: "button",
    class: "xf-icon-btn",
    title: "Previous layer",
    "aria-label": "Previous layer",
    text: "‹",
    signal,
    "on:click": () => app.setLayer((app.get("layer") | 0) - 1)
  });
  const next = h("button", {
    type: "button",
    class: "xf-icon-btn",
    title: "Next layer",
    "aria-label": "Next layer",
    text: "›",
    signal,
    "on:click": () => app.setLayer((app.get("layer") | 0) + 1)
  });
  const layerGroup = h("div", { class: "xf-field" }, h("span", { class: "xf-label", text: "Layer" }), h("div", { class: "xf-stepper" }, prev, layerSel, next));
  const combine = segmented({
    label: "Combine heads",
    signal,
    options: options("combine", {
      each: ["each", "One set of curves per head"],
      mean: ["mean", "Average of the selected heads"],
      sum: ["sum", "Sum of the selected heads"]
    }),
    onChange: (v) => app.setState("combine", v)
  });
  const combineGroup = h("div", { class: "xf-field" }, h("span", { class: "xf-label", text: "Combine" }), combine.el);
  const thrValue = h("output", { class: "xf-value" });
  const thr = (
    /** @type {HTMLInputElement} */
    h("input", {
      type: "range",
      min: "0",
      max: "1",
      step: "0.01",
      class: "xf-range",
      "aria-label": "Threshold: hide weights below",
      signal,
      "on:input": (e) => {
        thrValue.textContent = Number(e.target.value).toFixed(2);
        clearTimeout(thrTimer);
        thrTimer = setTimeout(() => app.setState("threshold", Number(e.target.value)), 60);
      }
    })
  );
  let thrTimer = 0;
  const thrGroup = h("label", { class: "xf-field", title: "Hide attention weights below this value" }, h("span", { class: "xf-label", text: "Threshold" }), thr, thrValue);
  const hideLabel = h("span", { text: "Hide special tokens" });
  const hide = (
    /** @type {HTMLInputElement} */
    h("input", {
      type: "checkbox",
      signal,
      "on:change": (e) => app.setState("hide_special", e.target.checked)
    })
  );
  const hideGroup = h("label", { class: "xf-field xf-check", title: "Drop special tokens and renormalise each row to sum to 1" }, hide, hideLabel);
  const pair = h(
    "select",
    { class: "xf-select", "aria-label": "Sentence pair filter", signal, "on:change": (e) => app.setState("pair_filter", e.target.value) },
    ...selectOptions("pair_filter", { all: "all pairs", AA: "A → A", AB: "A → B", BA: "B → A", BB: "B → B" })
  );
  const pairGroup = h("label", { class: "xf-field" }, h("span", { class: "xf-label", text: "Segments" }), pair);
  const edges = h(
    "select",
    { class: "xf-select", "aria-label": "Edges drawn per query", signal, "on:change": (e) => app.setState("edges", e.target.value) },
    ...selectOptions("edges", {
      all: "all",
      top1: "strongest 1",
      top3: "strongest 3",
      top10: "strongest 10",
      mass50: "50 % of mass",
      mass90: "90 % of mass"
    })
  );
  const edgesGroup = h("label", { class: "xf-field", title: "Which of each query's edges the head view draws: all, its k strongest, or its strongest up to a share of its attention" }, h("span", { class: "xf-label", text: "Edges" }), edges);
  const sinks = h(
    "select",
    { class: "xf-select", "aria-label": "Attention sinks", signal, "on:change": (e) => app.setState("sinks", e.target.value) },
    ...selectOptions("sinks", { auto: "auto", on: "leave out", off: "show" })
  );
  const sinksGroup = h("label", { class: "xf-field", title: "Keys that take most of the attention (often the first token). auto: left out, with the rest rescaled, when one takes half or more" }, h("span", { class: "xf-label", text: "Sinks" }), sinks);
  const findInput = (
    /** @type {HTMLInputElement} */
    h("input", {
      type: "search",
      class: "xf-find",
      placeholder: "text or #index",
      "aria-label": "Find a token (text or #index); Enter for the next match",
      signal,
      "on:keydown": (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          find(e.shiftKey ? -1 : 1);
        } else if (e.key === "Escape") {
          findInput.value = "";
          findOut.textContent = "";
        }
      },
      "on:input": () => {
        at = -1;
        findOut.textContent = "";
      }
    })
  );
  const findOut = h("output", { class: "xf-find-out", "aria-live": "polite" });
  let at = -1;
  const find = (step) => {
    const q = findInput.value;
    const matches = findTokens(app.tokensRaw, q);
    if (at < 0 && step < 0) at = 0;
    if (!matches.length) {
      findOut.textContent = q.trim() ? "no match" : "";
      return;
    }
    at = (at + step + matches.length) % matches.length;
    const i = matches[at];
    findOut.textContent = `#${i} ${JSON.stringify(displayToken(app.tokensRaw[i]?.text))} · ${at + 1} of ${matches.length}`;
    app.reveal(i);
  };
  const findGroup = h("label", { class: "xf-field", title: "Find a token by its text or #position: pins it and scrolls (or zooms) to it; Enter again for the next match" }, h("span", { class: "xf-label", text: "Find" }), findInput, findOut);
  const mode = segmented({
    label: "Click action",
    signal,
    options: options("mode", {
      mask: ["mask", "Double-click / Enter replaces the token with [MASK] and re-runs"],
      knockout: ["knock out", "Double-click / Enter stops every query attending to the token and re-runs"]
    }),
    onChange: (v) => app.setState("mode", v)
  });
  const clear = h("button", {
    type: "button",
    class: "xf-btn",
    text: "Clear",
    title: "Remove every mask and knock-out",
    signal,
    "on:click": () => app.clearInterventions()
  });
  const modeGroup = h("div", { class: "xf-field" }, h("span", { class: "xf-label", text: "Intervene" }), mode.el, clear);
  const toolbar = h("div", { class: "xf-toolbar" }, layerGroup, combineGroup, edgesGroup, thrGroup, sinksGroup, hideGroup, pairGroup, modeGroup, findGroup);
  const el = h("div", { class: "xf-controls" }, header, toolbar);
  let nLayersShown = -1;
  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const T = app.T;
      title.textContent = app.get("model_name") || "model";
      kind.textContent = KIND_LABEL[app.kind] || app.kind;
      meta.textContent = `${T} tokens · ${app.nLayers} layers × ${app.nHeads} heads`;
      views.set(app.view);
      const nL = app.nLayers;
      if (nL !== nLayersShown) {
        layerSel.replaceChildren(...Array.from({ length: nL }, (_, l) => h("option", { value: String(l), text: `${l}` })));
        nLayersShown = nL;
      }
      const layer = clampInt(app.get("layer") ?? 0, 0, Math.max(0, nL - 1));
      layerSel.value = String(layer);
      prev.toggleAttribute("disabled", layer <= 0);
      next.toggleAttribute("disabled", layer >= nL - 1);
      layerGroup.hidden = app.view === "model";
      const comb = app.get("combine") || "each";
      combine.show("each", app.view === "head");
      combine.set(app.view !== "head" && comb === "each" ? "mean" : comb);
      combineGroup.hidden = app.view === "model";
      edges.value = app.edges;
      edgesGroup.hidden = app.view !== "head";
      sinks.value = enumValues("sinks").includes(app.get("sinks")) ? app.get("sinks") : stateDefault("sinks");
      sinksGroup.hidden = app.view === "model";
      const t = Number(app.get("threshold")) || 0;
      if (document.activeElement !== thr) thr.value = String(t);
      thrValue.textContent = t.toFixed(2);
      thrGroup.hidden = app.view === "model";
      hide.checked = !!app.get("hide_special");
      hideGroup.hidden = app.view === "model";
      const nSpecial = app.tokensRaw.filter((tk) => tk.special).length;
      hide.disabled = nSpecial === 0 && !hide.checked;
      hideLabel.textContent = nSpecial ? `Hide special tokens (${nSpecial})` : "Hide special tokens (none here)";
      pairGroup.hidden = !hasPair(app.tokensRaw) || app.view === "model";
      pair.value = app.get("pair_filter") || stateDefault("pair_filter");
      const modes = availableModes(app.kind);
      mode.show("mask", modes.includes("mask"));
      mode.set(app.mode);
      const anyIntervention = app.tokens.some((tk) => tk.masked || tk.knocked_out);
      clear.toggleAttribute("disabled", !anyIntervention);
      modeGroup.hidden = app.isStatic;
      snapshot.hidden = !app.isStatic;
    },
    destroy() {
      clearTimeout(thrTimer);
    }
  };
}

// views/head.js
var ROW = 22;
var PAD = 6;
var OVERSCAN = 12;
function createHeadView(app) {
  const signal = app.signal;
  const boxes = h("div", { class: "xf-headboxes", role: "group", "aria-label": "Heads" });
  const allBtn = h("button", {
    type: "button",
    class: "xf-btn xf-btn-small",
    text: "all",
    title: "Select every head",
    signal,
    "on:click": () => app.setState("heads", [])
  });
  const hint = h("div", { class: "xf-hint" });
  const headBar = h("div", { class: "xf-headbar" }, h("span", { class: "xf-label", text: "Heads" }), boxes, allBtn);
  const colFrom = h("div", { class: "xf-col xf-col-from", role: "group", "aria-label": "Queries (attending from)" });
  const colTo = h("div", { class: "xf-col xf-col-to", role: "group", "aria-label": "Keys (attended to)" });
  const canvas = (
    /** @type {HTMLCanvasElement} */
    h("canvas", { class: "xf-curves", "aria-hidden": "true" })
  );
  const mid = h("div", { class: "xf-mid" }, canvas);
  const grid = h(
    "div",
    { class: "xf-columns" },
    h("div", { class: "xf-colhead xf-right", text: "from (query)" }),
    h("div", { class: "xf-colhead" }),
    h("div", { class: "xf-colhead", text: "to (key)" }),
    colFrom,
    mid,
    colTo
  );
  const scroller = h("div", { class: "xf-scroll" }, grid);
  const el = h("div", { class: "xf-headview" }, headBar, hint, scroller);
  let rows = /* @__PURE__ */ new Map();
  let tokenKey = "";
  let boxKey = "";
  let index = new Int32Array(0);
  let compactOf = /* @__PURE__ */ new Map();
  const tabRow = { from: 0, to: 0 };
  let focusW = null;
  const colTop = () => colFrom.offsetTop;
  const totalHeight = () => PAD * 2 + index.length * ROW;
  function tokenEl(t, i, a, side) {
    const cls = ["xf-tok"];
    if (t.special) cls.push("is-special");
    if (t.masked) cls.push("is-masked");
    if (t.knocked_out) cls.push("is-knocked");
    if (t.segment === 1) cls.push("is-segb");
    if (t.pending) cls.push("is-pending");
    const badge = t.masked ? h("span", { class: "xf-badge", text: "MASK" }) : t.knocked_out ? h("span", { class: "xf-badge xf-badge-ko", text: "KO", title: "knocked out" }) : null;
    const text = h("span", { class: "xf-tok-text", text: displayToken(t.text) });
    const parts = side === "from" ? [badge, text] : [text, badge];
    return h(
      "div",
      {
        class: cls.join(" "),
        role: "button",
        tabindex: a === tabRow[side] ? "0" : "-1",
        "aria-pressed": String(!!(t.masked || t.knocked_out)),
        "aria-label": tokenAriaLabel(t, i),
        title: `#${i} ${JSON.stringify(String(t.text ?? ""))}`,
        style: { top: `${PAD + a * ROW}px` },
        dataset: { i: String(i), a: String(a), side }
      },
      ...parts
    );
  }
  function visibleRows() {
    const top = scroller.scrollTop - colTop() - PAD;
    const vh = scroller.clientHeight || 640;
    return [Math.max(0, Math.floor(top / ROW)), Math.min(index.length - 1, Math.ceil((top + vh) / ROW))];
  }
  function renderRows() {
    const [first, last] = visibleRows();
    const lo = Math.max(0, first - OVERSCAN);
    const hi = Math.min(index.length - 1, last + OVERSCAN);
    const keep = /* @__PURE__ */ new Set([tabRow.from, tabRow.to]);
    for (const [a, r] of rows) {
      if ((a < lo || a > hi) && !keep.has(a)) {
        r.from.remove();
        r.to.remove();
        rows.delete(a);
      }
    }
    const toks = app.tokens;
    const pinned = compactOf.get(app.get("focus"));
    const addF = [];
    const addT = [];
    const add = (a) => {
      if (a < 0 || a >= index.length || rows.has(a)) return;
      const i = index[a];
      const r = { from: tokenEl(toks[i], i, a, "from"), to: tokenEl(toks[i], i, a, "to") };
      rows.set(a, r);
      addF.push(r.from);
      addT.push(r.to);
    };
    for (let a = lo; a <= hi; a++) add(a);
    for (const a of keep) add(a);
    colFrom.append(...addF);
    colTo.append(...addT);
    for (const [a, r] of rows) {
      for (
        const side of
        /** @type {const} */
        ["from", "to"]
      ) {
        const el2 = r[side];
        el2.classList.toggle("is-pinned", a === pinned && app.pinSide === side);
        const other = focusW && focusW.side !== side;
        if (other) el2.style.setProperty("--w", String(Math.min(1, focusW.w[a] / focusW.n)));
        else el2.style.removeProperty("--w");
        el2.classList.toggle("is-focus", !!focusW && focusW.side === side && a === focusW.focus);
      }
    }
  }
  function rebuildTokens() {
    const active = (
      /** @type {HTMLElement|null} */
      document.activeElement
    );
    const hadFocus = active && (colFrom.contains(active) || colTo.contains(active)) ? active.closest(".xf-tok") : null;
    const focusI = hadFocus ? Number(hadFocus.dataset.i) : null;
    const focusSide = hadFocus ? (
      /** @type {"from"|"to"} */
      hadFocus.dataset.side
    ) : null;
    const tokens = app.tokens;
    const vd = app.viewData();
    index = vd ? vd.index : Int32Array.from(tokens.map((_, i) => i));
    compactOf = /* @__PURE__ */ new Map();
    index.forEach((orig, a) => compactOf.set(orig, a));
    const H = `${totalHeight()}px`;
    colFrom.style.height = H;
    colTo.style.height = H;
    mid.style.height = H;
    colFrom.replaceChildren();
    colTo.replaceChildren();
    rows = /* @__PURE__ */ new Map();
    tabRow.from = Math.min(tabRow.from, Math.max(0, index.length - 1));
    tabRow.to = Math.min(tabRow.to, Math.max(0, index.length - 1));
    renderRows();
    if (focusI !== null && focusSide) {
      const a = compactOf.get(focusI);
      if (a != null) focusRow(focusSide, a, false);
    }
  }
  function focusRow(side, a, scroll = true) {
    const K = index.length;
    if (!(K > 0)) return;
    a = Math.max(0, Math.min(K - 1, a));
    const prev = rows.get(tabRow[side]);
    if (prev) prev[side].tabIndex = -1;
    tabRow[side] = a;
    if (scroll) scrollToRow(a);
    renderRows();
    const r = rows.get(a);
    if (r) {
      r[side].tabIndex = 0;
      r[side].focus({ preventScroll: true });
    }
  }
  function scrollToRow(a) {
    const y = colTop() + PAD + a * ROW;
    const vh = scroller.clientHeight || 640;
    if (y < scroller.scrollTop + ROW) scroller.scrollTop = Math.max(0, y - ROW * 2);
    else if (y + ROW > scroller.scrollTop + vh - ROW) scroller.scrollTop = y + ROW * 3 - vh;
  }
  const tokOf = (e) => (
    /** @type {HTMLElement|null} */
    /** @type {HTMLElement} */
    e.target.closest?.(".xf-tok")
  );
  let scrollFrame = 0;
  scroller.addEventListener("scroll", () => {
    if (scrollFrame) return;
    const raf = globalThis.requestAnimationFrame || ((cb) => setTimeout(cb, 16));
    scrollFrame = raf(() => {
      scrollFrame = 0;
      draw();
    });
  }, { signal, passive: true });
  for (const col of [colFrom, colTo]) {
    col.addEventListener("pointerover", (e) => {
      const t = tokOf(e);
      if (t) app.setHover(
        Number(t.dataset.i),
        /** @type {any} */
        t.dataset.side
      );
    }, { signal });
    col.addEventListener("pointerleave", () => app.setHover(-1, "from"), { signal });
    col.addEventListener("click", (e) => {
      const t = tokOf(e);
      if (t) app.pin(
        Number(t.dataset.i),
        /** @type {any} */
        t.dataset.side
      );
    }, { signal });
    col.addEventListener("dblclick", (e) => {
      const t = tokOf(e);
      if (t) {
        e.preventDefault();
        app.toggleToken(Number(t.dataset.i));
      }
    }, { signal });
    col.addEventListener("focusin", (e) => {
      const t = tokOf(e);
      if (t) app.setHover(
        Number(t.dataset.i),
        /** @type {any} */
        t.dataset.side
      );
    }, { signal });
    col.addEventListener("focusout", (e) => {
      const to = (
        /** @type {HTMLElement|null} */
        e.relatedTarget
      );
      if (!to || !to.closest?.(".xf-tok")) app.setHover(-1, "from");
    }, { signal });
    col.addEventListener("keydown", (e) => {
      const t = tokOf(e);
      if (!t) return;
      const a = Number(t.dataset.a);
      const side = (
        /** @type {"from"|"to"} */
        t.dataset.side
      );
      const K = index.length;
      const page = Math.max(1, Math.floor((scroller.clientHeight || 640) / ROW) - 2);
      let target = null;
      switch (e.key) {
        case "Enter":
        case " ":
          e.preventDefault();
          app.toggleToken(Number(t.dataset.i));
          return;
        case "ArrowDown":
          target = [side, a + 1];
          break;
        case "ArrowUp":
          target = [side, a - 1];
          break;
        case "PageDown":
          target = [side, a + page];
          break;
        case "PageUp":
          target = [side, a - page];
          break;
        case "Home":
          target = [side, 0];
          break;
        case "End":
          target = [side, K - 1];
          break;
        case "ArrowRight":
          if (side === "from") target = ["to", a];
          break;
        case "ArrowLeft":
          if (side === "to") target = ["from", a];
          break;
        default:
          return;
      }
      if (target) {
        e.preventDefault();
        focusRow(target[0], target[1]);
      }
    }, { signal });
  }
  let boxEls = [];
  function rebuildBoxes() {
    const nH = app.nHeads;
    const S = app.get("thumb_size") | 0;
    const layer = app.get("layer") | 0;
    const bg = parseColour(getComputedStyle(app.root).backgroundColor) || [255, 255, 255];
    boxEls = [];
    for (let hd = 0; hd < nH; hd++) {
      const c = (
        /** @type {HTMLCanvasElement} */
        h("canvas", { class: "xf-thumb", width: "1", height: "1" })
      );
      const b = h(
        "button",
        {
          type: "button",
          class: "xf-headbox",
          style: { "--xf-head": headColourFor(hd, app.dark) },
          title: `Head ${hd}: click to toggle, double-click to show only this head`,
          "aria-label": `head ${hd}`,
          "aria-pressed": "true",
          dataset: { h: String(hd) },
          signal,
          "on:click": () => app.setState("heads", toggleHead(app.get("heads") || [], hd, nH)),
          "on:dblclick": () => app.setState("heads", [hd])
        },
        c,
        h("span", { class: "xf-headbox-n", text: String(hd) })
      );
      boxEls.push(b);
      drawThumb(c, hd, S, layer, bg);
    }
    boxes.replaceChildren(...boxEls);
  }
  function drawThumb(c, hd, S, layer, bg) {
    const size = 30;
    const { ctx } = fitCanvas(c, size, size);
    ctx.fillStyle = `rgb(${bg.join(",")})`;
    ctx.fillRect(0, 0, size, size);
    if (!app.thumbs || !(S > 0)) return;
    let th;
    try {
      th = thumbAt(app.thumbs, app.nHeads, S, layer, hd);
    } catch {
      return;
    }
    const col = parseColour(headColourFor(hd, app.dark)) || [0, 0, 0];
    const off = document.createElement("canvas");
    off.width = S;
    off.height = S;
    const octx = (
      /** @type {CanvasRenderingContext2D} */
      off.getContext("2d")
    );
    const img = octx.createImageData(S, S);
    for (let p = 0; p < S * S; p++) {
      const v = Math.sqrt(th[p] / 255);
      for (let k = 0; k < 3; k++) img.data[p * 4 + k] = Math.round(bg[k] + (col[k] - bg[k]) * v);
      img.data[p * 4 + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, size, size);
  }
  function draw() {
    const t0 = performance.now();
    const vd = app.viewData();
    const K = index.length;
    const width = Math.max(60, mid.clientWidth || 240);
    const vh = Math.min(totalHeight(), scroller.clientHeight || totalHeight());
    const top = Math.max(0, Math.min(totalHeight() - vh, scroller.scrollTop - colTop()));
    canvas.style.top = `${top}px`;
    const { ctx } = fitCanvas(canvas, width, vh);
    ctx.clearRect(0, 0, width, vh);
    focusW = null;
    let drawn = 0;
    if (vd) {
      const af = app.activeFocus;
      const fa = af ? compactOf.get(af.index) ?? -1 : -1;
      const side = af ? af.side : "from";
      const accent = getComputedStyle(app.root).getPropertyValue("--xf-accent").trim() || "#2f6fde";
      const x1 = 2;
      const x2 = width - 2;
      const y = (a) => PAD + a * ROW + ROW / 2 - top;
      const edgesMode = app.edges;
      const [first, last] = visibleRows();
      const qrows = [];
      for (let a = Math.max(0, first - 1); a <= Math.min(K - 1, last + 1); a++) qrows.push(a);
      ctx.lineCap = "round";
      ctx.lineWidth = fa >= 0 ? 2.2 : vd.mats.length === 1 ? 2 : 1.6;
      for (const { head, mat } of vd.mats) {
        ctx.strokeStyle = head == null ? accent : headColourFor(head, app.dark);
        const groups = fa >= 0 ? bucketEdges(mat, K, { focus: fa, side, levels: 24 }) : bucketRows(mat, K, qrows, edgesMode, 24);
        for (const { alpha, edges } of groups) {
          ctx.globalAlpha = Math.min(1, 0.1 + 0.9 * alpha);
          ctx.beginPath();
          for (let e = 0; e < edges.length; e += 2) {
            const c = curve(x1, y(edges[e]), x2, y(edges[e + 1]));
            ctx.moveTo(c.x1, c.y1);
            ctx.bezierCurveTo(c.c1x, c.c1y, c.c2x, c.c2y, c.x2, c.y2);
          }
          ctx.stroke();
          drawn += edges.length / 2;
        }
      }
      ctx.globalAlpha = 1;
      if (fa >= 0) {
        const w = new Float32Array(K);
        for (const { mat } of vd.mats) {
          for (let k = 0; k < K; k++) w[k] += side === "to" ? mat[k * K + fa] : mat[fa * K + k];
        }
        focusW = { side, w, n: vd.mats.length, focus: fa };
      }
    }
    renderRows();
    el.dataset.edges = String(drawn);
    el.dataset.drawMs = (performance.now() - t0).toFixed(1);
  }
  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const all = d.has("all");
      const mode = app.mode;
      const edgeNote = app.edges === "all" ? "" : ` · each query shows its ${EDGE_LABEL[app.edges] || app.edges}`;
      hint.textContent = app.isStatic ? `Hover a token to isolate its attention · click to pin it · Esc to unpin${edgeNote}` : `Hover a token to isolate its attention · click to pin · double-click or Enter to ${mode === "mask" ? "mask that token" : "knock that token out"}${edgeNote}`;
      const toks = app.tokens;
      const tk = JSON.stringify([app.get("hide_special"), toks.map((t) => [t.text, t.special, t.masked, t.knocked_out, t.segment, !!t.pending])]);
      if (tk !== tokenKey || all) {
        tokenKey = tk;
        rebuildTokens();
      }
      const bk = JSON.stringify([app.nHeads, app.get("layer"), app.get("thumb_size"), app.dark]);
      if (bk !== boxKey || all || d.has("theme") || d.has("thumbs")) {
        boxKey = bk;
        rebuildBoxes();
      }
      const sel = new Set(selectedHeads(app.get("heads"), app.nHeads));
      boxEls.forEach((b, hd) => {
        const on = sel.has(hd);
        b.classList.toggle("is-on", on);
        b.setAttribute("aria-pressed", String(on));
      });
      draw();
    },
    /** Scrolls to token i (original index). @param {number} i */
    reveal(i) {
      const a = compactOf.get(i);
      if (a == null) return;
      scrollToRow(a);
      draw();
    },
    destroy() {
      if (scrollFrame) (globalThis.cancelAnimationFrame || clearTimeout)(scrollFrame);
    }
  };
}

// views/model.js
var GAP = 4;
var LEFT = 34;
var TOP = 20;
function createModelView(app) {
  const signal = app.signal;
  const canvas = (
    /** @type {HTMLCanvasElement} */
    h("canvas", {
      class: "xf-grid",
      tabindex: "0",
      role: "img",
      "aria-label": "Every layer and head. Arrow keys move, Enter opens the head."
    })
  );
  const tip = h("div", { class: "xf-tooltip", hidden: true });
  const note = h("div", { class: "xf-hint" });
  const el = h("div", { class: "xf-modelview" }, note, h("div", { class: "xf-grid-stage" }, canvas, tip));
  let g = { cell: 0, nL: 0, nH: 0, w: 0, hgt: 0 };
  let cursor = { l: -1, h: -1 };
  let atlas = null;
  let atlasKey = "";
  function buildAtlas() {
    const S = app.get("thumb_size") | 0;
    const nL = app.nLayers;
    const nH = app.nHeads;
    const key = JSON.stringify([S, nL, nH, app.dark, app.thumbs ? app.thumbs.length : 0, app.get("run_id")]);
    if (key === atlasKey && atlas) return atlas;
    atlasKey = key;
    atlas = null;
    const th = app.thumbs;
    if (!th || !(S > 0) || th.length !== nL * nH * S * S) return null;
    const c = document.createElement("canvas");
    c.width = nH * S;
    c.height = nL * S;
    const ctx = (
      /** @type {CanvasRenderingContext2D} */
      c.getContext("2d")
    );
    const img = ctx.createImageData(nH * S, nL * S);
    const vals = new Float32Array(S * S);
    const px = new Uint8ClampedArray(S * S * 4);
    for (let l = 0; l < nL; l++) {
      for (let hd = 0; hd < nH; hd++) {
        const off = (l * nH + hd) * S * S;
        for (let p = 0; p < S * S; p++) vals[p] = th[off + p] / 255;
        colourise(vals, app.ramp, px, 0.5);
        for (let y = 0; y < S; y++) {
          const dst = ((l * S + y) * nH * S + hd * S) * 4;
          img.data.set(px.subarray(y * S * 4, (y + 1) * S * 4), dst);
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    atlas = c;
    return c;
  }
  function paint() {
    const nL = app.nLayers;
    const nH = app.nHeads;
    const S = app.get("thumb_size") | 0;
    const avail = Math.max(240, el.clientWidth || 700);
    const cell = Math.max(16, Math.min(56, Math.floor((avail - LEFT - 8) / Math.max(1, nH)) - GAP));
    const w = LEFT + nH * (cell + GAP) + 4;
    const hgt = TOP + nL * (cell + GAP) + 4;
    g = { cell, nL, nH, w, hgt };
    note.textContent = S > 0 ? `Each tile is one head's attention pattern (rows = from, columns = to). Click a tile to open that layer and head in the ${app.pooledSide ? "matrix view (this input is too long for curves)" : "head view"}.` : "Computing the thumbnails of every layer and head (long inputs compute them when this view opens)…";
    const { ctx } = fitCanvas(canvas, w, hgt);
    const css = getComputedStyle(app.root);
    const fg = css.color;
    const muted = css.getPropertyValue("--xf-muted").trim() || fg;
    const accent = css.getPropertyValue("--xf-accent").trim() || "#2f6fde";
    const border = css.getPropertyValue("--xf-border").trim() || "#ddd";
    ctx.clearRect(0, 0, w, hgt);
    const at = buildAtlas();
    ctx.font = `11px ${css.getPropertyValue("--xf-font").trim() || "sans-serif"}`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "center";
    for (let hd = 0; hd < nH; hd++) {
      ctx.fillStyle = headColourFor(hd, app.dark);
      ctx.fillRect(LEFT + hd * (cell + GAP), TOP - 6, cell, 3);
      ctx.fillStyle = muted;
      ctx.fillText(String(hd), LEFT + hd * (cell + GAP) + cell / 2, TOP - 13);
    }
    const layer = app.get("layer") | 0;
    const sel = new Set(selectedHeads(app.get("heads"), nH));
    ctx.textAlign = "right";
    for (let l = 0; l < nL; l++) {
      const y = TOP + l * (cell + GAP);
      ctx.fillStyle = l === layer ? accent : muted;
      ctx.font = `${l === layer ? "600 " : ""}11px ${css.getPropertyValue("--xf-font").trim() || "sans-serif"}`;
      ctx.fillText(`L${l}`, LEFT - 6, y + cell / 2);
      for (let hd = 0; hd < nH; hd++) {
        const x = LEFT + hd * (cell + GAP);
        if (at) {
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(at, hd * S, l * S, S, S, x, y, cell, cell);
        } else {
          ctx.fillStyle = border;
          ctx.fillRect(x, y, cell, cell);
        }
        ctx.strokeStyle = border;
        ctx.lineWidth = 1;
        ctx.strokeRect(x - 0.5, y - 0.5, cell + 1, cell + 1);
      }
    }
    ctx.strokeStyle = accent;
    ctx.lineWidth = 2;
    for (const hd of sel) {
      if (sel.size === nH) break;
      ctx.strokeRect(LEFT + hd * (cell + GAP) - 1, TOP + layer * (cell + GAP) - 1, cell + 2, cell + 2);
    }
    if (sel.size === nH) {
      ctx.strokeRect(LEFT - 1, TOP + layer * (cell + GAP) - 1, nH * (cell + GAP) - GAP + 2, cell + 2);
    }
    if (cursor.l >= 0) {
      ctx.strokeStyle = fg;
      ctx.lineWidth = 2;
      ctx.strokeRect(LEFT + cursor.h * (cell + GAP) - 1, TOP + cursor.l * (cell + GAP) - 1, cell + 2, cell + 2);
    }
  }
  const cellAt = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left - LEFT;
    const y = e.clientY - r.top - TOP;
    if (x < 0 || y < 0) return null;
    const hd = Math.floor(x / (g.cell + GAP));
    const l = Math.floor(y / (g.cell + GAP));
    if (hd >= g.nH || l >= g.nL) return null;
    return { l, h: hd };
  };
  const open = (l, hd) => {
    app.setMany({ layer: l, heads: [hd], view: app.pooledSide ? "matrix" : "head" });
  };
  const showTip = (l, hd) => {
    if (l < 0) {
      tip.hidden = true;
      return;
    }
    tip.textContent = `Layer ${l} · head ${hd}`;
    tip.hidden = false;
    tip.style.left = `${LEFT + (hd + 1) * (g.cell + GAP)}px`;
    tip.style.top = `${TOP + (l + 1) * (g.cell + GAP)}px`;
  };
  canvas.addEventListener("pointermove", (e) => {
    const c = cellAt(e);
    const next = c || { l: -1, h: -1 };
    if (next.l !== cursor.l || next.h !== cursor.h) {
      cursor = next;
      showTip(cursor.l, cursor.h);
      paint();
    }
    canvas.style.cursor = c ? "pointer" : "default";
  }, { signal });
  canvas.addEventListener("pointerleave", () => {
    cursor = { l: -1, h: -1 };
    tip.hidden = true;
    paint();
  }, { signal });
  canvas.addEventListener("click", (e) => {
    const c = cellAt(e);
    if (c) open(c.l, c.h);
  }, { signal });
  canvas.addEventListener("keydown", (e) => {
    let { l, h: hd } = cursor;
    if (l < 0) {
      l = app.get("layer") | 0;
      hd = 0;
    }
    switch (e.key) {
      case "ArrowUp":
        l = Math.max(0, l - 1);
        break;
      case "ArrowDown":
        l = Math.min(g.nL - 1, l + 1);
        break;
      case "ArrowLeft":
        hd = Math.max(0, hd - 1);
        break;
      case "ArrowRight":
        hd = Math.min(g.nH - 1, hd + 1);
        break;
      case "Enter":
      case " ":
        e.preventDefault();
        open(l, hd);
        return;
      default:
        return;
    }
    e.preventDefault();
    cursor = { l, h: hd };
    showTip(l, hd);
    paint();
  }, { signal });
  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      if (d.size === 1 && d.has("hover")) return;
      paint();
    },
    destroy() {
    }
  };
}

// logic/resample.js
function resampleMatrix(mat, K, outW, outH = outW, how = "max") {
  outW = Math.max(1, Math.floor(outW));
  outH = Math.max(1, Math.floor(outH));
  if (mat.length < K * K) throw new Error("matrix shorter than K × K");
  const out = new Float32Array(outW * outH);
  if (K === 0) return out;
  const useMax = how !== "mean";
  if (outW <= K && outH <= K) {
    const colBin = new Int32Array(K);
    for (let c = 0; c < K; c++) colBin[c] = Math.min(outW - 1, Math.floor(c * outW / K));
    for (let r = 0; r < K; r++) {
      const y = Math.min(outH - 1, Math.floor(r * outH / K));
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
  const range = (p, out_) => {
    const a = Math.floor(p * K / out_);
    const b = Math.max(a + 1, Math.floor((p + 1) * K / out_));
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
function binCounts(n, bins) {
  const cnt = new Int32Array(bins);
  for (let i = 0; i < n; i++) cnt[Math.min(bins - 1, Math.floor(i * bins / n))]++;
  return cnt;
}

// views/matrix.js
var LABEL_MAX_TOKENS = 80;
function createMatrixView(app) {
  const signal = app.signal;
  const caption = h("span", { class: "xf-matrix-caption" });
  const boost = (
    /** @type {HTMLInputElement} */
    h("input", {
      type: "checkbox",
      signal,
      "on:change": () => app.invalidate("boost")
    })
  );
  boost.checked = true;
  const legend = (
    /** @type {HTMLCanvasElement} */
    h("canvas", { class: "xf-legend", "aria-hidden": "true" })
  );
  const legendMax = h("span", { class: "xf-legend-label" });
  const zbtn = (text, title, on) => h("button", { type: "button", class: "xf-btn xf-zoom-btn", text, title, "aria-label": title, signal, "on:click": on });
  const pan = (dr, dc) => {
    const z = app.get("zoom");
    if (!z) return;
    const n = z.n | 0;
    const T = app.T;
    const cl = (x) => Math.max(0, Math.min(T - n, x));
    app.setState("zoom", { r0: cl(z.r0 + dr * (n >> 1)), c0: cl(z.c0 + dc * (n >> 1)), n });
  };
  const zoomBar = h(
    "span",
    { class: "xf-zoom", hidden: true },
    zbtn("Overview", "Back to the whole input", () => app.setState("zoom", null)),
    zbtn("↑", "Earlier query rows", () => pan(-1, 0)),
    zbtn("↓", "Later query rows", () => pan(1, 0)),
    zbtn("←", "Earlier key columns", () => pan(0, -1)),
    zbtn("→", "Later key columns", () => pan(0, 1))
  );
  const bar = h(
    "div",
    { class: "xf-matrix-bar" },
    caption,
    zoomBar,
    h("span", { class: "xf-spacer" }),
    h("label", { class: "xf-field xf-check", title: "Square-root colour scale: faint weights become visible" }, boost, h("span", { text: "Boost faint weights" })),
    h("span", { class: "xf-legend-wrap" }, h("span", { class: "xf-legend-label", text: "0" }), legend, legendMax)
  );
  const heat = (
    /** @type {HTMLCanvasElement} */
    h("canvas", { class: "xf-heat" })
  );
  const overlay = (
    /** @type {HTMLCanvasElement} */
    h("canvas", {
      class: "xf-heat-overlay",
      tabindex: "0",
      role: "img",
      "aria-label": "Attention heatmap: rows are queries (from), columns are keys (to). Arrow keys move the cursor, Space pins the row's token, Enter knocks out (or masks) the column's token."
    })
  );
  const tip = h("div", { class: "xf-tooltip", hidden: true });
  const stage = h("div", { class: "xf-matrix-stage" }, heat, overlay, tip);
  const el = h("div", { class: "xf-matrixview" }, bar, stage);
  let g = { ml: 0, mt: 0, side: 0, K: 0, w: 0, hgt: 0 };
  let paintKey = "";
  let cachedImg = null;
  let shown = null;
  let cursor = { a: -1, b: -1 };
  function combined() {
    const comb = app.get("combine") === "sum" ? "sum" : "mean";
    const vd = app.tileData() || app.viewData({ combine: comb });
    if (!vd) return null;
    const mat = vd.mats[0].mat;
    let vmax = 1;
    if (comb === "sum" || vd.stretch) {
      vmax = 0;
      for (let i = 0; i < mat.length; i++) if (mat[i] > vmax) vmax = mat[i];
      vmax = vmax || 1;
    }
    return { K: vd.K, index: vd.index, colIndex: vd.colIndex || vd.index, binEnd: vd.binEnd || null, tile: !!vd.tile, mat, vmax };
  }
  function paint() {
    shown = combined();
    const avail = Math.max(200, stage.clientWidth || el.clientWidth || 600);
    const K = shown ? shown.K : 0;
    const labels = K > 0 && K <= LABEL_MAX_TOKENS && !shown?.binEnd;
    const toks = app.tokensRaw;
    let lab = 30;
    if (labels && shown) {
      let longest = 0;
      for (let a = 0; a < K; a++) {
        const t = toks[shown.index[a]];
        longest = Math.max(longest, Math.min(15, displayToken(t?.text).length) + (t?.masked ? 7 : t?.knocked_out ? 2 : 0));
      }
      lab = Math.min(120, 14 + longest * 7);
    }
    const ml = lab;
    const mt = lab;
    const side = Math.max(160, Math.min(640, avail - ml - 12, Math.max(240, K * 28)));
    const w = ml + side + 8;
    const hgt = mt + side + 8;
    g = { ml, mt, side, K, w, hgt };
    overlay.dataset.geom = `${ml},${mt},${side}`;
    const heads = selectedHeads(app.get("heads"), app.nHeads);
    const comb = app.get("combine") === "sum" ? "sum" : "mean";
    const z = app.get("zoom");
    zoomBar.hidden = !z;
    const waiting = z && !(shown && shown.tile);
    caption.textContent = !shown ? "no attention" : shown.tile ? `Layer ${app.get("attn_layer")} · ${heads.length === 1 ? `head ${heads[0]}` : `${comb} of ${heads.length === app.nHeads ? "all" : heads.length} heads`} · queries #${shown.index[0]}–#${shown.index[K - 1]} × keys #${shown.colIndex[0]}–#${shown.colIndex[K - 1]} of ${app.T}, full resolution · double-click a cell to ${app.mode === "mask" ? "mask" : "knock out"} its key` : waiting ? `Loading tokens #${z.r0}–#${z.r0 + z.n - 1} at full resolution…` : `Layer ${app.get("attn_layer")} · ${heads.length === 1 ? `head ${heads[0]}` : `${comb} of ${heads.length === app.nHeads ? "all" : heads.length} heads`} · ${shown.binEnd ? `${app.T} tokens, max-pooled to ${K}×${K} by the kernel · click to zoom to ${ZOOM_TOKENS} tokens` : `${K}×${K}${K > side ? " (max-pooled)" : ""} · double-click a cell to ${app.mode === "mask" ? "mask" : "knock out"} its key`}`;
    const { ctx, dpr } = fitCanvas(heat, w, hgt);
    fitCanvas(overlay, w, hgt);
    const css = getComputedStyle(app.root);
    const fg = css.color;
    const muted = css.getPropertyValue("--xf-muted").trim() || fg;
    ctx.clearRect(0, 0, w, hgt);
    if (!shown || K === 0) return;
    const px = Math.max(1, Math.round(side * dpr));
    const gamma = boost.checked ? 0.5 : 1;
    const key = JSON.stringify([app.get("attn_layer"), app.get("run_id"), app.get("heads"), comb, app.get("hide_special"), app.get("pair_filter"), app.get("threshold"), px, gamma, app.dark, K, shown.tile ? [shown.index[0], shown.colIndex[0]] : 0]);
    if (key !== paintKey || !cachedImg || cachedImg.width !== px) {
      const vals = resampleMatrix(shown.mat, K, px, px, "max");
      if (shown.vmax !== 1) for (let i = 0; i < vals.length; i++) vals[i] /= shown.vmax;
      const img = ctx.createImageData(px, px);
      colourise(vals, app.ramp, img.data, gamma);
      cachedImg = img;
      paintKey = key;
    }
    ctx.putImageData(cachedImg, Math.round(ml * dpr), Math.round(mt * dpr));
    const cell = side / K;
    if (cell >= 9) {
      const bg = parseColour(css.backgroundColor) || [255, 255, 255];
      ctx.strokeStyle = `rgba(${bg.join(",")},0.7)`;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let k = 1; k < K; k++) {
        const p = Math.round(k * cell) + 0.5;
        ctx.moveTo(ml + p, mt);
        ctx.lineTo(ml + p, mt + side);
        ctx.moveTo(ml, mt + p);
        ctx.lineTo(ml + side, mt + p);
      }
      ctx.stroke();
    }
    ctx.fillStyle = muted;
    ctx.font = `11px ${css.getPropertyValue("--xf-mono").trim() || "monospace"}`;
    const maskC = css.getPropertyValue("--xf-mask").trim() || "#c2410c";
    const koC = css.getPropertyValue("--xf-ko").trim() || "#7c3aed";
    const labelColour = (t) => t?.masked ? maskC : t?.knocked_out ? koC : t?.special ? muted : fg;
    const labelText = (t) => `${t?.masked ? "[MASK] " : t?.knocked_out ? "⊘ " : ""}${clip(displayToken(t?.text), 15)}`;
    if (labels) {
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      for (let a = 0; a < K; a++) {
        const t = toks[shown.index[a]];
        ctx.fillStyle = labelColour(t);
        ctx.fillText(labelText(t), ml - 5, mt + (a + 0.5) * cell);
      }
      ctx.save();
      ctx.translate(ml, mt - 5);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      for (let b = 0; b < K; b++) {
        const t = toks[shown.colIndex[b]];
        ctx.fillStyle = labelColour(t);
        ctx.fillText(labelText(t), 0, (b + 0.5) * cell);
      }
      ctx.restore();
    } else {
      const step = niceStep(K);
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      for (let k = 0; k < K; k += step) ctx.fillText(String(shown.index[k]), ml - 4, mt + (k + 0.5) * cell);
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      for (let k = 0; k < K; k += step) ctx.fillText(String(shown.colIndex[k]), ml + (k + 0.5) * cell, mt - 3);
    }
    ctx.strokeStyle = css.getPropertyValue("--xf-border-strong").trim() || "#999";
    ctx.strokeRect(ml - 0.5, mt - 0.5, side + 1, side + 1);
    const lg = fitCanvas(legend, 96, 10);
    const ramp = new Float32Array(96);
    for (let i = 0; i < 96; i++) ramp[i] = i / 95;
    const limg = lg.ctx.createImageData(96, 1);
    colourise(ramp, app.ramp, limg.data, gamma);
    const tmp = document.createElement("canvas");
    tmp.width = 96;
    tmp.height = 1;
    tmp.getContext("2d").putImageData(limg, 0, 0);
    lg.ctx.imageSmoothingEnabled = true;
    lg.ctx.drawImage(tmp, 0, 0, 96, 10);
    legendMax.textContent = `${shown.vmax === 1 ? "1" : shown.vmax.toFixed(2)}${gamma !== 1 ? " (√ scale)" : ""}`;
  }
  function paintOverlay() {
    const { ctx } = fitCanvas(overlay, g.w, g.hgt);
    ctx.clearRect(0, 0, g.w, g.hgt);
    if (!shown || !g.K) return;
    const cell = g.side / g.K;
    const css = getComputedStyle(app.root);
    const accent = css.getPropertyValue("--xf-accent").trim() || "#2f6fde";
    const compact = (orig) => {
      if (shown.binEnd) return Math.min(g.K - 1, Math.floor(orig * g.K / app.T));
      if (shown.tile) return orig >= shown.index[0] && orig < shown.index[0] + g.K ? orig - shown.index[0] : -1;
      for (let a = 0; a < shown.index.length; a++) if (shown.index[a] === orig) return a;
      return -1;
    };
    const colOf = (orig) => {
      if (shown.tile) return orig >= shown.colIndex[0] && orig < shown.colIndex[0] + g.K ? orig - shown.colIndex[0] : -1;
      return compact(orig);
    };
    const toks = app.tokens;
    const koC = css.getPropertyValue("--xf-ko").trim() || "#7c3aed";
    const maskC = css.getPropertyValue("--xf-mask").trim() || "#c2410c";
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (!t.knocked_out && !t.masked) continue;
      const b = colOf(i);
      if (b < 0) continue;
      const x = g.ml + b * cell;
      const wd = Math.max(cell, 3);
      ctx.save();
      ctx.beginPath();
      ctx.rect(x, g.mt, wd, g.side);
      ctx.clip();
      ctx.strokeStyle = t.masked ? maskC : koC;
      ctx.globalAlpha = t.pending ? 0.45 : 0.85;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let y = -wd; y < g.side + wd; y += 5) {
        ctx.moveTo(x, g.mt + y + wd);
        ctx.lineTo(x + wd, g.mt + y);
      }
      ctx.stroke();
      ctx.restore();
      ctx.strokeStyle = t.masked ? maskC : koC;
      ctx.strokeRect(x + 0.5, g.mt + 0.5, wd - 1, g.side - 1);
    }
    const f = app.get("focus");
    const pa = f >= 0 ? compact(f) : -1;
    ctx.lineWidth = 1.5;
    if (pa >= 0) {
      ctx.strokeStyle = accent;
      if (app.pinSide === "to") ctx.strokeRect(g.ml + pa * cell, g.mt, Math.max(cell, 1.5), g.side);
      else ctx.strokeRect(g.ml, g.mt + pa * cell, g.side, Math.max(cell, 1.5));
      const t = app.tokensRaw[f];
      if (t && !(g.K <= LABEL_MAX_TOKENS && !shown.binEnd)) {
        const label = `#${f} ${clip(displayToken(t.text), 24)}`;
        ctx.font = `600 11px ${css.getPropertyValue("--xf-mono").trim() || "monospace"}`;
        const tw = ctx.measureText(label).width + 8;
        const bgc = css.getPropertyValue("--xf-bg").trim() || (app.dark ? "#15171c" : "#ffffff");
        const box = (x, y) => {
          ctx.fillStyle = bgc;
          ctx.globalAlpha = 0.9;
          ctx.fillRect(x, y, tw, 16);
          ctx.globalAlpha = 1;
          ctx.strokeStyle = accent;
          ctx.lineWidth = 1;
          ctx.strokeRect(x + 0.5, y + 0.5, tw - 1, 15);
          ctx.fillStyle = accent;
          ctx.textBaseline = "middle";
          ctx.textAlign = "left";
          ctx.fillText(label, x + 4, y + 8);
        };
        const ry = g.mt + (pa + 0.5) * cell;
        box(g.ml + 4, Math.max(g.mt, Math.min(g.mt + g.side - 16, ry - 20 >= g.mt ? ry - 20 : ry + 4)));
        const pb = colOf(f);
        if (pb >= 0) {
          ctx.strokeStyle = accent;
          ctx.setLineDash([2, 3]);
          ctx.strokeRect(g.ml + pb * cell, g.mt, Math.max(cell, 1.5), g.side);
          ctx.setLineDash([]);
          const cx = g.ml + (pb + 0.5) * cell;
          box(Math.max(g.ml, Math.min(g.ml + g.side - tw, cx + 4)), g.mt + 4);
        }
      }
    }
    overlay.dataset.pinned = pa >= 0 ? String(f) : "";
    if (cursor.a >= 0 && cursor.b >= 0) {
      ctx.strokeStyle = app.dark ? "rgba(255,255,255,0.55)" : "rgba(0,0,0,0.45)";
      ctx.setLineDash([3, 3]);
      ctx.strokeRect(g.ml, g.mt + cursor.a * cell, g.side, Math.max(cell, 1));
      ctx.strokeRect(g.ml + cursor.b * cell, g.mt, Math.max(cell, 1), g.side);
      ctx.setLineDash([]);
      ctx.strokeStyle = accent;
      ctx.lineWidth = 2;
      ctx.strokeRect(g.ml + cursor.b * cell, g.mt + cursor.a * cell, Math.max(cell, 2), Math.max(cell, 2));
    }
  }
  function showTip(a, b, px, py) {
    if (!shown || a < 0 || b < 0) {
      tip.hidden = true;
      return;
    }
    const toks = app.tokensRaw;
    const i = shown.index[a];
    const j = shown.colIndex[b];
    const w = shown.mat[a * shown.K + b];
    if (shown.binEnd) {
      const span = (x2, y2) => y2 > x2 ? `#${x2}–#${y2}` : `#${x2}`;
      tip.replaceChildren(
        h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "from " }), h("b", { text: displayToken(toks[i]?.text) }), h("span", { class: "xf-muted", text: ` ${span(i, shown.binEnd[a])}` })),
        h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "to " }), h("b", { text: displayToken(toks[j]?.text) }), h("span", { class: "xf-muted", text: ` ${span(j, shown.binEnd[b])}` })),
        h("div", { class: "xf-tip-w", text: `max ${w.toFixed(4)}` })
      );
    } else tip.replaceChildren(
      h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "from " }), h("b", { text: displayToken(toks[i]?.text) }), h("span", { class: "xf-muted", text: ` #${i}` })),
      h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "to " }), h("b", { text: displayToken(toks[j]?.text) }), h("span", { class: "xf-muted", text: ` #${j}` })),
      h("div", { class: "xf-tip-w", text: w.toFixed(4) })
    );
    tip.hidden = false;
    const cell = g.side / g.K;
    const x = px ?? g.ml + (b + 1) * cell;
    const y = py ?? g.mt + (a + 1) * cell;
    const left = Math.min(x + 14, g.w - 150);
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${y + 14}px`;
  }
  const zoomTo = (row, col) => {
    if (app.isStatic) app.flash("This is a static snapshot: zooming into a long input needs a running kernel.");
    else app.setState("zoom", zoomAround(row, col, app.T));
  };
  const cellAt = (e) => {
    const r = overlay.getBoundingClientRect();
    const x = e.clientX - r.left - g.ml;
    const y = e.clientY - r.top - g.mt;
    if (!g.K || x < 0 || y < 0 || x >= g.side || y >= g.side) return null;
    return { a: Math.floor(y / g.side * g.K), b: Math.floor(x / g.side * g.K), x: x + g.ml, y: y + g.mt };
  };
  overlay.addEventListener("pointermove", (e) => {
    const c = cellAt(e);
    if (!c) {
      cursor = { a: -1, b: -1 };
      tip.hidden = true;
      app.setHover(-1, "from");
    } else {
      cursor = { a: c.a, b: c.b };
      showTip(c.a, c.b, c.x, c.y);
      if (shown) app.setHover(shown.index[c.a], "from");
    }
    paintOverlay();
  }, { signal });
  overlay.addEventListener("pointerleave", () => {
    cursor = { a: -1, b: -1 };
    tip.hidden = true;
    app.setHover(-1, "from");
    paintOverlay();
  }, { signal });
  overlay.addEventListener("click", (e) => {
    const c = cellAt(e);
    if (!c || !shown) return;
    if (shown.binEnd) zoomTo(shown.index[c.a], shown.colIndex[c.b]);
    else app.pin(shown.index[c.a], "from");
  }, { signal });
  overlay.addEventListener("dblclick", (e) => {
    const c = cellAt(e);
    if (c && shown && !shown.binEnd) app.toggleToken(shown.colIndex[c.b]);
  }, { signal });
  overlay.addEventListener("keydown", (e) => {
    if (!shown || !g.K) return;
    const K = g.K;
    let { a, b } = cursor;
    if (a < 0) a = b = 0;
    const big = Math.max(1, Math.round(K / 20));
    switch (e.key) {
      case "ArrowUp":
        a = Math.max(0, a - (e.shiftKey ? big : 1));
        break;
      case "ArrowDown":
        a = Math.min(K - 1, a + (e.shiftKey ? big : 1));
        break;
      case "ArrowLeft":
        b = Math.max(0, b - (e.shiftKey ? big : 1));
        break;
      case "ArrowRight":
        b = Math.min(K - 1, b + (e.shiftKey ? big : 1));
        break;
      case " ":
        if (shown.binEnd) zoomTo(shown.index[a], shown.colIndex[b]);
        else app.pin(shown.index[a], "from");
        break;
      case "Enter":
        if (shown.binEnd) zoomTo(shown.index[a], shown.colIndex[b]);
        else app.toggleToken(shown.colIndex[b]);
        break;
      case "Escape":
        if (!app.get("zoom")) return;
        app.setState("zoom", null);
        break;
      default:
        return;
    }
    e.preventDefault();
    cursor = { a, b };
    showTip(a, b);
    app.setHover(shown.index[a], "from");
    paintOverlay();
  }, { signal });
  overlay.addEventListener("blur", () => {
    tip.hidden = true;
  }, { signal });
  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const onlyHover = d.size === 1 && d.has("hover");
      if (!onlyHover) paint();
      paintOverlay();
    },
    /** Brings token i into view: its row under the cursor, or a zoom to it on a long input. @param {number} i */
    reveal(i) {
      const z = app.get("zoom");
      const inTile = z && i >= z.r0 && i < z.r0 + z.n;
      if (app.pooledSide && !inTile) {
        zoomTo(i, i);
        return;
      }
      if (!shown) return;
      let a = -1;
      for (let k = 0; k < shown.K; k++) if (shown.index[k] === i || shown.binEnd && shown.index[k] <= i && shown.binEnd[k] >= i) a = k;
      if (a < 0) return;
      const b = shown.tile ? i - shown.colIndex[0] : a;
      cursor = { a, b: b >= 0 && b < shown.K ? b : a };
      paintOverlay();
      overlay.scrollIntoView?.({ block: "nearest" });
    },
    destroy() {
    }
  };
}
function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
function niceStep(K) {
  const raw = K / 10;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// views/predictions.js
function createPredictions(app) {
  const title = h("div", { class: "xf-panel-title", text: "Predictions" });
  const caption = h("div", { class: "xf-pred-caption" });
  const list = h("ol", { class: "xf-pred-list" });
  const el = h("aside", { class: "xf-panel", "aria-label": "Predictions" }, title, caption, list);
  let key = "";
  function position() {
    const T = app.T;
    const af = app.activeFocus;
    if (af) return af.index;
    const toks = app.tokensRaw;
    const m = toks.findIndex((t) => t.masked);
    if (m >= 0) return m;
    if (app.kind === "causal_lm") {
      for (let i = T - 1; i >= 0; i--) if (!toks[i].special) return i;
      return T - 1;
    }
    return -1;
  }
  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      if (app.kind === "encoder") {
        el.hidden = true;
        return;
      }
      el.hidden = false;
      const preds = app.get("predictions") || [];
      const base = app.get("predictions_base");
      const i = position();
      const k = JSON.stringify([i, app.get("run_id"), app.kind, preds.length, app.tokensRaw[i]?.masked, Array.isArray(base)]);
      if (k === key && !d.has("predictions") && !d.has("all")) return;
      key = k;
      const t = app.tokensRaw[i];
      if (!t) {
        caption.textContent = "Hover a token to see what the model predicts there.";
        list.replaceChildren();
        return;
      }
      const before = Array.isArray(base) ? base[i] || [] : null;
      caption.textContent = predictionCaption(app.kind, t, i) + (before ? " · before → after the interventions" : "");
      const p = preds[i] || [];
      if (!p.length) {
        list.replaceChildren(h("li", { class: "xf-muted xf-pred-empty", text: "no predictions for this position" }));
        return;
      }
      list.classList.toggle("has-before", !!before);
      const rows = before ? predictionDiff(p, before) : p.map((x) => ({ ...x, before: void 0 }));
      list.replaceChildren(
        ...rows.map((x, r) => {
          const isNew = before && x.before === null;
          const change = before ? isNew ? "new" : `${formatProb(
            /** @type {number} */
            x.before
          )} →` : "";
          return h(
            "li",
            {
              class: `xf-pred${r === 0 ? " is-top" : ""}${isNew ? " is-new" : ""}`,
              title: `${JSON.stringify(x.token)}: ${before ? isNew ? "not in the top predictions before, " : `${formatProb(
                /** @type {number} */
                x.before
              )} before, ` : ""}${formatProb(x.prob)}${before ? " after" : ""}`
            },
            h("span", { class: "xf-pred-tok", text: displayToken(x.token) }),
            h("span", { class: "xf-pred-bar", style: { "--p": String(Math.min(1, Math.max(0, x.prob))) } }),
            before ? h("span", { class: `xf-pred-before${isNew ? " xf-badge xf-badge-new" : ""}`, text: change }) : null,
            h("span", { class: "xf-pred-p", text: formatProb(x.prob) })
          );
        })
      );
      if (before) {
        const now = new Set(p.map((x) => x.token));
        const gone = before.filter((x) => !now.has(x.token));
        if (gone.length) {
          list.append(
            h("li", { class: "xf-pred-gone xf-muted", text: `dropped out: ${gone.map((x) => `${JSON.stringify(displayToken(x.token))} (${formatProb(x.prob)})`).join(", ")}` })
          );
        }
      }
    },
    destroy() {
    }
  };
}

// views/changes.js
function createChanges(app) {
  const signal = app.signal;
  const list = h("span", { class: "xf-changes-list" });
  const clearAll = h("button", {
    type: "button",
    class: "xf-btn xf-btn-small",
    text: "Clear all",
    title: "Remove every mask and knock-out and re-run",
    signal,
    "on:click": () => app.clearInterventions()
  });
  const ivLine = h(
    "div",
    { class: "xf-changes is-empty", role: "group", "aria-label": "Interventions", hidden: true },
    h("span", { class: "xf-label", text: "Interventions" }),
    list,
    clearAll
  );
  const sinkText = h("span", { class: "xf-sink-text" });
  const sinkBtn = h("button", {
    type: "button",
    class: "xf-btn xf-btn-small",
    signal,
    "on:click": () => app.setState("sinks", app.sinkInfo.dropped ? "off" : "on")
  });
  const sinkLine = h("div", { class: "xf-sinkline", hidden: true }, sinkText, sinkBtn);
  const el = h("div", { class: "xf-changesbar" }, ivLine, sinkLine);
  let key = "";
  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const items = interventionList(app.tokens);
      const k = JSON.stringify(items);
      if (k !== key || d.has("all")) {
        key = k;
        list.replaceChildren(
          ...items.map((it, n) => {
            const tag = it.mode === "mask" ? "MASK" : "KO";
            const what = `${it.mode === "mask" ? "mask" : "knock-out"} of #${it.index} ${JSON.stringify(it.text)}`;
            return h(
              "span",
              { class: `xf-change${it.pending ? " is-pending" : ""}`, dataset: { i: String(it.index), mode: it.mode } },
              n > 0 ? h("span", { class: "xf-muted", text: " · " }) : null,
              h("button", {
                type: "button",
                class: "xf-change-find",
                title: `Find #${it.index}`,
                signal,
                text: `${tag} #${it.index} ${JSON.stringify(displayToken(it.text))}`,
                "on:click": () => app.reveal(it.index)
              }),
              app.isStatic ? null : h("button", {
                type: "button",
                class: "xf-icon-btn xf-undo",
                text: "×",
                title: `Undo the ${what}`,
                "aria-label": `Undo the ${what}`,
                signal,
                "on:click": () => app.toggleToken(it.index, it.mode)
              })
            );
          })
        );
        ivLine.classList.toggle("is-empty", items.length === 0);
        ivLine.hidden = items.length === 0 && app.isStatic;
        clearAll.hidden = app.isStatic || items.length < 2;
      }
      const si = app.sinkInfo;
      const view = app.view;
      sinkLine.hidden = !si.sinks.length || view === "model";
      if (!sinkLine.hidden) {
        const toks = app.tokensRaw;
        const names = si.sinks.map((s) => `${s.last > s.key ? `#${s.key}–#${s.last}` : `#${s.key} ${JSON.stringify(displayToken(toks[s.key]?.text))}`} (${Math.round(s.share * 100)} %)`).join(", ");
        const layer = app.get("attn_layer");
        sinkText.textContent = si.dropped ? `Attention sink${si.sinks.length > 1 ? "s" : ""} left out of layer ${layer}: ${names} of the attention; ${app.pooledSide ? "colours stretched to the rest" : "each row rescaled to the rest"}.` : `Layer ${layer} has an attention sink: ${names} of the attention goes there.`;
        sinkBtn.textContent = si.dropped ? "Show sinks" : "Leave sinks out";
        sinkBtn.title = si.dropped ? "Draw the sink keys again, with the raw weights" : "Leave the sink keys out and rescale the rest";
      }
    },
    destroy() {
    }
  };
}

// main.js
var App = class {
  /**
   * @param {any} model anywidget model
   * @param {HTMLElement} el
   */
  constructor(model, el) {
    this.model = model;
    this.host = el;
    this.abort = new AbortController();
    this.signal = this.abort.signal;
    this.modelHandlers = [];
    this.hover = /** @type {{index: number, side: "from"|"to"}|null} */
    null;
    this.pinSide = /** @type {"from"|"to"} */
    "from";
    this.pending = /** @type {{index: number, mode: string}[]} */
    [];
    this.notice = "";
    this.dirty = /* @__PURE__ */ new Set(["all"]);
    this.frame = 0;
    this.cache = /* @__PURE__ */ new Map();
    this.dark = false;
    this.ramp = buildRamp(RAMP_LIGHT);
    this.attnAll = /** @type {Uint8Array|null} */
    null;
    this.local = /** @type {{attn: DataView, attn_layer: number, all: Uint8Array}|null} */
    null;
    this.root = h("div", { class: "exformer", "data-xf": "1" });
    el.classList.add("exformer-host");
    el.append(this.root);
    this.controls = createControls(this);
    this.status = h("div", { class: "xf-status", role: "status", "aria-live": "polite" });
    this.errorBox = h("div", { class: "xf-error", role: "alert", hidden: true });
    this.stage = h("div", { class: "xf-stage" });
    this.busyLabel = h("span", { text: "re-running the model…" });
    this.busyEl = h(
      "div",
      { class: "xf-busy", hidden: true, "aria-hidden": "true" },
      h("div", { class: "xf-spinner" }),
      this.busyLabel
    );
    this.predictions = createPredictions(this);
    this.changes = createChanges(this);
    this.body = h(
      "div",
      { class: "xf-body" },
      h("div", { class: "xf-main" }, this.stage, this.busyEl),
      this.predictions.el
    );
    this.root.append(this.controls.el, this.changes.el, this.errorBox, this.body, this.status);
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    this.root.addEventListener(
      "keydown",
      (e) => {
        if (e.key === "Escape" && this.get("focus") >= 0) this.setState("focus", -1);
        const t = (
          /** @type {HTMLElement} */
          e.target
        );
        if (t !== this.root && this.root.contains(t) && !(e.key === "Enter" && (e.shiftKey || e.ctrlKey || e.metaKey))) e.stopPropagation();
      },
      { signal: this.signal }
    );
    this.views = {};
    this.activeView = "";
    for (const k of STATE_KEYS) this.listen(`change:${k}`, () => this.onChange(k));
    this.listen("msg:custom", (content) => this.onCustom(content));
    if (typeof ResizeObserver !== "undefined") {
      let lastW = 0;
      this.resizeObs = new ResizeObserver((entries) => {
        const w = Math.round(entries[0].contentRect.width);
        if (w !== lastW) {
          lastW = w;
          this.invalidate("size");
        }
      });
      this.resizeObs.observe(this.root);
    }
    const mq = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
    mq?.addEventListener?.("change", () => this.invalidate("theme"), { signal: this.signal });
    this.decode("all");
    this.invalidate("all");
    this.send({ type: "attach" });
  }
  /** A custom message to the kernel (ignored by a static snapshot). @param {any} content */
  send(content) {
    try {
      if (!this.isStatic) this.model.send(content);
    } catch {
    }
  }
  /** @param {string} event @param {Function} cb */
  listen(event, cb) {
    this.model.on(event, cb);
    this.modelHandlers.push([event, cb]);
  }
  /**
   * A state key. `attn` and `attn_layer` are the layer answered from `attn_all` while one stands in
   * for the kernel's (see localLayer).
   * @param {string} name
   */
  get(name) {
    if (this.local && (name === "attn" || name === "attn_layer")) return this.local[name];
    return this.model.get(name);
  }
  /**
   * Set a synced state key and push it to the back end.
   * @param {string} name
   * @param {any} value
   */
  setState(name, value) {
    this.model.set(name, value);
    this.model.save_changes();
  }
  /** @param {Record<string, any>} values */
  setMany(values) {
    for (const [k, v] of Object.entries(values)) this.model.set(k, v);
    this.model.save_changes();
  }
  // ---- derived data -----------------------------------------------------------------------
  get tokensRaw() {
    return (
      /** @type {import("./logic/tokens.js").Token[]} */
      this.get("tokens") || []
    );
  }
  /** tokens with pending (sent, not yet run) toggles applied */
  get tokens() {
    return this.pending.length ? applyPending(this.tokensRaw, this.pending) : this.tokensRaw;
  }
  get T() {
    return this.tokensRaw.length;
  }
  get nHeads() {
    return this.get("n_heads") | 0;
  }
  get nLayers() {
    return this.get("n_layers") | 0;
  }
  get kind() {
    return this.get("kind") || "encoder";
  }
  get isStatic() {
    return !!this.get("_static");
  }
  get view() {
    const v = this.get("view");
    const view = VIEWS.includes(v) ? v : defaultView(this.T);
    return view === "head" && this.pooledSide ? "matrix" : view;
  }
  /**
   * The zoomed tile for the shown layer and run, combined for drawing, or null.
   * @returns {ReturnType<typeof tileMatrices>|null}
   */
  tileData() {
    const z = this.get("zoom");
    const t = this.tile;
    if (!z || !t || t.layer !== this.get("attn_layer") || t.run_id !== this.get("run_id") || t.r0 !== z.r0 || t.c0 !== z.c0) return null;
    const dropKeys = this.sinkInfo.keys;
    const key = JSON.stringify(["tile", t.r0, t.c0, t.n, t.layer, t.run_id, this.get("heads"), this.get("combine"), this.get("threshold"), dropKeys]);
    let v = this.cache.get(key);
    if (!v) {
      const combine = this.get("combine") === "sum" ? "sum" : "mean";
      v = tileMatrices({ bytes: t.bytes, nHeads: this.nHeads, n: t.n, r0: t.r0, c0: t.c0, heads: this.get("heads") || [], combine, threshold: Number(this.get("threshold")) || 0, dropKeys });
      this.cache.set(key, v);
    }
    return v;
  }
  /** side of the server-pooled `attn` map (long inputs), 0 when `attn` has every token */
  get pooledSide() {
    const P = Number(this.get("attn_size"));
    return Number.isInteger(P) && P > 0 && P < this.T ? P : 0;
  }
  /** which edges per query the head view draws */
  get edges() {
    const e = this.get("edges");
    return EDGE_MODES.includes(e) ? e : defaultEdges(this.T);
  }
  /**
   * The attention sinks of the shown layer that are left out (original token positions; for a
   * pooled layer, every token of the sink's bin), with their share.
   * @returns {{keys: number[], sinks: {key: number, last: number, share: number}[], dropped: boolean}}
   */
  get sinkInfo() {
    const dropped = dropSinks(String(this.get("sinks") || stateDefault("sinks")), this.sinks || []);
    const sinks = this.sinks || [];
    const keys = [];
    if (dropped) for (const s of sinks) for (let j = s.key; j <= s.last; j++) keys.push(j);
    return { keys, sinks, dropped };
  }
  get mode() {
    const modes = availableModes(this.kind);
    const m = this.get("mode");
    return modes.includes(m) ? m : modes[0];
  }
  /** the token index whose attention is singled out: hover first, then the pinned focus */
  get activeFocus() {
    if (this.hover && this.hover.index >= 0) return this.hover;
    const f = this.get("focus");
    if (Number.isInteger(f) && f >= 0 && f < this.T) return { index: f, side: this.pinSide };
    return null;
  }
  /**
   * The selected layer sliced from `attn_all` (every layer of the current run, sent with it when
   * small), when the kernel's `attn` holds another layer: a layer change is drawn at once, and with
   * no kernel behind the comm (a saved notebook reopened) it is drawn at all. The kernel's answer
   * (the same bytes) replaces it when it comes. Null otherwise.
   * @param {App["local"]} prev the current one, kept when still right
   */
  localLayer(prev) {
    const L = this.model.get("layer");
    const all = this.attnAll;
    if (!all || this.pooledSide || !Number.isInteger(L) || L < 0 || L >= this.nLayers || L === this.model.get("attn_layer")) return null;
    if (prev && prev.attn_layer === L && prev.all === all) return prev;
    const out = (
      /** @type {any} */
      { all }
    );
    sliceLayer(out, L, { attn_all: all, n_layers: this.nLayers, n_heads: this.nHeads, seq_len: this.T });
    return out.attn ? out : null;
  }
  /**
   * Decodes what changed key `key` ("all" = everything) brings: the shown layer (and its sinks),
   * the thumbnails, the zoomed tile. Only a new layer drops the cached matrices.
   * @param {string} key
   */
  decode(key) {
    const all = key === "all" || key === "n_heads";
    if (all || ["attn_all", "n_layers", "tokens"].includes(key)) {
      let bytes = null;
      try {
        bytes = toBytes(this.model.get("attn_all"));
      } catch {
        bytes = null;
      }
      const per = this.nHeads * this.T * this.T;
      this.attnAll = bytes && per > 0 && this.nLayers > 0 && bytes.length === this.nLayers * per ? bytes : null;
    }
    let shown = all || ["attn", "attn_size", "tokens"].includes(key);
    if (shown || ["attn_all", "n_layers", "layer", "attn_layer"].includes(key)) {
      const prev = this.local;
      this.local = this.localLayer(prev);
      if (this.local !== prev) shown = true;
    }
    if (shown) {
      this.attn = null;
      this.attnError = "";
      const buf = this.get("attn");
      if (buf != null && this.T > 0 && this.nHeads > 0) {
        try {
          this.attn = attentionBytes(buf, this.nHeads, this.pooledSide || this.T);
        } catch (e) {
          this.attnError = String(
            /** @type {Error} */
            e.message || e
          );
        }
      }
      const P = this.pooledSide;
      this.sinks = this.attn ? sinkKeys(this.attn, this.nHeads, P || this.T).map((s) => {
        const [key2, last] = P ? binRange(s.key, P, this.T) : [s.key, s.key];
        return { key: key2, last, share: s.share };
      }) : [];
      this.cache.clear();
    }
    if (all || key === "thumbs") {
      try {
        this.thumbs = toBytes(this.get("thumbs"));
      } catch {
        this.thumbs = null;
      }
    }
    if (all || key === "tile" || key === "tile_rect") {
      this.tile = null;
      const tr = this.get("tile_rect");
      if (tr && typeof tr === "object") {
        try {
          const bytes = toBytes(this.get("tile"));
          const n = tr.rows | 0;
          if (bytes && n > 0 && bytes.length === this.nHeads * n * n) this.tile = { ...tr, n, bytes };
        } catch {
          this.tile = null;
        }
      }
    }
  }
  /**
   * Matrices to draw for the current settings (cached).
   * @param {{combine?: string, threshold?: number}} [override]
   */
  viewData(override = {}) {
    if (!this.attn) return null;
    const o = {
      heads: this.get("heads") || [],
      combine: override.combine ?? (this.get("combine") || "each"),
      hideSpecial: !!this.get("hide_special"),
      pairFilter: this.get("pair_filter") || stateDefault("pair_filter"),
      threshold: override.threshold ?? (Number(this.get("threshold")) || 0),
      dropKeys: this.sinkInfo.keys
    };
    const key = JSON.stringify(o);
    let v = this.cache.get(key);
    if (!v) {
      const P = this.pooledSide;
      v = P ? pooledMatrices({ attn: this.attn, nHeads: this.nHeads, P, T: this.T, heads: o.heads, combine: o.combine, threshold: o.threshold, dropKeys: o.dropKeys }) : viewMatrices({ attn: this.attn, nHeads: this.nHeads, T: this.T, tokens: this.tokensRaw, ...o });
      if (this.cache.size > 8) this.cache.clear();
      this.cache.set(key, v);
    }
    return v;
  }
  // ---- events -----------------------------------------------------------------------------
  /** @param {string} key */
  onChange(key) {
    if (["attn", "attn_size", "attn_layer", "attn_all", "layer", "tokens", "n_heads", "n_layers", "thumbs", "tile", "tile_rect"].includes(key)) this.decode(key);
    if (key === "sinks") this.cache.clear();
    if (key === "run_id" || key === "tokens") this.pending = [];
    if (key === "busy" && !this.get("busy")) this.pending = [];
    if (key === "tokens" || key === "hide_special") this.hover = null;
    this.invalidate(key);
  }
  /** @param {any} content */
  onCustom(content) {
    if (content && content.type === "notice") {
      this.flash(String(content.text || ""));
    }
  }
  /** @param {string} text */
  flash(text) {
    this.notice = text;
    this.invalidate("notice");
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.notice = "";
      this.invalidate("notice");
    }, 4e3);
  }
  /**
   * Mask / knock out / restore a token (what a click or Enter does), per the current mode unless
   * `mode` says which (undoing one intervention from the interventions line).
   * @param {number} index original token position
   * @param {string} [as] "mask" or "knockout"
   */
  toggleToken(index, as) {
    const t = this.tokensRaw[index];
    if (!t) return;
    if (this.isStatic) {
      this.flash("This is a static snapshot: masking and knock-outs need a running kernel.");
      return;
    }
    const mode = as === "mask" || as === "knockout" ? as : this.mode;
    if (t.special && mode === "mask" && !t.masked) {
      this.flash("Special tokens cannot be masked.");
      return;
    }
    this.pending.push({ index, mode });
    this.model.send({ type: "toggle", index, mode });
    this.invalidate("tokens");
  }
  clearInterventions() {
    if (this.isStatic) return;
    this.pending = [];
    this.model.send({ type: "clear" });
    this.invalidate("tokens");
  }
  /**
   * @param {number} index original token index or -1
   * @param {"from"|"to"} side
   */
  setHover(index, side) {
    const next = index >= 0 ? { index, side } : null;
    const cur = this.hover;
    if (cur && next && cur.index === next.index && cur.side === next.side || !cur && !next) return;
    this.hover = next;
    this.invalidate("hover");
  }
  /**
   * Pin (or unpin, if already pinned) a token.
   * @param {number} index
   * @param {"from"|"to"} side
   */
  pin(index, side) {
    const f = this.get("focus");
    if (f === index && this.pinSide === side) {
      this.setState("focus", -1);
    } else {
      this.pinSide = side;
      if (f === index) this.invalidate("focus");
      else this.setState("focus", index);
    }
  }
  /**
   * Finds token i for the user: pins it, brings it into view in the shown view (a long input's matrix
   * zooms to it).
   * @param {number} i original token position
   */
  reveal(i) {
    if (!(i >= 0 && i < this.T)) return;
    this.pinSide = "from";
    this.hover = null;
    if (this.get("focus") !== i) this.setState("focus", i);
    else this.invalidate("focus");
    const v = this.views[this.activeView];
    if (v && typeof v.reveal === "function") v.reveal(i);
  }
  /** @param {number} l */
  setLayer(l) {
    const L = clampInt(l, 0, Math.max(0, this.nLayers - 1));
    if (L !== this.get("layer")) this.setState("layer", L);
  }
  /** @param {string} what */
  invalidate(what) {
    this.dirty.add(what);
    if (this.frame) return;
    const raf = globalThis.requestAnimationFrame || ((cb) => setTimeout(cb, 16));
    this.frame = raf(() => {
      this.frame = 0;
      const d = this.dirty;
      this.dirty = /* @__PURE__ */ new Set();
      try {
        const t0 = performance.now();
        this.renderNow(d);
        this.root.dataset.renderMs = (performance.now() - t0).toFixed(1);
        this.root.dataset.frame = String((Number(this.root.dataset.frame) || 0) + 1);
        this.root.dataset.view = this.activeView;
        this.root.dataset.threshold = String(Number(this.get("threshold")) || 0);
        this.root.dataset.runId = String(this.get("run_id") ?? "");
        this.root.dataset.knocked = this.tokensRaw.flatMap((t, i) => t.knocked_out || t.masked ? [i] : []).join(",");
        if (globalThis.EXFORMER_DEBUG) console.log(`exformer render ${[...d].join(",")}: ${this.root.dataset.renderMs} ms`);
      } catch (e) {
        console.error("exformer: render failed", e);
        this.errorBox.hidden = false;
        this.errorBox.textContent = `Widget error: ${/** @type {Error} */
        e.message || e}`;
      }
    });
  }
  /** @param {Set<string>} d */
  renderNow(d) {
    if (this.signal.aborted) return;
    const bg = getComputedStyle(this.root).backgroundColor;
    const transparent = /rgba\(.*,\s*0\)$/.test(bg) || bg === "transparent";
    const dark = transparent ? !isDarkColour(getComputedStyle(this.root).color) : isDarkColour(bg);
    if (dark !== this.dark || d.has("all")) {
      this.dark = dark;
      this.ramp = buildRamp(dark ? RAMP_DARK : RAMP_LIGHT);
      d.add("theme");
    }
    this.root.classList.toggle("xf-dark", this.dark);
    const err = this.get("error") || this.attnError;
    this.errorBox.hidden = !err;
    this.errorBox.textContent = err || "";
    const busy = !!this.get("busy");
    this.busyEl.hidden = !busy;
    this.busyLabel.textContent = this.get("busy_text") || "re-running the model…";
    this.body.classList.toggle("is-busy", busy);
    const lag = this.attn && this.get("attn_layer") !== this.get("layer");
    this.body.classList.toggle("is-loading", !!lag);
    this.status.textContent = this.notice || (lag ? `loading layer ${this.get("layer")}…` : "");
    this.status.classList.toggle("is-notice", !!this.notice);
    this.controls.update(d);
    this.changes.update(d);
    const view = this.view;
    if (view !== this.activeView) {
      if (!this.views[view]) {
        const make = { head: createHeadView, model: createModelView, matrix: createMatrixView }[view];
        this.views[view] = make(this);
      }
      this.stage.replaceChildren(this.views[view].el);
      this.activeView = view;
      d.add("all");
    }
    this.views[view].update(d);
    this.predictions.update(d);
  }
  destroy() {
    this.send({ type: "detach" });
    this.abort.abort();
    for (const [ev, cb] of this.modelHandlers) this.model.off(ev, cb);
    this.modelHandlers = [];
    this.resizeObs?.disconnect();
    if (this.frame) (globalThis.cancelAnimationFrame || clearTimeout)(this.frame);
    clearTimeout(this.noticeTimer);
    for (const v of Object.values(this.views)) v.destroy();
    this.predictions.destroy();
    this.changes.destroy();
    this.controls.destroy();
    this.root.remove();
    this.host.classList.remove("exformer-host");
  }
};
function render({ model, el }) {
  const app = new App(model, el);
  return () => app.destroy();
}
var main_default = { render };
export {
  HEAD_VIEW_MAX_TOKENS,
  createStaticModel,
  main_default as default
};
