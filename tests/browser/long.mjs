// Real-browser check of the attention view at prompt length (about 8k tokens), driven by
// tests/browser/test_lab.py::test_long_input_in_jupyterlab (which starts the server and writes the
// notebook). Uses playwright-core over Debian's chromium.
//
//   node tests/browser/long.mjs --base URL --token TOKEN --notebook long.ipynb --out DIR --result FILE [--budget S]
//        [--min-tokens 8000] [--polling MS]
//
// Steps: open the notebook, run every cell, wait for the view (the matrix view of the kernel-pooled
// layer), check that the heatmap is drawn, click near the end of the prompt to zoom, wait for the
// full-resolution tile, double-click a cell of it to knock its key out, wait for the re-run, check
// that the token is marked and the view is drawn again. Timings (first paint, zoom, click → update)
// and the bytes the kernel sent for the first paint go to the JSON result.

import { createDriver } from "./driver.mjs";

/** The widget's state as the page shows it. */
function viewState() {
  const root = document.querySelector(".jp-OutputArea .exformer");
  if (!root) return null;
  const cap = root.querySelector(".xf-matrix-caption")?.textContent || "";
  const heat = root.querySelector("canvas.xf-heat");
  let ink = 0;
  if (heat && heat.width > 0) {
    const d = heat.getContext("2d").getImageData(0, 0, heat.width, heat.height).data;
    for (let i = 0; i < d.length; i += 16) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) ink++;
  }
  const busy = !root.querySelector(".xf-busy")?.hidden;
  const err = root.querySelector(".xf-error");
  return {
    caption: cap, ink, busy, runId: root.dataset.runId || "", knocked: root.dataset.knocked || "", renderMs: Number(root.dataset.renderMs || 0),
    frame: Number(root.dataset.frame || 0), error: err && !err.hidden ? err.textContent : "",
    layer: root.querySelector("select[aria-label=Layer]")?.value ?? "", status: root.querySelector(".xf-status")?.textContent || "",
    pinned: root.querySelector(".xf-heat-overlay")?.dataset.pinned ?? "",
    changes: [...root.querySelectorAll(".xf-changes:not([hidden]) .xf-change")].map((c) => `${c.dataset.mode}:${c.dataset.i}`),
    predCaption: root.querySelector(".xf-pred-caption")?.textContent || "",
    predBefore: [...root.querySelectorAll(".xf-pred-before")].map((e) => e.textContent),
  };
}

/** Page coordinates of the point (fx, fy) of the heatmap (fractions of its side). */
async function overlayPoint(fx, fy) {
  const o = page.locator(".jp-OutputArea .exformer canvas.xf-heat-overlay").first();
  await o.scrollIntoViewIfNeeded({ timeout: 10000 });
  const box = await o.boundingBox();
  const geom = await o.getAttribute("data-geom");
  if (!geom) throw new Error(`the heatmap overlay has no data-geom: ${await o.evaluate((n) => n.outerHTML.slice(0, 300))}; ${await page.evaluate(() => document.querySelectorAll("canvas.xf-heat-overlay").length)} overlays`);
  const [ml, mt, side] = geom.split(",").map(Number);
  return { x: box.x + ml + side * fx, y: box.y + mt + side * fy };
}

const { args, result, check, waitFor, shot, run } = createDriver({
  name: "long",
  notebook: "long.ipynb",
  budgetS: 420,
  viewport: { width: 1400, height: 1300 },
  initScript: `window.__viewState = ${viewState.toString()};`,
});
let page;
// Count what the kernel sends the page over the websocket (widget state and buffers).
let received = 0;

run(async (opened) => {
  page = opened;
  const before = received;
  const t0 = Date.now();
  await page.evaluate(() => window.jupyterapp.commands.execute("notebook:run-all-cells"));
  const first = await waitFor("the pooled matrix view drawn", () => {
    const s = window.__viewState();
    return s && s.caption.includes("max-pooled to") && s.ink > 200 && !s.busy ? s : false;
  }, null, 300_000);
  result.timings.first_paint_s = (Date.now() - t0) / 1000;
  result.observations.first = first;
  result.observations.first_paint_bytes = received - before;
  check("the long input opens in the kernel-pooled matrix view", /(\d+) tokens, max-pooled to (\d+)×\2/.test(first.caption), first.caption);
  const T = Number(/(\d+) tokens, max-pooled/.exec(first.caption)[1]);
  const minT = Number(args["min-tokens"] || 8000);
  check(`the prompt has ${minT} to 8192 tokens`, T >= minT && T <= 8192, `${T}`);
  await shot("long-01-pooled.png");

  // zoom near the end of the prompt (queries and keys at ~97 %)
  const p = await overlayPoint(0.97, 0.97);
  const t1 = Date.now();
  await page.mouse.click(p.x, p.y);
  const zoomed = await waitFor("the full-resolution tile", () => {
    const s = window.__viewState();
    return s && s.caption.includes("full resolution") && s.caption.includes("keys #") && s.ink > 50 ? s : false;
  }, null, 120_000);
  result.timings.zoom_s = (Date.now() - t1) / 1000;
  const [, k0, k1] = /keys #(\d+)–#(\d+)/.exec(zoomed.caption).map(Number);
  check("the zoom shows a window of the last tokens", k1 - k0 + 1 === 64 && k1 >= T * 0.9, zoomed.caption);
  await shot("long-02-zoomed.png");

  // double-click the middle of the tile: knocks out the key of that column
  const mid = await overlayPoint(0.5, 0.75);
  const runBefore = zoomed.runId;
  const t2 = Date.now();
  await page.mouse.dblclick(mid.x, mid.y);
  const after = await waitFor("the re-run after the knock-out", (rb) => {
    const s = window.__viewState();
    return s && s.runId !== rb && !s.busy && s.knocked !== "" && s.caption.includes("keys #") ? s : false;
  }, runBefore, 240_000);
  result.timings.click_to_update_s = (Date.now() - t2) / 1000;
  const knocked = after.knocked.split(",").map(Number);
  check("one key inside the zoomed window is knocked out", knocked.length === 1 && knocked[0] >= k0 && knocked[0] <= k1, after.knocked);
  check("no error shown", !after.error, after.error);
  result.observations.after = after;
  check("the interventions line lists the knock-out", after.changes.length === 1 && after.changes[0] === `knockout:${knocked[0]}`, after.changes);
  check("the predictions panel shows before → after", after.predCaption.includes("before → after") && after.predBefore.length > 0, `${after.predCaption} | ${after.predBefore.join(" ")}`);
  await shot("long-03-knocked-out.png");

  // find a token far from the zoomed window by #index: zooms there and pins it
  const want = Math.floor(T / 3);
  const find = page.locator(".jp-OutputArea .exformer input.xf-find").first();
  await find.fill(`#${want}`);
  const t3 = Date.now();
  await find.press("Enter");
  const found = await waitFor("the tile around the found token", (w) => {
    const s = window.__viewState();
    const m = /queries #(\d+)–#(\d+)/.exec(s?.caption || "");
    return s && m && Number(m[1]) <= w && Number(m[2]) >= w && s.pinned === String(w) && s.ink > 50 ? s : false;
  }, want, 120_000);
  result.timings.find_s = (Date.now() - t3) / 1000;
  check("finding #index zooms to that token and pins it", found.pinned === String(want), found.caption);
  await shot("long-04-found.png");

  // next layer: the kernel pools the new layer (and its tile)
  const layer0 = found.layer;
  const t4 = Date.now();
  await page.locator(".jp-OutputArea .exformer button[aria-label='Next layer']").first().click();
  const lay = await waitFor("the next layer drawn", (l) => {
    const s = window.__viewState();
    return s && s.layer !== l && !s.status.includes("loading layer") && s.caption.startsWith(`Layer ${Number(l) + 1}`) ? s : false;
  }, layer0, 120_000);
  result.timings.layer_change_s = (Date.now() - t4) / 1000;
  result.timings.layer_repaint_ms = lay.renderMs;
  check("the next layer is shown", Number(lay.layer) === Number(layer0) + 1, `${layer0} -> ${lay.layer}`);

  // undo the knock-out from the interventions line
  const t5 = Date.now();
  await page.locator(".jp-OutputArea .exformer .xf-changes .xf-undo").first().click();
  const undone = await waitFor("the re-run after the undo", (rb) => {
    const s = window.__viewState();
    return s && s.runId !== rb && !s.busy && s.knocked === "" ? s : false;
  }, lay.runId, 240_000);
  result.timings.undo_to_update_s = (Date.now() - t5) / 1000;
  check("undo from the interventions line restores the run", undone.changes.length === 0 && undone.predBefore.length === 0 && !undone.error, undone);
}, (p) => p.on("websocket", (ws) => ws.on("framereceived", (f) => (received += typeof f.payload === "string" ? f.payload.length : f.payload.byteLength))));
