// In-page helpers of the JupyterLab check (tests/browser/lab.mjs): window.__xft, installed with
// context.addInitScript so that they survive the page's reload. Playwright sends the function's
// source to the page, so it must use nothing from this module: only window, document and what it
// defines itself. What they give: the kernel connection tapped (every comm message in both
// directions, summarised, in __xft.comm), the attend cell and its widget found, a DOM snapshot of
// the widget (tokens, knock-outs, layer, predictions, fingerprints of the curves and thumbnails),
// the widget model id and the last run_id seen, and markers for a re-created view or a busy one.

export function pageHelpers() {
  // FNV-1a over a string
  const fnv = (s) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, "0");
  };
  window.__xft = {
    comm: [],
    fnv,
    panel() {
      const app = window.jupyterapp;
      if (!app) return null;
      const w = app.shell.currentWidget;
      return w && w.content && w.sessionContext ? w : null;
    },
    kernel() {
      return this.panel()?.sessionContext?.session?.kernel ?? null;
    },
    /** Taps the kernel connection: every comm message in both directions, summarised. */
    tap() {
      // every notebook in the main area (the current widget is set later than the kernel starts)
      const app = window.jupyterapp;
      let k = null;
      if (app?.shell?.widgets) {
        for (const w of app.shell.widgets("main")) {
          const kk = w?.sessionContext?.session?.kernel;
          if (kk) this.tapKernel((k = kk));
        }
      }
      return !!k;
    },
    tapKernel(k) {
      if (k.__xftTapped) return;
      k.__xftTapped = true;
      k.anyMessage.connect((_, { msg, direction }) => {
        const type = msg.header.msg_type;
        if (type === "update_display_data" || type === "display_data") {
          this.comm.push({ t: Date.now(), dir: direction, type, mimes: Object.keys(msg.content?.data || {}) });
          return;
        }
        if (!type.startsWith("comm_")) return;
        const c = msg.content || {};
        const d = c.data || {};
        const entry = { t: Date.now(), dir: direction, type, comm_id: c.comm_id, target: c.target_name, method: d.method };
        if (d.state) {
          entry.keys = Object.keys(d.state);
          for (const key of ["run_id", "busy", "layer", "attn_layer", "focus", "error"]) if (key in d.state) entry[key] = d.state[key];
        }
        if (d.states) entry.n_states = Object.keys(d.states).length;
        if (d.buffer_paths) entry.buffer_paths = d.buffer_paths;
        if (d.content) entry.content = d.content;
        entry.n_buffers = (msg.buffers || []).length;
        this.comm.push(entry);
      });
    },
    /** Index of the code cell whose source contains `needle`. */
    cellIndex(needle) {
      const p = this.panel();
      if (!p) return -1;
      return p.content.widgets.findIndex((c) => c.model.type === "code" && c.model.sharedModel.getSource().includes(needle));
    },
    cellNode() {
      return document.querySelector('[data-xf-test="view-cell"]');
    },
    root() {
      return this.cellNode()?.querySelector(".jp-OutputArea .exformer") ?? null;
    },
    /** Everything a check needs to know about the widget, read from the DOM. */
    snapshot() {
      const cell = this.cellNode();
      const root = this.root();
      const out = { cell: !!cell, root: !!root };
      if (!cell) return out;
      out.images = cell.querySelectorAll(".jp-OutputArea img, .jp-RenderedImage").length;
      out.outputText = [...cell.querySelectorAll(".jp-OutputArea-output")].map((o) => o.innerText.slice(0, 300)).join(" | ");
      if (!root) return out;
      const toks = [...root.querySelectorAll(".xf-col-from .xf-tok")];
      out.tokens = toks.map((t) => t.querySelector(".xf-tok-text")?.textContent ?? "");
      out.titles = toks.map((t) => t.title);
      out.knocked = toks.filter((t) => t.classList.contains("is-knocked")).map((t) => Number(t.dataset.i));
      out.pending = root.querySelectorAll(".xf-tok.is-pending").length;
      out.busy = !root.querySelector(".xf-busy")?.hidden;
      out.loading = !!root.querySelector(".xf-body")?.classList.contains("is-loading");
      const err = root.querySelector(".xf-error");
      out.error = err && !err.hidden ? err.textContent : "";
      out.layer = root.querySelector('select[aria-label="Layer"]')?.value ?? null;
      out.nLayerOptions = root.querySelectorAll('select[aria-label="Layer"] option').length;
      out.view = root.querySelector(".xf-seg-btn.is-on, .xf-seg-btn[aria-pressed=true], .xf-seg-btn[aria-checked=true]")?.textContent ?? null;
      out.meta = root.querySelector(".xf-meta")?.textContent ?? "";
      out.title = root.querySelector(".xf-title")?.textContent ?? "";
      out.caption = root.querySelector(".xf-pred-caption")?.textContent ?? "";
      out.predictions = [...root.querySelectorAll(".xf-pred")].map((li) => li.innerText.replace(/\s+/g, " ").trim());
      out.headBoxes = root.querySelectorAll(".xf-headbox").length;
      out.status = root.querySelector(".xf-status")?.textContent ?? "";
      const c = root.querySelector("canvas.xf-curves");
      if (c && c.width > 0 && c.height > 0) {
        const ctx = c.getContext("2d");
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
        out.curves = { w: c.width, h: c.height, ink, hash: fnv(c.toDataURL()) };
      } else {
        out.curves = null;
      }
      const thumbs = [...root.querySelectorAll(".xf-headbox canvas")].map((t) => t.toDataURL()).join("");
      out.thumbsHash = thumbs ? fnv(thumbs) : null;
      return out;
    },
    /** The widget model id this cell's first output displays. */
    modelId() {
      const p = this.panel();
      const i = this.cellIndex(window.__xftNeedle);
      const outs = p?.content.widgets[i]?.model.outputs;
      if (!outs) return null;
      for (let k = 0; k < outs.length; k++) {
        const d = outs.get(k).data["application/vnd.jupyter.widget-view+json"];
        if (d && d.model_id) return d.model_id;
      }
      return null;
    },
    maxRunId(modelId) {
      let m = -1;
      for (const e of this.comm) if (e.dir === "recv" && e.comm_id === modelId && typeof e.run_id === "number") m = Math.max(m, e.run_id);
      return m;
    },
    /** Marks the current widget root; `sameRoot()` tells whether the view was re-created since. */
    markRoot() {
      const r = this.root();
      if (!r) return null;
      r.dataset.xftMark = String(++this.marks);
      // note in the message log when this view leaves the page (the output re-created it)
      const cell = this.cellNode();
      const mo = new MutationObserver(() => {
        if (!r.isConnected) {
          mo.disconnect();
          this.comm.push({ t: Date.now(), dir: "dom", type: "view-removed", mark: r.dataset.xftMark });
        }
      });
      mo.observe(cell, { childList: true, subtree: true });
      return r.dataset.xftMark;
    },
    marks: 0,
    /** Records whether a pending token or the busy overlay shows up (on every DOM mutation). */
    watchBusy() {
      this.sawBusy = false;
      const look = () => {
        const r = this.root();
        if (r && (r.querySelector(".xf-tok.is-pending") || r.querySelector(".xf-busy:not([hidden])"))) this.sawBusy = true;
      };
      this.busyObs?.disconnect();
      this.busyObs = new MutationObserver(look);
      this.busyObs.observe(this.cellNode(), { attributes: true, childList: true, subtree: true, attributeFilter: ["class", "hidden"] });
      look();
    },
    /** ink and hash of a canvas in the widget */
    canvasInfo(sel) {
      const c = this.root()?.querySelector(sel);
      if (!c || !(c.width > 0) || !(c.height > 0)) return null;
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
      return { w: c.width, h: c.height, ink, hash: this.fnv(c.toDataURL()) };
    },
    frames(n = 2) {
      return new Promise((res) => {
        const step = (k) => (k <= 0 ? res(true) : requestAnimationFrame(() => step(k - 1)));
        step(n);
      });
    },
  };
  // Tap the kernel connection as soon as it exists, so that the widget manager's first messages
  // after a (re)load (the state requests) are in the log.
  const timer = setInterval(() => {
    try {
      if (window.__xft.tap()) clearInterval(timer);
    } catch {
      /* not ready */
    }
  }, 25);
}
