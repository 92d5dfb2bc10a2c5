// Server-pooled layers (long inputs): bins and the matrices the matrix view draws from them.
import test from "node:test";
import assert from "node:assert/strict";
import * as L from "../logic/index.js";

test("bins cover every token once, in order, with the back end's binning floor(c·P/T)", () => {
  for (const [P, T] of [[4, 10], [512, 8192], [512, 683], [7, 7]]) {
    let next = 0;
    for (let b = 0; b < P; b++) {
      const [lo, hi] = L.binRange(b, P, T);
      assert.equal(lo, next, `bin ${b} of ${P} over ${T}`);
      for (let c = lo; c <= hi; c++) assert.equal(Math.floor((c * P) / T), b);
      next = hi + 1;
    }
    assert.equal(next, T);
  }
});

test("pooled matrices combine the selected heads and apply the threshold", () => {
  const P = 2;
  // head 0 all 255, head 1 all 0 except one cell
  const attn = new Uint8Array([255, 255, 255, 255, 0, 51, 0, 0]);
  const mean = L.pooledMatrices({ attn, nHeads: 2, P, T: 5, heads: [], combine: "mean" });
  assert.equal(mean.K, 2);
  assert.deepEqual([...mean.index], [0, 3]);
  assert.deepEqual([...mean.binEnd], [2, 4]);
  assert.ok(Math.abs(mean.mats[0].mat[1] - 0.6) < 1e-6);
  assert.ok(Math.abs(mean.mats[0].mat[0] - 0.5) < 1e-6);
  const one = L.pooledMatrices({ attn, nHeads: 2, P, T: 5, heads: [1], combine: "each", threshold: 0.1 });
  assert.deepEqual([...one.mats[0].mat].map((x) => Math.round(x * 10) / 10), [0, 0.2, 0, 0]);
  assert.throws(() => L.pooledMatrices({ attn, nHeads: 3, P, T: 5 }));
});

test("zoom windows are centred and clamped; tiles combine heads with rows and columns of their own", () => {
  assert.deepEqual(L.zoomAround(4000, 10, 8192), { r0: 3968, c0: 0, n: L.ZOOM_TOKENS });
  assert.deepEqual(L.zoomAround(8190, 8190, 8192), { r0: 8192 - L.ZOOM_TOKENS, c0: 8192 - L.ZOOM_TOKENS, n: L.ZOOM_TOKENS });
  assert.deepEqual(L.zoomAround(3, 3, 10), { r0: 0, c0: 0, n: 10 });
  const n = 2;
  const bytes = new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255]); // head 0 identity, head 1 bottom row
  const t = L.tileMatrices({ bytes, nHeads: 2, n, r0: 100, c0: 7, heads: [], combine: "mean" });
  assert.deepEqual([...t.index], [100, 101]);
  assert.deepEqual([...t.colIndex], [7, 8]);
  assert.deepEqual([...t.mats[0].mat], [0.5, 0, 0.5, 1]);
  assert.throws(() => L.tileMatrices({ bytes, nHeads: 3, n, r0: 0, c0: 0 }));
});
