// exformer-saved-views: a JupyterLab extension that draws exformer views from a notebook's saved
// widget state when the notebook has no kernel ("No Kernel", or the kernel it names is not
// installed here). JupyterLab's widget manager (ipywidgets 8) loads saved state only once a kernel
// is attached (jupyter-widgets/ipywidgets#3773): without one every widget output stays at
// "Loading widget...". This extension leaves every other widget, and every notebook with a
// kernel, to ipywidgets.
//
// It is a prebuilt ("federated") extension written by hand rather than built with webpack: the
// container protocol JupyterLab loads is two functions, `init(shareScope)` and `get(module)`, and
// the one thing it needs from JupyterLab, the notebook tracker token, comes from the share scope.
// scripts/install_share.py installs it as <prefix>/share/jupyter/labextensions/exformer-saved-views.
//
// What it draws: only outputs JupyterLab itself chose to render with the widget renderer (trusted
// notebooks; an untrusted one keeps showing the PNG), whose model is in `metadata.widgets` and is an
// exformer view. The view's own module (the `_esm` saved with it) draws it over a static model
// (`createStaticModel`, as the HTML export does): layers, heads, hover and the other views work;
// whatever needs the kernel (masking, knock-outs) is not offered by a static model.
//
// A view whose widget state is nowhere (JupyterLab saves it only with Settings > Save Widget
// State Automatically; a restarted kernel forgot it) shows its PNG and text summary, built from
// the output's own data, instead of "Loading widget..." or "Error displaying widget: model not
// found".
/* global _JUPYTERLAB */
// eslint-disable-next-line no-var
var _JUPYTERLAB;
(function () {
  "use strict";
  const NAME = "exformer-saved-views";
  const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";
  const WIDGET_STATE = "application/vnd.jupyter.widget-state+json";
  const CLASS = "exformer-saved-view";
  const SNAPSHOT_CLASS = "exformer-saved-snapshot";
  const SNAPSHOT = '<div class="exformer-snapshot">';
  let shareScope = null;

  /** The newest version of a shared module JupyterLab provides. */
  async function shared(pkg) {
    const versions = shareScope && shareScope[pkg];
    if (!versions) throw new Error(`${NAME}: JupyterLab shares no ${pkg}`);
    const newest = Object.keys(versions).sort(compareVersions).pop();
    const factory = await versions[newest].get();
    return factory();
  }

  function compareVersions(a, b) {
    const pa = a.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    const pb = b.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const x = pa[i] ?? -1;
      const y = pb[i] ?? -1;
      if (x === y) continue;
      if (typeof x === typeof y) return x < y ? -1 : 1;
      return typeof x === "number" ? 1 : -1; // 4.6.0 > 4.6.0-rc
    }
    return 0;
  }

  /** The saved models of the notebook ({model_id: {model_name, state, buffers}}). */
  function savedModels(panel) {
    const nb = panel.context.model;
    const widgets = nb.getMetadata ? nb.getMetadata("widgets") : nb.metadata.get("widgets");
    return (widgets && widgets[WIDGET_STATE] && widgets[WIDGET_STATE].state) || {};
  }

  /** An anywidget model whose saved module is the exformer widget (it can draw without a kernel). */
  function isExformer(saved) {
    const s = saved && saved.state;
    return !!s && saved.model_name === "AnyModel" && typeof s._esm === "string" && s._esm.includes("createStaticModel") &&
      Array.isArray(s.tokens) && typeof s.n_layers === "number";
  }

  function hasKernel(panel) {
    const session = panel.sessionContext && panel.sessionContext.session;
    return !!(session && session.kernel);
  }

  function decodeBuffer(b) {
    if (b.encoding === "hex") {
      const out = new Uint8Array(b.data.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = parseInt(b.data.substr(2 * i, 2), 16);
      return out;
    }
    const bin = atob(b.data);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  const modules = new Map(); // _esm source -> Promise<module>
  function loadModule(source) {
    if (!modules.has(source)) {
      modules.set(source, (async () => {
        const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
        try {
          return await import(/* webpackIgnore: true */ url);
        } finally {
          URL.revokeObjectURL(url);
        }
      })());
    }
    return modules.get(source);
  }

  const styles = new Set();
  function addStyle(css) {
    if (typeof css !== "string" || !css || styles.has(css)) return;
    styles.add(css);
    const el = document.createElement("style");
    el.dataset.exformerSavedViews = "";
    el.textContent = css;
    document.head.appendChild(el);
  }

  /** The widget renderer JupyterLab made for output i of a code cell, if it chose one. */
  function widgetRenderer(cell, i) {
    const child = cell.outputArea && cell.outputArea.widgets[i];
    if (!child) return null;
    const kids = child.widgets || [];
    for (const w of kids) if (w && w.mimeType === WIDGET_VIEW && typeof w.renderModel === "function") return w;
    return null;
  }

  const drawn = new Map(); // view box -> {panel, cleanup: what its render returned}

  /** Ends the views whose box left the page (a live widget replaced it, the output was cleared). */
  function sweep() {
    for (const [box, { cleanup }] of drawn) {
      if (box.isConnected) continue;
      drawn.delete(box);
      box.remove(); // a cell drawn again later (windowed notebook) gets a fresh view
      try {
        cleanup();
      } catch (e) {
        console.error(`${NAME}:`, e);
      }
    }
  }

  async function mount(panel, node, saved) {
    const box = document.createElement("div");
    box.className = CLASS;
    node.textContent = "";
    node.appendChild(box);
    try {
      const buffers = {};
      for (const b of saved.buffers || []) if (b.path && b.path.length === 1) buffers[b.path[0]] = decodeBuffer(b);
      const mod = await loadModule(saved.state._esm);
      addStyle(saved.state._css);
      const model = mod.createStaticModel({ ...saved.state, _buffers: buffers }, {});
      const cleanup = await mod.default.render({ model, el: box });
      box.dataset.exformerSaved = "drawn";
      drawn.set(box, { panel, cleanup: typeof cleanup === "function" ? cleanup : () => {} });
    } catch (e) {
      box.dataset.exformerSaved = "failed";
      box.textContent = `exformer: this view could not be drawn from the saved state (${e && e.message ? e.message : e})`;
      console.error(`${NAME}:`, e);
    }
  }

  const text = (v) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");

  /** An exformer view's output: the widget, its PNG and its text (and the HTML of both). */
  function isSnapshotBundle(data) {
    return !!data[WIDGET_VIEW] && text(data["text/html"]).startsWith(SNAPSHOT) && !!text(data["image/png"]);
  }

  /**
   * A view whose widget state was not saved (JupyterLab saves it only with Settings > Save
   * Widget State Automatically): its PNG and text, built here from the output's own data (no
   * HTML from the notebook is inserted), where the widget renderer would stay at "Loading
   * widget..." or say "Error displaying widget: model not found".
   */
  function showSnapshot(node, data) {
    const box = document.createElement("div");
    box.className = SNAPSHOT_CLASS;
    const summary = text(data["text/plain"]);
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${text(data["image/png"]).replace(/\s+/g, "")}`;
    img.alt = summary.split("\n")[0];
    img.style.maxWidth = "100%";
    const pre = document.createElement("pre");
    pre.textContent = summary;
    const note = document.createElement("div");
    note.className = "jp-RenderedText";
    note.style.opacity = "0.7";
    note.textContent = "A picture of the view: its widget state is neither in the kernel nor saved in the notebook. Run the cell again to explore it.";
    box.append(img, pre, note);
    node.textContent = "";
    node.append(box);
  }

  /**
   * Without a kernel: draws every exformer view that nothing else drew, from the saved state.
   * With or without one: a view whose state was not saved shows its PNG and text instead of
   * the widget renderer's "Loading widget..." / "model not found".
   */
  function scan(panel) {
    sweep();
    if (panel.isDisposed) return;
    const kernel = hasKernel(panel);
    let saved = null; // read once, and only when some output needs it
    for (const cell of panel.content.widgets) {
      if (cell.model.type !== "code" || !cell.outputArea) continue;
      const outputs = cell.model.outputs;
      for (let i = 0; i < outputs.length; i++) {
        // left alone: no widget renderer (untrusted: the PNG shows), ours already, or a live widget
        // (checked first: this runs after DOM changes, and reading an output's data copies it)
        const r = widgetRenderer(cell, i);
        if (!r || r.widgets.length > 0 || r.node.querySelector(`.${CLASS}, .${SNAPSHOT_CLASS}`)) continue;
        const data = outputs.get(i).data;
        const ref = data[WIDGET_VIEW];
        if (!ref) continue;
        saved ??= savedModels(panel);
        const model = saved[ref.model_id];
        if (isExformer(model)) {
          if (!kernel) mount(panel, r.node, model);
        } else if (!model && isSnapshotBundle(data) && (!kernel || /Error displaying widget/.test(r.node.textContent))) {
          showSnapshot(r.node, data);
        }
      }
    }
  }

  /**
   * Resolves once the notebook's kernel question is answered: a kernel session is ready, or the
   * notebook has had no kernel, and none pending, for a second. (A notebook whose user picked
   * "No Kernel" never becomes ready: its session context stays "initializing".)
   */
  function settled(panel) {
    const sc = panel.sessionContext;
    return new Promise((resolve) => {
      let quiet = 0;
      const tick = setInterval(() => {
        const none = !hasKernel(panel) && (sc.hasNoKernel ?? true);
        quiet = none ? quiet + 1 : 0;
        if (quiet >= 4 || panel.isDisposed) {
          clearInterval(tick);
          resolve();
        }
      }, 250);
      sc.ready.then(() => {
        clearInterval(tick);
        resolve();
      }, () => {});
    });
  }

  function watch(panel) {
    // Cells drawn later (windowed notebooks, re-renders, a live widget replacing ours, the widget
    // manager's "model not found") are seen by watching the notebook's DOM: one scan a frame at most.
    const observer = new MutationObserver(() => later());
    let queued = false;
    const later = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        scan(panel);
      });
    };
    panel.context.ready.then(() => settled(panel)).then(() => {
      later();
      observer.observe(panel.content.node, { childList: true, subtree: true });
      panel.sessionContext.kernelChanged.connect(() => later());
      panel.disposed.connect(() => {
        observer.disconnect();
        sweep();
      });
    }, (e) => console.error(`${NAME}:`, e));
  }

  function extension(INotebookTracker) {
    return {
      id: `${NAME}:plugin`,
      description: "Draws exformer views from a notebook's saved widget state when it has no kernel.",
      autoStart: true,
      requires: [INotebookTracker],
      activate(app, tracker) {
        tracker.forEach(watch);
        tracker.widgetAdded.connect((_, panel) => watch(panel));
      },
    };
  }

  _JUPYTERLAB = typeof _JUPYTERLAB === "undefined" ? {} : _JUPYTERLAB;
  _JUPYTERLAB[NAME] = {
    init(scope) {
      shareScope = scope;
    },
    async get(module) {
      if (module !== "./extension") throw new Error(`${NAME}: no module ${module}`);
      const { INotebookTracker } = await shared("@jupyterlab/notebook");
      const plugin = extension(INotebookTracker);
      return () => ({ __esModule: true, default: [plugin] });
    },
  };
})();
