// exformer widget: the pure logic (no DOM), one module per concept. Everything here is covered by
// `node --test widget/test/`.
//
//   buffers.js   base64, binary values as bytes, the `attn` / `thumbs` layouts
//   matrices.js  heads, hidden tokens, pair filters, thresholds, pooled layers, tiles, sinks
//   edges.js     which edges the head view draws, and its curves
//   resample.js  matrix → pixels, thumbnails
//   colour.js    head colours, theme, heatmap ramps
//   tokens.js    views, token labels, predictions, interventions
//   protocol.js  the state schema (widget/protocol.json): keys, owners, enum values, defaults, palette
//
// This file re-exports them all for the tests and dev/ tools. The widget's own modules import from
// the concept modules directly, so the bundle (widget/exformer.js) keeps only what they use.

export * from "./buffers.js";
export * from "./matrices.js";
export * from "./edges.js";
export * from "./resample.js";
export * from "./colour.js";
export * from "./tokens.js";
export * from "./protocol.js";
