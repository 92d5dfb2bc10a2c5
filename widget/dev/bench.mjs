#!/usr/bin/env node
// Timing table for the widget's data path (no DOM): what a layer switch costs in the matrix view.
//   node widget/dev/bench.mjs [heads=12]
import { attentionBytes, viewMatrices, resampleMatrix, colourise, buildRamp, RAMP_LIGHT } from "../logic/index.js";

const nH = Number((process.argv.find((a) => a.startsWith("heads=")) || "heads=12").slice(6));
const PX = 1280; // a 640 CSS px heatmap at devicePixelRatio 2
const lut = buildRamp(RAMP_LIGHT);
const time = (f, reps = 3) => {
  let best = Infinity;
  let out;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    out = f();
    best = Math.min(best, performance.now() - t0);
  }
  return [best, out];
};
const rows = [["T", "heads", "attn MB", "combine mean ms", "hide specials + mean ms", `resample→${PX}² ms`, "colourise ms"]];
for (const T of [64, 512, 1024, 2048, 4096]) {
  const bytes = new Uint8Array(nH * T * T);
  for (let i = 0; i < bytes.length; i += 7) bytes[i] = (i * 31) & 255;
  const tokens = Array.from({ length: T }, (_, i) => ({ text: `t${i}`, special: i === 0 || i === T - 1, segment: 0 }));
  const attn = attentionBytes(bytes, nH, T);
  const reps = T >= 2048 ? 1 : 3;
  const [tMean, vm] = time(() => viewMatrices({ attn, nHeads: nH, T, tokens, combine: "mean" }), reps);
  const [tHide] = time(() => viewMatrices({ attn, nHeads: nH, T, tokens, combine: "mean", hideSpecial: true }), reps);
  const [tRes, vals] = time(() => resampleMatrix(vm.mats[0].mat, T, PX, PX, "max"), reps);
  const [tCol] = time(() => colourise(vals, lut, undefined, 0.5), reps);
  rows.push([T, nH, (bytes.length / 1e6).toFixed(1), tMean.toFixed(1), tHide.toFixed(1), tRes.toFixed(1), tCol.toFixed(1)]);
}
const w = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((v, c) => String(v).padStart(w[c])).join("  "));
  if (i === 0) console.log(w.map((n) => "-".repeat(n)).join("  "));
}
