// Shared notebooks in Debian's chromium (driven by tests/browser/test_share.py).
//
//   --mode html --file PAGE.html --expect EXPECT.json --out DIR --result RESULT.json
//     opens the nbconvert export from file:// with every network request refused; each exformer
//     view must be drawn by the widget from the saved state with its tokens on screen; on the first
//     head view: hover, heads, a layer change answered offline, model and matrix views. Then the
//     same page with JavaScript disabled must show each view's PNG snapshot.
//   --mode lab --base URL --token T --notebook NB.ipynb [--no-kernel NB2.ipynb] --expect EXPECT.json --out DIR --result RESULT.json
//     [--untrusted NB3.ipynb] [--no-state NB4.ipynb] opens saved (trusted) notebooks in JupyterLab, runs no cell, and finds each view restored
//     from the notebook's saved widget state (tokens on screen, curves drawn, no "Error displaying
//     widget"). NB2 names a kernel the server lacks: the user picks "No Kernel", and the views come
//     from the exformer-saved-views extension (widget/lab/saved_views.js), hover, layer changes and
//     the model / matrix views included. NB opens with a fresh kernel: ipywidgets' manager loads the
//     saved state (the kernel holds none of these models). NB3, never trusted, must show the PNGs.
//     NB4 was saved without widget state: each view must show its PNG and text, with no kernel and
//     once one is started.
//
// EXPECT.json: [{model_id, tokens: [text...], view, n_layers, layer, attn_all: bool}] in page order.

import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "./driver.mjs";

const args = parseArgs();
const out = args.out || "tests/artifacts/browser-share";
const resultPath = args.result || path.join(out, "result.json");
const budgetMs = Number(args.budget || 240) * 1000;
const expect = JSON.parse(fs.readFileSync(args.expect, "utf8"));
const t0 = Date.now();
const left = () => Math.max(1000, t0 + budgetMs - Date.now());
const result = { ok: false, mode: args.mode, steps: [], observations: {}, console_errors: [], page_errors: [], blocked: [], failure: null };
fs.mkdirSync(out, { recursive: true });
const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}`);

function check(name, ok, detail = "") {
  const d = typeof detail === "string" ? detail : JSON.stringify(detail);
  result.steps.push({ name, ok: !!ok, detail: d.slice(0, 2000) });
  log(`${ok ? "PASS" : "FAIL"} ${name}${d ? ` :: ${d.slice(0, 400)}` : ""}`);
  if (!ok) throw new Error(`${name}: ${d.slice(0, 2000)}`);
}

/** @type {import("playwright-core").Page} */
let page;
async function waitFor(what, fn, arg, ms) {
  const timeout = Math.min(ms, left());
  try {
    return await (await page.waitForFunction(fn, arg, { timeout, polling: 200 })).jsonValue();
  } catch (e) {
    throw new Error(`timed out after ${(timeout / 1000).toFixed(0)} s waiting for ${what} (${String(e.message || e).split("\n")[0]})`);
  }
}

// Page helpers: the i-th exformer widget root, its token texts, canvas ink and fingerprint.
const HELPERS = `
window.__xs = {
  roots() { return [...document.querySelectorAll(".exformer")].filter((r) => !r.parentElement.closest(".exformer")); },
  fnv(s) { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; } return h.toString(16); },
  canvas(i, sel) {
    const c = this.roots()[i]?.querySelector(sel);
    if (!c || !c.width || !c.height) return null;
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let k = 3; k < px.length; k += 4) if (px[k] > 0) ink++;
    return { w: c.width, h: c.height, ink, hash: this.fnv(c.toDataURL()) };
  },
  view(i) {
    const r = this.roots()[i];
    if (!r) return null;
    const vis = (el) => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
    return {
      tokens: [...r.querySelectorAll(".xf-col-from .xf-tok .xf-tok-text")].filter(vis).map((e) => e.textContent),
      on: r.querySelector(".xf-seg-btn.is-on")?.textContent || null,
      layer: r.querySelector('select[aria-label="Layer"]')?.value ?? null,
      error: [...r.querySelectorAll(".xf-error")].map((e) => e.textContent).join(" ").trim(),
      status: r.querySelector(".xf-status")?.textContent || "",
      curves: this.canvas(i, "canvas.xf-curves"),
      heat: this.canvas(i, "canvas.xf-heat"),
      grid: this.canvas(i, "canvas.xf-grid"),
      visible: vis(r),
    };
  },
};`;

const norm = (t) => t.replace(/^ /, "").trim();

/** Checks that view i shows the expected tokens and a drawn canvas; switches a long input to the head view. */
async function checkView(i, e, label) {
  const root = page.locator(".exformer").nth(i);
  await root.scrollIntoViewIfNeeded({ timeout: 10000 });
  if (e.view !== "head") {
    const heat = await waitFor(`${label} view ${i}: the heatmap`, (i) => { const c = window.__xs.canvas(i, "canvas.xf-heat"); return c && c.ink > 500 ? c : false; }, i, 30_000);
    check(`${label} view ${i} (${e.tokens.length} tokens) draws its heatmap`, heat.ink > 500, heat);
    await root.locator(".xf-seg-btn", { hasText: /^Heads$/ }).first().click({ timeout: 10000 });
  }
  const v = await waitFor(`${label} view ${i}: tokens and curves`, (i) => {
    const v = window.__xs.view(i);
    return v && v.tokens.length >= 3 && v.curves && v.curves.ink > 50 ? v : false;
  }, i, 30_000);
  const want = e.tokens.map(norm);
  const got = v.tokens.map(norm);
  // a long input's head view holds only the rows in view: they must be the first tokens, in order
  const ok = e.view === "head" ? JSON.stringify(got) === JSON.stringify(want) : got.length >= 3 && JSON.stringify(got) === JSON.stringify(want.slice(0, got.length));
  check(`${label} view ${i}: its tokens are on screen`, ok, { got: got.slice(0, 20), want: want.slice(0, 20) });
  check(`${label} view ${i}: curves drawn, no error`, v.curves.ink > 50 && !v.error, { curves: v.curves, error: v.error });
  await page.mouse.move(1, 1);
  return v;
}

async function interact(i, e, label) {
  const root = page.locator(".exformer").nth(i);
  await root.scrollIntoViewIfNeeded();
  await page.mouse.move(1, 1);
  await page.waitForTimeout(150);
  const base = await page.evaluate((i) => window.__xs.view(i), i);
  // hover: only that token's attention
  await root.locator(".xf-col-from .xf-tok").nth(Math.min(3, e.tokens.length - 1)).hover();
  const hovered = await waitFor("the hover to redraw the curves", ([i, h]) => { const c = window.__xs.canvas(i, "canvas.xf-curves"); return c && c.hash !== h ? c : false; }, [i, base.curves.hash], 5000);
  check(`${label}: hovering a token redraws the curves`, hovered.hash !== base.curves.hash && hovered.ink > 0, { before: base.curves, after: hovered });
  await page.mouse.move(1, 1);
  // a layer change, answered from the saved attn_all without a kernel
  if (e.attn_all) {
    const target = e.layer === 0 ? 1 : 0;
    await page.waitForTimeout(150);
    const before = await page.evaluate((i) => window.__xs.view(i), i);
    await root.locator('select[aria-label="Layer"]').selectOption(String(target));
    const after = await waitFor(`layer ${target} drawn`, ([i, h, l]) => {
      const v = window.__xs.view(i);
      return v && v.layer === String(l) && v.curves && v.curves.hash !== h && !/loading/i.test(v.status) ? v : false;
    }, [i, before.curves.hash, target], 10_000);
    check(`${label}: layer ${e.layer} → ${target} redraws from the saved state`, after.curves.ink > 50, { before: before.curves, after: after.curves, status: after.status });
  }
  for (const [name, key] of [["Model", "grid"], ["Matrix", "heat"]]) {
    await root.locator(".xf-seg-btn", { hasText: new RegExp(`^${name}$`) }).first().click({ timeout: 10000 });
    const c = await waitFor(`the ${name} view`, ([i, name, key]) => { const v = window.__xs.view(i); return v && v.on === name && v[key] && v[key].ink > 500 ? v[key] : false; }, [i, name, key], 10_000);
    check(`${label}: the ${name} view draws`, c.ink > 500, c);
    await root.screenshot({ path: path.join(out, `${args.mode}-${name.toLowerCase()}.png`) });
  }
  await root.locator(".xf-seg-btn", { hasText: /^Heads$/ }).first().click({ timeout: 10000 });
}

async function htmlMode(browser) {
  const file = path.resolve(args.file);
  const url = "file://" + file;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
  await context.addInitScript(HELPERS);
  // every request except the page itself is refused (and recorded)
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    result.blocked.push(u.slice(0, 200));
    return route.abort("internetdisconnected");
  });
  page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && result.console_errors.push(m.text().slice(0, 500)));
  page.on("pageerror", (e) => result.page_errors.push(String(e.stack || e).slice(0, 1500)));
  page.on("request", (r) => { const u = r.url(); if (!/^(file|data|blob):/.test(u)) result.blocked.push(u.slice(0, 200)); });
  await page.goto(url, { waitUntil: "load", timeout: 60_000 });
  const share = await waitFor("every view mounted", (n) => {
    const s = window.__exformerShare;
    return s && s.views.length + s.errors.length >= n ? { views: s.views.length, errors: s.errors } : false;
  }, expect.length, 60_000);
  check("every exformer view is drawn by the widget (none left as a picture)", share.views === expect.length && share.errors.length === 0, share);
  const n = await page.evaluate(() => window.__xs.roots().length);
  check(`${expect.length} widget roots on the page`, n === expect.length, n);
  const pngs = await page.evaluate(() => [...document.querySelectorAll(".exformer-share-png")].map((p) => getComputedStyle(p).display));
  check("the PNG snapshots are hidden behind the live views", pngs.length === expect.length && pngs.every((d) => d === "none"), pngs);
  const hiddenTexts = await page.evaluate(() => [...document.querySelectorAll(".exformer-share-text")].map((p) => getComputedStyle(p).display));
  check("so are their text summaries", hiddenTexts.length === expect.length && hiddenTexts.every((d) => d === "none"), hiddenTexts);
  await page.screenshot({ path: path.join(out, "html-page.png"), fullPage: false });
  for (let i = 0; i < expect.length; i++) result.observations[`view${i}`] = await checkView(i, expect[i], "html");
  const first = expect.findIndex((e) => e.view === "head" && e.tokens.length <= 60);
  if (first >= 0) await interact(first, expect[first], "html");
  // nbconvert's own template tags ask for require.js and MathJax on every page (refused here, and
  // nothing on the page depends on them); nothing else may be requested: no widget manager, no CDN.
  const template = /^https:\/\/cdnjs\.cloudflare\.com\/ajax\/libs\/(require\.js|mathjax)\//;
  result.observations.template_requests = [...new Set(result.blocked.filter((u) => template.test(u)))];
  const other = result.blocked.filter((u) => !template.test(u));
  check("the views made no network request (only nbconvert's require.js / MathJax tags asked, refused)", other.length === 0, other);
  check("no page errors", result.page_errors.length === 0, result.page_errors);
  await context.close();

  // where JavaScript does not run, each view is its PNG snapshot
  const noJs = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true, javaScriptEnabled: false });
  page = await noJs.newPage();
  await page.goto(url, { waitUntil: "load", timeout: 60_000 });
  const imgs = await page.evaluate(() => [...document.querySelectorAll(".exformer-share-png")].map((im) => ({
    tag: im.tagName, complete: im.complete, w: im.naturalWidth, h: im.naturalHeight, shown: im.getBoundingClientRect().height > 0, alt: im.alt,
  })));
  result.observations.no_js = imgs;
  check("without JavaScript every view shows its PNG snapshot", imgs.length === expect.length && imgs.every((im) => im.tag === "IMG" && im.complete && im.w > 100 && im.shown), imgs);
  check("the snapshot's alt text is the view's summary", imgs.every((im) => im.alt.startsWith("AttentionView:")), imgs.map((im) => im.alt));
  const texts = await page.evaluate(() => [...document.querySelectorAll(".exformer-share-text")].map((t) => ({ shown: t.getBoundingClientRect().height > 0, text: t.textContent })));
  check("without JavaScript each view's text summary shows under its PNG", texts.length === expect.length && texts.every((t) => t.shown && t.text.startsWith("AttentionView:")) &&
    expect.every((e, i) => e.tokens.slice(0, 3).every((tok) => texts[i].text.includes(JSON.stringify(tok)))), texts.map((t) => t.text.slice(0, 120)));
  await page.locator(".exformer-share-png").first().screenshot({ path: path.join(out, "html-nojs-first.png") });
  await noJs.close();
}

/** Opens a notebook in its own JupyterLab workspace (a fresh page, no other tab restored). */
async function labOpen(browser, notebook, workspace) {
  const base = args.base.replace(/\/$/, "");
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript(HELPERS);
  page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && result.console_errors.push(m.text().slice(0, 500)));
  page.on("pageerror", (e) => result.page_errors.push(String(e.stack || e).slice(0, 1500)));
  const url = `${base}/lab/workspaces/${workspace}/tree/${encodeURIComponent(notebook)}?token=${encodeURIComponent(args.token || "")}`;
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 120_000 });
  return context;
}

/** Opens a notebook whose kernel this server lacks and answers JupyterLab's dialog with "No Kernel"; returns the dialog's text. */
async function labOpenWithoutKernel(browser, notebook, workspace) {
  const context = await labOpen(browser, notebook, workspace);
  const dialog = page.locator(".jp-Dialog");
  await dialog.waitFor({ timeout: Math.min(120_000, left()) });
  const text = (await dialog.innerText()).slice(0, 300);
  await dialog.locator("button", { hasText: /^No Kernel$/ }).click({ timeout: 10_000 });
  return { context, text };
}

async function labRestored(label) {
  const n = await waitFor(`${label}: the views restored`, (n) => {
    const roots = window.__xs.roots();
    const broken = [...document.querySelectorAll(".jp-OutputArea-output")].filter((o) => /Error displaying widget|model not found|could not be drawn/i.test(o.textContent)).length;
    return roots.length >= n || broken ? { roots: roots.length, broken } : false;
  }, expect.length, 120_000);
  check(`${label}: ${expect.length} views restored from the saved state`, n.roots === expect.length && !n.broken, n);
  result.observations[`${label}_prompts`] = await page.evaluate(() => [...document.querySelectorAll(".jp-InputArea-prompt")].map((p) => p.textContent.trim()));
  await page.screenshot({ path: path.join(out, `${label}-page.png`) });
  for (let i = 0; i < expect.length; i++) result.observations[`${label}_view${i}`] = await checkView(i, expect[i], label);
  return page.evaluate(() => {
    const k = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
    return k ? { name: k.name, status: k.status } : null;
  });
}

async function labMode(browser) {
  // 1. no kernel: the notebook names a kernel this server does not have (what a colleague without
  //    the exformer kernel sees); JupyterLab asks, the user picks "No Kernel", no cell runs.
  if (args["no-kernel"]) {
    const { context, text } = await labOpenWithoutKernel(browser, args["no-kernel"], "nokernel");
    result.observations.kernel_dialog = text;
    const kernel = await labRestored("nokernel");
    check("no kernel is attached", kernel === null, kernel);
    const ours = await page.evaluate(() => document.querySelectorAll(".exformer-saved-view[data-exformer-saved=drawn]").length);
    check("the exformer-saved-views extension drew each view", ours === expect.length, ours);
    const first = expect.findIndex((e) => e.view === "head" && e.tokens.length <= 60);
    if (first >= 0) await interact(first, expect[first], "nokernel");
    const loading = await page.evaluate(() => [...document.querySelectorAll(".jp-OutputArea-output")].filter((o) => /Loading widget/.test(o.textContent)).length);
    check("no exformer view is left at \"Loading widget...\"", loading === 0, loading);
    // the user then starts a kernel: the views stay (ipywidgets' manager may take them over)
    await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.changeKernel({ name: "exformer" }));
    const after = await waitFor("the views once a kernel is attached", (n) => {
      const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
      const broken = [...document.querySelectorAll(".jp-OutputArea-output")].filter((o) => /Error displaying widget|model not found|could not be drawn|Loading widget/i.test(o.textContent)).length;
      const roots = window.__xs.roots().length;
      return k && k.status === "idle" && roots === n ? { roots, broken, ours: document.querySelectorAll(".exformer-saved-view").length } : false;
    }, expect.length, 120_000);
    check("starting a kernel afterwards keeps every view", after.roots === expect.length && after.broken === 0, after);
    check("no page errors", result.page_errors.length === 0, result.page_errors);
    await context.close();
  }
  // 1b. the same, but a notebook the user never trusted: JupyterLab shows the PNGs, and the
  //     extension must not run the module saved in it
  if (args.untrusted) {
    const { context } = await labOpenWithoutKernel(browser, args.untrusted, "untrusted");
    const pngs = await waitFor("the untrusted notebook's PNGs", (n) => {
      const imgs = [...document.querySelectorAll(".jp-OutputArea-output img")].filter((im) => im.complete && im.naturalWidth > 100);
      return imgs.length >= n ? imgs.length : false;
    }, expect.length, 60_000);
    await page.waitForTimeout(2500); // past the extension's one-second wait for a kernel
    const drawn = await page.evaluate(() => ({ roots: document.querySelectorAll(".exformer").length, ours: document.querySelectorAll(".exformer-saved-view").length }));
    check("an untrusted notebook shows the PNGs and runs no saved module", pngs === expect.length && drawn.roots === 0 && drawn.ours === 0, { pngs, ...drawn });
    await context.close();
  }
  // 1c. a notebook saved without widget state (JupyterLab's default): each view is its PNG and
  //     text, with no kernel and then with one (where ipywidgets says "model not found")
  if (args["no-state"]) {
    const { context } = await labOpenWithoutKernel(browser, args["no-state"], "nostate");
    const snaps = (n, needKernel) => waitFor(`${n} snapshots${needKernel ? " with a kernel" : ""}`, ([n, needKernel]) => {
      const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
      if (needKernel && !(k && k.status === "idle")) return false;
      const boxes = [...document.querySelectorAll(".exformer-saved-snapshot")];
      const ok = boxes.filter((b) => { const im = b.querySelector("img"); return im && im.complete && im.naturalWidth > 100 && /^AttentionView:/.test(b.querySelector("pre")?.textContent || ""); });
      const stuck = [...document.querySelectorAll(".jp-OutputArea-output")].filter((o) => /Loading widget|Error displaying widget/.test(o.textContent)).length;
      return ok.length === n && stuck === 0 ? { snapshots: ok.length, stuck } : false;
    }, [n, needKernel], 120_000);
    const none = await snaps(expect.length, false);
    check("without widget state and without a kernel, each view shows its PNG and text", none.snapshots === expect.length, none);
    await page.locator(".exformer-saved-snapshot").first().screenshot({ path: path.join(out, "nostate-snapshot.png") });
    await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.changeKernel({ name: "exformer" }));
    const withK = await snaps(expect.length, true);
    check("without widget state, with a kernel, each view still shows its PNG and text", withK.snapshots === expect.length, withK);
    check("no page errors", result.page_errors.length === 0, result.page_errors);
    await context.close();
  }
  // 2. a fresh kernel: the widget manager of ipywidgets loads the saved state (the kernel holds
  //    none of these models, so what shows comes from the notebook).
  const context = await labOpen(browser, args.notebook, "kernel");
  result.observations.kernel = await labRestored("lab");
  const ours = await page.evaluate(() => document.querySelectorAll(".exformer-saved-view").length);
  check("with a kernel, ipywidgets' manager drew the views (the extension stayed out)", ours === 0 && result.observations.kernel !== null, { ours, kernel: result.observations.kernel });
  check("no page errors", result.page_errors.length === 0, result.page_errors);
  await context.close();
}

let code = 1;
const browser = await chromium.launch({
  executablePath: args.chromium || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  timeout: 120_000,
});
try {
  if (args.mode === "html") await htmlMode(browser);
  else if (args.mode === "lab") await labMode(browser);
  else throw new Error(`unknown --mode ${args.mode}`);
  result.ok = true;
  code = 0;
} catch (e) {
  result.failure = String(e.message || e);
  log(`FAIL ${result.failure}`);
  try {
    await page?.screenshot({ path: path.join(out, `${args.mode}-failed.png`) });
  } catch {}
} finally {
  result.seconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 1));
  await browser.close().catch(() => {});
  log(`share.mjs ${args.mode}: ${code === 0 ? "PASS" : "FAIL"}`);
  process.exit(code);
}
