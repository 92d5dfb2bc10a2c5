// DOM-free checks of the files the Rust side embeds: the single-file bundle and the standalone
// HTML template contract.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../tools/build.mjs";
import { fillTemplate } from "../dev/make_demo.mjs";
import { syntheticState } from "../dev/synthetic.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..");
const read = (f) => readFileSync(join(dir, f), "utf8");
const PLACEHOLDERS = ["/*EXFORMER_CSS*/", "/*EXFORMER_JS*/", "/*EXFORMER_STATE*/"];
const count = (s, sub) => s.split(sub).length - 1;

test("standalone template has each placeholder exactly once, in the right element", () => {
  const html = read("standalone.html");
  for (const p of PLACEHOLDERS) assert.equal(count(html, p), 1, p);
  assert.match(html, /<style>[\s\S]*\/\*EXFORMER_CSS\*\/[\s\S]*<\/style>/);
  assert.match(html, /<script type="application\/json" id="exformer-state">\/\*EXFORMER_STATE\*\/<\/script>/);
  assert.match(html, /<script type="text\/plain" id="exformer-module">\/\*EXFORMER_JS\*\/<\/script>/);
  assert.match(html, /^<!doctype html>/i);
  assert.doesNotMatch(html, /https?:\/\//, "no network resources");
});

test("widget/exformer.js is the up-to-date bundle of the sources", async () => {
  assert.equal(read("exformer.js"), await build(dir), "stale bundle: run npm --prefix widget run build");
});

test("bundle and CSS can be inlined in HTML safely", () => {
  const js = read("exformer.js");
  const css = read("exformer.css");
  for (const p of PLACEHOLDERS) {
    assert.ok(!js.includes(p), `bundle contains ${p}`);
    assert.ok(!css.includes(p), `css contains ${p}`);
  }
  assert.doesNotMatch(js, /<\/script|<!--|<script/i);
  assert.doesNotMatch(css, /<\/style/i);
  assert.doesNotMatch(js, /^\s*import\s*[{*"']|^\s*export\s*[{*][^;]*from\s/m, "bundle has no imports left");
  assert.doesNotMatch(js + css, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, "no CDN / network URLs");
});

test("bundle loads as an ES module and exposes render + createStaticModel", async () => {
  const mod = await import(`data:text/javascript;base64,${Buffer.from(read("exformer.js")).toString("base64")}`);
  assert.equal(typeof mod.default.render, "function");
  assert.equal(typeof mod.createStaticModel, "function");
  const m = mod.createStaticModel({ a: 1 });
  assert.equal(m.get("a"), 1);
});

test("filling the template round-trips the state, even with hostile text", () => {
  const state = syntheticState({ nLayers: 2, nHeads: 2 });
  state.tokens[1].text = "</script><!-- & /*EXFORMER_JS*/ $& $1";
  state.model_name = "</style> <b>x</b>";
  const html = fillTemplate(read("standalone.html"), read("exformer.css"), read("exformer.js"), state);
  for (const p of ["/*EXFORMER_CSS*/", "/*EXFORMER_STATE*/"]) assert.equal(count(html, p), 0);
  const m = /<script type="application\/json" id="exformer-state">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, "state script element intact");
  assert.deepEqual(JSON.parse(m[1]), state);
  const j = /<script type="text\/plain" id="exformer-module">([\s\S]*?)<\/script>/.exec(html);
  assert.equal(j[1], read("exformer.js"));
});
