// What the JupyterLab browser checks share: command-line arguments, the JSON result, PASS/FAIL
// logging, waiting on the page within the time budget, and one run of a notebook in Debian's
// chromium through playwright-core (open it, wait for the exformer kernel, run the steps, write the
// result, exit 0 only when every check passed).

import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

/** `--key value` pairs (a flag without a value is "1"). @param {string[]} argv */
export function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.reduce((acc, a, i, all) => {
      if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith("--") ? all[i + 1] : "1"]);
      return acc;
    }, []),
  );
}

/**
 * @param {{name: string, notebook: string, budgetS: number, viewport: {width: number, height: number},
 *   initScript?: string, result?: Record<string, any>, polling?: number}} o
 *   name: prefix of the artifacts (default folder tests/artifacts/browser-NAME, NAME-failed.png)
 */
export function createDriver(o) {
  const args = parseArgs();
  const base = (args.base || "").replace(/\/$/, "");
  const out = args.out || `tests/artifacts/browser-${o.name}`;
  const resultPath = args.result || path.join(out, "result.json");
  const budgetS = Number(args.budget || o.budgetS);
  const t0 = Date.now();
  const left = () => Math.max(1000, t0 + budgetS * 1000 - Date.now());
  // how often waitFor evaluates its condition in the page (ms); --polling overrides the driver's
  const polling = Number(args.polling) || (o.polling ?? 200);
  const result = { ok: false, steps: [], timings: {}, observations: {}, console_errors: [], page_errors: [], failure: null, ...o.result };
  fs.mkdirSync(out, { recursive: true });
  /** @type {import("playwright-core").Page} */
  let page;

  const log = (/** @type {string} */ m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}`);

  /** Records a named check; a failed one ends the run. */
  function check(name, ok, detail = "") {
    const d = typeof detail === "string" ? detail : JSON.stringify(detail);
    result.steps.push({ name, ok: !!ok, detail: d });
    log(`${ok ? "PASS" : "FAIL"} ${name}${d ? ` :: ${d}` : ""}`);
    if (!ok) throw new Error(`${name}: ${d}`);
  }

  /** Waits until `fn(arg)` is truthy in the page (at most `ms`, and never past the budget). */
  async function waitFor(what, fn, arg, ms) {
    const timeout = Math.min(ms, left());
    try {
      return await (await page.waitForFunction(fn, arg, { timeout, polling })).jsonValue();
    } catch (e) {
      throw new Error(`timed out after ${(timeout / 1000).toFixed(0)} s waiting for ${what} (${String(e.message || e).split("\n")[0]})`);
    }
  }

  /** A screenshot of the (first) widget into the artifacts. @param {string} file */
  const shot = (file) => page.locator(".jp-OutputArea .exformer").first().screenshot({ path: path.join(out, file) });

  /**
   * Opens the notebook, waits for the exformer kernel, then runs `steps(page)`.
   * @param {(page: import("playwright-core").Page) => Promise<void>} steps
   * @param {(page: import("playwright-core").Page) => void} [before] called before the page loads
   */
  async function run(steps, before) {
    const browser = await chromium.launch({
      executablePath: args.chromium || "/usr/bin/chromium",
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
      timeout: 180_000,
    });
    try {
      const context = await browser.newContext({ viewport: o.viewport, deviceScaleFactor: 1 });
      if (o.initScript) await context.addInitScript(o.initScript);
      page = await context.newPage();
      page.on("console", (m) => m.type() === "error" && result.console_errors.push(m.text().slice(0, 500)));
      page.on("pageerror", (e) => result.page_errors.push(String(e.stack || e).slice(0, 1500)));
      before?.(page);
      // --workspace NAME: a workspace of its own (the server's default one reopens the notebooks of earlier runs)
      const lab = args.workspace ? `lab/workspaces/${encodeURIComponent(args.workspace)}` : "lab";
      await page.goto(`${base}/${lab}/tree/${encodeURIComponent(args.notebook || o.notebook)}?token=${encodeURIComponent(args.token || "")}`, { waitUntil: "domcontentloaded", timeout: 120_000 });
      const k = await waitFor("the exformer kernel idle", () => {
        const w = window.jupyterapp?.shell.currentWidget;
        const kn = w?.sessionContext?.session?.kernel;
        return kn && kn.connectionStatus === "connected" && kn.status === "idle" ? kn.name : false;
      }, null, 300_000);
      check("kernel is exformer", k === "exformer", k);
      await steps(page);
      result.ok = true;
    } catch (e) {
      result.failure = String(e.message || e);
      log(`FAIL ${result.failure}`);
      try {
        log(`state: ${JSON.stringify(await page.evaluate(() => window.__viewState?.()))}`);
        await shot(`${o.name}-failed.png`);
      } catch {}
    } finally {
      fs.writeFileSync(resultPath, JSON.stringify(result, null, 1));
      await browser.close().catch(() => {});
    }
    process.exit(result.ok ? 0 : 1);
  }

  return { args, result, log, check, waitFor, shot, run, left };
}
