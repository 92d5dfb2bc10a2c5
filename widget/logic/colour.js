// exformer widget logic: head colours, theme detection, heatmap ramps.

import { PALETTE } from "./protocol.js";

/**
 * Head colours: 16 hues chosen to stay distinguishable on white and on dark backgrounds (the first
 * 12, enough for BERT-base, are pairwise furthest apart).
 * Heads beyond 16 reuse the palette (head h gets HEAD_COLOURS[h % 16]).
 */
export const HEAD_COLOURS = PALETTE.head_colours; // blue orange green red purple brown pink cyan olive indigo teal magenta sky grey lime apricot

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

/** Heatmap ramps (widget/protocol.json, the PNG snapshot uses the light one): weight 0 → first stop, weight 1 → last stop. */
export const RAMP_LIGHT = PALETTE.ramp_light;
export const RAMP_DARK = PALETTE.ramp_dark;

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
