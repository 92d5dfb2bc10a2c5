// Real-browser end-to-end check of the exformer widget inside JupyterLab, driven by
// tests/browser/test_lab.py (which starts the server). Uses playwright-core over the system's
// Debian chromium (never downloads a browser).
//
//   node tests/browser/lab.mjs --base http://127.0.0.1:PORT --token TOKEN --notebook quickstart.ipynb \
//        --out tests/artifacts/browser --result result.json [--budget 540]
//
// Steps: open the notebook, wait for the exformer kernel, run every cell, check that the first
// attention widget is the live front end (tokens + curves, not the PNG fallback), record the
// predictions shown for the last token and a fingerprint of the curves canvas, knock out a token
// with the keyboard (focus + Enter), wait for the re-run, check that predictions and curves
// changed, switch the layer in the UI and check that new attention arrived, save + reload the
// page and check that the view comes back from the live kernel with the same state.
// Exit status 0 when every check passed; 1 with a FAIL line, the console errors and the comm log
// otherwise. A JSON result goes to --result.

import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "./driver.mjs";
import { pageHelpers } from "./lab_page.mjs";

const args = parseArgs();
const BASE = (args.base || "").replace(/\/$/, "");
const TOKEN = args.token || "";
const NOTEBOOK = args.notebook || "quickstart.ipynb";
const OUT = args.out || "tests/artifacts/browser";
const RESULT = args.result || path.join(OUT, "result.json");
const BUDGET_S = Number(args.budget || 540);
const CHROMIUM = args.chromium || "/usr/bin/chromium";
if (!BASE) {
  console.error("lab.mjs: --base is required");
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

const T0 = Date.now();
const elapsed = () => +((Date.now() - T0) / 1000).toFixed(1);
const deadline = T0 + BUDGET_S * 1000;
const left = () => Math.max(1000, deadline - Date.now());

const result = {
  ok: false,
  steps: [],
  timings: {},
  observations: {},
  console_errors: [],
  page_errors: [],
  comm_log: [],
  failure: null,
  screenshots: [],
};

class CheckFailed extends Error {}

function log(msg) {
  console.log(`[${elapsed().toFixed(1).padStart(6)} s] ${msg}`);
}

function check(name, ok, detail = "") {
  result.steps.push({ name, ok: !!ok, detail: typeof detail === "string" ? detail : JSON.stringify(detail), t: elapsed() });
  log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ` :: ${typeof detail === "string" ? detail : JSON.stringify(detail)}` : ""}`);
  if (!ok) throw new CheckFailed(`${name}${detail ? `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}` : ""}`);
}

/** times a phase into result.timings */
async function phase(name, fn) {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    result.timings[name] = +((Date.now() - t) / 1000).toFixed(1);
  }
}

let browser;
let page;

/** Waits until `fn(arg)` (run in the page) returns a truthy value; returns it. */
async function waitFor(what, fn, arg, timeoutMs) {
  const timeout = Math.min(timeoutMs, left());
  try {
    const h = await page.waitForFunction(fn, arg, { timeout, polling: 250 });
    return await h.jsonValue();
  } catch (e) {
    throw new CheckFailed(`timed out after ${(timeout / 1000).toFixed(0)} s waiting for ${what} (${String(e.message || e).split("\n")[0]})`);
  }
}

async function shot(name, { widget = false } = {}) {
  const file = path.join(OUT, name);
  try {
    if (widget) {
      const w = page.locator('[data-xf-test="view-cell"] .jp-OutputArea .exformer').first();
      await w.scrollIntoViewIfNeeded({ timeout: 5000 });
      await w.screenshot({ path: file, timeout: 10000 });
    } else {
      await page.screenshot({ path: file, timeout: 10000 });
    }
    result.screenshots.push(file);
  } catch (e) {
    log(`screenshot ${name} failed: ${e.message.split("\n")[0]}`);
  }
}

// ---- steps -------------------------------------------------------------------------------------

const NEEDLE = "let view = model.attend(";

async function openNotebook(label) {
  await phase(`${label}: open notebook`, async () => {
    await waitFor("window.jupyterapp and the notebook panel", () => {
      const p = window.__xft?.panel();
      return !!p && p.context.isReady && p.content.widgets.length > 0;
    }, null, 180_000);
  });
  const info = await phase(`${label}: kernel idle`, async () =>
    waitFor("the exformer kernel to be connected and idle", () => {
      const p = window.__xft.panel();
      const sc = p.sessionContext;
      const k = sc.session?.kernel;
      if (!k || !sc.isReady) return false;
      if (k.connectionStatus !== "connected" || k.status !== "idle") return false;
      return { name: k.name, id: k.id, display: sc.kernelDisplayName };
    }, null, 300_000),
  );
  check(`${label}: kernel is exformer`, info.name === "exformer", info);
  await page.evaluate(() => window.__xft.tap());
  await page.evaluate((needle) => {
    window.__xftNeedle = needle;
  }, NEEDLE);
  return info;
}

/** Marks the first attention view's cell and scrolls it into view (the notebook is windowed). */
async function locateViewCell(label) {
  const idx = await page.evaluate((needle) => window.__xft.cellIndex(needle), NEEDLE);
  check(`${label}: the notebook has the attend cell`, idx >= 0, `index ${idx}`);
  await page.evaluate(async (i) => {
    const p = window.__xft.panel();
    p.content.activeCellIndex = i;
    if (p.content.scrollToItem) await p.content.scrollToItem(i, "start");
    const node = p.content.widgets[i].node;
    document.querySelectorAll('[data-xf-test="view-cell"]').forEach((n) => n !== node && n.removeAttribute("data-xf-test"));
    node.setAttribute("data-xf-test", "view-cell");
    node.scrollIntoView({ block: "start" });
  }, idx);
  return idx;
}

/** Waits until the live widget shows tokens and curves; returns the DOM snapshot. */
async function waitForWidget(label, timeoutMs, extra = null) {
  const snap = await waitFor(
    `${label}: the live widget with tokens and drawn curves`,
    (extra) => {
      const x = window.__xft;
      const cell = x.cellNode();
      if (!cell) return false;
      cell.scrollIntoView({ block: "start" });
      const s = x.snapshot();
      if (!s.root || !s.tokens || s.tokens.length < 3 || !s.curves || s.curves.ink < 50) return false;
      if (s.busy || s.pending || s.loading) return false;
      if (extra && extra.knocked != null && !s.knocked.includes(extra.knocked)) return false;
      if (extra && extra.layer != null && s.layer !== String(extra.layer)) return false;
      return s;
    },
    extra,
    timeoutMs,
  );
  return snap;
}

/** Moves the pointer off the widget and drops keyboard focus so the curves show every token. */
async function unhover() {
  await page.mouse.move(3, 3);
  await page.evaluate(() => document.activeElement?.blur?.());
  await page.evaluate(() => window.__xft.frames(3));
}

/** Hovers the from-token at original index `i` and returns the predictions shown for it. */
async function predictionsFor(i) {
  const tok = page.locator(`[data-xf-test="view-cell"] .exformer .xf-col-from .xf-tok[data-i="${i}"]`);
  await tok.scrollIntoViewIfNeeded({ timeout: 10000 });
  await tok.hover({ timeout: 10000 });
  const got = await waitFor(
    `predictions caption for token #${i}`,
    (i) => {
      const s = window.__xft.snapshot();
      return s.caption.includes(`(#${i})`) && s.predictions.length > 0 ? { caption: s.caption, predictions: s.predictions } : false;
    },
    i,
    15_000,
  );
  return got;
}

async function main() {
  browser = await phase("launch chromium", () =>
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
      timeout: 180_000,
    }),
  );
  log(`chromium ${browser.version()}`);
  const context = await browser.newContext({ viewport: { width: 1400, height: 1100 }, deviceScaleFactor: 1 });
  // in-page helpers (lab_page.mjs), installed with addInitScript so they survive the reload
  await context.addInitScript(pageHelpers);
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") result.console_errors.push({ t: elapsed(), text: m.text().slice(0, 1000), at: m.location()?.url || "" });
  });
  page.on("pageerror", (e) => result.page_errors.push({ t: elapsed(), text: String(e.stack || e).slice(0, 2000) }));
  page.on("dialog", (d) => d.accept().catch(() => {}));

  // 1. open + kernel
  const url = `${BASE}/lab/tree/${encodeURIComponent(NOTEBOOK)}?token=${encodeURIComponent(TOKEN)}`;
  log(`open ${BASE}/lab/tree/${NOTEBOOK}`);
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 120_000 });
  const k1 = await openNotebook("first load");
  await shot("01-notebook-open.png");

  // 2. run all
  const run = await phase("run all cells", async () => {
    await page.evaluate(() => {
      window.__xftRunAll = window.jupyterapp.commands.execute("notebook:run-all-cells").then(
        (v) => ({ done: true, value: v }),
        (e) => ({ done: true, error: String(e) }),
      );
      window.__xftRunAll.then((r) => (window.__xftRunAllResult = r));
    });
    return waitFor(
      "every code cell to finish",
      () => {
        const p = window.__xft.panel();
        const k = p.sessionContext.session?.kernel;
        const cells = p.content.widgets.filter((c) => c.model.type === "code");
        const errors = [];
        for (const c of cells) {
          const o = c.model.outputs;
          for (let j = 0; j < o.length; j++) {
            const m = o.get(j);
            if (m.type === "error") errors.push(`${m.toJSON().ename}: ${m.toJSON().evalue}`.slice(0, 1500));
          }
        }
        if (errors.length && k?.status === "idle") return { errors, counts: cells.map((c) => c.model.executionCount) };
        if (!window.__xftRunAllResult) return false;
        if (k?.status !== "idle") return false;
        const counts = cells.map((c) => c.model.executionCount);
        if (counts.some((n) => n == null)) return false;
        return { errors, counts, result: window.__xftRunAllResult };
      },
      null,
      420_000,
    );
  });
  check("run all: no cell raised an error", run.errors.length === 0, run.errors.join("\n"));
  check("run all: every code cell executed", run.counts.every((n) => n != null), run.counts);

  // 3. the first attention widget is the live front end
  await locateViewCell("first load");
  const modelId = await page.evaluate(() => window.__xft.modelId());
  check("the attend cell displays a widget model", !!modelId, `model_id ${modelId}`);
  result.observations.model_id = modelId;
  const w0 = await phase("widget render", () => waitForWidget("first load", 120_000));
  check("live widget (not the PNG fallback) is shown", w0.root && w0.images === 0, { images: w0.images, output: w0.outputText });
  check("widget shows no error", !w0.error, w0.error);
  check("widget header names the model", /SmolLM2/i.test(w0.title) && /causal LM/.test(await page.locator('[data-xf-test="view-cell"] .exformer .xf-chip').first().innerText()), w0.title);
  check("widget has tokens, head boxes and a layer selector", w0.tokens.length >= 8 && w0.headBoxes > 0 && w0.nLayerOptions > 1, { tokens: w0.tokens, headBoxes: w0.headBoxes, layers: w0.nLayerOptions });
  result.observations.tokens = w0.tokens;
  result.observations.initial_layer = w0.layer;
  result.observations.initial_knocked = w0.knocked;
  log(`tokens: ${JSON.stringify(w0.tokens)}; layer ${w0.layer}; knocked ${JSON.stringify(w0.knocked)}`);
  await unhover();
  await shot("02-widget-rendered.png");
  await shot("02-widget-rendered-element.png", { widget: true });

  // 4. baseline: predictions after the last token, curves fingerprint
  const last = w0.tokens.length - 1;
  const target = w0.titles.findIndex((t) => /" Italy"/.test(t));
  check('the sentence has an " Italy" token to knock out', target >= 0 && !w0.knocked.includes(target), w0.titles);
  const base = await unhover().then(() => page.evaluate(() => window.__xft.snapshot()));
  const mark0 = await page.evaluate(() => window.__xft.markRoot());
  const predBefore = await predictionsFor(last);
  log(`before: ${predBefore.caption}: ${predBefore.predictions.join(" · ")}`);
  await unhover();
  const runIdBefore = await page.evaluate((id) => window.__xft.maxRunId(id), modelId);
  result.observations.before = { curves: base.curves, thumbs: base.thumbsHash, predictions: predBefore, run_id_seen: runIdBefore };

  // 5. knock out " Italy": focus the token, press Enter
  const knock = await phase("knock-out re-run", async () => {
    const tok = page.locator(`[data-xf-test="view-cell"] .exformer .xf-col-from .xf-tok[data-i="${target}"]`);
    await tok.scrollIntoViewIfNeeded({ timeout: 10000 });
    const sentAt = await page.evaluate(() => window.__xft.comm.length);
    await tok.focus({ timeout: 10000 });
    await page.evaluate(() => window.__xft.watchBusy());
    await page.keyboard.press("Enter");
    const sent = await waitFor(
      "the toggle message to go to the kernel",
      ([from, id]) => window.__xft.comm.slice(from).find((e) => e.dir === "send" && e.comm_id === id && e.method === "custom") || false,
      [sentAt, modelId],
      10_000,
    );
    await waitFor(
      "a new run_id from the kernel",
      ([id, before]) => window.__xft.maxRunId(id) > before,
      [modelId, runIdBefore],
      180_000,
    );
    const snap = await waitForWidget("after knock-out", 60_000, { knocked: target });
    const sawBusyOrPending = await page.evaluate(() => window.__xft.sawBusy);
    const kernelBusy = await page.evaluate(([from, id]) => window.__xft.comm.slice(from).some((e) => e.dir === "recv" && e.comm_id === id && e.busy === true), [sentAt, modelId]);
    return { sawBusyOrPending, kernelBusy, sent, snap };
  });
  // informational (keyboard users): is the knocked-out token still focused after the re-run?
  result.observations.keyboard_focus_kept_after_enter = await page.evaluate(
    (i) => document.activeElement?.closest?.(".xf-tok")?.dataset.i === String(i),
    target,
  );
  check("the front end sent the toggle message", knock.sent.content?.type === "toggle" && knock.sent.content?.index === target && knock.sent.content?.mode === "knockout", knock.sent.content);
  check("the kernel reported busy during the re-run", knock.kernelBusy);
  check("the token showed pending/busy while the model re-ran", knock.sawBusyOrPending);
  await unhover();
  const afterKo = await page.evaluate(() => window.__xft.snapshot());
  check(`token #${target} is marked knocked out`, afterKo.knocked.includes(target), afterKo.knocked);
  check("widget shows no error after the re-run", !afterKo.error, afterKo.error);
  const predAfter = await predictionsFor(last);
  log(`after:  ${predAfter.caption}: ${predAfter.predictions.join(" · ")}`);
  await unhover();
  const afterKo2 = await page.evaluate(() => window.__xft.snapshot());
  const runIdAfter = await page.evaluate((id) => window.__xft.maxRunId(id), modelId);
  // informational: does the output area keep the same view, or re-create it on every update?
  result.observations.view_kept_after_knockout = await page.evaluate((m) => window.__xft.root()?.dataset.xftMark === m, mark0);
  result.observations.after_knockout = { curves: afterKo2.curves, thumbs: afterKo2.thumbsHash, predictions: predAfter, run_id_seen: runIdAfter };
  check("run_id advanced", runIdAfter > runIdBefore, `${runIdBefore} -> ${runIdAfter}`);
  check("predictions for the last token changed", JSON.stringify(predAfter.predictions) !== JSON.stringify(predBefore.predictions), { before: predBefore.predictions, after: predAfter.predictions });
  check("the attention curves changed", afterKo2.curves.hash !== base.curves.hash, { before: base.curves, after: afterKo2.curves });
  await shot("03-after-knockout.png");
  await shot("03-after-knockout-element.png", { widget: true });

  // 6. switch the layer in the UI
  const nL = afterKo2.nLayerOptions;
  const cur = Number(afterKo2.layer);
  const newLayer = cur >= 3 ? 2 : nL - 1;
  const mark1 = await page.evaluate(() => window.__xft.markRoot());
  const lay = await phase("layer switch", async () => {
    const from = await page.evaluate(() => window.__xft.comm.length);
    await page.locator('[data-xf-test="view-cell"] .exformer select[aria-label="Layer"]').selectOption(String(newLayer), { timeout: 10000 });
    const sent = await waitFor(
      `the layer = ${newLayer} update to go to the kernel`,
      ([from, id, l]) => window.__xft.comm.slice(from).find((e) => e.dir === "send" && e.comm_id === id && e.method === "update" && e.layer === l) || false,
      [from, modelId, newLayer],
      10_000,
    );
    const got = await waitFor(
      `attention for layer ${newLayer} from the kernel`,
      ([from, id, l]) => window.__xft.comm.slice(from).find((e) => e.dir === "recv" && e.comm_id === id && e.attn_layer === l && (e.buffer_paths || []).some((p) => p[0] === "attn")) || false,
      [from, modelId, newLayer],
      120_000,
    );
    const snap = await waitForWidget("after the layer switch", 60_000, { layer: newLayer, knocked: target });
    return { sent, got, snap };
  });
  result.observations.view_kept_after_layer_switch = await page.evaluate((m) => window.__xft.root()?.dataset.xftMark === m, mark1);
  await unhover();
  const afterLayer = await page.evaluate(() => window.__xft.snapshot());
  result.observations.after_layer = { layer: afterLayer.layer, curves: afterLayer.curves, thumbs: afterLayer.thumbsHash };
  check(`layer selector shows ${newLayer}`, afterLayer.layer === String(newLayer), afterLayer.layer);
  check("the kernel answered with attn for the new layer", lay.got.attn_layer === newLayer, lay.got);
  check("the curves changed with the layer", afterLayer.curves.hash !== afterKo2.curves.hash, { before: afterKo2.curves, after: afterLayer.curves });
  check("head-box thumbnails follow the layer", afterLayer.thumbsHash !== afterKo2.thumbsHash);
  check("no loading marker left", !afterLayer.loading && !afterLayer.status.startsWith("loading"), afterLayer.status);
  await shot(`04-layer-${newLayer}.png`);
  await shot(`04-layer-${newLayer}-element.png`, { widget: true });

  // 7. save, reload: the view comes back from the live kernel
  await phase("save notebook", async () => {
    await page.evaluate(() => window.jupyterapp.commands.execute("docmanager:save"));
    await waitFor("the notebook to be saved", () => !window.__xft.panel().context.model.dirty, null, 30_000);
  });
  result.comm_log_before_reload = (await page.evaluate(() => window.__xft.comm)).slice(-60);
  await phase("reload", async () => {
    await page.reload({ waitUntil: "domcontentloaded", timeout: 120_000 });
  });
  const k2 = await openNotebook("after reload");
  check("the reloaded page talks to the same kernel", k2.id === k1.id, { before: k1.id, after: k2.id });
  await locateViewCell("after reload");
  const restored = await phase("widget restore", () => waitForWidget("after reload", 120_000, { knocked: target, layer: newLayer }));
  check("restored: live widget, no PNG fallback", restored.root && restored.images === 0, { images: restored.images, output: restored.outputText });
  check("restored: same tokens", JSON.stringify(restored.tokens) === JSON.stringify(w0.tokens), restored.tokens);
  check("restored: knock-out kept (state from the live kernel)", restored.knocked.includes(target), restored.knocked);
  check("restored: layer kept", restored.layer === String(newLayer), restored.layer);
  check("restored: no widget error", !restored.error, restored.error);
  const stateReq = await page.evaluate(() =>
    window.__xft.comm.filter((e) => e.target === "jupyter.widget.control" || e.method === "request_states" || e.method === "update_states" || e.method === "request_state" || (e.dir === "recv" && e.method === "update" && (e.keys || []).includes("_esm"))),
  );
  result.observations.restore_messages = stateReq.map(({ dir, type, method, target, n_states, n_buffers }) => ({ dir, type, method, target, n_states, n_buffers }));
  // The kernel's answer carries this model's binary traits; request_states itself may leave
  // before the tap is on the new page's kernel connection (it is recorded when seen).
  const viaControl = stateReq.some((e) => e.dir === "recv" && e.method === "update_states" && (e.buffer_paths || []).some((p) => p[0] === modelId));
  const viaModel = stateReq.some((e) => e.dir === "recv" && e.comm_id === modelId && e.method === "update" && (e.n_buffers || 0) > 0);
  check("restored: the widget state came from the live kernel", viaControl || viaModel, result.observations.restore_messages);
  result.observations.restore_via = viaControl ? "jupyter.widget.control update_states" : "per-model request_state";
  result.observations.request_seen = stateReq.some((e) => e.dir === "send" && (e.method === "request_states" || e.method === "request_state"));
  await unhover();
  const afterReload = await page.evaluate(() => window.__xft.snapshot());
  result.observations.after_reload = { layer: afterReload.layer, curves: afterReload.curves, thumbs: afterReload.thumbsHash, knocked: afterReload.knocked };
  const predReload = await predictionsFor(last);
  check("restored: same predictions as before the reload", JSON.stringify(predReload.predictions) === JSON.stringify(predAfter.predictions), { before: predAfter.predictions, after: predReload.predictions });
  await unhover();
  await shot("05-after-reload.png");
  await shot("05-after-reload-element.png", { widget: true });

  // 8. the restored view is live: double-click " Italy" to restore it; the predictions return to
  // the ones from before the knock-out (same interventions, same deterministic run)
  const undo = await phase("double-click restore", async () => {
    const from = await page.evaluate(() => window.__xft.comm.length);
    const tok = page.locator(`[data-xf-test="view-cell"] .exformer .xf-col-from .xf-tok[data-i="${target}"]`);
    await tok.scrollIntoViewIfNeeded({ timeout: 10000 });
    await tok.dblclick({ timeout: 10000 });
    const sent = await waitFor(
      "the double-click's toggle message",
      ([from, id]) => window.__xft.comm.slice(from).find((e) => e.dir === "send" && e.comm_id === id && e.method === "custom") || false,
      [from, modelId],
      10_000,
    );
    await waitFor(
      "a new run_id after the double-click",
      ([from, id]) => window.__xft.comm.slice(from).some((e) => e.dir === "recv" && e.comm_id === id && typeof e.run_id === "number"),
      [from, modelId],
      180_000,
    );
    const snap = await waitFor(
      `token #${target} no longer knocked out`,
      (i) => {
        const s = window.__xft.snapshot();
        return s.root && !s.busy && !s.pending && !s.knocked.includes(i) && s.curves && s.curves.ink > 50 ? s : false;
      },
      target,
      60_000,
    );
    return { sent, snap };
  });
  check("double-click sent a knock-out toggle", undo.sent.content?.type === "toggle" && undo.sent.content?.index === target && undo.sent.content?.mode === "knockout", undo.sent.content);
  check(`token #${target} restored, the other knock-out kept`, !undo.snap.knocked.includes(target) && w0.knocked.every((k) => undo.snap.knocked.includes(k)), undo.snap.knocked);
  await unhover();
  const predUndo = await predictionsFor(last);
  log(`undo:   ${predUndo.caption}: ${predUndo.predictions.join(" · ")}`);
  check("predictions are back to the ones before the knock-out", JSON.stringify(predUndo.predictions) === JSON.stringify(predBefore.predictions), { before: predBefore.predictions, now: predUndo.predictions });
  await unhover();
  await shot("06-after-double-click-restore-element.png", { widget: true });

  // 9. the other two views draw real attention too (display settings round-trip the kernel)
  await phase("matrix and model views", async () => {
    for (const [label, sel, file] of [["Matrix", "canvas.xf-heat", "07-matrix-view-element.png"], ["Model", "canvas.xf-grid", "08-model-view-element.png"]]) {
      await page.locator('[data-xf-test="view-cell"] .exformer .xf-seg-btn', { hasText: new RegExp(`^${label}$`) }).first().click({ timeout: 10000 });
      const info = await waitFor(
        `the ${label} view to draw`,
        ([label, sel]) => {
          const x = window.__xft;
          const on = x.root()?.querySelector(".xf-seg-btn.is-on")?.textContent;
          const c = x.canvasInfo(sel);
          return on === label && c && c.ink > 500 ? c : false;
        },
        [label, sel],
        30_000,
      );
      result.observations[`${label.toLowerCase()}_view`] = info;
      check(`${label} view draws`, info.ink > 500, info);
      await unhover();
      await shot(file, { widget: true });
    }
    await page.locator('[data-xf-test="view-cell"] .exformer .xf-seg-btn', { hasText: /^Heads$/ }).first().click({ timeout: 10000 });
    await waitForWidget("back in the head view", 30_000);
  });
  result.ok = true;
}

let code = 1;
try {
  await main();
  code = 0;
} catch (e) {
  result.failure = String(e instanceof CheckFailed ? e.message : e.stack || e);
  log(`FAILED: ${result.failure}`);
  if (page) {
    await shot("99-failure.png");
    try {
      result.failure_dom = await page.evaluate(() => window.__xft?.snapshot());
    } catch {
      /* page gone */
    }
  }
} finally {
  try {
    if (page) result.comm_log = (await page.evaluate(() => window.__xft?.comm || [])).slice(-80);
  } catch {
    /* page gone */
  }
  result.timings.total = elapsed();
  if (browser) await browser.close().catch(() => {});
  fs.writeFileSync(RESULT, JSON.stringify(result, null, 2));
  if (code !== 0) {
    console.log("---- browser console errors ----");
    for (const c of result.console_errors) console.log(`[${c.t} s] ${c.text} ${c.at}`);
    for (const c of result.page_errors) console.log(`[${c.t} s] pageerror: ${c.text}`);
    console.log("---- last comm messages ----");
    for (const c of result.comm_log.slice(-25)) console.log(JSON.stringify(c));
  } else if (result.console_errors.length || result.page_errors.length) {
    console.log(`(${result.console_errors.length} console errors, ${result.page_errors.length} page errors recorded in ${RESULT})`);
  }
  console.log(`lab.mjs: ${code === 0 ? "PASS" : "FAIL"} in ${result.timings.total} s; result ${RESULT}`);
  process.exit(code);
}
