// exformer widget logic: views, tokens, predictions and interventions (no DOM).

/** @typedef {{text: string, special?: boolean, segment?: number, masked?: boolean, knocked_out?: boolean}} Token */
/** @typedef {{token: string, prob: number}} Prediction */

import { enumValues, stateDefault } from "./protocol.js";

/** Views the widget knows (the schema's `view` values). */
export const VIEWS = enumValues("view");

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

/** Default view for an input of T tokens (head up to HEAD_VIEW_MAX_TOKENS, matrix past it). @param {number} T */
export function defaultView(T) {
  return stateDefault("view", T);
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
