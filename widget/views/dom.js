// exformer widget: tiny DOM helpers shared by the views.

/**
 * Create an element. attrs: "class", "text", "style" (object), "on:<event>" handlers (given the
 * app's AbortSignal via `signal`), "dataset" (object), booleans, everything else as attributes.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  const signal = attrs.signal;
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false || k === "signal") continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = v;
    else if (k === "style") {
      for (const [sk, sv] of Object.entries(v)) {
        if (sk.startsWith("--")) el.style.setProperty(sk, sv);
        else el.style[/** @type {any} */ (sk)] = sv;
      }
    }
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on:")) el.addEventListener(k.slice(3), v, signal ? { signal } : undefined);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return /** @type {HTMLElement} */ (el);
}

/**
 * Size a canvas for crisp drawing at the device pixel ratio; returns the 2D context scaled so that
 * drawing uses CSS pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {number} w CSS px
 * @param {number} hgt CSS px
 */
export function fitCanvas(canvas, w, hgt) {
  const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  const W = Math.max(1, Math.round(w * dpr));
  const H = Math.max(1, Math.round(hgt * dpr));
  if (canvas.width !== W) canvas.width = W;
  if (canvas.height !== H) canvas.height = H;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hgt}px`;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, dpr, W, H };
}

/**
 * Segmented control (radio group of buttons).
 * @param {{label: string, options: {value: string, label: string, title?: string}[], onChange: (v: string) => void, signal?: AbortSignal}} o
 */
export function segmented(o) {
  const group = h("div", { class: "xf-seg", role: "radiogroup", "aria-label": o.label });
  /** @type {Map<string, HTMLElement>} */
  const buttons = new Map();
  for (const opt of o.options) {
    const b = h("button", {
      type: "button",
      class: "xf-seg-btn",
      role: "radio",
      "aria-checked": "false",
      title: opt.title,
      text: opt.label,
      dataset: { value: opt.value },
      signal: o.signal,
      "on:click": () => o.onChange(opt.value),
    });
    buttons.set(opt.value, b);
    group.append(b);
  }
  return {
    el: group,
    /** @param {string} v */
    set(v) {
      for (const [k, b] of buttons) {
        const on = k === v;
        b.classList.toggle("is-on", on);
        b.setAttribute("aria-checked", String(on));
      }
    },
    /** @param {string} v @param {boolean} show */
    show(v, show) {
      const b = buttons.get(v);
      if (b) b.hidden = !show;
    },
  };
}

/** Replace the children of `el`. @param {Element} el @param {...Node} kids */
export function replaceKids(el, ...kids) {
  el.replaceChildren(...kids);
}
