// exformer widget: head view. Two token columns (left = queries / "from", right = keys / "to")
// joined by curves whose opacity is the attention weight, one colour per head; head boxes above
// (thumbnails from `thumbs`) select heads.
//
// Drawn for the viewport only: token rows exist in the DOM while they are on screen (plus a margin),
// the canvas is the height of the viewport and follows the scroll, and each visible query draws its
// strongest edges (the "Edges" control). A hovered or pinned token draws all of its edges.

import { h, fitCanvas } from "./dom.js";
import { thumbAt } from "../logic/buffers.js";
import { selectedHeads, toggleHead } from "../logic/matrices.js";
import { bucketEdges, bucketRows, curve, EDGE_LABEL } from "../logic/edges.js";
import { headColourFor, parseColour } from "../logic/colour.js";
import { displayToken, tokenAriaLabel } from "../logic/tokens.js";

const ROW = 22; // px per token row
const PAD = 6; // vertical padding inside the columns
const OVERSCAN = 12; // rows rendered beyond each edge of the viewport

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

  /** rendered rows: compact index -> its two token elements */
  /** @type {Map<number, {from: HTMLElement, to: HTMLElement}>} */
  let rows = new Map();
  let tokenKey = "";
  let boxKey = "";
  /** @type {Int32Array} */
  let index = new Int32Array(0);
  /** original -> compact */
  let compactOf = new Map();
  /** the row each column keeps tabbable (roving tabindex), compact */
  const tabRow = { from: 0, to: 0 };
  /** weights of the focused token over the other column (compact), or null */
  /** @type {{side: "from"|"to", w: Float32Array, n: number}|null} */
  let focusW = null;

  const colTop = () => colFrom.offsetTop;
  const totalHeight = () => PAD * 2 + index.length * ROW;

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
        tabindex: a === tabRow[side] ? "0" : "-1",
        "aria-pressed": String(!!(t.masked || t.knocked_out)),
        "aria-label": tokenAriaLabel(t, i),
        title: `#${i} ${JSON.stringify(String(t.text ?? ""))}`,
        style: { top: `${PAD + a * ROW}px` },
        dataset: { i: String(i), a: String(a), side },
      },
      ...parts,
    );
  }

  /** Rows [first, last] (compact) inside the viewport now. */
  function visibleRows() {
    const top = scroller.scrollTop - colTop() - PAD;
    const vh = scroller.clientHeight || 640;
    return [Math.max(0, Math.floor(top / ROW)), Math.min(index.length - 1, Math.ceil((top + vh) / ROW))];
  }

  /** Adds the rows that came into view, removes those that left. */
  function renderRows() {
    // the viewport plus a margin (and, below, the rows holding the tab stops)
    const [first, last] = visibleRows();
    const lo = Math.max(0, first - OVERSCAN);
    const hi = Math.min(index.length - 1, last + OVERSCAN);
    const keep = new Set([tabRow.from, tabRow.to]);
    for (const [a, r] of rows) {
      if ((a < lo || a > hi) && !keep.has(a)) {
        r.from.remove();
        r.to.remove();
        rows.delete(a);
      }
    }
    const toks = app.tokens;
    const pinned = compactOf.get(app.get("focus"));
    /** @type {HTMLElement[]} */
    const addF = [];
    /** @type {HTMLElement[]} */
    const addT = [];
    const add = (/** @type {number} */ a) => {
      if (a < 0 || a >= index.length || rows.has(a)) return;
      const i = index[a];
      const r = { from: tokenEl(toks[i], i, a, "from"), to: tokenEl(toks[i], i, a, "to") };
      rows.set(a, r);
      addF.push(r.from);
      addT.push(r.to);
    };
    for (let a = lo; a <= hi; a++) add(a);
    for (const a of keep) add(a);
    colFrom.append(...addF);
    colTo.append(...addT);
    // marks that depend on the focus
    for (const [a, r] of rows) {
      for (const side of /** @type {const} */ (["from", "to"])) {
        const el = r[side];
        el.classList.toggle("is-pinned", a === pinned && app.pinSide === side);
        const other = focusW && focusW.side !== side;
        if (other) el.style.setProperty("--w", String(Math.min(1, focusW.w[a] / focusW.n)));
        else el.style.removeProperty("--w");
        el.classList.toggle("is-focus", !!focusW && focusW.side === side && a === focusW.focus);
      }
    }
  }

  function rebuildTokens() {
    // Keyboard users keep their place: if a token had focus, the rebuilt one gets it back.
    const active = /** @type {HTMLElement|null} */ (document.activeElement);
    const hadFocus = active && (colFrom.contains(active) || colTo.contains(active)) ? active.closest(".xf-tok") : null;
    const focusI = hadFocus ? Number(hadFocus.dataset.i) : null;
    const focusSide = hadFocus ? /** @type {"from"|"to"} */ (hadFocus.dataset.side) : null;
    const tokens = app.tokens;
    const vd = app.viewData();
    index = vd ? vd.index : Int32Array.from(tokens.map((_, i) => i));
    compactOf = new Map();
    index.forEach((orig, a) => compactOf.set(orig, a));
    const H = `${totalHeight()}px`;
    colFrom.style.height = H;
    colTo.style.height = H;
    mid.style.height = H;
    colFrom.replaceChildren();
    colTo.replaceChildren();
    rows = new Map();
    tabRow.from = Math.min(tabRow.from, Math.max(0, index.length - 1));
    tabRow.to = Math.min(tabRow.to, Math.max(0, index.length - 1));
    renderRows();
    if (focusI !== null && focusSide) {
      const a = compactOf.get(focusI);
      if (a != null) focusRow(focusSide, a, false);
    }
  }

  /**
   * Moves the keyboard focus (and the column's tab stop) to row a, scrolling it into view.
   * @param {"from"|"to"} side @param {number} a @param {boolean} [scroll]
   */
  function focusRow(side, a, scroll = true) {
    const K = index.length;
    if (!(K > 0)) return;
    a = Math.max(0, Math.min(K - 1, a));
    const prev = rows.get(tabRow[side]);
    if (prev) prev[side].tabIndex = -1;
    tabRow[side] = a;
    if (scroll) scrollToRow(a);
    renderRows();
    const r = rows.get(a);
    if (r) {
      r[side].tabIndex = 0;
      r[side].focus({ preventScroll: true });
    }
  }

  /** Scrolls the columns so that row a (compact) is in view. @param {number} a */
  function scrollToRow(a) {
    const y = colTop() + PAD + a * ROW;
    const vh = scroller.clientHeight || 640;
    if (y < scroller.scrollTop + ROW) scroller.scrollTop = Math.max(0, y - ROW * 2);
    else if (y + ROW > scroller.scrollTop + vh - ROW) scroller.scrollTop = y + ROW * 3 - vh;
  }

  /** @param {Event} e */
  const tokOf = (e) => /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest?.(".xf-tok"));

  let scrollFrame = 0;
  scroller.addEventListener("scroll", () => {
    if (scrollFrame) return;
    const raf = globalThis.requestAnimationFrame || ((cb) => setTimeout(cb, 16));
    scrollFrame = raf(() => {
      scrollFrame = 0;
      draw();
    });
  }, { signal, passive: true });

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
      const side = /** @type {"from"|"to"} */ (t.dataset.side);
      const K = index.length;
      const page = Math.max(1, Math.floor((scroller.clientHeight || 640) / ROW) - 2);
      /** @type {[("from"|"to"), number]|null} */
      let target = null;
      switch (e.key) {
        case "Enter":
        case " ":
          e.preventDefault();
          app.toggleToken(Number(t.dataset.i));
          return;
        case "ArrowDown": target = [side, a + 1]; break;
        case "ArrowUp": target = [side, a - 1]; break;
        case "PageDown": target = [side, a + page]; break;
        case "PageUp": target = [side, a - page]; break;
        case "Home": target = [side, 0]; break;
        case "End": target = [side, K - 1]; break;
        case "ArrowRight": if (side === "from") target = ["to", a]; break;
        case "ArrowLeft": if (side === "to") target = ["from", a]; break;
        default:
          return;
      }
      if (target) {
        e.preventDefault();
        focusRow(target[0], target[1]);
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
    const t0 = performance.now();
    const vd = app.viewData();
    const K = index.length;
    const width = Math.max(60, mid.clientWidth || 240);
    // the canvas covers the viewport only, and moves with the scroll
    const vh = Math.min(totalHeight(), scroller.clientHeight || totalHeight());
    const top = Math.max(0, Math.min(totalHeight() - vh, scroller.scrollTop - colTop()));
    canvas.style.top = `${top}px`;
    const { ctx } = fitCanvas(canvas, width, vh);
    ctx.clearRect(0, 0, width, vh);
    focusW = null;
    let drawn = 0;
    if (vd) {
      const af = app.activeFocus;
      const fa = af ? compactOf.get(af.index) ?? -1 : -1;
      const side = af ? af.side : "from";
      const accent = getComputedStyle(app.root).getPropertyValue("--xf-accent").trim() || "#2f6fde";
      const x1 = 2;
      const x2 = width - 2;
      const y = (/** @type {number} */ a) => PAD + a * ROW + ROW / 2 - top;
      const edgesMode = app.edges;
      // queries whose edges are drawn: the visible ones (a focused token draws all of its own)
      const [first, last] = visibleRows();
      const qrows = [];
      for (let a = Math.max(0, first - 1); a <= Math.min(K - 1, last + 1); a++) qrows.push(a);
      ctx.lineCap = "round";
      ctx.lineWidth = fa >= 0 ? 2.2 : vd.mats.length === 1 ? 2 : 1.6;
      for (const { head, mat } of vd.mats) {
        ctx.strokeStyle = head == null ? accent : headColourFor(head, app.dark);
        const groups = fa >= 0 ? bucketEdges(mat, K, { focus: fa, side, levels: 24 }) : bucketRows(mat, K, qrows, edgesMode, 24);
        for (const { alpha, edges } of groups) {
          // opacity follows the weight, with a floor so every edge above the threshold stays visible
          ctx.globalAlpha = Math.min(1, 0.1 + 0.9 * alpha);
          ctx.beginPath();
          for (let e = 0; e < edges.length; e += 2) {
            const c = curve(x1, y(edges[e]), x2, y(edges[e + 1]));
            ctx.moveTo(c.x1, c.y1);
            ctx.bezierCurveTo(c.c1x, c.c1y, c.c2x, c.c2y, c.x2, c.y2);
          }
          ctx.stroke();
          drawn += edges.length / 2;
        }
      }
      ctx.globalAlpha = 1;
      if (fa >= 0) {
        // weights of the focused token, averaged over the shown matrices
        const w = new Float32Array(K);
        for (const { mat } of vd.mats) {
          for (let k = 0; k < K; k++) w[k] += side === "to" ? mat[k * K + fa] : mat[fa * K + k];
        }
        focusW = { side, w, n: vd.mats.length, focus: fa };
      }
    }
    renderRows();
    el.dataset.edges = String(drawn);
    el.dataset.drawMs = (performance.now() - t0).toFixed(1);
  }

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const all = d.has("all");
      const mode = app.mode;
      const edgeNote = app.edges === "all" ? "" : ` · each query shows its ${EDGE_LABEL[app.edges] || app.edges}`;
      hint.textContent = app.isStatic
        ? `Hover a token to isolate its attention · click to pin it · Esc to unpin${edgeNote}`
        : `Hover a token to isolate its attention · click to pin · double-click or Enter to ${mode === "mask" ? "mask that token" : "knock that token out"}${edgeNote}`;

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
    /** Scrolls to token i (original index). @param {number} i */
    reveal(i) {
      // Scrolls only: the keyboard focus stays where it is (the find box), so Enter finds the next.
      const a = compactOf.get(i);
      if (a == null) return;
      scrollToRow(a);
      draw();
    },
    destroy() {
      if (scrollFrame) (globalThis.cancelAnimationFrame || clearTimeout)(scrollFrame);
    },
  };
}
