// exformer widget: head view. Two token columns (left = queries / "from", right = keys / "to")
// joined by curves whose opacity is the attention weight, one colour per head; head boxes above
// (thumbnails from `thumbs`) select heads.

import { h, fitCanvas } from "./dom.js";
import {
  bucketEdges,
  curve,
  displayToken,
  tokenAriaLabel,
  headColourFor,
  parseColour,
  selectedHeads,
  toggleHead,
  thumbAt,
} from "../logic.js";

const ROW = 22; // px per token row
const PAD = 6; // vertical padding inside the columns

/** @param {any} app */
export function createHeadView(app) {
  const signal = app.signal;

  const boxes = h("div", { class: "xf-headboxes", role: "group", "aria-label": "Heads" });
  const allBtn = h("button", {
    type: "button", class: "xf-btn xf-btn-small", text: "all",
    title: "Select every head", signal, "on:click": () => app.setState("heads", []),
  });
  const hint = h("div", { class: "xf-hint" });
  const headBar = h("div", { class: "xf-headbar" }, h("span", { class: "xf-label", text: "Heads" }), boxes, allBtn);

  const colFrom = h("div", { class: "xf-col xf-col-from", role: "group", "aria-label": "Queries (attending from)" });
  const colTo = h("div", { class: "xf-col xf-col-to", role: "group", "aria-label": "Keys (attended to)" });
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "xf-curves", "aria-hidden": "true" }));
  const mid = h("div", { class: "xf-mid" }, canvas);
  const grid = h(
    "div",
    { class: "xf-columns" },
    h("div", { class: "xf-colhead xf-right", text: "from (query)" }),
    h("div", { class: "xf-colhead" }),
    h("div", { class: "xf-colhead", text: "to (key)" }),
    colFrom,
    mid,
    colTo,
  );
  const scroller = h("div", { class: "xf-scroll" }, grid);
  const el = h("div", { class: "xf-headview" }, headBar, hint, scroller);

  /** @type {HTMLElement[]} */
  let fromEls = [];
  /** @type {HTMLElement[]} */
  let toEls = [];
  let tokenKey = "";
  let boxKey = "";
  /** @type {Int32Array} */
  let index = new Int32Array(0);
  /** original -> compact */
  let compactOf = new Map();

  // ---- tokens -------------------------------------------------------------------------------

  /**
   * @param {any} t
   * @param {number} i original index
   * @param {number} a compact index
   * @param {"from"|"to"} side
   */
  function tokenEl(t, i, a, side) {
    const cls = ["xf-tok"];
    if (t.special) cls.push("is-special");
    if (t.masked) cls.push("is-masked");
    if (t.knocked_out) cls.push("is-knocked");
    if (t.segment === 1) cls.push("is-segb");
    if (t.pending) cls.push("is-pending");
    const badge = t.masked
      ? h("span", { class: "xf-badge", text: "MASK" })
      : t.knocked_out
        ? h("span", { class: "xf-badge xf-badge-ko", text: "KO", title: "knocked out" })
        : null;
    const text = h("span", { class: "xf-tok-text", text: displayToken(t.text) });
    const parts = side === "from" ? [badge, text] : [text, badge];
    return h(
      "div",
      {
        class: cls.join(" "),
        role: "button",
        tabindex: a === 0 ? "0" : "-1",
        "aria-pressed": String(!!(t.masked || t.knocked_out)),
        "aria-label": tokenAriaLabel(t, i),
        title: `#${i} ${JSON.stringify(String(t.text ?? ""))}`,
        dataset: { i: String(i), a: String(a), side },
      },
      ...parts,
    );
  }

  function rebuildTokens() {
    // Keyboard users keep their place: if a token had focus, the rebuilt one gets it back.
    const active = /** @type {HTMLElement|null} */ (document.activeElement);
    const hadFocus = active && (colFrom.contains(active) || colTo.contains(active)) ? active.closest(".xf-tok") : null;
    const focusI = hadFocus ? hadFocus.dataset.i : null;
    const focusSide = hadFocus ? hadFocus.dataset.side : null;
    const tokens = app.tokens;
    const vd = app.viewData();
    index = vd ? vd.index : Int32Array.from(tokens.map((_, i) => i));
    compactOf = new Map();
    index.forEach((orig, a) => compactOf.set(orig, a));
    fromEls = [];
    toEls = [];
    for (let a = 0; a < index.length; a++) {
      const i = index[a];
      fromEls.push(tokenEl(tokens[i], i, a, "from"));
      toEls.push(tokenEl(tokens[i], i, a, "to"));
    }
    colFrom.replaceChildren(...fromEls);
    colTo.replaceChildren(...toEls);
    if (focusI !== null) {
      const els = focusSide === "to" ? toEls : fromEls;
      const target = els.find((el) => el.dataset.i === focusI);
      if (target) {
        for (const el of els) el.setAttribute("tabindex", el === target ? "0" : "-1");
        target.focus({ preventScroll: true });
      }
    }
  }

  /** @param {Event} e */
  const tokOf = (e) => /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest?.(".xf-tok"));

  for (const col of [colFrom, colTo]) {
    col.addEventListener("pointerover", (e) => {
      const t = tokOf(e);
      if (t) app.setHover(Number(t.dataset.i), /** @type {any} */ (t.dataset.side));
    }, { signal });
    col.addEventListener("pointerleave", () => app.setHover(-1, "from"), { signal });
    col.addEventListener("click", (e) => {
      const t = tokOf(e);
      if (t) app.pin(Number(t.dataset.i), /** @type {any} */ (t.dataset.side));
    }, { signal });
    col.addEventListener("dblclick", (e) => {
      const t = tokOf(e);
      if (t) {
        e.preventDefault();
        app.toggleToken(Number(t.dataset.i));
      }
    }, { signal });
    col.addEventListener("focusin", (e) => {
      const t = tokOf(e);
      if (t) app.setHover(Number(t.dataset.i), /** @type {any} */ (t.dataset.side));
    }, { signal });
    col.addEventListener("focusout", (e) => {
      const to = /** @type {HTMLElement|null} */ (e.relatedTarget);
      if (!to || !to.closest?.(".xf-tok")) app.setHover(-1, "from");
    }, { signal });
    col.addEventListener("keydown", (e) => {
      const t = tokOf(e);
      if (!t) return;
      const a = Number(t.dataset.a);
      const side = t.dataset.side;
      const list = side === "from" ? fromEls : toEls;
      let target = null;
      switch (e.key) {
        case "Enter":
        case " ":
          e.preventDefault();
          app.toggleToken(Number(t.dataset.i));
          return;
        case "ArrowDown":
          target = list[Math.min(list.length - 1, a + 1)];
          break;
        case "ArrowUp":
          target = list[Math.max(0, a - 1)];
          break;
        case "Home":
          target = list[0];
          break;
        case "End":
          target = list[list.length - 1];
          break;
        case "ArrowRight":
          if (side === "from") target = toEls[a];
          break;
        case "ArrowLeft":
          if (side === "to") target = fromEls[a];
          break;
        default:
          return;
      }
      if (target) {
        e.preventDefault();
        const tl = target.dataset.side === "from" ? fromEls : toEls;
        for (const x of tl) x.tabIndex = -1;
        target.tabIndex = 0;
        target.focus();
      }
    }, { signal });
  }

  // ---- head boxes ---------------------------------------------------------------------------

  /** @type {HTMLElement[]} */
  let boxEls = [];

  function rebuildBoxes() {
    const nH = app.nHeads;
    const S = app.get("thumb_size") | 0;
    const layer = app.get("layer") | 0;
    const bg = parseColour(getComputedStyle(app.root).backgroundColor) || [255, 255, 255];
    boxEls = [];
    for (let hd = 0; hd < nH; hd++) {
      const c = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "xf-thumb", width: "1", height: "1" }));
      const b = h(
        "button",
        {
          type: "button",
          class: "xf-headbox",
          style: { "--xf-head": headColourFor(hd, app.dark) },
          title: `Head ${hd}: click to toggle, double-click to show only this head`,
          "aria-label": `head ${hd}`,
          "aria-pressed": "true",
          dataset: { h: String(hd) },
          signal,
          "on:click": () => app.setState("heads", toggleHead(app.get("heads") || [], hd, nH)),
          "on:dblclick": () => app.setState("heads", [hd]),
        },
        c,
        h("span", { class: "xf-headbox-n", text: String(hd) }),
      );
      boxEls.push(b);
      drawThumb(c, hd, S, layer, bg);
    }
    boxes.replaceChildren(...boxEls);
  }

  /**
   * @param {HTMLCanvasElement} c
   * @param {number} hd
   * @param {number} S
   * @param {number} layer
   * @param {number[]} bg
   */
  function drawThumb(c, hd, S, layer, bg) {
    const size = 30;
    const { ctx } = fitCanvas(c, size, size);
    ctx.fillStyle = `rgb(${bg.join(",")})`;
    ctx.fillRect(0, 0, size, size);
    if (!app.thumbs || !(S > 0)) return;
    let th;
    try {
      th = thumbAt(app.thumbs, app.nHeads, S, layer, hd);
    } catch {
      return;
    }
    const col = parseColour(headColourFor(hd, app.dark)) || [0, 0, 0];
    const off = document.createElement("canvas");
    off.width = S;
    off.height = S;
    const octx = /** @type {CanvasRenderingContext2D} */ (off.getContext("2d"));
    const img = octx.createImageData(S, S);
    for (let p = 0; p < S * S; p++) {
      const v = Math.sqrt(th[p] / 255);
      for (let k = 0; k < 3; k++) img.data[p * 4 + k] = Math.round(bg[k] + (col[k] - bg[k]) * v);
      img.data[p * 4 + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, size, size);
  }

  // ---- curves -------------------------------------------------------------------------------

  function draw() {
    const vd = app.viewData();
    const K = index.length;
    const height = PAD * 2 + K * ROW;
    const width = Math.max(60, mid.clientWidth || 240);
    const { ctx } = fitCanvas(canvas, width, height);
    ctx.clearRect(0, 0, width, height);
    // token highlight by the focused token's weights
    for (const x of fromEls) x.style.removeProperty("--w"), x.classList.remove("is-focus", "is-pinned");
    for (const x of toEls) x.style.removeProperty("--w"), x.classList.remove("is-focus", "is-pinned");
    const pinned = app.get("focus");
    const pa = compactOf.get(pinned);
    if (pa != null) (app.pinSide === "to" ? toEls : fromEls)[pa]?.classList.add("is-pinned");
    if (!vd) return;

    const af = app.activeFocus;
    const fa = af ? compactOf.get(af.index) ?? -1 : -1;
    const side = af ? af.side : "from";
    const accent = getComputedStyle(app.root).getPropertyValue("--xf-accent").trim() || "#2f6fde";
    const x1 = 2;
    const x2 = width - 2;
    const y = (a) => PAD + a * ROW + ROW / 2;
    ctx.lineCap = "round";
    const focused = fa >= 0;
    ctx.lineWidth = focused ? 2.2 : vd.mats.length === 1 ? 2 : 1.6;
    for (const { head, mat } of vd.mats) {
      ctx.strokeStyle = head == null ? accent : headColourFor(head, app.dark);
      for (const { alpha, edges } of bucketEdges(mat, K, { focus: fa, side, levels: 24 })) {
        // opacity follows the weight, with a floor so every edge above the threshold stays visible
        ctx.globalAlpha = Math.min(1, 0.1 + 0.9 * alpha);
        ctx.beginPath();
        for (let e = 0; e < edges.length; e += 2) {
          const c = curve(x1, y(edges[e]), x2, y(edges[e + 1]));
          ctx.moveTo(c.x1, c.y1);
          ctx.bezierCurveTo(c.c1x, c.c1y, c.c2x, c.c2y, c.x2, c.y2);
        }
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;

    if (fa >= 0) {
      // weights of the focused token, averaged over the shown matrices
      const w = new Float32Array(K);
      for (const { mat } of vd.mats) {
        for (let k = 0; k < K; k++) w[k] += side === "to" ? mat[k * K + fa] : mat[fa * K + k];
      }
      const n = vd.mats.length;
      const others = side === "to" ? fromEls : toEls;
      (side === "to" ? toEls : fromEls)[fa]?.classList.add("is-focus");
      others.forEach((x, k) => x.style.setProperty("--w", String(Math.min(1, w[k] / n))));
    }
  }

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const all = d.has("all");
      const mode = app.mode;
      hint.textContent = app.isStatic
        ? "Hover a token to isolate its attention · click to pin it · Esc to unpin"
        : `Hover a token to isolate its attention · click to pin · double-click or Enter to ${mode === "mask" ? "mask" : "knock out"} it`;

      const toks = app.tokens;
      const tk = JSON.stringify([app.get("hide_special"), toks.map((t) => [t.text, t.special, t.masked, t.knocked_out, t.segment, !!t.pending])]);
      if (tk !== tokenKey || all) {
        tokenKey = tk;
        rebuildTokens();
      }
      const bk = JSON.stringify([app.nHeads, app.get("layer"), app.get("thumb_size"), app.dark]);
      if (bk !== boxKey || all || d.has("theme") || d.has("thumbs")) {
        boxKey = bk;
        rebuildBoxes();
      }
      const sel = new Set(selectedHeads(app.get("heads"), app.nHeads));
      boxEls.forEach((b, hd) => {
        const on = sel.has(hd);
        b.classList.toggle("is-on", on);
        b.setAttribute("aria-pressed", String(on));
      });
      draw();
    },
    destroy() {},
  };
}
