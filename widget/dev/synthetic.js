// exformer widget dev: synthetic widget state (no model) for demos and visual checks.
// The attention is made up from simple, recognisable patterns (previous token, next token, [CLS],
// [SEP], self, same word, broad) so the views have something realistic-looking to draw.

import { makeThumbs, bytesToBase64, suggestedThumbSize } from "../logic/index.js";

const SENT_A = "The cat sat on the mat because it was tired .";
const SENT_B = "It fell asleep on the warm mat .";

/** Deterministic PRNG (mulberry32). @param {number} seed */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @param {{T?: number, kind?: "masked_lm"|"causal_lm"|"encoder", pair?: boolean, nLayers?: number,
 *   nHeads?: number, mask?: number[], knockout?: number[], view?: string, layer?: number,
 *   model_name?: string, allLayers?: boolean}} [o]
 * @returns {Record<string, any>} state in the standalone format (binary as base64 under _buffers)
 */
export function syntheticState(o = {}) {
  const kind = o.kind || "masked_lm";
  const nLayers = o.nLayers ?? 6;
  const nHeads = o.nHeads ?? 12;
  const mask = new Set(o.mask || []);
  const knock = new Set(o.knockout || []);
  /** @type {{text: string, special: boolean, segment: number, masked: boolean, knocked_out: boolean}[]} */
  let tokens;
  const tok = (text, special = false, segment = 0) => ({ text, special, segment, masked: false, knocked_out: false });
  if (o.T && o.T > 40) {
    const words = "the model attends to every token in a long document and each head finds its own pattern of interest".split(" ");
    tokens = [tok(kind === "causal_lm" ? "<s>" : "[CLS]", true)];
    for (let i = 1; i < o.T - 1; i++) tokens.push(tok((i > 1 ? " " : "") + words[i % words.length]));
    if (kind !== "causal_lm") tokens.push(tok("[SEP]", true));
    else tokens.push(tok(" ."));
  } else if (kind === "causal_lm") {
    tokens = SENT_A.split(" ").map((w, i) => tok(i ? ` ${w}` : w));
  } else {
    tokens = [tok("[CLS]", true), ...SENT_A.toLowerCase().split(" ").map((w) => tok(w)), tok("[SEP]", true)];
    if (o.pair) {
      tokens.push(...SENT_B.toLowerCase().split(" ").map((w) => tok(w, false, 1)), tok("[SEP]", true, 1));
    }
  }
  const T = tokens.length;
  tokens.forEach((t, i) => {
    if (mask.has(i)) t.masked = true;
    if (knock.has(i)) t.knocked_out = true;
  });
  const rand = rng(1234 + T);
  const isPunct = tokens.map((t) => /^\s*[.,!?;:]$/.test(t.text));
  const norm = tokens.map((t) => t.text.trim().toLowerCase());
  const causal = kind === "causal_lm";

  /** @type {Float32Array[]} */
  const layers = [];
  const logits = new Float32Array(T);
  for (let l = 0; l < nLayers; l++) {
    const attn = new Float32Array(nHeads * T * T);
    for (let h = 0; h < nHeads; h++) {
      const pattern = (h + l * 5) % 9;
      // longer inputs need sharper logits for the peaks to survive the softmax over T keys
      const sharp = 2.5 + 3 * Math.sin(((l + 1) / (nLayers + 1)) * Math.PI) + (h % 3) + Math.max(0, Math.log(T / 20));
      const off = h * T * T;
      for (let i = 0; i < T; i++) {
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let v = rand() * 0.9;
          switch (pattern) {
            case 0: if (j === i - 1) v += sharp; break;
            case 1: if (j === i + 1 || (causal && j === i)) v += sharp; break;
            case 2: if (j === 0) v += sharp; break;
            case 3: if (tokens[j].special || isPunct[j]) v += sharp; break;
            case 4: if (j === i) v += sharp; break;
            case 5: v += -Math.abs(i - j) * 0.25 + 1.5; break;
            case 6: if (norm[j] === norm[i] && j !== i) v += sharp; else if (j === i) v += 1; break;
            case 7: if (Math.abs(i - j) <= 2) v += sharp * 0.6; break;
            default: if ((i * 7 + j * 3 + h) % 5 === 0) v += sharp * 0.7; break;
          }
          if ((causal && j > i) || knock.has(j)) v = -Infinity;
          logits[j] = v;
          if (v > max) max = v;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const e = max === -Infinity ? 0 : Math.exp(logits[j] - max);
          logits[j] = e;
          sum += e;
        }
        const row = off + i * T;
        for (let j = 0; j < T; j++) attn[row + j] = sum > 0 ? logits[j] / sum : 0;
      }
    }
    layers.push(attn);
  }
  const toBytes = (f) => {
    const b = new Uint8Array(f.length);
    for (let i = 0; i < f.length; i++) b[i] = Math.round(Math.min(1, Math.max(0, f[i])) * 255);
    return b;
  };
  const S = suggestedThumbSize(T);
  const thumbs = makeThumbs(layers, nHeads, T, S);
  const layer = Math.min(nLayers - 1, o.layer ?? Math.min(2, nLayers - 1));

  const vocab = ["cat", "dog", "mat", "sat", "tired", "it", "was", "the", "on", "rug", "bed", "sleepy", "."];
  const predictions = kind === "encoder" ? tokens.map(() => []) : tokens.map((t, i) => {
    const r = rng(99 + i);
    const cands = new Set([t.masked ? vocab[(i * 5) % vocab.length] : t.text.trim()]);
    while (cands.size < 5) cands.add(vocab[Math.floor(r() * vocab.length)]);
    let rest = 1;
    return [...cands].map((c, k) => {
      const p = k === 4 ? rest * 0.5 : rest * (k === 0 ? 0.55 + r() * 0.3 : 0.3 + r() * 0.3);
      rest -= p;
      return { token: (causal ? " " : "") + c, prob: p };
    }).sort((a, b) => b.prob - a.prob);
  });

  const state = {
    model_name: o.model_name || (kind === "causal_lm" ? "SmolLM2-135M-Instruct (synthetic)" : kind === "encoder" ? "all-MiniLM-L6-v2 (synthetic)" : "bert-tiny (synthetic)"),
    kind,
    n_layers: nLayers,
    n_heads: nHeads,
    seq_len: T,
    tokens,
    predictions,
    layer,
    heads: [],
    view: o.view || (T <= 60 ? "head" : "matrix"),
    threshold: T <= 60 ? 0.05 : 0,
    hide_special: false,
    combine: "each",
    pair_filter: "all",
    mode: kind === "masked_lm" ? "mask" : "knockout",
    focus: -1,
    attn_layer: layer,
    thumb_size: S,
    busy: false,
    error: "",
    run_id: 1,
    _buffers: {
      attn: bytesToBase64(toBytes(layers[layer])),
      thumbs: bytesToBase64(thumbs),
    },
  };
  if (o.allLayers !== false) {
    const all = new Uint8Array(nLayers * nHeads * T * T);
    layers.forEach((a, l) => all.set(toBytes(a), l * nHeads * T * T));
    state._buffers.attn_all = bytesToBase64(all);
  }
  return state;
}
