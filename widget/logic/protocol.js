// exformer widget logic: the state schema, widget/protocol.json (the kernel reads the same file:
// crates/exformer/src/widget/protocol.rs). Every state key with its owner, type, enum values and
// default; the constants and colours both sides share. esbuild inlines the JSON into the bundle.

import protocol from "../protocol.json" with { type: "json" };

/** @typedef {{owner: "kernel"|"front"|"page", type: string, values?: string[], default?: any}} KeySpec */

/** Every state key the widget knows, in the schema's order. */
export const STATE_KEYS = Object.keys(protocol.state);

/** Longest input (in tokens) for which the head view (curves) is the default view. */
export const HEAD_VIEW_MAX_TOKENS = /** @type {number} */ (protocol.constants.HEAD_VIEW_MAX_TOKENS);

/** The head palette and the heatmap ramps (`#rrggbb`). */
export const PALETTE = /** @type {{head_colours: string[], ramp_light: string[], ramp_dark: string[]}} */ (protocol.palette);

/**
 * A key's entry in the schema.
 * @param {string} key
 * @returns {KeySpec|undefined}
 */
export function keySpec(key) {
  return /** @type {Record<string, KeySpec>} */ (protocol.state)[key];
}

/** An enum key's values (empty for other keys). @param {string} key @returns {string[]} */
export function enumValues(key) {
  return keySpec(key)?.values ?? [];
}

/**
 * A key's default for an input of T tokens from a model of kind `kind`: a plain value, `{short, long}`
 * by length (short: T ≤ HEAD_VIEW_MAX_TOKENS) or `{masked_lm, other}` by kind; undefined if none.
 * @param {string} key @param {number} [T] @param {string} [kind]
 */
export function stateDefault(key, T = 0, kind = "") {
  const d = keySpec(key)?.default;
  if (d && typeof d === "object" && !Array.isArray(d)) {
    if ("short" in d) return T <= HEAD_VIEW_MAX_TOKENS ? d.short : d.long;
    if ("other" in d) return kind in d ? d[kind] : d.other;
  }
  return d;
}
