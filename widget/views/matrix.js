// exformer widget: matrix view. Canvas heatmap of the selected layer (selected heads combined),
// painted through ImageData at device resolution; long inputs are max-pooled down to the canvas
// size, so nothing here is per cell DOM and T = 4096 stays responsive.

import { h, fitCanvas } from "./dom.js";
import { selectedHeads, zoomAround, ZOOM_TOKENS } from "../logic/matrices.js";
import { resampleMatrix } from "../logic/resample.js";
import { colourise, parseColour } from "../logic/colour.js";
import { displayToken } from "../logic/tokens.js";

const LABEL_MAX_TOKENS = 80; // show token labels on the axes up to this many tokens

/** @param {any} app */
export function createMatrixView(app) {
  const signal = app.signal;
  const caption = h("span", { class: "xf-matrix-caption" });
  const boost = /** @type {HTMLInputElement} */ (h("input", {
    type: "checkbox", signal, "on:change": () => app.invalidate("boost"),
  }));
  boost.checked = true; // square-root scale by default: mean attention is mostly faint
  const legend = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "xf-legend", "aria-hidden": "true" }));
  const legendMax = h("span", { class: "xf-legend-label" });
  /** @param {string} text @param {string} title @param {() => void} on */
  const zbtn = (text, title, on) => h("button", { type: "button", class: "xf-btn xf-zoom-btn", text, title, "aria-label": title, signal, "on:click": on });
  const pan = (/** @type {number} */ dr, /** @type {number} */ dc) => {
    const z = app.get("zoom");
    if (!z) return;
    const n = z.n | 0;
    const T = app.T;
    const cl = (/** @type {number} */ x) => Math.max(0, Math.min(T - n, x));
    app.setState("zoom", { r0: cl(z.r0 + dr * (n >> 1)), c0: cl(z.c0 + dc * (n >> 1)), n });
  };
  const zoomBar = h(
    "span",
    { class: "xf-zoom", hidden: true },
    zbtn("Overview", "Back to the whole input", () => app.setState("zoom", null)),
    zbtn("↑", "Earlier query rows", () => pan(-1, 0)),
    zbtn("↓", "Later query rows", () => pan(1, 0)),
    zbtn("←", "Earlier key columns", () => pan(0, -1)),
    zbtn("→", "Later key columns", () => pan(0, 1)),
  );
  const bar = h(
    "div",
    { class: "xf-matrix-bar" },
    caption,
    zoomBar,
    h("span", { class: "xf-spacer" }),
    h("label", { class: "xf-field xf-check", title: "Square-root colour scale: faint weights become visible" }, boost, h("span", { text: "Boost faint weights" })),
    h("span", { class: "xf-legend-wrap" }, h("span", { class: "xf-legend-label", text: "0" }), legend, legendMax),
  );
  const heat = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "xf-heat" }));
  const overlay = /** @type {HTMLCanvasElement} */ (h("canvas", {
    class: "xf-heat-overlay",
    tabindex: "0",
    role: "img",
    "aria-label": "Attention heatmap: rows are queries (from), columns are keys (to). Arrow keys move the cursor, Space pins the row's token, Enter knocks out (or masks) the column's token.",
  }));
  const tip = h("div", { class: "xf-tooltip", hidden: true });
  const stage = h("div", { class: "xf-matrix-stage" }, heat, overlay, tip);
  const el = h("div", { class: "xf-matrixview" }, bar, stage);

  /** geometry of the last paint */
  let g = { ml: 0, mt: 0, side: 0, K: 0, w: 0, hgt: 0 };
  let paintKey = "";
  /** @type {ImageData|null} */
  let cachedImg = null;
  /** @type {{K: number, index: Int32Array, colIndex: Int32Array, binEnd: Int32Array|null, tile: boolean, mat: Float32Array, vmax: number}|null} */
  let shown = null;
  /** keyboard / pointer cursor, compact coords */
  let cursor = { a: -1, b: -1 };

  function combined() {
    const comb = app.get("combine") === "sum" ? "sum" : "mean";
    const vd = app.tileData() || app.viewData({ combine: comb });
    if (!vd) return null;
    const mat = vd.mats[0].mat;
    let vmax = 1;
    if (comb === "sum" || vd.stretch) {
      vmax = 0;
      for (let i = 0; i < mat.length; i++) if (mat[i] > vmax) vmax = mat[i];
      vmax = vmax || 1;
    }
    return { K: vd.K, index: vd.index, colIndex: vd.colIndex || vd.index, binEnd: vd.binEnd || null, tile: !!vd.tile, mat, vmax };
  }

  function paint() {
    shown = combined();
    const avail = Math.max(200, stage.clientWidth || el.clientWidth || 600);
    const K = shown ? shown.K : 0;
    const labels = K > 0 && K <= LABEL_MAX_TOKENS && !shown?.binEnd;
    const toks = app.tokensRaw;
    let lab = 30;
    if (labels && shown) {
      let longest = 0;
      for (let a = 0; a < K; a++) {
        const t = toks[shown.index[a]];
        longest = Math.max(longest, Math.min(15, displayToken(t?.text).length) + (t?.masked ? 7 : t?.knocked_out ? 2 : 0));
      }
      lab = Math.min(120, 14 + longest * 7);
    }
    const ml = lab;
    const mt = lab;
    // small inputs get comfortable cells (≤ 28 px), long ones up to 640 px
    const side = Math.max(160, Math.min(640, avail - ml - 12, Math.max(240, K * 28)));
    const w = ml + side + 8;
    const hgt = mt + side + 8;
    g = { ml, mt, side, K, w, hgt };
    overlay.dataset.geom = `${ml},${mt},${side}`; // heatmap origin and side in CSS px (for headless checks)

    const heads = selectedHeads(app.get("heads"), app.nHeads);
    const comb = app.get("combine") === "sum" ? "sum" : "mean";
    const z = app.get("zoom");
    zoomBar.hidden = !z;
    const waiting = z && !(shown && shown.tile);
    caption.textContent = !shown
      ? "no attention"
      : shown.tile
      ? `Layer ${app.get("attn_layer")} · ${heads.length === 1 ? `head ${heads[0]}` : `${comb} of ${heads.length === app.nHeads ? "all" : heads.length} heads`} · queries #${shown.index[0]}–#${shown.index[K - 1]} × keys #${shown.colIndex[0]}–#${shown.colIndex[K - 1]} of ${app.T}, full resolution · double-click a cell to ${app.mode === "mask" ? "mask" : "knock out"} its key`
      : waiting
      ? `Loading tokens #${z.r0}–#${z.r0 + z.n - 1} at full resolution…`
      : `Layer ${app.get("attn_layer")} · ${heads.length === 1 ? `head ${heads[0]}` : `${comb} of ${heads.length === app.nHeads ? "all" : heads.length} heads`} · ${
          shown.binEnd ? `${app.T} tokens, max-pooled to ${K}×${K} by the kernel · click to zoom to ${ZOOM_TOKENS} tokens` : `${K}×${K}${K > side ? " (max-pooled)" : ""} · double-click a cell to ${app.mode === "mask" ? "mask" : "knock out"} its key`
        }`;

    const { ctx, dpr } = fitCanvas(heat, w, hgt);
    fitCanvas(overlay, w, hgt);
    const css = getComputedStyle(app.root);
    const fg = css.color;
    const muted = css.getPropertyValue("--xf-muted").trim() || fg;
    ctx.clearRect(0, 0, w, hgt);
    if (!shown || K === 0) return;

    // heatmap at device resolution
    const px = Math.max(1, Math.round(side * dpr));
    const gamma = boost.checked ? 0.5 : 1;
    const key = JSON.stringify([app.get("attn_layer"), app.get("run_id"), app.get("heads"), comb, app.get("hide_special"), app.get("pair_filter"), app.get("threshold"), px, gamma, app.dark, K, shown.tile ? [shown.index[0], shown.colIndex[0]] : 0]);
    if (key !== paintKey || !cachedImg || cachedImg.width !== px) {
      const vals = resampleMatrix(shown.mat, K, px, px, "max");
      if (shown.vmax !== 1) for (let i = 0; i < vals.length; i++) vals[i] /= shown.vmax;
      const img = ctx.createImageData(px, px);
      colourise(vals, app.ramp, img.data, gamma);
      cachedImg = img;
      paintKey = key;
    }
    ctx.putImageData(cachedImg, Math.round(ml * dpr), Math.round(mt * dpr));

    // grid lines between cells when cells are big enough
    const cell = side / K;
    if (cell >= 9) {
      const bg = parseColour(css.backgroundColor) || [255, 255, 255];
      ctx.strokeStyle = `rgba(${bg.join(",")},0.7)`;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let k = 1; k < K; k++) {
        const p = Math.round(k * cell) + 0.5;
        ctx.moveTo(ml + p, mt);
        ctx.lineTo(ml + p, mt + side);
        ctx.moveTo(ml, mt + p);
        ctx.lineTo(ml + side, mt + p);
      }
      ctx.stroke();
    }

    // axes
    ctx.fillStyle = muted;
    ctx.font = `11px ${css.getPropertyValue("--xf-mono").trim() || "monospace"}`;
    const maskC = css.getPropertyValue("--xf-mask").trim() || "#c2410c";
    const koC = css.getPropertyValue("--xf-ko").trim() || "#7c3aed";
    /** @param {any} t */
    const labelColour = (t) => (t?.masked ? maskC : t?.knocked_out ? koC : t?.special ? muted : fg);
    /** @param {any} t */
    const labelText = (t) => `${t?.masked ? "[MASK] " : t?.knocked_out ? "⊘ " : ""}${clip(displayToken(t?.text), 15)}`;
    if (labels) {
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      for (let a = 0; a < K; a++) {
        const t = toks[shown.index[a]];
        ctx.fillStyle = labelColour(t);
        ctx.fillText(labelText(t), ml - 5, mt + (a + 0.5) * cell);
      }
      ctx.save();
      ctx.translate(ml, mt - 5);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      for (let b = 0; b < K; b++) {
        const t = toks[shown.colIndex[b]];
        ctx.fillStyle = labelColour(t);
        ctx.fillText(labelText(t), 0, (b + 0.5) * cell);
      }
      ctx.restore();
    } else {
      const step = niceStep(K);
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      for (let k = 0; k < K; k += step) ctx.fillText(String(shown.index[k]), ml - 4, mt + (k + 0.5) * cell);
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      for (let k = 0; k < K; k += step) ctx.fillText(String(shown.colIndex[k]), ml + (k + 0.5) * cell, mt - 3);
    }
    ctx.strokeStyle = css.getPropertyValue("--xf-border-strong").trim() || "#999";
    ctx.strokeRect(ml - 0.5, mt - 0.5, side + 1, side + 1);

    // legend
    const lg = fitCanvas(legend, 96, 10);
    const ramp = new Float32Array(96);
    for (let i = 0; i < 96; i++) ramp[i] = i / 95;
    const limg = lg.ctx.createImageData(96, 1);
    colourise(ramp, app.ramp, limg.data, gamma);
    const tmp = document.createElement("canvas");
    tmp.width = 96;
    tmp.height = 1;
    /** @type {CanvasRenderingContext2D} */ (tmp.getContext("2d")).putImageData(limg, 0, 0);
    lg.ctx.imageSmoothingEnabled = true;
    lg.ctx.drawImage(tmp, 0, 0, 96, 10);
    legendMax.textContent = `${shown.vmax === 1 ? "1" : shown.vmax.toFixed(2)}${gamma !== 1 ? " (√ scale)" : ""}`;
  }

  function paintOverlay() {
    const { ctx } = fitCanvas(overlay, g.w, g.hgt);
    ctx.clearRect(0, 0, g.w, g.hgt);
    if (!shown || !g.K) return;
    const cell = g.side / g.K;
    const css = getComputedStyle(app.root);
    const accent = css.getPropertyValue("--xf-accent").trim() || "#2f6fde";
    const compact = (orig) => {
      if (shown.binEnd) return Math.min(g.K - 1, Math.floor((orig * g.K) / app.T));
      if (shown.tile) return orig >= shown.index[0] && orig < shown.index[0] + g.K ? orig - shown.index[0] : -1;
      for (let a = 0; a < shown.index.length; a++) if (shown.index[a] === orig) return a;
      return -1;
    };
    const colOf = (/** @type {number} */ orig) => {
      if (shown.tile) return orig >= shown.colIndex[0] && orig < shown.colIndex[0] + g.K ? orig - shown.colIndex[0] : -1;
      return compact(orig);
    };
    // knocked-out (and masked) keys: a hatched column, so the change shows at any length
    const toks = app.tokens;
    const koC = css.getPropertyValue("--xf-ko").trim() || "#7c3aed";
    const maskC = css.getPropertyValue("--xf-mask").trim() || "#c2410c";
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (!t.knocked_out && !t.masked) continue;
      const b = colOf(i);
      if (b < 0) continue;
      const x = g.ml + b * cell;
      const wd = Math.max(cell, 3);
      ctx.save();
      ctx.beginPath();
      ctx.rect(x, g.mt, wd, g.side);
      ctx.clip();
      ctx.strokeStyle = t.masked ? maskC : koC;
      ctx.globalAlpha = t.pending ? 0.45 : 0.85;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let y = -wd; y < g.side + wd; y += 5) {
        ctx.moveTo(x, g.mt + y + wd);
        ctx.lineTo(x + wd, g.mt + y);
      }
      ctx.stroke();
      ctx.restore();
      ctx.strokeStyle = t.masked ? maskC : koC;
      ctx.strokeRect(x + 0.5, g.mt + 0.5, wd - 1, g.side - 1);
    }
    const f = app.get("focus");
    const pa = f >= 0 ? compact(f) : -1;
    ctx.lineWidth = 1.5;
    if (pa >= 0) {
      ctx.strokeStyle = accent;
      if (app.pinSide === "to") ctx.strokeRect(g.ml + pa * cell, g.mt, Math.max(cell, 1.5), g.side);
      else ctx.strokeRect(g.ml, g.mt + pa * cell, g.side, Math.max(cell, 1.5));
      // the pinned token's text on its row and its column (axes carry no labels at this length)
      const t = app.tokensRaw[f];
      if (t && !(g.K <= LABEL_MAX_TOKENS && !shown.binEnd)) {
        const label = `#${f} ${clip(displayToken(t.text), 24)}`;
        ctx.font = `600 11px ${css.getPropertyValue("--xf-mono").trim() || "monospace"}`;
        const tw = ctx.measureText(label).width + 8;
        const bgc = css.getPropertyValue("--xf-bg").trim() || (app.dark ? "#15171c" : "#ffffff");
        const box = (/** @type {number} */ x, /** @type {number} */ y) => {
          ctx.fillStyle = bgc;
          ctx.globalAlpha = 0.9;
          ctx.fillRect(x, y, tw, 16);
          ctx.globalAlpha = 1;
          ctx.strokeStyle = accent;
          ctx.lineWidth = 1;
          ctx.strokeRect(x + 0.5, y + 0.5, tw - 1, 15);
          ctx.fillStyle = accent;
          ctx.textBaseline = "middle";
          ctx.textAlign = "left";
          ctx.fillText(label, x + 4, y + 8);
        };
        const ry = g.mt + (pa + 0.5) * cell;
        box(g.ml + 4, Math.max(g.mt, Math.min(g.mt + g.side - 16, ry - 20 >= g.mt ? ry - 20 : ry + 4)));
        const pb = colOf(f);
        if (pb >= 0) {
          ctx.strokeStyle = accent;
          ctx.setLineDash([2, 3]);
          ctx.strokeRect(g.ml + pb * cell, g.mt, Math.max(cell, 1.5), g.side);
          ctx.setLineDash([]);
          const cx = g.ml + (pb + 0.5) * cell;
          box(Math.max(g.ml, Math.min(g.ml + g.side - tw, cx + 4)), g.mt + 4);
        }
      }
    }
    overlay.dataset.pinned = pa >= 0 ? String(f) : "";
    if (cursor.a >= 0 && cursor.b >= 0) {
      ctx.strokeStyle = app.dark ? "rgba(255,255,255,0.55)" : "rgba(0,0,0,0.45)";
      ctx.setLineDash([3, 3]);
      ctx.strokeRect(g.ml, g.mt + cursor.a * cell, g.side, Math.max(cell, 1));
      ctx.strokeRect(g.ml + cursor.b * cell, g.mt, Math.max(cell, 1), g.side);
      ctx.setLineDash([]);
      ctx.strokeStyle = accent;
      ctx.lineWidth = 2;
      ctx.strokeRect(g.ml + cursor.b * cell, g.mt + cursor.a * cell, Math.max(cell, 2), Math.max(cell, 2));
    }
  }

  /** @param {number} a @param {number} b @param {number} [px] @param {number} [py] */
  function showTip(a, b, px, py) {
    if (!shown || a < 0 || b < 0) {
      tip.hidden = true;
      return;
    }
    const toks = app.tokensRaw;
    const i = shown.index[a];
    const j = shown.colIndex[b];
    const w = shown.mat[a * shown.K + b];
    if (shown.binEnd) {
      const span = (/** @type {number} */ x, /** @type {number} */ y) => (y > x ? `#${x}–#${y}` : `#${x}`);
      tip.replaceChildren(
        h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "from " }), h("b", { text: displayToken(toks[i]?.text) }), h("span", { class: "xf-muted", text: ` ${span(i, shown.binEnd[a])}` })),
        h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "to " }), h("b", { text: displayToken(toks[j]?.text) }), h("span", { class: "xf-muted", text: ` ${span(j, shown.binEnd[b])}` })),
        h("div", { class: "xf-tip-w", text: `max ${w.toFixed(4)}` }),
      );
    } else tip.replaceChildren(
      h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "from " }), h("b", { text: displayToken(toks[i]?.text) }), h("span", { class: "xf-muted", text: ` #${i}` })),
      h("div", { class: "xf-tip-row" }, h("span", { class: "xf-muted", text: "to " }), h("b", { text: displayToken(toks[j]?.text) }), h("span", { class: "xf-muted", text: ` #${j}` })),
      h("div", { class: "xf-tip-w", text: w.toFixed(4) }),
    );
    tip.hidden = false;
    const cell = g.side / g.K;
    const x = px ?? g.ml + (b + 1) * cell;
    const y = py ?? g.mt + (a + 1) * cell;
    const left = Math.min(x + 14, g.w - 150);
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${y + 14}px`;
  }

  /** Ask the kernel for the full-resolution tile around (row, col). @param {number} row @param {number} col */
  const zoomTo = (row, col) => {
    if (app.isStatic) app.flash("This is a static snapshot: zooming into a long input needs a running kernel.");
    else app.setState("zoom", zoomAround(row, col, app.T));
  };

  /** @param {PointerEvent|MouseEvent} e */
  const cellAt = (e) => {
    const r = overlay.getBoundingClientRect();
    const x = e.clientX - r.left - g.ml;
    const y = e.clientY - r.top - g.mt;
    if (!g.K || x < 0 || y < 0 || x >= g.side || y >= g.side) return null;
    return { a: Math.floor((y / g.side) * g.K), b: Math.floor((x / g.side) * g.K), x: x + g.ml, y: y + g.mt };
  };

  overlay.addEventListener("pointermove", (e) => {
    const c = cellAt(e);
    if (!c) {
      cursor = { a: -1, b: -1 };
      tip.hidden = true;
      app.setHover(-1, "from");
    } else {
      cursor = { a: c.a, b: c.b };
      showTip(c.a, c.b, c.x, c.y);
      if (shown) app.setHover(shown.index[c.a], "from");
    }
    paintOverlay();
  }, { signal });
  overlay.addEventListener("pointerleave", () => {
    cursor = { a: -1, b: -1 };
    tip.hidden = true;
    app.setHover(-1, "from");
    paintOverlay();
  }, { signal });
  overlay.addEventListener("click", (e) => {
    const c = cellAt(e);
    if (!c || !shown) return;
    if (shown.binEnd) zoomTo(shown.index[c.a], shown.colIndex[c.b]);
    else app.pin(shown.index[c.a], "from");
  }, { signal });
  overlay.addEventListener("dblclick", (e) => {
    const c = cellAt(e);
    if (c && shown && !shown.binEnd) app.toggleToken(shown.colIndex[c.b]);
  }, { signal });
  overlay.addEventListener("keydown", (e) => {
    if (!shown || !g.K) return;
    const K = g.K;
    let { a, b } = cursor;
    if (a < 0) a = b = 0;
    const big = Math.max(1, Math.round(K / 20));
    switch (e.key) {
      case "ArrowUp": a = Math.max(0, a - (e.shiftKey ? big : 1)); break;
      case "ArrowDown": a = Math.min(K - 1, a + (e.shiftKey ? big : 1)); break;
      case "ArrowLeft": b = Math.max(0, b - (e.shiftKey ? big : 1)); break;
      case "ArrowRight": b = Math.min(K - 1, b + (e.shiftKey ? big : 1)); break;
      case " ":
        if (shown.binEnd) zoomTo(shown.index[a], shown.colIndex[b]);
        else app.pin(shown.index[a], "from");
        break;
      case "Enter":
        if (shown.binEnd) zoomTo(shown.index[a], shown.colIndex[b]);
        else app.toggleToken(shown.colIndex[b]);
        break;
      case "Escape":
        if (!app.get("zoom")) return;
        app.setState("zoom", null);
        break;
      default:
        return;
    }
    e.preventDefault();
    cursor = { a, b };
    showTip(a, b);
    app.setHover(shown.index[a], "from");
    paintOverlay();
  }, { signal });
  overlay.addEventListener("blur", () => {
    tip.hidden = true;
  }, { signal });

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const onlyHover = d.size === 1 && d.has("hover");
      if (!onlyHover) paint();
      paintOverlay();
    },
    /** Brings token i into view: its row under the cursor, or a zoom to it on a long input. @param {number} i */
    reveal(i) {
      const z = app.get("zoom");
      const inTile = z && i >= z.r0 && i < z.r0 + z.n;
      if (app.pooledSide && !inTile) {
        zoomTo(i, i);
        return;
      }
      if (!shown) return;
      let a = -1;
      for (let k = 0; k < shown.K; k++) if (shown.index[k] === i || (shown.binEnd && shown.index[k] <= i && shown.binEnd[k] >= i)) a = k;
      if (a < 0) return;
      const b = shown.tile ? i - shown.colIndex[0] : a;
      cursor = { a, b: b >= 0 && b < shown.K ? b : a };
      paintOverlay();
      overlay.scrollIntoView?.({ block: "nearest" });
    },
    destroy() {},
  };
}

/** @param {string} s @param {number} n */
function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Tick step giving roughly 8–16 ticks. @param {number} K */
function niceStep(K) {
  const raw = K / 10;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
