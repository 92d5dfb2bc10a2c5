// What ships in every notebook's `_esm` (widget/exformer.js, esbuild's tree-shaken bundle): the
// helpers only tests and dev/ use stay out, and every top-level declaration left is reachable from
// the module's exports.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as logic from "../logic/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = readFileSync(join(dir, "exformer.js"), "utf8");

/** widget/logic exports that no shipped module (main.js, static_model.js, views/) uses. */
const TEST_ONLY = [
  "applyThreshold",
  "bytesToBase64",
  "combineHeads",
  "curvePath",
  "decodeAttention",
  "headMatrix", // makeThumbs's helper
  "makeThumbs",
  "renormaliseRows",
  "suggestedThumbSize",
];

/**
 * The bundle's top-level statements (esbuild writes them from column 0, bodies indented), each with
 * the name it declares (null for `export { … }` and anything else).
 */
function topLevel(src) {
  const lines = src.split("\n");
  /** @type {{name: string|null, text: string}[]} */
  const out = [];
  for (const line of lines) {
    if (/^\s/.test(line) || line === "" || line.startsWith("//") || /^[}\])]/.test(line)) {
      if (out.length) out[out.length - 1].text += `\n${line}`;
      continue;
    }
    const m = /^(?:async\s+)?(?:function\*?\s+|var\s+|let\s+|const\s+|class\s+)([A-Za-z_$][\w$]*)/.exec(line);
    out.push({ name: m ? m[1] : null, text: line });
  }
  return out;
}

const stmts = topLevel(bundle);
const declared = stmts.filter((s) => s.name).map((s) => /** @type {string} */ (s.name));
const functions = stmts.filter((s) => /^(?:async\s+)?function/.test(s.text)).map((s) => s.name);

test("the bundle's top-level declarations are found", () => {
  // guards the parsing above: the widget has dozens of top-level functions and one export list
  assert.ok(functions.length > 40, `only ${functions.length} top-level functions found`);
  for (const f of ["render", "createStaticModel", "viewMatrices", "base64ToBytes", "createHeadView"]) {
    assert.ok(functions.includes(f), `${f} not found among the bundle's top-level functions`);
  }
  assert.equal(stmts.filter((s) => s.text.startsWith("export {")).length, 1, "one export list");
  assert.equal(new Set(declared).size, declared.length, "each name declared once");
});

test("the helpers only tests and dev/ use are left out of the bundle", () => {
  for (const name of TEST_ONLY) {
    assert.equal(typeof logic[name], "function", `${name} is not a widget/logic export any more: drop it from TEST_ONLY`);
    assert.ok(!declared.includes(name), `${name} ships in widget/exformer.js`);
    assert.doesNotMatch(bundle, new RegExp(`\\b${name}\\b`), `${name} appears in widget/exformer.js`);
  }
});

test("every widget/logic export ships or is listed as test-only", () => {
  for (const name of Object.keys(logic)) {
    assert.ok(
      declared.includes(name) || TEST_ONLY.includes(name),
      `${name} is not in the bundle: the widget no longer uses it; add it to TEST_ONLY (or delete it)`,
    );
  }
});

test("every top-level declaration in the bundle is reachable from its exports", () => {
  const byName = new Map(stmts.filter((s) => s.name).map((s) => [s.name, s.text]));
  const refs = (/** @type {string} */ text) => declared.filter((n) => new RegExp(`(?<![\\w$])(?<![^.]\\.)${n.replace(/\$/g, "\\$")}(?![\\w$])`).test(text));
  // roots: the export list and any top-level statement that declares nothing (side effects)
  const todo = stmts.filter((s) => !s.name).flatMap((s) => refs(s.text));
  const seen = new Set();
  while (todo.length) {
    const n = /** @type {string} */ (todo.pop());
    if (seen.has(n)) continue;
    seen.add(n);
    todo.push(...refs(/** @type {string} */ (byName.get(n))));
  }
  for (const root of ["render", "createStaticModel", "HEAD_VIEW_MAX_TOKENS"]) assert.ok(seen.has(root), `${root} not exported`);
  assert.deepEqual(declared.filter((n) => !seen.has(n)), [], "unreachable top-level declarations");
});
