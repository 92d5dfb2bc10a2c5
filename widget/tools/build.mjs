#!/usr/bin/env node
// Bundle widget/main.js and the modules it imports into ONE self-contained ES module,
// widget/exformer.js, which is what the Rust side embeds (include_str!) as anywidget's `_esm` and
// inlines into the standalone HTML. esbuild (pinned in widget/package.json; `npm --prefix widget ci`
// installs it) does the bundling: ESM out, not minified, tree-shaken (what only tests and dev/
// use stays out), es2020 syntax.
//
//   npm --prefix widget run build    (node widget/tools/build.mjs)           write widget/exformer.js
//   npm --prefix widget run check    (node widget/tools/build.mjs --check)   exit 1 if it is stale

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const WIDGET_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRY = "main.js";
export const OUTPUT = "exformer.js";

/** @returns {Promise<typeof import("esbuild")>} */
async function loadEsbuild() {
  try {
    return await import("esbuild");
  } catch (e) {
    throw new Error(
      `esbuild is not installed (${/** @type {Error} */ (e).message}): run \`npm --prefix widget ci\` ` +
        "(scripts/setup.sh --tests does it)",
    );
  }
}

/**
 * Build the bundle text (deterministic: same sources and esbuild version, same bytes, from any cwd).
 * @param {string} [dir] widget directory
 * @returns {Promise<string>}
 */
export async function build(dir = WIDGET_DIR) {
  const esbuild = await loadEsbuild();
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: [ENTRY],
    outfile: OUTPUT,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: false,
    treeShaking: true,
    charset: "utf8",
    sourcemap: false,
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  const out = result.outputFiles[0].text;
  const exports = Object.values(result.metafile.outputs)[0].exports;
  if (!exports.includes("default")) throw new Error(`${ENTRY} has no default export`);
  const named = exports.filter((e) => e !== "default");
  const header =
    `// exformer widget: GENERATED single-file ES module (esbuild ${esbuild.version} bundle of widget/${ENTRY}).\n` +
    "// Do not edit by hand: edit the sources in widget/ and run `npm --prefix widget run build`\n" +
    "// (`node --test widget/test/` fails when this file is stale).\n" +
    `// Interface (anywidget AFM): export default { render }; named exports ${named.join(", ")}.\n\n`;
  return header + out;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const target = join(WIDGET_DIR, OUTPUT);
  const shown = relative(process.cwd(), target);
  try {
    const text = await build();
    if (process.argv.includes("--check")) {
      let cur = "";
      try {
        cur = readFileSync(target, "utf8");
      } catch {}
      if (cur !== text) {
        console.error(`${shown} is stale: run npm --prefix widget run build`);
        process.exit(1);
      }
      console.log(`${shown} is up to date`);
    } else {
      writeFileSync(target, text);
      console.log(`wrote ${shown} (${Buffer.byteLength(text)} bytes)`);
    }
  } catch (e) {
    console.error(String(/** @type {Error} */ (e).message || e));
    process.exit(1);
  }
}
