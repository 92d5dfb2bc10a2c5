// The in-page stand-in model used by the standalone HTML export.
import test from "node:test";
import assert from "node:assert/strict";
import { createStaticModel } from "../static_model.js";
import { bytesToBase64, toBytes } from "../logic/index.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

function state() {
  const nL = 3, nH = 2, T = 2;
  const all = Uint8Array.from({ length: nL * nH * T * T }, (_, i) => i);
  return {
    model_name: "m", kind: "masked_lm", n_layers: nL, n_heads: nH, seq_len: T, layer: 0, heads: [],
    tokens: [{ text: "a" }, { text: "b" }],
    _buffers: { attn_all: bytesToBase64(all), thumbs: bytesToBase64(Uint8Array.of(7, 8, 9)) },
  };
}

test("binary state under _buffers becomes DataView; attn is sliced from attn_all", () => {
  const m = createStaticModel(state());
  assert.ok(m.get("thumbs") instanceof DataView);
  assert.deepEqual([...toBytes(m.get("thumbs"))], [7, 8, 9]);
  assert.ok(m.get("attn") instanceof DataView);
  assert.deepEqual([...toBytes(m.get("attn"))], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(m.get("attn_layer"), 0);
  assert.equal(m.get("_buffers"), undefined);
  assert.equal(m.get("_static"), true);
});

test("an explicit attn buffer wins over attn_all at load", () => {
  const s = state();
  s._buffers.attn = bytesToBase64(Uint8Array.of(1, 1, 1, 1, 2, 2, 2, 2));
  s.attn_layer = 0;
  const m = createStaticModel(s);
  assert.deepEqual([...toBytes(m.get("attn"))], [1, 1, 1, 1, 2, 2, 2, 2]);
});

test("set fires change events only on real changes; off removes listeners", () => {
  const m = createStaticModel(state());
  const seen = [];
  const cb = (model, v) => seen.push(["heads", v]);
  const any = () => seen.push(["any"]);
  m.on("change:heads", cb);
  m.on("change", any);
  m.set("heads", [1]);
  m.set("heads", [1]); // same value: no event
  m.set("model_name", "m"); // unchanged
  assert.deepEqual(seen, [["heads", [1]], ["any"]]);
  assert.equal(m.listenerCount(), 2);
  m.off("change:heads", cb);
  m.set("heads", [0]);
  assert.deepEqual(seen.at(-1), ["any"]);
  m.off();
  assert.equal(m.listenerCount(), 0);
});

test("changing layer + save_changes answers with that layer's attn, asynchronously", async () => {
  const saved = [];
  const m = createStaticModel(state(), { onSave: (c) => saved.push(c) });
  const events = [];
  m.on("change:attn_layer", (_, v) => events.push(v));
  m.set("layer", 2);
  assert.equal(m.get("attn_layer"), 0, "lags until the answer arrives");
  m.save_changes();
  assert.deepEqual(saved, [{ layer: 2 }]);
  await tick();
  assert.equal(m.get("attn_layer"), 2);
  assert.deepEqual(events, [2]);
  assert.deepEqual([...toBytes(m.get("attn"))], [16, 17, 18, 19, 20, 21, 22, 23]);
  // out-of-range layers clamp
  m.set("layer", 99);
  m.save_changes();
  await tick();
  assert.equal(m.get("attn_layer"), 2);
});

test("send goes to onSend; receive delivers msg:custom", () => {
  const sent = [];
  const m = createStaticModel(state(), { onSend: (c, b) => sent.push([c, b]) });
  m.send({ type: "toggle", index: 1, mode: "mask" });
  assert.deepEqual(sent, [[{ type: "toggle", index: 1, mode: "mask" }, undefined]]);
  const got = [];
  m.on("msg:custom", (c, b) => got.push([c, b.length]));
  m.receive({ type: "notice", text: "hi" });
  assert.deepEqual(got, [[{ type: "notice", text: "hi" }, 0]]);
  // a throwing listener does not break the others
  const orig = console.error;
  console.error = () => {};
  try {
    m.on("change:focus", () => {
      throw new Error("boom");
    });
    let ok = false;
    m.on("change:focus", () => (ok = true));
    m.set("focus", 1);
    assert.ok(ok);
  } finally {
    console.error = orig;
  }
});
