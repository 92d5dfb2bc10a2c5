// exformer widget: header (model, view tabs) and toolbar (layer, heads, threshold, filters, click mode).

import { h, segmented } from "./dom.js";
import { hasPair } from "../logic/matrices.js";
import { availableModes, clampInt, findTokens, displayToken } from "../logic/tokens.js";
import { enumValues, stateDefault } from "../logic/protocol.js";

const KIND_LABEL = { masked_lm: "masked LM", causal_lm: "causal LM", encoder: "encoder" };

/**
 * A segmented control's options: the schema's values of `key` (widget/protocol.json), in its order.
 * @param {string} key @param {Record<string, [string, string]>} labels value → [label, title]
 */
function options(key, labels) {
  return enumValues(key).map((value) => ({ value, label: labels[value]?.[0] ?? value, title: labels[value]?.[1] ?? "" }));
}

/** A select's `<option>`s: the schema's values of `key`. @param {string} key @param {Record<string, string>} labels */
function selectOptions(key, labels) {
  return enumValues(key).map((value) => h("option", { value, text: labels[value] ?? value }));
}

/** @param {any} app */
export function createControls(app) {
  const signal = app.signal;

  const title = h("span", { class: "xf-title" });
  const kind = h("span", { class: "xf-chip" });
  const meta = h("span", { class: "xf-meta" });
  const snapshot = h("span", {
    class: "xf-chip xf-chip-muted", text: "snapshot", hidden: true,
    title: "Saved page: explore freely; masking and knock-outs need a running kernel",
  });
  const views = segmented({
    label: "View",
    signal,
    options: options("view", {
      head: ["Heads", "Attention curves between the tokens, one colour per head"],
      model: ["Model", "Every layer and head at a glance"],
      matrix: ["Matrix", "Heatmap of the selected layer (scales to long inputs)"],
    }),
    onChange: (v) => app.setState("view", v),
  });
  const header = h(
    "div",
    { class: "xf-header" },
    h("div", { class: "xf-titleblock" }, title, kind, snapshot, meta),
    views.el,
  );

  // Layer stepper
  const layerSel = h("select", {
    class: "xf-select",
    "aria-label": "Layer",
    signal,
    "on:change": (e) => app.setLayer(Number(e.target.value)),
  });
  const prev = h("button", {
    type: "button", class: "xf-icon-btn", title: "Previous layer", "aria-label": "Previous layer", text: "‹",
    signal, "on:click": () => app.setLayer((app.get("layer") | 0) - 1),
  });
  const next = h("button", {
    type: "button", class: "xf-icon-btn", title: "Next layer", "aria-label": "Next layer", text: "›",
    signal, "on:click": () => app.setLayer((app.get("layer") | 0) + 1),
  });
  const layerGroup = h("div", { class: "xf-field" }, h("span", { class: "xf-label", text: "Layer" }), h("div", { class: "xf-stepper" }, prev, layerSel, next));

  // Head combination
  const combine = segmented({
    label: "Combine heads",
    signal,
    options: options("combine", {
      each: ["each", "One set of curves per head"],
      mean: ["mean", "Average of the selected heads"],
      sum: ["sum", "Sum of the selected heads"],
    }),
    onChange: (v) => app.setState("combine", v),
  });
  const combineGroup = h("div", { class: "xf-field" }, h("span", { class: "xf-label", text: "Combine" }), combine.el);

  // Threshold
  const thrValue = h("output", { class: "xf-value" });
  const thr = /** @type {HTMLInputElement} */ (h("input", {
    type: "range", min: "0", max: "1", step: "0.01", class: "xf-range", "aria-label": "Threshold: hide weights below",
    signal,
    "on:input": (e) => {
      thrValue.textContent = Number(e.target.value).toFixed(2);
      clearTimeout(thrTimer);
      thrTimer = setTimeout(() => app.setState("threshold", Number(e.target.value)), 60);
    },
  }));
  let thrTimer = 0;
  const thrGroup = h("label", { class: "xf-field", title: "Hide attention weights below this value" }, h("span", { class: "xf-label", text: "Threshold" }), thr, thrValue);

  // Hide special tokens
  const hideLabel = h("span", { text: "Hide special tokens" });
  const hide = /** @type {HTMLInputElement} */ (h("input", {
    type: "checkbox", signal, "on:change": (e) => app.setState("hide_special", e.target.checked),
  }));
  const hideGroup = h("label", { class: "xf-field xf-check", title: "Drop special tokens and renormalise each row to sum to 1" }, hide, hideLabel);

  // Pair filter
  const pair = h(
    "select",
    { class: "xf-select", "aria-label": "Sentence pair filter", signal, "on:change": (e) => app.setState("pair_filter", e.target.value) },
    ...selectOptions("pair_filter", { all: "all pairs", AA: "A → A", AB: "A → B", BA: "B → A", BB: "B → B" }),
  );
  const pairGroup = h("label", { class: "xf-field" }, h("span", { class: "xf-label", text: "Segments" }), pair);

  // Edges per query (head view)
  const edges = h(
    "select",
    { class: "xf-select", "aria-label": "Edges drawn per query", signal, "on:change": (e) => app.setState("edges", e.target.value) },
    ...selectOptions("edges", {
      all: "all", top1: "strongest 1", top3: "strongest 3", top10: "strongest 10", mass50: "50 % of mass", mass90: "90 % of mass",
    }),
  );
  const edgesGroup = h("label", { class: "xf-field", title: "Which of each query's edges the head view draws: all, its k strongest, or its strongest up to a share of its attention" }, h("span", { class: "xf-label", text: "Edges" }), edges);

  // Attention sinks
  const sinks = h(
    "select",
    { class: "xf-select", "aria-label": "Attention sinks", signal, "on:change": (e) => app.setState("sinks", e.target.value) },
    ...selectOptions("sinks", { auto: "auto", on: "leave out", off: "show" }),
  );
  const sinksGroup = h("label", { class: "xf-field", title: "Keys that take most of the attention (often the first token). auto: left out, with the rest rescaled, when one takes half or more" }, h("span", { class: "xf-label", text: "Sinks" }), sinks);

  // Find a token
  const findInput = /** @type {HTMLInputElement} */ (h("input", {
    type: "search", class: "xf-find", placeholder: "text or #index", "aria-label": "Find a token (text or #index); Enter for the next match",
    signal,
    "on:keydown": (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        find(e.shiftKey ? -1 : 1);
      } else if (e.key === "Escape") {
        findInput.value = "";
        findOut.textContent = "";
      }
    },
    "on:input": () => {
      at = -1;
      findOut.textContent = "";
    },
  }));
  const findOut = h("output", { class: "xf-find-out", "aria-live": "polite" });
  /** position in the matches of the current query; -1 = none shown yet */
  let at = -1;
  /** @param {number} step */
  const find = (step) => {
    // matched each time: the text may have changed since the last Enter
    const q = findInput.value;
    const matches = findTokens(app.tokensRaw, q);
    if (at < 0 && step < 0) at = 0;
    if (!matches.length) {
      findOut.textContent = q.trim() ? "no match" : "";
      return;
    }
    at = (at + step + matches.length) % matches.length;
    const i = matches[at];
    findOut.textContent = `#${i} ${JSON.stringify(displayToken(app.tokensRaw[i]?.text))} · ${at + 1} of ${matches.length}`;
    app.reveal(i);
  };
  const findGroup = h("label", { class: "xf-field", title: "Find a token by its text or #position: pins it and scrolls (or zooms) to it; Enter again for the next match" }, h("span", { class: "xf-label", text: "Find" }), findInput, findOut);

  // Click mode + clear
  const mode = segmented({
    label: "Click action",
    signal,
    options: options("mode", {
      mask: ["mask", "Double-click / Enter replaces the token with [MASK] and re-runs"],
      knockout: ["knock out", "Double-click / Enter stops every query attending to the token and re-runs"],
    }),
    onChange: (v) => app.setState("mode", v),
  });
  const clear = h("button", {
    type: "button", class: "xf-btn", text: "Clear", title: "Remove every mask and knock-out",
    signal, "on:click": () => app.clearInterventions(),
  });
  const modeGroup = h("div", { class: "xf-field" }, h("span", { class: "xf-label", text: "Intervene" }), mode.el, clear);

  const toolbar = h("div", { class: "xf-toolbar" }, layerGroup, combineGroup, edgesGroup, thrGroup, sinksGroup, hideGroup, pairGroup, modeGroup, findGroup);
  const el = h("div", { class: "xf-controls" }, header, toolbar);

  let nLayersShown = -1;

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const T = app.T;
      title.textContent = app.get("model_name") || "model";
      kind.textContent = KIND_LABEL[app.kind] || app.kind;
      meta.textContent = `${T} tokens · ${app.nLayers} layers × ${app.nHeads} heads`;
      views.set(app.view);

      const nL = app.nLayers;
      if (nL !== nLayersShown) {
        layerSel.replaceChildren(...Array.from({ length: nL }, (_, l) => h("option", { value: String(l), text: `${l}` })));
        nLayersShown = nL;
      }
      const layer = clampInt(app.get("layer") ?? 0, 0, Math.max(0, nL - 1));
      /** @type {HTMLSelectElement} */ (layerSel).value = String(layer);
      prev.toggleAttribute("disabled", layer <= 0);
      next.toggleAttribute("disabled", layer >= nL - 1);
      layerGroup.hidden = app.view === "model";

      // The matrix draws one combined map: "each" means nothing there, so it is not offered.
      const comb = app.get("combine") || "each";
      combine.show("each", app.view === "head");
      combine.set(app.view !== "head" && comb === "each" ? "mean" : comb);
      combineGroup.hidden = app.view === "model";
      /** @type {HTMLSelectElement} */ (edges).value = app.edges;
      edgesGroup.hidden = app.view !== "head";
      /** @type {HTMLSelectElement} */ (sinks).value = enumValues("sinks").includes(app.get("sinks")) ? app.get("sinks") : stateDefault("sinks");
      sinksGroup.hidden = app.view === "model";
      const t = Number(app.get("threshold")) || 0;
      if (document.activeElement !== thr) thr.value = String(t);
      thrValue.textContent = t.toFixed(2);
      thrGroup.hidden = app.view === "model";
      hide.checked = !!app.get("hide_special");
      hideGroup.hidden = app.view === "model";
      const nSpecial = app.tokensRaw.filter((tk) => tk.special).length;
      hide.disabled = nSpecial === 0 && !hide.checked;
      hideLabel.textContent = nSpecial ? `Hide special tokens (${nSpecial})` : "Hide special tokens (none here)";

      pairGroup.hidden = !hasPair(app.tokensRaw) || app.view === "model";
      /** @type {HTMLSelectElement} */ (pair).value = app.get("pair_filter") || stateDefault("pair_filter");

      const modes = availableModes(app.kind);
      mode.show("mask", modes.includes("mask"));
      mode.set(app.mode);
      const anyIntervention = app.tokens.some((tk) => tk.masked || tk.knocked_out);
      clear.toggleAttribute("disabled", !anyIntervention);
      modeGroup.hidden = app.isStatic;
      snapshot.hidden = !app.isStatic;
    },
    destroy() {
      clearTimeout(thrTimer);
    },
  };
}
