// exformer widget: an in-page stand-in for anywidget's model, over static data (no kernel).
// Used by the self-contained HTML export (standalone.html) and by the dev demo.
//
// It implements the subset of anywidget's AFM model API the widget uses:
//   get(name), set(name, value), save_changes(), on(event, cb), off(event?, cb?), send(content, callbacks, buffers)
// Events: "change:<name>" (cb(model, value)), "change" (cb(model)), "msg:custom" (cb(content, buffers)).
//
// Binary state arrives base64-encoded under `_buffers` ({name: base64}) and is exposed as DataView,
// like anywidget does for binary traits. If `_buffers.attn_all` holds every layer
// (Uint8 [n_layers, n_heads, T, T]), changing `layer` + save_changes() answers like the kernel would:
// `attn` becomes that layer's slice and `attn_layer` follows.

import { base64ToBytes, toBytes } from "./logic/buffers.js";

/**
 * @param {Record<string, any>} state JSON state; binary values base64 under `_buffers`
 * @param {{onSend?: (content: any, buffers: any[]|undefined, model: any) => void,
 *          onSave?: (changed: Record<string, any>, model: any) => void}} [opts]
 */
export function createStaticModel(state, opts = {}) {
  /** @type {Record<string, any>} */
  const data = {};
  for (const [k, v] of Object.entries(state || {})) if (k !== "_buffers") data[k] = v;
  const bufs = (state && state._buffers) || {};
  for (const [k, v] of Object.entries(bufs)) {
    const bytes = typeof v === "string" ? base64ToBytes(v) : toBytes(v);
    data[k] = bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  }
  if (!("_static" in data)) data._static = true;
  if (data.attn_all && !data.attn) sliceLayer(data, data.layer ?? 0);

  /** @type {Map<string, Set<Function>>} */
  const listeners = new Map();
  /** @type {Set<string>} */
  const dirty = new Set();

  const emit = (event, ...args) => {
    const set = listeners.get(event);
    if (!set) return;
    for (const cb of [...set]) {
      try {
        cb(...args);
      } catch (e) {
        console.error(`exformer: listener for ${event} failed`, e);
      }
    }
  };

  const model = {
    /** @param {string} name */
    get(name) {
      return data[name];
    },
    /**
     * @param {string} name
     * @param {any} value
     */
    set(name, value) {
      if (same(data[name], value)) return;
      data[name] = value;
      dirty.add(name);
      emit(`change:${name}`, model, value);
      emit("change", model);
    },
    save_changes() {
      const changed = {};
      for (const k of dirty) changed[k] = data[k];
      dirty.clear();
      if (opts.onSave) opts.onSave(changed, model);
      if ("layer" in changed && data.attn_all) {
        // Answer asynchronously, like a kernel round trip.
        Promise.resolve().then(() => {
          const l = data.layer;
          const upd = {};
          sliceLayer(upd, l, data);
          model.set("attn", upd.attn);
          model.set("attn_layer", upd.attn_layer);
          dirty.delete("attn");
          dirty.delete("attn_layer");
        });
      }
    },
    /**
     * @param {string} event
     * @param {Function} cb
     */
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(cb);
    },
    /**
     * @param {string} [event]
     * @param {Function} [cb]
     */
    off(event, cb) {
      if (event == null) listeners.clear();
      else if (cb == null) listeners.delete(event);
      else listeners.get(event)?.delete(cb);
    },
    /**
     * @param {any} content
     * @param {any} [callbacks]
     * @param {any[]} [buffers]
     */
    send(content, callbacks, buffers) {
      if (opts.onSend) opts.onSend(content, buffers, model);
    },
    /** Deliver a custom message to the widget as if the back end had sent it. */
    receive(content, buffers = []) {
      emit("msg:custom", content, buffers);
    },
    /** Number of listeners (for tests / leak checks). */
    listenerCount() {
      let n = 0;
      for (const s of listeners.values()) n += s.size;
      return n;
    },
  };
  return model;
}

/**
 * Write `attn` (DataView of layer l) and `attn_layer` into `target`, reading `attn_all` (with
 * `n_layers`, `n_heads`, `seq_len`) from `src`; leaves `target` alone when `attn_all` does not hold
 * n_layers × n_heads × T² bytes. Also how the live front end answers a layer change itself.
 * @param {Record<string, any>} target
 * @param {number} l
 * @param {Record<string, any>} [src]
 */
export function sliceLayer(target, l, src = target) {
  const all = toBytes(src.attn_all);
  const nL = src.n_layers;
  const per = src.n_heads * src.seq_len * src.seq_len;
  if (!all || !(nL > 0) || all.length !== nL * per) return;
  const layer = Math.max(0, Math.min(nL - 1, l | 0));
  const view = all.subarray(layer * per, (layer + 1) * per);
  target.attn = new DataView(view.buffer, view.byteOffset, view.byteLength);
  target.attn_layer = layer;
}

/** Value equality good enough for JSON state (DataViews compare by identity). */
function same(a, b) {
  if (a === b) return true;
  if (a == null || b == null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return false;
  if (typeof a === "object" && typeof b === "object") {
    try {
      return JSON.stringify(a) === JSON.stringify(b);
    } catch {
      return false;
    }
  }
  return false;
}
