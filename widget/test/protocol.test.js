// widget/protocol.json, the state schema the kernel reads too, against what the front end does
// (crates/exformer/src/widget/state.rs checks it against the kernel), and the shared pooled-bin cases.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as L from "../logic/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..");
const schema = JSON.parse(readFileSync(join(dir, "protocol.json"), "utf8"));
const bins = JSON.parse(readFileSync(join(dir, "test", "vectors", "bins.json"), "utf8"));
const spec = schema.state;
const front = Object.keys(spec).filter((k) => spec[k].owner === "front");

/** The shipped widget sources (what the bundle is made of, minus logic/). */
const sources = ["main.js", "static_model.js", ...readdirSync(join(dir, "views")).map((f) => join("views", f))].map((f) => [
  f,
  readFileSync(join(dir, f), "utf8"),
]);

test("the schema is well formed", () => {
  const types = ["string", "int", "bool", "json", "binary", "enum", "number", "index", "index_set", "zoom"];
  for (const [k, s] of Object.entries(spec)) {
    assert.ok(["kernel", "front", "page"].includes(s.owner), `${k}: owner ${s.owner}`);
    assert.ok(types.includes(s.type), `${k}: type ${s.type}`);
    if (s.type === "enum") {
      assert.ok(Array.isArray(s.values) && s.values.length > 0, k);
      assert.equal(new Set(s.values).size, s.values.length, `${k}: values repeat`);
    }
    if (s.type === "index" || s.type === "index_set") assert.equal(spec[s.of]?.type, "int", `${k}: of ${s.of}`);
    if (s.owner !== "front") for (const f of ["default", "redraw", "reset_with_text"]) assert.ok(!(f in s), `${k}: ${f} on a ${s.owner} key`);
  }
  assert.deepEqual(front, ["layer", "heads", "view", "threshold", "hide_special", "combine", "edges", "sinks", "pair_filter", "mode", "focus", "zoom"]);
  // every enum default (by length or by kind) is one of the values
  for (const k of front.filter((k) => spec[k].type === "enum")) {
    const d = spec[k].default;
    for (const v of typeof d === "object" ? Object.values(d) : [d]) assert.ok(spec[k].values.includes(v), `${k}: default ${v}`);
  }
});

test("the front end's lists and constants are the schema's", () => {
  assert.deepEqual(L.STATE_KEYS, Object.keys(spec));
  assert.deepEqual(L.VIEWS, spec.view.values);
  assert.deepEqual(L.EDGE_MODES, spec.edges.values);
  assert.deepEqual(L.COMBINES, spec.combine.values);
  assert.deepEqual(L.PAIR_FILTERS, spec.pair_filter.values);
  assert.equal(L.HEAD_VIEW_MAX_TOKENS, schema.constants.HEAD_VIEW_MAX_TOKENS);
  assert.equal(L.HEAD_VIEW_MAX_TOKENS, 60);
  assert.deepEqual(L.HEAD_COLOURS, schema.palette.head_colours);
  assert.deepEqual(L.RAMP_LIGHT, schema.palette.ramp_light);
  assert.deepEqual(L.RAMP_DARK, schema.palette.ramp_dark);
  for (const c of [...L.HEAD_COLOURS, ...L.RAMP_LIGHT, ...L.RAMP_DARK]) assert.match(c, /^#[0-9a-f]{6}$/);
  // The kernel keeps no copy of its own (white is also its background colour).
  const rs = readFileSync(join(dir, "..", "crates", "exformer", "src", "widget", "png", "colour.rs"), "utf8");
  for (const c of [...L.HEAD_COLOURS, ...L.RAMP_LIGHT.slice(1)]) assert.doesNotMatch(rs, new RegExp(`0x${c.slice(1)}`, "i"), `${c} in colour.rs`);
});

test("every enum value works in the front end, and the defaults switch at HEAD_VIEW_MAX_TOKENS", () => {
  const n = L.HEAD_VIEW_MAX_TOKENS;
  for (const T of [1, n, n + 1, 8000]) {
    const short = T <= n ? "short" : "long";
    assert.equal(L.defaultView(T), spec.view.default[short]);
    assert.equal(L.defaultEdges(T), spec.edges.default[short]);
    assert.equal(L.stateDefault("combine", T), spec.combine.default[short]);
    assert.equal(L.stateDefault("threshold", T), spec.threshold.default[short]);
  }
  assert.equal(L.defaultView(n), "head");
  assert.equal(L.defaultView(n + 1), "matrix");
  assert.equal(L.stateDefault("mode", 5, "masked_lm"), "mask");
  assert.equal(L.stateDefault("mode", 5, "causal_lm"), "knockout");
  assert.equal(L.stateDefault("zoom"), null);
  assert.equal(L.stateDefault("layer"), undefined);
  // each value of each enum the views compute with is accepted by the function that takes it
  const T = 3, attn = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9].map((x) => x * 20));
  const tokens = [{ text: "a" }, { text: "b", segment: 1 }, { text: "c", segment: 1 }];
  for (const combine of spec.combine.values) L.viewMatrices({ attn, nHeads: 1, T, tokens, combine });
  for (const pairFilter of spec.pair_filter.values) L.viewMatrices({ attn, nHeads: 1, T, tokens, pairFilter });
  const mat = new Float32Array([0.5, 0.3, 0.2]);
  const all = L.rowEdges(mat, 3, 0, "all", 0);
  for (const mode of spec.edges.values) {
    const got = L.rowEdges(mat, 3, 0, mode, 0);
    assert.ok(got.length > 0 && got.length <= all.length, mode);
    assert.ok(L.EDGE_LABEL[mode], mode);
  }
  const sink = [{ key: 0, share: 0.4 }];
  assert.deepEqual(spec.sinks.values.map((s) => L.dropSinks(s, sink)), [false, true, false]);
  assert.deepEqual(L.availableModes("masked_lm"), spec.mode.values);
  for (const m of L.availableModes("causal_lm")) assert.ok(spec.mode.values.includes(m));
});

test("the front end writes only the keys the schema gives it, and reads only schema keys", () => {
  const written = new Set();
  const read = new Set();
  for (const [f, src] of sources) {
    for (const m of src.matchAll(/\bsetState\(\s*"([\w$]+)"/g)) written.add(m[1]);
    for (const m of src.matchAll(/\bsetMany\(\s*\{([^}]*)\}/g)) for (const k of m[1].matchAll(/([\w$]+)\s*:/g)) written.add(k[1]);
    for (const m of src.matchAll(/\b(?:app|this)\.get\(\s*"([\w$]+)"/g)) read.add(m[1]);
    // static_model.js answers a layer change as the kernel would: it sets kernel keys
    if (f !== "static_model.js") assert.doesNotMatch(src, /\bmodel\.set\(\s*"/, `${f} sets a key without setState`);
  }
  assert.ok(written.size >= 10, [...written].join());
  for (const k of written) assert.equal(spec[k]?.owner, "front", `the front end writes ${k}`);
  assert.ok(read.size >= 15, [...read].join());
  for (const k of read) assert.ok(k in spec, `the front end reads ${k}, which the schema does not list`);
});

test("pooled bins: the shared cases (the kernel's bin_range checks the same file)", () => {
  assert.ok(bins.cases.length >= 10);
  for (const c of bins.cases) assert.deepEqual(L.binRange(c.b, c.P, c.T), [c.lo, c.hi], JSON.stringify(c));
});
