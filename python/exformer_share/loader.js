// exformer_share: boots every exformer view of an exported notebook page from its saved state
// (no kernel, no network). Inlined once per page by exformer_share/convert.py; each view is a
// div.exformer-share (data-exformer-module = the module id) holding its state (JSON, buffers gzip +
// base64) and its PNG snapshot, which stays on screen where this script does not run or fails.
(function () {
  "use strict";
  if (window.__exformerShare) return;
  const share = (window.__exformerShare = { views: [], errors: [] });
  const bytes = (b64) => {
    const bin = atob(b64.replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  };
  const gunzip = async (b64) => {
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  };
  const modules = new Map();
  const loadModule = (id) => {
    if (!modules.has(id)) {
      modules.set(id, (async () => {
        const el = document.getElementById("exformer-share-module-" + id);
        if (!el) throw new Error("module " + id + " is missing from the page");
        const source = new TextDecoder().decode(await gunzip(el.textContent));
        const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
        try {
          return await import(url);
        } finally {
          URL.revokeObjectURL(url);
        }
      })());
    }
    return modules.get(id);
  };
  const mount = async (box) => {
    if (box.dataset.exformerMounted) return;
    box.dataset.exformerMounted = "1";
    try {
      const state = JSON.parse(box.querySelector("script.exformer-share-state").textContent);
      const buffers = {};
      for (const [k, v] of Object.entries(state._buffers_gzip || {})) buffers[k] = await gunzip(v);
      for (const [k, from] of Object.entries(state._buffers_alias || {})) buffers[k] = buffers[from];
      delete state._buffers_gzip;
      delete state._buffers_alias;
      state._buffers = buffers;
      const mod = await loadModule(box.dataset.exformerModule);
      const model = mod.createStaticModel(state, {});
      const root = box.querySelector(".exformer-share-root");
      await mod.default.render({ model, el: root });
      box.classList.add("is-live");
      share.views.push({ box, model });
    } catch (e) {
      const msg = e && e.message ? e.message : String(e);
      box.dataset.exformerError = msg;
      share.errors.push(msg);
      console.error("exformer: this view stays a picture:", e);
    }
  };
  const mountAll = () => Promise.all([...document.querySelectorAll(".exformer-share")].map(mount));
  share.ready = new Promise((resolve) => {
    const go = () => mountAll().then(resolve);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  });
})();
