// Real-browser check of the attention view at prompt length (about 500 tokens of SmolLM2), driven by
// tests/browser/test_lab.py::test_prompt_length_in_jupyterlab. Uses playwright-core over Debian's
// chromium.
//
//   node tests/browser/prompt.mjs --base URL --token TOKEN --notebook prompt.ipynb --out DIR --result FILE
//        [--budget S] [--paint-ms 100] [--min-tokens 450] [--max-tokens 520] [--repeat 1]
//
// Times, in the page, each interaction from the user's event to the widget's next painted frame:
// opening the head view, changing layer (the kernel sends the layer; the repaint after it arrives is
// timed apart from the round trip), toggling a head, the threshold from the keyboard, hovering a
// token, finding a token. Then knocks the found token out from the matrix view (double-click on its
// column), checks that the interventions line, the hatched column and the predictions panel's
// before → after show the change, and undoes it from the interventions line; knocks a token out from
// the head view (double-click) and checks that nothing moved under the pointer. Fails when a repaint
// takes longer than --paint-ms; the timings and the page's long tasks go to the JSON result.
//
// --min-tokens/--max-tokens: the prompt length the notebook must have (benches/widget_bench.py
// --browser runs this driver at 128 and 512 tokens). --repeat N: the cheap actions (opening the
// head view, layer, head, threshold, hover, find) run N times; every sample goes to
// result.samples (result.timings keeps the first, as with --repeat 1).

import { createDriver } from "./driver.mjs";

/** In the page: the widget's state as the user sees it. */
function viewState() {
  const root = document.querySelector(".jp-OutputArea .exformer");
  if (!root) return null;
  const busy = !root.querySelector(".xf-busy")?.hidden;
  const err = root.querySelector(".xf-error");
  const hv = root.querySelector(".xf-headview");
  return {
    view: root.dataset.view || "",
    frame: Number(root.dataset.frame || 0),
    renderMs: Number(root.dataset.renderMs || 0),
    runId: root.dataset.runId || "",
    knocked: root.dataset.knocked || "",
    busy,
    error: err && !err.hidden ? err.textContent : "",
    status: root.querySelector(".xf-status")?.textContent || "",
    caption: root.querySelector(".xf-matrix-caption")?.textContent || "",
    meta: root.querySelector(".xf-meta")?.textContent || "",
    edges: hv ? Number(hv.dataset.edges || 0) : -1,
    tokRows: root.querySelectorAll(".xf-col-from .xf-tok").length,
    pinned: root.querySelector(".xf-col-from .xf-tok.is-pinned")?.dataset.i ?? root.querySelector(".xf-heat-overlay")?.dataset.pinned ?? "",
    changes: [...root.querySelectorAll(".xf-changes:not([hidden]) .xf-change")].map((c) => `${c.dataset.mode}:${c.dataset.i}`),
    sink: root.querySelector(".xf-sinkline:not([hidden]) .xf-sink-text")?.textContent || "",
    predCaption: root.querySelector(".xf-pred-caption")?.textContent || "",
    predBefore: [...root.querySelectorAll(".xf-pred-before")].map((e) => e.textContent),
    findOut: root.querySelector(".xf-find-out")?.textContent || "",
    layer: root.querySelector("select[aria-label=Layer]")?.value ?? "",
    threshold: root.querySelector("input[type=range]")?.value ?? "",
    modelThreshold: Number(root.dataset.threshold || 0),
  };
}

/**
 * In the page: run `act` (a click, a key...), then wait for the widget's next painted frame that
 * satisfies `until`; return the time from the event to that frame and the frame's own render time.
 */
function timeAction(spec) {
  const root = document.querySelector(".jp-OutputArea .exformer");
  const until = new Function("s", `return (${spec.until});`);
  const frame0 = Number(root.dataset.frame || 0);
  const t0 = performance.now();
  window.__actions[spec.act](root, spec.arg);
  return new Promise((resolve, reject) => {
    const deadline = t0 + (spec.timeoutMs || 30000);
    const poll = () => {
      const s = window.__viewState();
      if (s && s.frame > frame0 && until(s)) {
        // the frame has been painted once the next animation frame starts
        requestAnimationFrame(() => resolve({ ms: performance.now() - t0, renderMs: s.renderMs, state: s }));
      } else if (performance.now() > deadline) reject(new Error(`no frame with ${spec.until}: ${JSON.stringify(s)}`));
      else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  });
}

/** In the page: what the timed actions do. */
const ACTIONS = `({
  click: (root, sel) => root.querySelector(sel).click(),
  key: (root, [sel, key]) => {
    const el = root.querySelector(sel);
    el.focus();
    el.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
  },
  range: (root, v) => {
    const el = root.querySelector("input[type=range]");
    el.value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  },
  hover: (root, i) => {
    const el = root.querySelector('.xf-col-from .xf-tok[data-i="' + i + '"]');
    el.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));
  },
})`;

const { args, result, log, check, waitFor, shot, run } = createDriver({
  name: "prompt",
  notebook: "prompt.ipynb",
  budgetS: 420,
  viewport: { width: 1400, height: 1200 },
  polling: 100,
  result: { paint_ms: {}, samples: {} },
  initScript: `window.__viewState = ${viewState.toString()}; window.__actions = ${ACTIONS};
    window.__longTasks = [];
    try { new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push([Math.round(e.startTime), Math.round(e.duration)]); }).observe({ entryTypes: ["longtask"] }); } catch {}`,
});
const PAINT_MS = Number(args["paint-ms"] || 100);
const MIN_T = Number(args["min-tokens"] || 450);
const MAX_T = Number(args["max-tokens"] || 520);
const REPEAT = Math.max(1, Number(args.repeat || 1));
let page;

/** Two boxes ({x, y, width, height}) in the same place, within 0.5 px. */
function samePlace(a, b) {
  return !!a && !!b && ["x", "y", "width", "height"].every((k) => Math.abs(a[k] - b[k]) <= 0.5);
}

/**
 * A query token's box before and after its knock-out, within 0.5 px: the same top, height and right
 * edge (the column is right-aligned; the KO badge widens the token to the left).
 */
function sameTokenPlace(a, b) {
  return !!a && !!b && Math.abs(a.y - b.y) <= 0.5 && Math.abs(a.height - b.height) <= 0.5 && Math.abs(a.x + a.width - (b.x + b.width)) <= 0.5;
}

/** Records one sample of `name` (ms); result.timings keeps the first. */
function sample(name, ms) {
  (result.samples[name] ??= []).push(Math.round(ms));
  result.timings[`${name}_ms`] ??= Math.round(ms);
}

/** Finds token #want (Enter in the find box); returns the time to the frame where it is pinned. */
async function findToken(want) {
  await page.locator(".jp-OutputArea .exformer input.xf-find").first().fill(`#${want}`);
  const r = await page.evaluate((want) => {
    const el = document.querySelector(".jp-OutputArea .exformer input.xf-find");
    const t0 = performance.now();
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    return new Promise((resolve) => {
      const poll = () => {
        const s = window.__viewState();
        const tok = document.querySelector(`.jp-OutputArea .exformer .xf-col-from .xf-tok.is-pinned`);
        if (tok && s && tok.dataset.i === String(want)) {
          const r = tok.getBoundingClientRect();
          const sc = tok.closest(".xf-scroll").getBoundingClientRect();
          requestAnimationFrame(() => resolve({ ms: performance.now() - t0, state: s, inView: r.top >= sc.top && r.bottom <= sc.bottom, i: tok.dataset.i }));
        } else if (performance.now() - t0 > 10000) resolve({ ms: -1, state: s, i: tok?.dataset.i });
        else requestAnimationFrame(poll);
      };
      requestAnimationFrame(poll);
    });
  }, want);
  if (r.ms >= 0) sample("find", r.ms);
  return r;
}

async function timed(name, act, arg, until, timeoutMs = 30000) {
  const r = await page.evaluate(timeAction, { act, arg, until, timeoutMs });
  sample(name, r.ms);
  // a repeated action: the slowest repaint counts against --paint-ms
  result.paint_ms[name] = Math.max(result.paint_ms[name] ?? 0, r.renderMs);
  log(`${name}: ${r.ms.toFixed(0)} ms to the painted frame (render ${r.renderMs} ms)`);
  return r;
}

run(async (opened) => {
  page = opened;
  const t0 = Date.now();
  await page.evaluate(() => window.jupyterapp.commands.execute("notebook:run-all-cells"));
  const first = await waitFor("the matrix view drawn", () => {
    const s = window.__viewState();
    return s && s.view === "matrix" && s.caption.startsWith("Layer") && !s.busy ? s : false;
  }, null, 300_000);
  result.timings.first_paint_s = (Date.now() - t0) / 1000;
  const T = Number(/(\d+) tokens/.exec(first.meta)?.[1] || 0);
  result.observations.tokens = T;
  check(`the prompt has ${MIN_T} to ${MAX_T} tokens and opens in the matrix view`, T >= MIN_T && T <= MAX_T && first.view === "matrix", `${T} tokens, ${first.view}`);
  check("the matrix shows every token (not pooled)", /(\d+)×\1/.test(first.caption) && !first.caption.includes("pooled to"), first.caption);
  await page.evaluate(() => document.querySelector(".jp-OutputArea .exformer").scrollIntoView());
  await page.waitForTimeout(300);

  // 1. open the head view
  const open = await timed("open_head_view", "click", ".xf-seg-btn[data-value=head]", "s.view === 'head' && s.tokRows > 0");
  check("the head view opens virtualised: only rows near the viewport exist", open.state.tokRows < 120 && open.state.tokRows > 10, `${open.state.tokRows} of ${T} rows in the DOM`);
  check("each query draws its strongest edges only", open.state.edges > 0 && open.state.edges <= 3 * 80, `${open.state.edges} edges`);
  await shot("prompt-01-head-view.png");

  // 2. change layer: the kernel sends the new layer; time the round trip and the repaint
  const layer0 = open.state.layer;
  const lay = await timed("layer_change", "click", "button[aria-label='Next layer']", `s.layer !== ${JSON.stringify(layer0)} && !s.status.includes('loading layer')`, 60000);
  check("the next layer is shown", Number(lay.state.layer) === Number(layer0) + 1, `${layer0} -> ${lay.state.layer}`);

  // 3. toggle a head
  const before = lay.state.edges;
  const head = await timed("head_toggle", "click", ".xf-headbox[data-h='0']", "true");
  check("toggling head 0 redraws the curves", head.state.edges !== before || head.state.edges > 0, `${before} -> ${head.state.edges}`);

  // 4. threshold from the keyboard, inside JupyterLab (the notebook must not take the arrow keys)
  const thrInput = page.locator(".jp-OutputArea .exformer input[type=range]").first();
  await thrInput.focus();
  const thr0 = await thrInput.inputValue();
  const tk0 = Date.now();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  const thrState = await waitFor("the threshold moved by the arrow keys", (v) => {
    const s = window.__viewState();
    return s && s.threshold !== v ? s : false;
  }, thr0, 10000);
  result.timings.threshold_keys_ms = Date.now() - tk0;
  check("the threshold slider takes the arrow keys inside JupyterLab", Number(thrState.threshold) > Number(thr0), `${thr0} -> ${thrState.threshold}`);
  const activeCell = await page.evaluate(() => document.activeElement?.matches?.("input[type=range]"));
  check("the slider keeps the keyboard focus", activeCell === true, String(activeCell));
  // the repaint after a threshold change (the slider sends it 60 ms after the last input)
  await timed("threshold_repaint", "range", 0.05, "Math.abs(s.modelThreshold - 0.05) < 1e-9");

  // 5. hover a token
  const hov = await timed("hover", "hover", 5, "true");
  check("hovering a token draws its edges", hov.state.edges > 0, `${hov.state.edges} edges`);

  // 6. find a token by text, far down the prompt: pins it and scrolls to it
  const findT = await findToken(T - 40);
  check("finding #index pins that token and scrolls it into view", findT.i === String(T - 40) && findT.inView, JSON.stringify({ i: findT.i, inView: findT.inView, out: findT.state?.findOut }));
  await shot("prompt-02-found.png");

  // --repeat: the cheap actions again, for the medians of benches/widget_bench.py --browser
  let lastHover = 5;
  for (let r = 1; r < REPEAT; r++) {
    await timed("open_matrix_view", "click", ".xf-seg-btn[data-value=matrix]", "s.view === 'matrix'");
    await timed("open_head_view", "click", ".xf-seg-btn[data-value=head]", "s.view === 'head' && s.tokRows > 0");
    const l0 = (await page.evaluate(() => window.__viewState())).layer;
    await timed("layer_change", "click", "button[aria-label='Next layer']", `s.layer !== ${JSON.stringify(l0)} && !s.status.includes('loading layer')`, 60000);
    await timed("head_toggle", "click", ".xf-headbox[data-h='0']", "true");
    const thr = Number((0.05 + 0.01 * r).toFixed(2));
    await timed("threshold_repaint", "range", thr, `Math.abs(s.modelThreshold - ${thr}) < 1e-9`);
    // hover a row that is in the DOM now (the head view renders the rows near the viewport)
    const rows = await page.evaluate(() => [...document.querySelectorAll(".jp-OutputArea .exformer .xf-col-from .xf-tok")].map((e) => Number(e.dataset.i)));
    const to = rows.find((i, k) => k >= (5 * r) % rows.length && i !== lastHover) ?? rows.find((i) => i !== lastHover);
    await timed("hover", "hover", to, "true");
    lastHover = to;
    const again = await findToken(r % 2 ? 20 : T - 40);
    if (again.ms < 0) throw new Error(`find #${r % 2 ? 20 : T - 40} pinned no token: ${JSON.stringify(again.state?.findOut)}`);
  }

  // 7. knock it out from the matrix view: double-click its column
  await timed("open_matrix_view", "click", ".xf-seg-btn[data-value=matrix]", "s.view === 'matrix'");
  const o = page.locator(".jp-OutputArea .exformer canvas.xf-heat-overlay").first();
  await o.scrollIntoViewIfNeeded();
  const box = await o.boundingBox();
  const [ml, mt, side] = (await o.getAttribute("data-geom")).split(",").map(Number);
  const col = T - 40;
  const x = box.x + ml + ((col + 0.5) / T) * side;
  const y = box.y + mt + side * 0.98;
  const vs = await page.evaluate(() => window.__viewState());
  const runBefore = vs.runId;
  const heatBefore = await o.boundingBox();
  const tko = Date.now();
  await page.mouse.dblclick(x, y);
  const after = await waitFor("the re-run after the knock-out", (rb) => {
    const s = window.__viewState();
    return s && s.runId !== rb && !s.busy && s.knocked !== "" ? s : false;
  }, runBefore, 120_000);
  result.timings.knockout_to_update_s = (Date.now() - tko) / 1000;
  check("the double-clicked column's token is knocked out", after.knocked === String(col), `${after.knocked} (wanted ${col})`);
  check("the interventions line lists it", after.changes.length === 1 && after.changes[0] === `knockout:${col}`, after.changes);
  const heatAfter = await o.boundingBox();
  check("the first knock-out leaves the matrix where it was", samePlace(heatBefore, heatAfter), { before: heatBefore, after: heatAfter });
  check("the predictions panel shows before → after", after.predCaption.includes("before → after") && after.predBefore.length > 0 && after.predBefore.every((t) => t === "new" || t.includes("→")), `${after.predCaption} | ${after.predBefore.join(" ")}`);
  result.observations.after_knockout = after;
  await shot("prompt-03-knocked-out.png");

  // 8. undo it from the interventions line
  const tu = Date.now();
  await page.locator(".jp-OutputArea .exformer .xf-changes .xf-undo").first().click();
  const undone = await waitFor("the re-run after the undo", (rb) => {
    const s = window.__viewState();
    return s && s.runId !== rb && !s.busy && s.knocked === "" ? s : false;
  }, after.runId, 120_000);
  result.timings.undo_to_update_s = (Date.now() - tu) / 1000;
  check("undo from the interventions line restores the run", undone.changes.length === 0 && undone.predBefore.length === 0 && !undone.error, undone);
  await shot("prompt-04-undone.png");

  // 9. the first knock-out from the head view moves nothing under the pointer: the double-clicked
  // token's box, the first row's and the rows' box stay put, and the pointer still hovers that token
  // (the interventions line keeps its place while empty)
  await timed("open_head_view", "click", ".xf-seg-btn[data-value=head]", "s.view === 'head' && s.tokRows > 0");
  const want = T - 40;
  const found = await findToken(want);
  check("the token to knock out is found in the head view", found.i === String(want) && found.inView, JSON.stringify({ i: found.i, inView: found.inView }));
  const boxes = (i) =>
    page.evaluate((i) => {
      const root = document.querySelector(".jp-OutputArea .exformer");
      const rect = (el) => (el ? (({ x, y, width, height }) => ({ x, y, width, height }))(el.getBoundingClientRect()) : null);
      const first = root.querySelector(".xf-col-from .xf-tok");
      return { tok: rect(root.querySelector(`.xf-col-from .xf-tok[data-i="${i}"]`)), firstRow: first?.dataset.i, first: rect(first), stage: rect(root.querySelector(".xf-stage")) };
    }, i);
  const b0 = await boxes(want);
  const cx = b0.tok.x + b0.tok.width / 2, cy = b0.tok.y + b0.tok.height / 2;
  const run0 = (await page.evaluate(() => window.__viewState())).runId;
  await page.mouse.dblclick(cx, cy);
  const ko = await waitFor("the re-run after the head-view double-click", (rb) => {
    const s = window.__viewState();
    return s && s.runId !== rb && !s.busy && s.knocked !== "" ? s : false;
  }, run0, 120_000);
  check("the double-clicked token is knocked out", ko.knocked === String(want) && ko.changes.length === 1, `${ko.knocked} ${ko.changes}`);
  const b1 = await boxes(want);
  const first1 = b0.firstRow === b1.firstRow ? b1.first : (await boxes(b0.firstRow)).tok;
  const under = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest(".xf-tok")?.dataset.i ?? null, [cx, cy]);
  result.observations.head_knockout_boxes = { before: b0, after: b1, under };
  check(
    "the first knock-out moves nothing under the pointer (token, first row, rows within 0.5 px)",
    sameTokenPlace(b0.tok, b1.tok) && samePlace(b0.first, first1) && samePlace(b0.stage, b1.stage) && under === String(want),
    { before: b0, after: b1, first_after: first1, under },
  );
  await shot("prompt-05-head-knocked-out.png");
  await page.locator(".jp-OutputArea .exformer .xf-changes .xf-undo").first().click();
  await waitFor("the re-run after the second undo", (rb) => {
    const s = window.__viewState();
    return s && s.runId !== rb && !s.busy && s.knocked === "" ? s : false;
  }, ko.runId, 120_000);

  result.observations.long_tasks = await page.evaluate(() => window.__longTasks.slice(-40));
  const slow = Object.entries(result.paint_ms).filter(([, ms]) => ms > PAINT_MS);
  check(`every repaint takes ≤ ${PAINT_MS} ms`, slow.length === 0, result.paint_ms);
});
