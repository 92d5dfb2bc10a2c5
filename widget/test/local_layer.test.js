// The live front end answers a layer change from `attn_all` itself: a saved notebook reopened in
// JupyterLab has a model whose kernel side is gone (send / save_changes reach nobody), and changing
// layer must still draw that layer. Runs render() over a minimal fake DOM (no dependencies): the
// matrix view's heatmap pixels (its putImageData) are compared with those drawn when the kernel
// sends the layer itself.
import test from "node:test";
import assert from "node:assert/strict";
import widget from "../main.js";
import { toBytes } from "../logic/index.js";

// ---- a minimal DOM: enough for render(), the controls and the matrix view ----------------------

/** every putImageData on any canvas: {w, h, data} */
let drawn = [];

function fakeContext() {
  const state = { canvas: null };
  const ctx = {
    createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
    getImageData: (x, y, w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
    putImageData: (img) => drawn.push({ w: img.width, h: img.height, data: Uint8ClampedArray.from(img.data) }),
    measureText: (t) => ({ width: String(t).length * 6, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 }),
    createLinearGradient: () => ({ addColorStop() {} }),
    getLineDash: () => [],
  };
  return new Proxy(ctx, {
    get(t, k) {
      if (k in t) return t[k];
      // drawing calls do nothing; properties read back what was set
      return k in state ? state[k] : () => {};
    },
    set(t, k, v) {
      if (k in t) t[k] = v;
      else state[k] = v;
      return true;
    },
  });
}

class FakeEvent {
  constructor(type, init = {}) {
    Object.assign(this, init);
    this.type = type;
    this.defaultPrevented = false;
  }
  preventDefault() {
    this.defaultPrevented = true;
  }
  stopPropagation() {}
}

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parentNode = null;
    this.attributes = new Map();
    this.listeners = new Map();
    this.dataset = {};
    this.hidden = false;
    this.value = "";
    this.scrollTop = 0;
    this.clientWidth = 700;
    this.clientHeight = 480;
    this.width = 300;
    this.height = 150;
    this._text = "";
    const props = {};
    this.style = new Proxy(props, {
      get: (t, k) => (k === "setProperty" ? (n, v) => (t[n] = v) : k === "getPropertyValue" ? (n) => t[n] ?? "" : k === "removeProperty" ? (n) => delete t[n] : t[k] ?? ""),
    });
    const cls = new Set();
    this.classList = {
      add: (...c) => c.forEach((x) => cls.add(x)),
      remove: (...c) => c.forEach((x) => cls.delete(x)),
      toggle: (c, on) => ((on ?? !cls.has(c)) ? cls.add(c) : cls.delete(c), cls.has(c)),
      contains: (c) => cls.has(c),
    };
    this._cls = cls;
  }
  get textContent() {
    return this._text + this.children.map((c) => c.textContent).join("");
  }
  set textContent(v) {
    this.children = [];
    this._text = String(v ?? "");
  }
  get firstChild() {
    return this.children[0] || null;
  }
  get isConnected() {
    return true;
  }
  setAttribute(k, v) {
    if (k === "class") String(v).split(/\s+/).filter(Boolean).forEach((c) => this._cls.add(c));
    this.attributes.set(k, String(v));
  }
  getAttribute(k) {
    return this.attributes.has(k) ? this.attributes.get(k) : null;
  }
  hasAttribute(k) {
    return this.attributes.has(k);
  }
  removeAttribute(k) {
    this.attributes.delete(k);
  }
  toggleAttribute(k, on) {
    if (on ?? !this.attributes.has(k)) this.attributes.set(k, "");
    else this.attributes.delete(k);
  }
  append(...kids) {
    for (const k of kids) {
      const c = typeof k === "string" ? Object.assign(new FakeElement("#text"), { _text: k }) : k;
      c.remove?.();
      c.parentNode = this;
      this.children.push(c);
    }
  }
  appendChild(k) {
    this.append(k);
    return k;
  }
  prepend(...kids) {
    const rest = this.children;
    this.children = [];
    this.append(...kids);
    this.children.push(...rest);
  }
  insertBefore(k, ref) {
    this.append(k);
    const i = this.children.indexOf(ref);
    if (i >= 0) this.children.splice(i, 0, this.children.pop());
    return k;
  }
  replaceChildren(...kids) {
    for (const c of this.children) c.parentNode = null;
    this.children = [];
    this._text = "";
    this.append(...kids);
  }
  remove() {
    if (!this.parentNode) return;
    const p = this.parentNode;
    p.children = p.children.filter((c) => c !== this);
    this.parentNode = null;
  }
  removeChild(k) {
    k.remove();
    return k;
  }
  contains(n) {
    for (let x = n; x; x = x.parentNode) if (x === this) return true;
    return false;
  }
  addEventListener(type, cb) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(cb);
  }
  removeEventListener(type, cb) {
    this.listeners.get(type)?.delete(cb);
  }
  dispatchEvent(e) {
    e.target ??= this;
    for (const cb of [...(this.listeners.get(e.type) || [])]) cb(e);
    return !e.defaultPrevented;
  }
  querySelector() {
    return null;
  }
  querySelectorAll() {
    return [];
  }
  getBoundingClientRect() {
    return { left: 0, top: 0, right: this.clientWidth, bottom: this.clientHeight, width: this.clientWidth, height: this.clientHeight, x: 0, y: 0 };
  }
  getContext() {
    this._ctx ??= fakeContext();
    return this._ctx;
  }
  focus() {}
  blur() {}
  scrollIntoView() {}
  setPointerCapture() {}
  releasePointerCapture() {}
}

globalThis.document = {
  createElement: (t) => new FakeElement(t),
  createElementNS: (_ns, t) => new FakeElement(t),
  activeElement: null,
};
globalThis.getComputedStyle = () => ({ backgroundColor: "rgb(255, 255, 255)", color: "rgb(0, 0, 0)", getPropertyValue: () => "" });

// ---- a kernel-less model: save_changes and send go nowhere --------------------------------------

function deadModel(init) {
  const data = { ...init };
  const listeners = new Map();
  const log = { saves: [], sent: [] };
  const model = {
    get: (k) => data[k],
    set(k, v) {
      if (data[k] === v) return;
      data[k] = v;
      for (const cb of [...(listeners.get(`change:${k}`) || [])]) cb(model, v);
      for (const cb of [...(listeners.get("change") || [])]) cb(model);
    },
    save_changes: () => log.saves.push({ layer: data.layer, heads: data.heads, view: data.view }),
    send: (c) => log.sent.push(c),
    on(ev, cb) {
      if (!listeners.has(ev)) listeners.set(ev, new Set());
      listeners.get(ev).add(cb);
    },
    off(ev, cb) {
      listeners.get(ev)?.delete(cb);
    },
    /** what the kernel would do: set several keys in one update (all values first, then events) */
    update(values) {
      const changed = Object.keys(values).filter((k) => data[k] !== values[k]);
      Object.assign(data, values);
      for (const k of changed) for (const cb of [...(listeners.get(`change:${k}`) || [])]) cb(model, data[k]);
      if (changed.length) for (const cb of [...(listeners.get("change") || [])]) cb(model);
    },
    listenerCount: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
    log,
  };
  return model;
}

const nL = 4, nH = 2, T = 6;

/** Distinct, softmax-like layers: layer l puts its weight on key (i + l + h) % T. */
function allLayers(seed = 0) {
  const out = new Uint8Array(nL * nH * T * T);
  for (let l = 0; l < nL; l++)
    for (let h = 0; h < nH; h++)
      for (let i = 0; i < T; i++) {
        const row = ((l * nH + h) * T + i) * T;
        const hot = (i + l + h + seed) % T;
        for (let j = 0; j < T; j++) out[row + j] = j === hot ? 200 : 11;
      }
  return out;
}
const dv = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
const slice = (all, l) => all.slice(l * nH * T * T, (l + 1) * nH * T * T);

function state(all, layer, withAll = true) {
  return {
    model_name: "m", kind: "causal_lm", n_layers: nL, n_heads: nH, seq_len: T,
    tokens: Array.from({ length: T }, (_, i) => ({ text: ` t${i}`, special: false, segment: 0, masked: false, knocked_out: false })),
    predictions: Array.from({ length: T }, () => []), predictions_base: null,
    layer, heads: [], view: "matrix", threshold: 0, hide_special: false, combine: "mean", edges: "all", sinks: "off",
    pair_filter: "all", mode: "knockout", focus: -1,
    attn: dv(slice(all, layer)), attn_size: T, attn_layer: layer,
    thumbs: dv(new Uint8Array(0)), thumb_size: 0, attn_all: withAll ? dv(all) : dv(new Uint8Array(0)),
    busy: false, error: "", run_id: 1,
  };
}

/** render errors are caught by the widget and shown: none may happen */
let errors = [];
const consoleError = console.error;
console.error = (...a) => errors.push(a.map(String).join(" "));
const frame = async () => {
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(errors, [], "no render errors");
};
/** the last heatmap drawn */
const heatmap = () => {
  const big = drawn.filter((d) => d.w > 50 && d.h > 50); // not the 96 × 1 colour legend
  assert.ok(big.length > 0, "a heatmap was drawn");
  return big[big.length - 1];
};

/** Heatmap pixels of layer l as the kernel would have them drawn (attn = that layer). */
async function kernelDrawn(all, l) {
  drawn = [];
  const m = deadModel(state(all, l, false));
  const el = new FakeElement("div");
  const stop = widget.render({ model: m, el });
  await frame();
  const img = heatmap();
  stop();
  return img.data;
}

test("changing layer with no kernel answering draws the new layer from attn_all", async () => {
  const all = allLayers();
  const want2 = await kernelDrawn(all, 2);
  const want0 = await kernelDrawn(all, 0);
  assert.notDeepEqual(want2, want0, "layers 0 and 2 look different");

  drawn = [];
  const m = deadModel(state(all, 0));
  const el = new FakeElement("div");
  const stop = widget.render({ model: m, el });
  await frame();
  assert.deepEqual(heatmap().data, want0);
  const root = el.children[0];

  // what the layer control does: set + save_changes (to a kernel that never answers)
  drawn = [];
  m.set("layer", 2);
  m.save_changes();
  await frame();
  assert.deepEqual(heatmap().data, want2, "layer 2 drawn from attn_all");
  assert.deepEqual(m.log.saves.at(-1), { layer: 2, heads: [], view: "matrix" }, "the layer still goes to the kernel");
  assert.equal(m.get("attn_layer"), 0, "the model's kernel-owned keys are left alone");
  assert.deepEqual([...toBytes(m.get("attn"))], [...slice(all, 0)]);
  assert.ok(!root.textContent.includes("loading layer"), "not waiting for the kernel");

  // the kernel answers after all (a live one): the same bytes, the same picture
  drawn = [];
  m.update({ attn: dv(slice(all, 2)), attn_layer: 2 });
  await frame();
  assert.deepEqual(heatmap().data, want2);

  // a model-view tile click (layer + head + view) is answered the same way
  drawn = [];
  m.set("layer", 3);
  m.set("heads", [1]);
  m.save_changes();
  await frame();
  const wantTile = await (async () => {
    const d = drawn;
    drawn = [];
    const k = deadModel({ ...state(all, 3, false), heads: [1] });
    const e2 = new FakeElement("div");
    const s2 = widget.render({ model: k, el: e2 });
    await frame();
    const img = heatmap().data;
    s2();
    drawn = d;
    return img;
  })();
  assert.deepEqual(heatmap().data, wantTile, "layer 3, head 1 from attn_all");
  stop();
  assert.equal(m.listenerCount(), 0, "teardown removes every listener");
});

test("a new run's attn_all replaces the old one (knock-out)", async () => {
  const before = allLayers(0);
  const after = allLayers(3); // the re-run changed every layer
  const wantAfter1 = await kernelDrawn(after, 1);
  const wantBefore1 = await kernelDrawn(before, 1);
  assert.notDeepEqual(wantAfter1, wantBefore1);

  drawn = [];
  const m = deadModel(state(before, 0));
  const el = new FakeElement("div");
  const stop = widget.render({ model: m, el });
  await frame();
  // the re-run arrives as the kernel sends it: every key of the run in one update
  m.update({ ...state(after, 0), layer: 0, run_id: 2 });
  await frame();
  drawn = [];
  m.set("layer", 1);
  m.save_changes();
  await frame();
  assert.deepEqual(heatmap().data, wantAfter1, "layer 1 of the new run, not of the old one");

  // a layer answered locally, then a re-run: the shown layer follows the new run's attn_all
  drawn = [];
  m.update({ ...state(before, 0), layer: 1, run_id: 3 });
  await frame();
  assert.deepEqual(heatmap().data, wantBefore1, "still layer 1 (from the new attn_all) while attn holds layer 0");
  stop();
});

test("without attn_all a layer change waits for the kernel, as before", async () => {
  const all = allLayers();
  const want0 = await kernelDrawn(all, 0);
  drawn = [];
  const m = deadModel(state(all, 0, false));
  const el = new FakeElement("div");
  const stop = widget.render({ model: m, el });
  await frame();
  drawn = [];
  m.set("layer", 2);
  m.save_changes();
  await frame();
  assert.ok(el.children[0].textContent.includes("loading layer 2"), "says it is loading");
  if (drawn.some((d) => d.w > 50 && d.h > 50)) assert.deepEqual(heatmap().data, want0, "the old layer stays");
  // an attn_all of the wrong size (another run's T) is not used
  m.update({ attn_all: dv(new Uint8Array(nL * nH * 5 * 5)) });
  await frame();
  assert.ok(el.children[0].textContent.includes("loading layer 2"));
  stop();
});
