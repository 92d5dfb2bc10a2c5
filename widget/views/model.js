// exformer widget: model view. Every layer × head thumbnail (from `thumbs`) on one canvas;
// clicking one selects that layer and head and opens the head view.

import { h, fitCanvas } from "./dom.js";
import { selectedHeads } from "../logic/matrices.js";
import { colourise, headColourFor } from "../logic/colour.js";

const GAP = 4;
const LEFT = 34;
const TOP = 20;

/** @param {any} app */
export function createModelView(app) {
  const signal = app.signal;
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", {
    class: "xf-grid",
    tabindex: "0",
    role: "img",
    "aria-label": "Every layer and head. Arrow keys move, Enter opens the head.",
  }));
  const tip = h("div", { class: "xf-tooltip", hidden: true });
  const note = h("div", { class: "xf-hint" });
  const el = h("div", { class: "xf-modelview" }, note, h("div", { class: "xf-grid-stage" }, canvas, tip));

  let g = { cell: 0, nL: 0, nH: 0, w: 0, hgt: 0 };
  let cursor = { l: -1, h: -1 };
  /** @type {HTMLCanvasElement|null} */
  let atlas = null;
  let atlasKey = "";

  function buildAtlas() {
    const S = app.get("thumb_size") | 0;
    const nL = app.nLayers;
    const nH = app.nHeads;
    const key = JSON.stringify([S, nL, nH, app.dark, app.thumbs ? app.thumbs.length : 0, app.get("run_id")]);
    if (key === atlasKey && atlas) return atlas;
    atlasKey = key;
    atlas = null;
    const th = app.thumbs;
    if (!th || !(S > 0) || th.length !== nL * nH * S * S) return null;
    const c = document.createElement("canvas");
    c.width = nH * S;
    c.height = nL * S;
    const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
    const img = ctx.createImageData(nH * S, nL * S);
    const vals = new Float32Array(S * S);
    const px = new Uint8ClampedArray(S * S * 4);
    for (let l = 0; l < nL; l++) {
      for (let hd = 0; hd < nH; hd++) {
        const off = (l * nH + hd) * S * S;
        for (let p = 0; p < S * S; p++) vals[p] = th[off + p] / 255;
        colourise(vals, app.ramp, px, 0.5);
        for (let y = 0; y < S; y++) {
          const dst = ((l * S + y) * nH * S + hd * S) * 4;
          img.data.set(px.subarray(y * S * 4, (y + 1) * S * 4), dst);
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    atlas = c;
    return c;
  }

  function paint() {
    const nL = app.nLayers;
    const nH = app.nHeads;
    const S = app.get("thumb_size") | 0;
    const avail = Math.max(240, el.clientWidth || 700);
    const cell = Math.max(16, Math.min(56, Math.floor((avail - LEFT - 8) / Math.max(1, nH)) - GAP));
    const w = LEFT + nH * (cell + GAP) + 4;
    const hgt = TOP + nL * (cell + GAP) + 4;
    g = { cell, nL, nH, w, hgt };
    note.textContent = S > 0
      ? `Each tile is one head's attention pattern (rows = from, columns = to). Click a tile to open that layer and head in the ${app.pooledSide ? "matrix view (this input is too long for curves)" : "head view"}.`
      : "Computing the thumbnails of every layer and head (long inputs compute them when this view opens)…";
    const { ctx } = fitCanvas(canvas, w, hgt);
    const css = getComputedStyle(app.root);
    const fg = css.color;
    const muted = css.getPropertyValue("--xf-muted").trim() || fg;
    const accent = css.getPropertyValue("--xf-accent").trim() || "#2f6fde";
    const border = css.getPropertyValue("--xf-border").trim() || "#ddd";
    ctx.clearRect(0, 0, w, hgt);
    const at = buildAtlas();
    ctx.font = `11px ${css.getPropertyValue("--xf-font").trim() || "sans-serif"}`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "center";
    for (let hd = 0; hd < nH; hd++) {
      ctx.fillStyle = headColourFor(hd, app.dark);
      ctx.fillRect(LEFT + hd * (cell + GAP), TOP - 6, cell, 3);
      ctx.fillStyle = muted;
      ctx.fillText(String(hd), LEFT + hd * (cell + GAP) + cell / 2, TOP - 13);
    }
    const layer = app.get("layer") | 0;
    const sel = new Set(selectedHeads(app.get("heads"), nH));
    ctx.textAlign = "right";
    for (let l = 0; l < nL; l++) {
      const y = TOP + l * (cell + GAP);
      ctx.fillStyle = l === layer ? accent : muted;
      ctx.font = `${l === layer ? "600 " : ""}11px ${css.getPropertyValue("--xf-font").trim() || "sans-serif"}`;
      ctx.fillText(`L${l}`, LEFT - 6, y + cell / 2);
      for (let hd = 0; hd < nH; hd++) {
        const x = LEFT + hd * (cell + GAP);
        if (at) {
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(at, hd * S, l * S, S, S, x, y, cell, cell);
        } else {
          ctx.fillStyle = border;
          ctx.fillRect(x, y, cell, cell);
        }
        ctx.strokeStyle = border;
        ctx.lineWidth = 1;
        ctx.strokeRect(x - 0.5, y - 0.5, cell + 1, cell + 1);
      }
    }
    // current layer's selected heads
    ctx.strokeStyle = accent;
    ctx.lineWidth = 2;
    for (const hd of sel) {
      if (sel.size === nH) break;
      ctx.strokeRect(LEFT + hd * (cell + GAP) - 1, TOP + layer * (cell + GAP) - 1, cell + 2, cell + 2);
    }
    if (sel.size === nH) {
      ctx.strokeRect(LEFT - 1, TOP + layer * (cell + GAP) - 1, nH * (cell + GAP) - GAP + 2, cell + 2);
    }
    if (cursor.l >= 0) {
      ctx.strokeStyle = fg;
      ctx.lineWidth = 2;
      ctx.strokeRect(LEFT + cursor.h * (cell + GAP) - 1, TOP + cursor.l * (cell + GAP) - 1, cell + 2, cell + 2);
    }
  }

  /** @param {MouseEvent} e */
  const cellAt = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left - LEFT;
    const y = e.clientY - r.top - TOP;
    if (x < 0 || y < 0) return null;
    const hd = Math.floor(x / (g.cell + GAP));
    const l = Math.floor(y / (g.cell + GAP));
    if (hd >= g.nH || l >= g.nL) return null;
    return { l, h: hd };
  };

  /** @param {number} l @param {number} hd */
  const open = (l, hd) => {
    app.setMany({ layer: l, heads: [hd], view: app.pooledSide ? "matrix" : "head" });
  };

  /** @param {number} l @param {number} hd */
  const showTip = (l, hd) => {
    if (l < 0) {
      tip.hidden = true;
      return;
    }
    tip.textContent = `Layer ${l} · head ${hd}`;
    tip.hidden = false;
    tip.style.left = `${LEFT + (hd + 1) * (g.cell + GAP)}px`;
    tip.style.top = `${TOP + (l + 1) * (g.cell + GAP)}px`;
  };

  canvas.addEventListener("pointermove", (e) => {
    const c = cellAt(e);
    const next = c || { l: -1, h: -1 };
    if (next.l !== cursor.l || next.h !== cursor.h) {
      cursor = next;
      showTip(cursor.l, cursor.h);
      paint();
    }
    canvas.style.cursor = c ? "pointer" : "default";
  }, { signal });
  canvas.addEventListener("pointerleave", () => {
    cursor = { l: -1, h: -1 };
    tip.hidden = true;
    paint();
  }, { signal });
  canvas.addEventListener("click", (e) => {
    const c = cellAt(e);
    if (c) open(c.l, c.h);
  }, { signal });
  canvas.addEventListener("keydown", (e) => {
    let { l, h: hd } = cursor;
    if (l < 0) {
      l = app.get("layer") | 0;
      hd = 0;
    }
    switch (e.key) {
      case "ArrowUp": l = Math.max(0, l - 1); break;
      case "ArrowDown": l = Math.min(g.nL - 1, l + 1); break;
      case "ArrowLeft": hd = Math.max(0, hd - 1); break;
      case "ArrowRight": hd = Math.min(g.nH - 1, hd + 1); break;
      case "Enter":
      case " ":
        e.preventDefault();
        open(l, hd);
        return;
      default:
        return;
    }
    e.preventDefault();
    cursor = { l, h: hd };
    showTip(l, hd);
    paint();
  }, { signal });

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      if (d.size === 1 && d.has("hover")) return;
      paint();
    },
    destroy() {},
  };
}
