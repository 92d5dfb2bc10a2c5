// exformer widget: predictions panel: top-k tokens with probability bars for the hovered / pinned
// position (or the first masked token, or the last token of a causal LM).

import { h } from "./dom.js";
import { displayToken, formatProb, predictionCaption, predictionDiff } from "../logic/tokens.js";

/** @param {any} app */
export function createPredictions(app) {
  const title = h("div", { class: "xf-panel-title", text: "Predictions" });
  const caption = h("div", { class: "xf-pred-caption" });
  const list = h("ol", { class: "xf-pred-list" });
  const el = h("aside", { class: "xf-panel", "aria-label": "Predictions" }, title, caption, list);
  let key = "";

  function position() {
    const T = app.T;
    const af = app.activeFocus;
    if (af) return af.index;
    const toks = app.tokensRaw;
    const m = toks.findIndex((t) => t.masked);
    if (m >= 0) return m;
    if (app.kind === "causal_lm") {
      for (let i = T - 1; i >= 0; i--) if (!toks[i].special) return i;
      return T - 1;
    }
    return -1;
  }

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      if (app.kind === "encoder") {
        el.hidden = true;
        return;
      }
      el.hidden = false;
      const preds = app.get("predictions") || [];
      const base = app.get("predictions_base");
      const i = position();
      const k = JSON.stringify([i, app.get("run_id"), app.kind, preds.length, app.tokensRaw[i]?.masked, Array.isArray(base)]);
      if (k === key && !d.has("predictions") && !d.has("all")) return;
      key = k;
      const t = app.tokensRaw[i];
      if (!t) {
        caption.textContent = "Hover a token to see what the model predicts there.";
        list.replaceChildren();
        return;
      }
      // With interventions, the kernel also sends the predictions of the same input without them.
      const before = Array.isArray(base) ? base[i] || [] : null;
      caption.textContent = predictionCaption(app.kind, t, i) + (before ? " · before → after the interventions" : "");
      const p = preds[i] || [];
      if (!p.length) {
        list.replaceChildren(h("li", { class: "xf-muted xf-pred-empty", text: "no predictions for this position" }));
        return;
      }
      list.classList.toggle("has-before", !!before);
      const rows = before ? predictionDiff(p, before) : p.map((x) => ({ ...x, before: undefined }));
      list.replaceChildren(
        ...rows.map((x, r) => {
          const isNew = before && x.before === null;
          const change = before ? (isNew ? "new" : `${formatProb(/** @type {number} */ (x.before))} →`) : "";
          return h(
            "li",
            {
              class: `xf-pred${r === 0 ? " is-top" : ""}${isNew ? " is-new" : ""}`,
              title: `${JSON.stringify(x.token)}: ${before ? (isNew ? "not in the top predictions before, " : `${formatProb(/** @type {number} */ (x.before))} before, `) : ""}${formatProb(x.prob)}${before ? " after" : ""}`,
            },
            h("span", { class: "xf-pred-tok", text: displayToken(x.token) }),
            h("span", { class: "xf-pred-bar", style: { "--p": String(Math.min(1, Math.max(0, x.prob))) } }),
            before ? h("span", { class: `xf-pred-before${isNew ? " xf-badge xf-badge-new" : ""}`, text: change }) : null,
            h("span", { class: "xf-pred-p", text: formatProb(x.prob) }),
          );
        }),
      );
      if (before) {
        // what fell out of the top-k
        const now = new Set(p.map((x) => x.token));
        const gone = before.filter((x) => !now.has(x.token));
        if (gone.length) {
          list.append(
            h("li", { class: "xf-pred-gone xf-muted", text: `dropped out: ${gone.map((x) => `${JSON.stringify(displayToken(x.token))} (${formatProb(x.prob)})`).join(", ")}` }),
          );
        }
      }
    },
    destroy() {},
  };
}
