// exformer widget: entry module (anywidget AFM). `render({model, el})` builds the UI, wires model
// events and returns a cleanup function. Bundled with logic/*.js, static_model.js and views/*.js into
// the single-file module widget/exformer.js by esbuild (`npm --prefix widget run build`).

import { attentionBytes, toBytes } from "./logic/buffers.js";
import { viewMatrices, pooledMatrices, tileMatrices, sinkKeys, dropSinks, binRange } from "./logic/matrices.js";
import { EDGE_MODES, defaultEdges } from "./logic/edges.js";
import { isDarkColour, buildRamp, RAMP_LIGHT, RAMP_DARK } from "./logic/colour.js";
import { defaultView, applyPending, availableModes, clampInt, VIEWS } from "./logic/tokens.js";
import { STATE_KEYS, HEAD_VIEW_MAX_TOKENS, stateDefault } from "./logic/protocol.js";
import { createStaticModel, sliceLayer } from "./static_model.js";
import { h } from "./views/dom.js";
import { createControls } from "./views/controls.js";
import { createHeadView } from "./views/head.js";
import { createModelView } from "./views/model.js";
import { createMatrixView } from "./views/matrix.js";
import { createPredictions } from "./views/predictions.js";
import { createChanges } from "./views/changes.js";


/**
 * The widget instance: owns derived data and local UI state, and schedules redraws.
 */
class App {
  /**
   * @param {any} model anywidget model
   * @param {HTMLElement} el
   */
  constructor(model, el) {
    this.model = model;
    this.host = el;
    this.abort = new AbortController();
    this.signal = this.abort.signal;
    /** @type {[string, Function][]} */
    this.modelHandlers = [];
    /** local (not synced) state */
    this.hover = /** @type {{index: number, side: "from"|"to"}|null} */ (null);
    this.pinSide = /** @type {"from"|"to"} */ ("from");
    /** toggles sent since the last run finished, for optimistic display */
    this.pending = /** @type {{index: number, mode: string}[]} */ ([]);
    this.notice = "";
    this.dirty = new Set(["all"]);
    this.frame = 0;
    this.cache = new Map();
    this.dark = false;
    this.ramp = buildRamp(RAMP_LIGHT);
    /** every layer of the current run (`attn_all`, validated), or null */
    this.attnAll = /** @type {Uint8Array|null} */ (null);
    /** the selected layer sliced from `attnAll` while the kernel's `attn` holds another one */
    this.local = /** @type {{attn: DataView, attn_layer: number, all: Uint8Array}|null} */ (null);

    this.root = h("div", { class: "exformer", "data-xf": "1" });
    el.classList.add("exformer-host");
    el.append(this.root);

    this.controls = createControls(this);
    this.status = h("div", { class: "xf-status", role: "status", "aria-live": "polite" });
    this.errorBox = h("div", { class: "xf-error", role: "alert", hidden: true });
    this.stage = h("div", { class: "xf-stage" });
    this.busyLabel = h("span", { text: "re-running the model…" });
    this.busyEl = h(
      "div",
      { class: "xf-busy", hidden: true, "aria-hidden": "true" },
      h("div", { class: "xf-spinner" }),
      this.busyLabel,
    );
    this.predictions = createPredictions(this);
    this.changes = createChanges(this);
    this.body = h(
      "div",
      { class: "xf-body" },
      h("div", { class: "xf-main" }, this.stage, this.busyEl),
      this.predictions.el,
    );
    this.root.append(this.controls.el, this.changes.el, this.errorBox, this.body, this.status);
    // Keys typed in the widget belong to it: JupyterLab's notebook shortcuts (arrows move between
    // cells in command mode, letters insert cells...) must not take them from our controls.
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    this.root.addEventListener(
      "keydown",
      (e) => {
        if (e.key === "Escape" && this.get("focus") >= 0) this.setState("focus", -1);
        const t = /** @type {HTMLElement} */ (e.target);
        if (t !== this.root && this.root.contains(t) && !(e.key === "Enter" && (e.shiftKey || e.ctrlKey || e.metaKey))) e.stopPropagation();
      },
      { signal: this.signal },
    );

    /** @type {Record<string, {el: HTMLElement, update: (d: Set<string>) => void, destroy: () => void}>} */
    this.views = {};
    this.activeView = "";

    // every state key of the schema (widget/protocol.json)
    for (const k of STATE_KEYS) this.listen(`change:${k}`, () => this.onChange(k));
    this.listen("msg:custom", (content) => this.onCustom(content));

    if (typeof ResizeObserver !== "undefined") {
      let lastW = 0;
      this.resizeObs = new ResizeObserver((entries) => {
        const w = Math.round(entries[0].contentRect.width);
        if (w !== lastW) {
          lastW = w;
          this.invalidate("size");
        }
      });
      this.resizeObs.observe(this.root);
    }
    const mq = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
    mq?.addEventListener?.("change", () => this.invalidate("theme"), { signal: this.signal });
    this.decode("all");
    this.invalidate("all");
    // The kernel frees a view's tensors when no front end shows it: say we do.
    this.send({ type: "attach" });
  }

  /** A custom message to the kernel (ignored by a static snapshot). @param {any} content */
  send(content) {
    try {
      if (!this.isStatic) this.model.send(content);
    } catch {
      // the comm is gone (kernel restarted): nothing to tell
    }
  }

  /** @param {string} event @param {Function} cb */
  listen(event, cb) {
    this.model.on(event, cb);
    this.modelHandlers.push([event, cb]);
  }

  /**
   * A state key. `attn` and `attn_layer` are the layer answered from `attn_all` while one stands in
   * for the kernel's (see localLayer).
   * @param {string} name
   */
  get(name) {
    if (this.local && (name === "attn" || name === "attn_layer")) return this.local[name];
    return this.model.get(name);
  }

  /**
   * Set a synced state key and push it to the back end.
   * @param {string} name
   * @param {any} value
   */
  setState(name, value) {
    this.model.set(name, value);
    this.model.save_changes();
  }

  /** @param {Record<string, any>} values */
  setMany(values) {
    for (const [k, v] of Object.entries(values)) this.model.set(k, v);
    this.model.save_changes();
  }

  // ---- derived data -----------------------------------------------------------------------

  get tokensRaw() {
    return /** @type {import("./logic/tokens.js").Token[]} */ (this.get("tokens") || []);
  }
  /** tokens with pending (sent, not yet run) toggles applied */
  get tokens() {
    return this.pending.length ? applyPending(this.tokensRaw, this.pending) : this.tokensRaw;
  }
  get T() {
    return this.tokensRaw.length;
  }
  get nHeads() {
    return this.get("n_heads") | 0;
  }
  get nLayers() {
    return this.get("n_layers") | 0;
  }
  get kind() {
    return this.get("kind") || "encoder";
  }
  get isStatic() {
    return !!this.get("_static");
  }
  get view() {
    const v = this.get("view");
    const view = VIEWS.includes(v) ? v : defaultView(this.T);
    // A pooled layer has no token-level rows for the curves: its matrix stands in.
    return view === "head" && this.pooledSide ? "matrix" : view;
  }
  /**
   * The zoomed tile for the shown layer and run, combined for drawing, or null.
   * @returns {ReturnType<typeof tileMatrices>|null}
   */
  tileData() {
    const z = this.get("zoom");
    const t = this.tile;
    // the tile must be the one for this zoom window, layer and run (else: still loading)
    if (!z || !t || t.layer !== this.get("attn_layer") || t.run_id !== this.get("run_id") || t.r0 !== z.r0 || t.c0 !== z.c0) return null;
    const dropKeys = this.sinkInfo.keys;
    const key = JSON.stringify(["tile", t.r0, t.c0, t.n, t.layer, t.run_id, this.get("heads"), this.get("combine"), this.get("threshold"), dropKeys]);
    let v = this.cache.get(key);
    if (!v) {
      const combine = this.get("combine") === "sum" ? "sum" : "mean";
      v = tileMatrices({ bytes: t.bytes, nHeads: this.nHeads, n: t.n, r0: t.r0, c0: t.c0, heads: this.get("heads") || [], combine, threshold: Number(this.get("threshold")) || 0, dropKeys });
      this.cache.set(key, v);
    }
    return v;
  }

  /** side of the server-pooled `attn` map (long inputs), 0 when `attn` has every token */
  get pooledSide() {
    const P = Number(this.get("attn_size"));
    return Number.isInteger(P) && P > 0 && P < this.T ? P : 0;
  }
  /** which edges per query the head view draws */
  get edges() {
    const e = this.get("edges");
    return EDGE_MODES.includes(e) ? e : defaultEdges(this.T);
  }
  /**
   * The attention sinks of the shown layer that are left out (original token positions; for a
   * pooled layer, every token of the sink's bin), with their share.
   * @returns {{keys: number[], sinks: {key: number, last: number, share: number}[], dropped: boolean}}
   */
  get sinkInfo() {
    const dropped = dropSinks(String(this.get("sinks") || stateDefault("sinks")), this.sinks || []);
    const sinks = this.sinks || [];
    const keys = [];
    if (dropped) for (const s of sinks) for (let j = s.key; j <= s.last; j++) keys.push(j);
    return { keys, sinks, dropped };
  }
  get mode() {
    const modes = availableModes(this.kind);
    const m = this.get("mode");
    return modes.includes(m) ? m : modes[0];
  }
  /** the token index whose attention is singled out: hover first, then the pinned focus */
  get activeFocus() {
    if (this.hover && this.hover.index >= 0) return this.hover;
    const f = this.get("focus");
    if (Number.isInteger(f) && f >= 0 && f < this.T) return { index: f, side: this.pinSide };
    return null;
  }

  /**
   * The selected layer sliced from `attn_all` (every layer of the current run, sent with it when
   * small), when the kernel's `attn` holds another layer: a layer change is drawn at once, and with
   * no kernel behind the comm (a saved notebook reopened) it is drawn at all. The kernel's answer
   * (the same bytes) replaces it when it comes. Null otherwise.
   * @param {App["local"]} prev the current one, kept when still right
   */
  localLayer(prev) {
    const L = this.model.get("layer");
    const all = this.attnAll;
    if (!all || this.pooledSide || !Number.isInteger(L) || L < 0 || L >= this.nLayers || L === this.model.get("attn_layer")) return null;
    if (prev && prev.attn_layer === L && prev.all === all) return prev;
    const out = /** @type {any} */ ({ all });
    sliceLayer(out, L, { attn_all: all, n_layers: this.nLayers, n_heads: this.nHeads, seq_len: this.T });
    return out.attn ? out : null;
  }

  /**
   * Decodes what changed key `key` ("all" = everything) brings: the shown layer (and its sinks),
   * the thumbnails, the zoomed tile. Only a new layer drops the cached matrices.
   * @param {string} key
   */
  decode(key) {
    const all = key === "all" || key === "n_heads";
    if (all || ["attn_all", "n_layers", "tokens"].includes(key)) {
      // `attn_all` comes with each run (empty when too big): a new run brings its own
      let bytes = null;
      try {
        bytes = toBytes(this.model.get("attn_all"));
      } catch {
        bytes = null;
      }
      const per = this.nHeads * this.T * this.T;
      this.attnAll = bytes && per > 0 && this.nLayers > 0 && bytes.length === this.nLayers * per ? bytes : null;
    }
    let shown = all || ["attn", "attn_size", "tokens"].includes(key);
    if (shown || ["attn_all", "n_layers", "layer", "attn_layer"].includes(key)) {
      const prev = this.local;
      this.local = this.localLayer(prev);
      if (this.local !== prev) shown = true;
    }
    if (shown) {
      this.attn = null;
      this.attnError = "";
      const buf = this.get("attn");
      if (buf != null && this.T > 0 && this.nHeads > 0) {
        try {
          this.attn = attentionBytes(buf, this.nHeads, this.pooledSide || this.T); // bytes, no float copy
        } catch (e) {
          this.attnError = String(/** @type {Error} */ (e).message || e);
        }
      }
      const P = this.pooledSide;
      this.sinks = this.attn
        ? sinkKeys(this.attn, this.nHeads, P || this.T).map((s) => {
            const [key, last] = P ? binRange(s.key, P, this.T) : [s.key, s.key];
            return { key, last, share: s.share };
          })
        : [];
      this.cache.clear();
    }
    if (all || key === "thumbs") {
      try {
        this.thumbs = toBytes(this.get("thumbs"));
      } catch {
        this.thumbs = null;
      }
    }
    if (all || key === "tile" || key === "tile_rect") {
      this.tile = null;
      const tr = this.get("tile_rect");
      if (tr && typeof tr === "object") {
        try {
          const bytes = toBytes(this.get("tile"));
          const n = tr.rows | 0;
          if (bytes && n > 0 && bytes.length === this.nHeads * n * n) this.tile = { ...tr, n, bytes };
        } catch {
          this.tile = null;
        }
      }
    }
  }

  /**
   * Matrices to draw for the current settings (cached).
   * @param {{combine?: string, threshold?: number}} [override]
   */
  viewData(override = {}) {
    if (!this.attn) return null;
    const o = {
      heads: this.get("heads") || [],
      combine: override.combine ?? (this.get("combine") || "each"),
      hideSpecial: !!this.get("hide_special"),
      pairFilter: this.get("pair_filter") || stateDefault("pair_filter"),
      threshold: override.threshold ?? (Number(this.get("threshold")) || 0),
      dropKeys: this.sinkInfo.keys,
    };
    const key = JSON.stringify(o);
    let v = this.cache.get(key);
    if (!v) {
      const P = this.pooledSide;
      v = P
        ? pooledMatrices({ attn: this.attn, nHeads: this.nHeads, P, T: this.T, heads: o.heads, combine: o.combine, threshold: o.threshold, dropKeys: o.dropKeys })
        : viewMatrices({ attn: this.attn, nHeads: this.nHeads, T: this.T, tokens: this.tokensRaw, ...o });
      if (this.cache.size > 8) this.cache.clear();
      this.cache.set(key, v);
    }
    return v;
  }

  // ---- events -----------------------------------------------------------------------------

  /** @param {string} key */
  onChange(key) {
    if (["attn", "attn_size", "attn_layer", "attn_all", "layer", "tokens", "n_heads", "n_layers", "thumbs", "tile", "tile_rect"].includes(key)) this.decode(key);
    if (key === "sinks") this.cache.clear();
    if (key === "run_id" || key === "tokens") this.pending = [];
    if (key === "busy" && !this.get("busy")) this.pending = [];
    if (key === "tokens" || key === "hide_special") this.hover = null;
    this.invalidate(key);
  }

  /** @param {any} content */
  onCustom(content) {
    if (content && content.type === "notice") {
      this.flash(String(content.text || ""));
    }
  }

  /** @param {string} text */
  flash(text) {
    this.notice = text;
    this.invalidate("notice");
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.notice = "";
      this.invalidate("notice");
    }, 4000);
  }

  /**
   * Mask / knock out / restore a token (what a click or Enter does), per the current mode unless
   * `mode` says which (undoing one intervention from the interventions line).
   * @param {number} index original token position
   * @param {string} [as] "mask" or "knockout"
   */
  toggleToken(index, as) {
    const t = this.tokensRaw[index];
    if (!t) return;
    if (this.isStatic) {
      this.flash("This is a static snapshot: masking and knock-outs need a running kernel.");
      return;
    }
    const mode = as === "mask" || as === "knockout" ? as : this.mode;
    if (t.special && mode === "mask" && !t.masked) {
      this.flash("Special tokens cannot be masked.");
      return;
    }
    this.pending.push({ index, mode });
    this.model.send({ type: "toggle", index, mode });
    this.invalidate("tokens");
  }

  clearInterventions() {
    if (this.isStatic) return;
    this.pending = [];
    this.model.send({ type: "clear" });
    this.invalidate("tokens");
  }

  /**
   * @param {number} index original token index or -1
   * @param {"from"|"to"} side
   */
  setHover(index, side) {
    const next = index >= 0 ? { index, side } : null;
    const cur = this.hover;
    if ((cur && next && cur.index === next.index && cur.side === next.side) || (!cur && !next)) return;
    this.hover = next;
    this.invalidate("hover");
  }

  /**
   * Pin (or unpin, if already pinned) a token.
   * @param {number} index
   * @param {"from"|"to"} side
   */
  pin(index, side) {
    const f = this.get("focus");
    if (f === index && this.pinSide === side) {
      this.setState("focus", -1);
    } else {
      this.pinSide = side;
      if (f === index) this.invalidate("focus");
      else this.setState("focus", index);
    }
  }

  /**
   * Finds token i for the user: pins it, brings it into view in the shown view (a long input's matrix
   * zooms to it).
   * @param {number} i original token position
   */
  reveal(i) {
    if (!(i >= 0 && i < this.T)) return;
    this.pinSide = "from";
    this.hover = null;
    if (this.get("focus") !== i) this.setState("focus", i);
    else this.invalidate("focus");
    const v = this.views[this.activeView];
    if (v && typeof v.reveal === "function") v.reveal(i);
  }

  /** @param {number} l */
  setLayer(l) {
    const L = clampInt(l, 0, Math.max(0, this.nLayers - 1));
    if (L !== this.get("layer")) this.setState("layer", L);
  }

  /** @param {string} what */
  invalidate(what) {
    this.dirty.add(what);
    if (this.frame) return;
    const raf = globalThis.requestAnimationFrame || ((cb) => setTimeout(cb, 16));
    this.frame = raf(() => {
      this.frame = 0;
      const d = this.dirty;
      this.dirty = new Set();
      try {
        const t0 = performance.now();
        this.renderNow(d);
        // exposed for benchmarks / headless checks
        this.root.dataset.renderMs = (performance.now() - t0).toFixed(1);
        this.root.dataset.frame = String((Number(this.root.dataset.frame) || 0) + 1);
        this.root.dataset.view = this.activeView;
        this.root.dataset.threshold = String(Number(this.get("threshold")) || 0);
        // also for headless checks: which run is drawn and what it changed
        this.root.dataset.runId = String(this.get("run_id") ?? "");
        this.root.dataset.knocked = this.tokensRaw.flatMap((t, i) => (t.knocked_out || t.masked ? [i] : [])).join(",");
        if (globalThis.EXFORMER_DEBUG) console.log(`exformer render ${[...d].join(",")}: ${this.root.dataset.renderMs} ms`);
      } catch (e) {
        console.error("exformer: render failed", e);
        this.errorBox.hidden = false;
        this.errorBox.textContent = `Widget error: ${/** @type {Error} */ (e).message || e}`;
      }
    });
  }

  /** @param {Set<string>} d */
  renderNow(d) {
    if (this.signal.aborted) return;
    const bg = getComputedStyle(this.root).backgroundColor;
    // A transparent background tells nothing: judge by the text colour instead.
    const transparent = /rgba\(.*,\s*0\)$/.test(bg) || bg === "transparent";
    const dark = transparent ? !isDarkColour(getComputedStyle(this.root).color) : isDarkColour(bg);
    if (dark !== this.dark || d.has("all")) {
      this.dark = dark;
      this.ramp = buildRamp(dark ? RAMP_DARK : RAMP_LIGHT);
      d.add("theme");
    }
    this.root.classList.toggle("xf-dark", this.dark);

    // error + status
    const err = this.get("error") || this.attnError;
    this.errorBox.hidden = !err;
    this.errorBox.textContent = err || "";
    const busy = !!this.get("busy");
    this.busyEl.hidden = !busy;
    this.busyLabel.textContent = this.get("busy_text") || "re-running the model…";
    this.body.classList.toggle("is-busy", busy);
    const lag = this.attn && this.get("attn_layer") !== this.get("layer");
    this.body.classList.toggle("is-loading", !!lag);
    this.status.textContent = this.notice || (lag ? `loading layer ${this.get("layer")}…` : "");
    this.status.classList.toggle("is-notice", !!this.notice);

    this.controls.update(d);
    this.changes.update(d);

    const view = this.view;
    if (view !== this.activeView) {
      if (!this.views[view]) {
        const make = { head: createHeadView, model: createModelView, matrix: createMatrixView }[view];
        this.views[view] = make(this);
      }
      this.stage.replaceChildren(this.views[view].el);
      this.activeView = view;
      d.add("all");
    }
    this.views[view].update(d);
    this.predictions.update(d);
  }

  destroy() {
    this.send({ type: "detach" });
    this.abort.abort();
    for (const [ev, cb] of this.modelHandlers) this.model.off(ev, cb);
    this.modelHandlers = [];
    this.resizeObs?.disconnect();
    if (this.frame) (globalThis.cancelAnimationFrame || clearTimeout)(this.frame);
    clearTimeout(this.noticeTimer);
    for (const v of Object.values(this.views)) v.destroy();
    this.predictions.destroy();
    this.changes.destroy();
    this.controls.destroy();
    this.root.remove();
    this.host.classList.remove("exformer-host");
  }
}

/**
 * anywidget entry point.
 * @param {{model: any, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const app = new App(model, el);
  return () => app.destroy();
}

export { createStaticModel, HEAD_VIEW_MAX_TOKENS };
export default { render };
