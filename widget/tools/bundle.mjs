#!/usr/bin/env node
// Bundle widget/main.js and the modules it imports into ONE self-contained ES module,
// widget/exformer.js, which is what the Rust side embeds (include_str!) as anywidget's `_esm` and
// inlines into the standalone HTML. No dependencies; only handles the import/export forms the
// widget sources use:
//   import { a, b as c } from "./relative.js";
//   export function f / export async function f / export const|let|class x / export { a, b as c };
//   export default ...;   (entry module only)
// Each non-entry module becomes an IIFE returning its exports, so module-private names never clash.
//
//   node widget/tools/bundle.mjs           write widget/exformer.js
//   node widget/tools/bundle.mjs --check   exit 1 if widget/exformer.js is stale

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, posix } from "node:path";
import { fileURLToPath } from "node:url";

export const WIDGET_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRY = "main.js";
export const OUTPUT = "exformer.js";

const IMPORT_RE = /^import\s*\{([\s\S]*?)\}\s*from\s*["']([^"']+)["'];?[ \t]*\r?\n?/gm;

/** @param {string} id module path relative to the widget dir (posix) */
const varName = (id) => `__xf_${id.replace(/\.js$/, "").replace(/[^A-Za-z0-9_$]/g, "_")}`;

/**
 * @param {string} spec "a, b as c"
 * @returns {{name: string, local: string}[]}
 */
function parseNames(spec) {
  return spec
    .split(",")
    .map((s) => s.replace(/\/\/.*$/gm, "").trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(s);
      if (!m) throw new Error(`cannot parse import/export name ${JSON.stringify(s)}`);
      return { name: m[1], local: m[2] || m[1] };
    });
}

/**
 * Build the bundle text.
 * @param {string} [dir] widget directory
 * @returns {string}
 */
export function bundle(dir = WIDGET_DIR) {
  /** @type {Map<string, {id: string, src: string, imports: {from: string, names: {name: string, local: string}[]}[]}>} */
  const mods = new Map();
  /** @type {string[]} */
  const order = [];
  /** @param {string} id @param {string[]} stack */
  const visit = (id, stack) => {
    if (stack.includes(id)) throw new Error(`import cycle: ${[...stack, id].join(" -> ")}`);
    if (mods.has(id)) return;
    const src = readFileSync(join(dir, id), "utf8");
    const imports = [];
    for (const m of src.matchAll(IMPORT_RE)) {
      const from = posix.normalize(posix.join(posix.dirname(id), m[2]));
      if (!m[2].startsWith(".")) throw new Error(`${id}: only relative imports can be bundled (${m[2]})`);
      imports.push({ from, names: parseNames(m[1]) });
    }
    const stray = src.replace(IMPORT_RE, "").match(/^\s*import\s[^(]/m);
    if (stray) throw new Error(`${id}: unsupported import form: ${stray[0].trim()}`);
    mods.set(id, { id, src, imports });
    for (const imp of imports) visit(imp.from, [...stack, id]);
    order.push(id);
  };
  visit(ENTRY, []);

  const importLines = (imports) =>
    imports
      .map((imp) => {
        const names = imp.names.map((n) => (n.name === n.local ? n.name : `${n.name}: ${n.local}`)).join(", ");
        return `const { ${names} } = ${varName(imp.from)};\n`;
      })
      .join("");

  let out =
    "// exformer widget: GENERATED single-file ES module. Do not edit by hand: edit the sources in widget/\n" +
    "// and run `node widget/tools/bundle.mjs` (a node test fails when this file is stale).\n" +
    `// Sources, in order: ${order.join(", ")}\n`;
  for (const id of order) {
    const { src, imports } = /** @type {any} */ (mods.get(id));
    let body = src.replace(IMPORT_RE, "");
    if (id === ENTRY) {
      out += `\n// ---- ${id} ----\n${importLines(imports)}${body}`;
      continue;
    }
    /** @type {string[]} */
    const exported = [];
    body = body.replace(/^export\s+((?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*))/gm, (_, decl, name) => {
      exported.push(name);
      return decl;
    });
    body = body.replace(/^export\s+((?:const|let|var|class)\s+([A-Za-z_$][\w$]*))/gm, (_, decl, name) => {
      exported.push(name);
      return decl;
    });
    body = body.replace(/^export\s*\{([^}]*)\};?[ \t]*$/gm, (_, spec) => {
      for (const n of parseNames(spec)) exported.push(n.local === n.name ? n.name : `${n.local}: ${n.name}`);
      return "";
    });
    const leftover = body.match(/^\s*export\s.*$/m);
    if (leftover) throw new Error(`${id}: unsupported export form: ${leftover[0].trim()}`);
    out +=
      `\n// ---- ${id} ----\nconst ${varName(id)} = (() => {\n${importLines(imports)}${body.replace(/\s*$/, "\n")}` +
      `return { ${exported.join(", ")} };\n})();\n`;
  }
  return out;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const text = bundle();
  const target = join(WIDGET_DIR, OUTPUT);
  if (process.argv.includes("--check")) {
    let cur = "";
    try {
      cur = readFileSync(target, "utf8");
    } catch {}
    if (cur !== text) {
      console.error(`${relative(process.cwd(), target)} is stale: run node widget/tools/bundle.mjs`);
      process.exit(1);
    }
    console.log(`${relative(process.cwd(), target)} is up to date`);
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${relative(process.cwd(), target)} (${text.length} bytes)`);
  }
}
