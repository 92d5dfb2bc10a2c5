// exformer widget: what is changed, shown above every view. The interventions line lists each masked
// or knocked-out token with an undo button (and a Clear for all); the sink line says which key(s)
// are left out of the drawing as attention sinks and lets the user bring them back.

import { h } from "./dom.js";
import { displayToken, interventionList } from "../logic/tokens.js";

/** @param {any} app */
export function createChanges(app) {
  const signal = app.signal;
  const list = h("span", { class: "xf-changes-list" });
  const clearAll = h("button", {
    type: "button", class: "xf-btn xf-btn-small", text: "Clear all", title: "Remove every mask and knock-out and re-run",
    signal, "on:click": () => app.clearInterventions(),
  });
  const ivLine = h(
    "div",
    { class: "xf-changes is-empty", role: "group", "aria-label": "Interventions", hidden: true },
    h("span", { class: "xf-label", text: "Interventions" }),
    list,
    clearAll,
  );
  const sinkText = h("span", { class: "xf-sink-text" });
  const sinkBtn = h("button", {
    type: "button", class: "xf-btn xf-btn-small", signal,
    "on:click": () => app.setState("sinks", app.sinkInfo.dropped ? "off" : "on"),
  });
  const sinkLine = h("div", { class: "xf-sinkline", hidden: true }, sinkText, sinkBtn);
  const el = h("div", { class: "xf-changesbar" }, ivLine, sinkLine);
  let key = "";

  return {
    el,
    /** @param {Set<string>} d */
    update(d) {
      const items = interventionList(app.tokens);
      const k = JSON.stringify(items);
      if (k !== key || d.has("all")) {
        key = k;
        list.replaceChildren(
          ...items.map((it, n) => {
            const tag = it.mode === "mask" ? "MASK" : "KO";
            const what = `${it.mode === "mask" ? "mask" : "knock-out"} of #${it.index} ${JSON.stringify(it.text)}`;
            return h(
              "span",
              { class: `xf-change${it.pending ? " is-pending" : ""}`, dataset: { i: String(it.index), mode: it.mode } },
              n > 0 ? h("span", { class: "xf-muted", text: " · " }) : null,
              h("button", {
                type: "button", class: "xf-change-find", title: `Find #${it.index}`, signal,
                text: `${tag} #${it.index} ${JSON.stringify(displayToken(it.text))}`,
                "on:click": () => app.reveal(it.index),
              }),
              app.isStatic
                ? null
                : h("button", {
                    type: "button", class: "xf-icon-btn xf-undo", text: "×", title: `Undo the ${what}`, "aria-label": `Undo the ${what}`, signal,
                    "on:click": () => app.toggleToken(it.index, it.mode),
                  }),
            );
          }),
        );
        // Empty, the line keeps its height (hidden from view and from screen readers) so that the
        // first intervention does not push the view down under the pointer; a static page, which
        // cannot intervene, gives the space back.
        ivLine.classList.toggle("is-empty", items.length === 0);
        ivLine.hidden = items.length === 0 && app.isStatic;
        clearAll.hidden = app.isStatic || items.length < 2;
      }
      const si = app.sinkInfo;
      const view = app.view;
      sinkLine.hidden = !si.sinks.length || view === "model";
      if (!sinkLine.hidden) {
        const toks = app.tokensRaw;
        const names = si.sinks
          .map((s) => `${s.last > s.key ? `#${s.key}–#${s.last}` : `#${s.key} ${JSON.stringify(displayToken(toks[s.key]?.text))}`} (${Math.round(s.share * 100)} %)`)
          .join(", ");
        const layer = app.get("attn_layer");
        sinkText.textContent = si.dropped
          ? `Attention sink${si.sinks.length > 1 ? "s" : ""} left out of layer ${layer}: ${names} of the attention; ${app.pooledSide ? "colours stretched to the rest" : "each row rescaled to the rest"}.`
          : `Layer ${layer} has an attention sink: ${names} of the attention goes there.`;
        sinkBtn.textContent = si.dropped ? "Show sinks" : "Leave sinks out";
        sinkBtn.title = si.dropped ? "Draw the sink keys again, with the raw weights" : "Leave the sink keys out and rescale the rest";
      }
    },
    destroy() {},
  };
}
