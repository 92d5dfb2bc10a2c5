// Logic behind the view at prompt length: sinks, per-query edges, find, interventions, before → after.
import test from "node:test";
import assert from "node:assert/strict";
import * as L from "../logic/index.js";

const close = (a, b, eps = 1e-5, msg = "") => assert.ok(Math.abs(a - b) <= eps, `${msg} ${a} ≉ ${b}`);
const toks = (n) => Array.from({ length: n }, (_, i) => ({ text: ` t${i}`, special: false, segment: 0 }));

/** Causal layer [nHeads, T, T] where key 0 takes `sink` of every row and the rest is spread evenly. */
function sinkLayer(nHeads, T, sink) {
  const a = new Float32Array(nHeads * T * T);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      const row = (h * T + i) * T;
      if (i === 0) {
        a[row] = 1;
        continue;
      }
      a[row] = sink;
      for (let j = 1; j <= i; j++) a[row + j] = (1 - sink) / i;
    }
  }
  return a;
}

test("sinkKeys finds the key that takes most of the mass; dropSinks follows the setting", () => {
  const T = 20;
  const strong = L.sinkKeys(sinkLayer(2, T, 0.8), 2, T);
  assert.equal(strong[0].key, 0);
  close(strong[0].share, (1 + 0.8 * (T - 1)) / T, 1e-5);
  assert.equal(L.dropSinks("auto", strong), true);
  assert.equal(L.dropSinks("off", strong), false);
  const weak = L.sinkKeys(sinkLayer(2, T, 0.35), 2, T);
  assert.equal(weak.length, 1);
  assert.equal(L.dropSinks("auto", weak), false, "a sink under half the mass stays in auto");
  assert.equal(L.dropSinks("on", weak), true);
  assert.deepEqual(L.sinkKeys(sinkLayer(2, T, 0.05), 2, T), []);
  // bytes work the same as floats
  const bytes = Uint8Array.from(sinkLayer(1, T, 0.8), (v) => Math.round(v * 255));
  close(L.sinkKeys(bytes, 1, T)[0].share, strong[0].share, 0.01);
});

test("viewMatrices leaves dropped keys out and rescales every row to the rest", () => {
  const T = 12;
  const attn = sinkLayer(3, T, 0.7);
  for (const combine of ["each", "mean"]) {
    for (const hideSpecial of [false, true]) {
      const tokens = toks(T).map((t, i) => ({ ...t, special: i === T - 1 }));
      const vd = L.viewMatrices({ attn, nHeads: 3, T, tokens, combine, hideSpecial, dropKeys: [0] });
      for (const { mat } of vd.mats) {
        for (let a = 1; a < vd.K; a++) {
          let sum = 0;
          for (let b = 0; b < vd.K; b++) sum += mat[a * vd.K + b];
          assert.equal(mat[a * vd.K], 0, "the sink column is empty");
          close(sum, 1, 1e-4, `row ${a} (${combine}, hide ${hideSpecial})`);
          // what is left keeps its proportions: evenly spread over the other visible keys
          const seen = Math.min(a, vd.index[vd.K - 1]);
          close(mat[a * vd.K + 1], 1 / seen, 1e-4);
        }
      }
    }
  }
});

test("pooled maps and tiles zero the dropped key's bin and ask for stretched colours", () => {
  const P = 4;
  const T = 16;
  const attn = new Uint8Array(P * P).fill(100);
  const pm = L.pooledMatrices({ attn, nHeads: 1, P, T, dropKeys: [0, 1, 2, 3] });
  assert.equal(pm.stretch, true);
  for (let a = 0; a < P; a++) {
    assert.equal(pm.mats[0].mat[a * P], 0);
    close(pm.mats[0].mat[a * P + 1], 100 / 255);
  }
  const tile = L.tileMatrices({ bytes: new Uint8Array(9).fill(255), nHeads: 1, n: 3, r0: 5, c0: 5, dropKeys: [6, 40] });
  assert.equal(tile.stretch, true);
  assert.deepEqual([...tile.mats[0].mat], [1, 0, 1, 1, 0, 1, 1, 0, 1]);
  assert.equal(L.tileMatrices({ bytes: new Uint8Array(9), nHeads: 1, n: 3, r0: 0, c0: 0 }).stretch, false);
});

test("rowEdges keeps each query's strongest edges: top-k or a share of its mass", () => {
  const K = 5;
  const mat = new Float32Array(K * K);
  mat.set([0.05, 0.4, 0.1, 0.3, 0.15], 2 * K);
  const keys = (mode) => L.rowEdges(mat, K, 2, mode).filter((_, i) => i % 2 === 0);
  assert.deepEqual(keys("top1"), [1]);
  assert.deepEqual(keys("top3"), [1, 3, 4]);
  assert.deepEqual(keys("all"), [0, 1, 2, 3, 4]);
  assert.deepEqual(keys("mass50"), [1, 3], "0.4 < 0.5 ≤ 0.4 + 0.3");
  assert.deepEqual(keys("mass90"), [1, 3, 4, 2]);
  assert.deepEqual(L.rowEdges(mat, K, 0, "top3"), [], "an empty row has no edges");
  const b = L.bucketRows(mat, K, [2], "top1", 10);
  assert.deepEqual(b, [{ alpha: 0.5, edges: [2, 1] }]);
  assert.equal(L.defaultEdges(60), "all");
  assert.equal(L.defaultEdges(61), "top3");
  for (const m of L.EDGE_MODES) assert.ok(L.EDGE_LABEL[m], m);
});

test("findTokens: #index, a number, text (exact first, then partial, case-insensitive)", () => {
  const t = [{ text: "<s>" }, { text: " The" }, { text: " cat" }, { text: " the" }, { text: "2" }, { text: " theatre" }];
  assert.deepEqual(L.findTokens(t, "#2"), [2]);
  assert.deepEqual(L.findTokens(t, "#99"), []);
  assert.deepEqual(L.findTokens(t, "2"), [2, 4], "a bare number is a position and a text");
  assert.deepEqual(L.findTokens(t, "the"), [1, 3, 5]);
  assert.deepEqual(L.findTokens(t, " THEA "), [5]);
  assert.deepEqual(L.findTokens(t, "  "), []);
  assert.deepEqual(L.findTokens(t, "dog"), []);
});

test("interventionList lists masks and knock-outs in position order; predictionDiff pairs before with after", () => {
  const t = [{ text: "a" }, { text: " b", knocked_out: true }, { text: "c", masked: true, pending: true }];
  assert.deepEqual(L.interventionList(t), [
    { index: 1, mode: "knockout", text: " b", pending: false },
    { index: 2, mode: "mask", text: "c", pending: true },
  ]);
  assert.deepEqual(L.interventionList(L.applyPending(t, [{ index: 1, mode: "knockout" }])).map((x) => x.index), [2]);
  const d = L.predictionDiff(
    [{ token: "x", prob: 0.5 }, { token: "y", prob: 0.2 }],
    [{ token: "y", prob: 0.6 }, { token: "z", prob: 0.1 }],
  );
  assert.deepEqual(d, [{ token: "x", prob: 0.5, before: null }, { token: "y", prob: 0.2, before: 0.6 }]);
  assert.deepEqual(L.predictionDiff([{ token: "x", prob: 1 }], null), [{ token: "x", prob: 1, before: null }]);
});
