#!/usr/bin/env node
// Fill widget/standalone.html the way the Rust side's save_html does (CSS, bundled JS, state JSON
// with `<` escaped) over synthetic state, for visual checks without a kernel.
//   node widget/dev/make_demo.mjs OUT.html [key=value ...]   e.g. kind=causal_lm T=24 view=matrix pair=1 theme=dark
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { syntheticState } from "./synthetic.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * @param {string} template
 * @param {string} css
 * @param {string} js
 * @param {Record<string, any>} state
 */
export function fillTemplate(template, css, js, state) {
  const json = JSON.stringify(state).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
  // Replacement functions: no `$&`-style patterns get interpreted. State goes in last.
  return template
    .replace("/*EXFORMER_CSS*/", () => css)
    .replace("/*EXFORMER_JS*/", () => js)
    .replace("/*EXFORMER_STATE*/", () => json);
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const out = process.argv[2] || "/tmp/exformer-demo.html";
  const opts = Object.fromEntries(process.argv.slice(3).map((a) => a.split("=")));
  const o = {
    kind: opts.kind,
    T: opts.T ? Number(opts.T) : undefined,
    pair: opts.pair === "1",
    view: opts.view,
    nLayers: opts.layers ? Number(opts.layers) : undefined,
    nHeads: opts.heads ? Number(opts.heads) : undefined,
    mask: opts.mask ? opts.mask.split(",").map(Number) : [],
    knockout: opts.knockout ? opts.knockout.split(",").map(Number) : [],
    allLayers: opts.all !== "0",
  };
  const state = syntheticState(o);
  for (const k of ["threshold", "focus", "combine", "hide_special", "pair_filter", "busy", "error"]) {
    if (k in opts) state[k] = k === "combine" || k === "pair_filter" || k === "error" ? opts[k] : JSON.parse(opts[k]);
  }
  let html = fillTemplate(
    readFileSync(join(dir, "standalone.html"), "utf8"),
    readFileSync(join(dir, "exformer.css"), "utf8"),
    readFileSync(join(dir, "exformer.js"), "utf8"),
    state,
  );
  if (opts.theme) html = html.replace("<html lang=\"en\">", `<html lang="en" data-theme="${opts.theme}">`);
  writeFileSync(out, html);
  console.log(`wrote ${out} (${html.length} bytes, T=${state.seq_len})`);
}
