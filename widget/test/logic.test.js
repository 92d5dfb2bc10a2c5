// Pure-logic tests: node --test widget/test/
import test from "node:test";
import assert from "node:assert/strict";
import * as L from "../logic/index.js";

/** Random row-stochastic layer [nHeads, T, T] from a seeded PRNG. */
function randomLayer(nHeads, T, seed = 1) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s ^ (s >>> 15), 2246822519) + 0x9e3779b9) >>> 0) / 4294967296);
  const a = new Float32Array(nHeads * T * T);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < T; j++) sum += a[(h * T + i) * T + j] = r() ** 3;
      for (let j = 0; j < T; j++) a[(h * T + i) * T + j] /= sum;
    }
  }
  return a;
}

const close = (a, b, eps = 1e-5, msg = "") => assert.ok(Math.abs(a - b) <= eps, `${msg} ${a} ≉ ${b}`);

const tokens = (spec) =>
  spec.split(" ").map((w) => ({
    text: w.replace(/^[!B]+/, ""),
    special: w.startsWith("!") || w.startsWith("B!"),
    segment: w.startsWith("B") ? 1 : 0,
    masked: false,
    knocked_out: false,
  }));

test("base64 round-trips every length and byte value", () => {
  for (let n = 0; n < 70; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
    const s = L.bytesToBase64(b);
    assert.equal(s, Buffer.from(b).toString("base64"), `encode n=${n}`);
    assert.deepEqual(L.base64ToBytes(s), b, `decode n=${n}`);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(L.base64ToBytes(Buffer.from(all).toString("base64")), all);
  // unpadded, whitespace, URL-safe alphabet
  assert.deepEqual(L.base64ToBytes("AQID\nBA"), Uint8Array.from([1, 2, 3, 4]));
  assert.deepEqual(L.base64ToBytes(Buffer.from([251, 255]).toString("base64url")), Uint8Array.from([251, 255]));
  assert.throws(() => L.base64ToBytes("AB*C"), /invalid base64/);
});

test("toBytes accepts DataView (with offset), ArrayBuffer, typed arrays, arrays and base64", () => {
  const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
  const dv = new DataView(backing.buffer, 2, 3);
  assert.deepEqual([...L.toBytes(dv)], [1, 2, 3]);
  assert.deepEqual([...L.toBytes(backing.buffer)], [9, 9, 1, 2, 3, 9]);
  assert.deepEqual([...L.toBytes([4, 5])], [4, 5]);
  assert.deepEqual([...L.toBytes("AQID")], [1, 2, 3]);
  assert.equal(L.toBytes(null), null);
  assert.throws(() => L.toBytes(42), TypeError);
});

test("decodeAttention maps byte/255 and checks the shape", () => {
  const nH = 2;
  const T = 3;
  const bytes = Uint8Array.from({ length: nH * T * T }, (_, i) => (i * 29) % 256);
  const a = L.decodeAttention(new DataView(bytes.buffer), nH, T);
  assert.equal(a.length, 18);
  bytes.forEach((b, i) => close(a[i], b / 255, 1e-7));
  assert.equal(L.decodeAttention(Uint8Array.of(255), 1, 1)[0], 1);
  assert.equal(L.decodeAttention(Uint8Array.of(0), 1, 1)[0], 0);
  assert.throws(() => L.decodeAttention(bytes, 2, 4), /n_heads × T × T = 2 × 4 × 4 = 32/);
  assert.throws(() => L.decodeAttention(null, 2, 3), /no attention buffer/);
  assert.throws(() => L.decodeAttention(bytes, 0, 3), /bad attention shape/);
});

test("headMatrix and thumbAt return the right slices", () => {
  const T = 3;
  const a = Float32Array.from({ length: 2 * T * T }, (_, i) => i);
  assert.deepEqual([...L.headMatrix(a, T, 1)], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.throws(() => L.headMatrix(a, T, 2), RangeError);
  const nL = 2, nH = 3, S = 2;
  const th = Uint8Array.from({ length: nL * nH * S * S }, (_, i) => i);
  assert.deepEqual([...L.thumbAt(th, nH, S, 1, 2)], [20, 21, 22, 23]);
  assert.deepEqual([...L.thumbAt(th, nH, S, 0, 0)], [0, 1, 2, 3]);
  assert.throws(() => L.thumbAt(th, nH, S, 2, 0), RangeError);
  assert.throws(() => L.thumbAt(th, nH, S, 0, 3), RangeError);
});

test("head selection: empty means all, toggling never empties, full collapses to []", () => {
  assert.deepEqual(L.selectedHeads([], 4), [0, 1, 2, 3]);
  assert.deepEqual(L.selectedHeads([3, 1, 1, 9, -1], 4), [1, 3]);
  assert.deepEqual(L.selectedHeads([9], 4), [0, 1, 2, 3]);
  assert.deepEqual(L.toggleHead([], 2, 4), [0, 1, 3]);
  assert.deepEqual(L.toggleHead([0, 1, 3], 2, 4), []);
  assert.deepEqual(L.toggleHead([2], 2, 4), [2], "last head stays selected");
  assert.deepEqual(L.toggleHead([2], 0, 4), [0, 2]);
  assert.deepEqual(L.canonicalHeads([0, 1, 2, 3], 4), []);
});

test("combineHeads: mean and sum over selected heads", () => {
  const nH = 4, T = 5;
  const a = randomLayer(nH, T, 7);
  const mean = L.combineHeads(a, nH, T, [], "mean");
  const sum = L.combineHeads(a, nH, T, [], "sum");
  const sub = L.combineHeads(a, nH, T, [1, 3], "mean");
  for (let k = 0; k < T * T; k++) {
    let s = 0;
    for (let h = 0; h < nH; h++) s += a[h * T * T + k];
    close(sum[k], s, 1e-6);
    close(mean[k], s / nH, 1e-6);
    close(sub[k], (a[T * T + k] + a[3 * T * T + k]) / 2, 1e-6);
  }
  // mean of row-stochastic matrices stays row-stochastic; sum rows add up to the head count
  for (let i = 0; i < T; i++) {
    close(mean.subarray(i * T, i * T + T).reduce((x, y) => x + y), 1, 1e-5);
    close(sum.subarray(i * T, i * T + T).reduce((x, y) => x + y), nH, 1e-5);
  }
  assert.throws(() => L.combineHeads(a, nH, T, [], "max"), /combine must be/);
  assert.throws(() => L.combineHeads(a, nH, T + 1, [], "mean"), /does not match/);
});

test("renormaliseRows drops hidden rows/cols and rescales each row to 1", () => {
  const T = 6;
  const m = L.headMatrix(randomLayer(1, T, 3), T, 0);
  const keep = [0, 1, 1, 0, 1, 1];
  const { mat, index, K } = L.renormaliseRows(m, T, keep);
  assert.equal(K, 4);
  assert.deepEqual([...index], [1, 2, 4, 5]);
  for (let a = 0; a < K; a++) {
    const row = mat.subarray(a * K, a * K + K);
    close(row.reduce((x, y) => x + y), 1, 1e-5, `row ${a}`);
    // relative proportions are preserved
    for (let b = 1; b < K; b++) {
      close(row[b] / row[0], m[index[a] * T + index[b]] / m[index[a] * T + index[0]], 1e-4);
    }
  }
  // a row whose kept weights are all zero stays zero (no NaN)
  const z = new Float32Array([1, 0, 0, 0, 0.5, 0.5, 1, 0, 0]);
  const r = L.renormaliseRows(z, 3, [0, 1, 1]);
  assert.deepEqual([...r.mat], [0.5, 0.5, 0, 0]);
  assert.ok(r.mat.every(Number.isFinite));
  // keeping everything only renormalises
  const all = L.renormaliseRows(Float32Array.of(1, 3, 2, 2), 2, [1, 1]);
  assert.deepEqual([...all.mat], [0.25, 0.75, 0.5, 0.5]);
});

test("keepMask hides specials but never everything", () => {
  const t = tokens("!CLS a b !SEP");
  assert.deepEqual([...L.keepMask(t, true)], [0, 1, 1, 0]);
  assert.deepEqual([...L.keepMask(t, false)], [1, 1, 1, 1]);
  assert.deepEqual([...L.keepMask(tokens("!A !B"), true)], [1, 1]);
});

test("applyThreshold zeroes weights below the threshold only", () => {
  const m = Float32Array.of(0.01, 0.1, 0.5, 0.099999, 1);
  assert.deepEqual([...L.applyThreshold(m, 0.1)].map((x) => +x.toFixed(6)), [0, 0.1, 0.5, 0, 1]);
  assert.deepEqual([...L.applyThreshold(m, 0)], [...m]);
  assert.notEqual(L.applyThreshold(m, 0), m, "returns a new array");
});

test("pairFilterMask lets through exactly the chosen segment pairs", () => {
  const t = tokens("!CLS a b !SEP Bc Bd B!SEP");
  const seg = t.map((x) => x.segment);
  const T = t.length;
  assert.ok(L.hasPair(t));
  assert.ok(!L.hasPair(tokens("a b")));
  assert.ok(L.pairFilterMask(t, "all").every((v) => v === 1));
  for (const f of ["AA", "AB", "BA", "BB"]) {
    const m = L.pairFilterMask(t, f);
    const qs = f[0] === "A" ? 0 : 1;
    const ks = f[1] === "A" ? 0 : 1;
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) assert.equal(m[i * T + j], seg[i] === qs && seg[j] === ks ? 1 : 0, `${f} ${i},${j}`);
  }
  assert.throws(() => L.pairFilterMask(t, "AC"), /unknown pair filter/);
});

test("viewMatrices: hide specials per head, combine, pair filter, threshold", () => {
  const t = tokens("!CLS a b !SEP Bc B!SEP");
  const T = t.length, nH = 3;
  const attn = randomLayer(nH, T, 11);
  // each: one matrix per selected head, rows renormalised over kept tokens
  const each = L.viewMatrices({ attn, nHeads: nH, T, tokens: t, heads: [0, 2], combine: "each", hideSpecial: true });
  assert.equal(each.mats.length, 2);
  assert.deepEqual(each.mats.map((m) => m.head), [0, 2]);
  assert.deepEqual([...each.index], [1, 2, 4]);
  const ref = L.renormaliseRows(L.headMatrix(attn, T, 2), T, L.keepMask(t, true)).mat;
  each.mats[1].mat.forEach((v, k) => close(v, ref[k], 1e-6));
  // mean of per-head renormalised rows still sums to 1 per row
  const mean = L.viewMatrices({ attn, nHeads: nH, T, tokens: t, combine: "mean", hideSpecial: true });
  assert.equal(mean.mats.length, 1);
  assert.equal(mean.mats[0].head, null);
  for (let a = 0; a < 3; a++) close(mean.mats[0].mat.subarray(a * 3, a * 3 + 3).reduce((x, y) => x + y), 1, 1e-5);
  // pair filter AB: only rows in A and columns in B survive
  const ab = L.viewMatrices({ attn, nHeads: nH, T, tokens: t, combine: "sum", pairFilter: "AB" });
  const m = ab.mats[0].mat;
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const allowed = t[i].segment === 0 && t[j].segment === 1;
      if (!allowed) assert.equal(m[i * T + j], 0);
      else assert.ok(m[i * T + j] > 0);
    }
  }
  // threshold after combining
  const thr = L.viewMatrices({ attn, nHeads: nH, T, tokens: t, combine: "mean", threshold: 0.2 });
  const raw = L.combineHeads(attn, nH, T, [], "mean");
  thr.mats[0].mat.forEach((v, k) => {
    if (Math.abs(raw[k] - 0.2) < 1e-6) return; // too close to the cut to call
    close(v, raw[k] >= 0.2 ? raw[k] : 0, 1e-6);
  });
  // "each" does not alias the input buffer
  const e2 = L.viewMatrices({ attn, nHeads: nH, T, tokens: t, threshold: 0.5 });
  assert.notEqual(e2.mats[0].mat.buffer, attn.buffer);
  // straight from the bytes gives the same as from the decoded floats
  const bytes = Uint8Array.from(attn, (v) => Math.round(v * 255));
  const dec = L.decodeAttention(bytes, nH, T);
  for (const opts of [{ combine: "mean", hideSpecial: true }, { combine: "sum" }, { combine: "each", pairFilter: "BA" }]) {
    const fb = L.viewMatrices({ attn: bytes, nHeads: nH, T, tokens: t, ...opts });
    const ff = L.viewMatrices({ attn: dec, nHeads: nH, T, tokens: t, ...opts });
    fb.mats.forEach((m, k) => m.mat.forEach((v, i) => close(v, ff.mats[k].mat[i], 1e-5)));
  }
  assert.throws(() => L.viewMatrices({ attn, nHeads: nH, T: T + 1, tokens: t }), /does not match/);
  assert.throws(() => L.viewMatrices({ attn, nHeads: nH, T, tokens: t, combine: "max" }), /unknown combine/);
});

test("resampleMatrix: identity, max/mean pooling, nearest upsampling", () => {
  const K = 4;
  const m = Float32Array.from({ length: 16 }, (_, i) => i / 16);
  assert.deepEqual([...L.resampleMatrix(m, K, 4, 4)], [...m]);
  const mx = L.resampleMatrix(m, K, 2, 2, "max");
  assert.deepEqual([...mx], [5 / 16, 7 / 16, 13 / 16, 15 / 16].map(Math.fround));
  const mn = L.resampleMatrix(m, K, 2, 2, "mean");
  [2.5, 4.5, 10.5, 12.5].forEach((v, k) => close(mn[k], v / 16, 1e-6));
  const up = L.resampleMatrix(Float32Array.of(0.1, 0.2, 0.3, 0.4), 2, 4, 4);
  assert.deepEqual([...up].map((v) => +v.toFixed(3)), [0.1, 0.1, 0.2, 0.2, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.3, 0.3, 0.4, 0.4]);
  // non-divisible sizes: every source cell lands somewhere, mean pooling preserves the overall mean
  const K2 = 7;
  const m2 = Float32Array.from({ length: K2 * K2 }, (_, i) => ((i * 13) % 17) / 17);
  const total = m2.reduce((a, b) => a + b) / m2.length;
  const p = L.resampleMatrix(m2, K2, 3, 3, "mean");
  const weights = [0, 0, 0];
  for (let c = 0; c < K2; c++) weights[Math.floor((c * 3) / K2)]++; // bin sizes: [3, 2, 2]
  assert.deepEqual(weights, [3, 2, 2]);
  let acc = 0;
  for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) acc += p[y * 3 + x] * weights[x] * weights[y];
  close(acc / (K2 * K2), total, 1e-5);
  assert.equal(Math.max(...L.resampleMatrix(m2, K2, 3, 3, "max")), Math.max(...m2));
  // mixed: pool one axis, upsample the other
  const mixed = L.resampleMatrix(m2, K2, 14, 3, "max");
  assert.equal(mixed.length, 42);
  assert.equal(Math.max(...mixed), Math.max(...m2));
});

test("resampleMatrix at T = 4096 keeps isolated peaks and is fast enough", () => {
  const K = 4096;
  const m = new Float32Array(K * K);
  for (let i = 0; i < K; i++) m[i * K + i] = 0.3; // diagonal
  m[1234 * K + 4000] = 0.9; // one isolated peak
  m[4095 * K + 0] = 0.7;
  const out = 600;
  const t0 = performance.now();
  const r = L.resampleMatrix(m, K, out, out, "max");
  const ms = performance.now() - t0;
  console.log(`# resample 4096² → ${out}² (max): ${ms.toFixed(1)} ms`);
  const bin = (c) => Math.floor((c * out) / K);
  assert.equal(r[bin(1234) * out + bin(4000)], Math.fround(0.9));
  assert.equal(r[bin(4095) * out + bin(0)], Math.fround(0.7));
  for (let y = 0; y < out; y++) assert.ok(r[y * out + y] >= Math.fround(0.3) - 1e-7, `diagonal at ${y}`);
  let nonzero = 0;
  for (const v of r) if (v > 0) nonzero++;
  assert.ok(nonzero < out * 4, "pooling does not smear weights into empty bins");
  // the colour pass over the result at device resolution
  const lut = L.buildRamp(L.RAMP_LIGHT);
  const t1 = performance.now();
  const rgba = L.colourise(r, lut);
  console.log(`# colourise ${out}²: ${(performance.now() - t1).toFixed(1)} ms`);
  assert.equal(rgba.length, out * out * 4);
});

test("viewMatrices copes with T = 4096 straight from bytes (hide specials + mean)", () => {
  const T = 4096, nH = 4;
  const attn = new Uint8Array(nH * T * T);
  for (let h = 0; h < nH; h++) for (let i = 1; i < T; i++) {
    attn[(h * T + i) * T] = 128; // attend to the first (special) token
    attn[(h * T + i) * T + i] = 127;
  }
  assert.equal(L.attentionBytes(attn, nH, T), attn, "no copy");
  assert.throws(() => L.attentionBytes(attn, nH, T - 1), /n_heads × T × T/);
  const t = Array.from({ length: T }, (_, i) => ({ text: `w${i}`, special: i === 0 || i === T - 1, segment: 0 }));
  const t0 = performance.now();
  const v = L.viewMatrices({ attn, nHeads: nH, T, tokens: t, combine: "mean", hideSpecial: true });
  console.log(`# viewMatrices 4×4096² bytes, hide+mean: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(v.K, T - 2);
  // with the special column dropped, the diagonal carries the whole row
  for (const a of [0, 100, 4093]) close(v.mats[0].mat[a * v.K + a], 1, 1e-6);
});

test("makeThumbs max-pools every head of every layer", () => {
  const T = 8, nH = 2, S = 4;
  const layers = [randomLayer(nH, T, 1), randomLayer(nH, T, 2)];
  const th = L.makeThumbs(layers, nH, T, S);
  assert.equal(th.length, 2 * nH * S * S);
  const ref = L.resampleMatrix(L.headMatrix(layers[1], T, 1), T, S, S, "max");
  const got = L.thumbAt(th, nH, S, 1, 1);
  ref.forEach((v, k) => assert.equal(got[k], Math.round(v * 255)));
  assert.equal(L.suggestedThumbSize(5), 5);
  assert.equal(L.suggestedThumbSize(4096), 32);
});

test("head palette: at least 12 distinct, distinguishable colours that cycle", () => {
  const P = L.HEAD_COLOURS;
  assert.ok(P.length >= 12);
  assert.equal(new Set(P).size, P.length);
  const rgb = P.map((c) => L.parseColour(c));
  for (let a = 0; a < P.length; a++) {
    for (let b = a + 1; b < P.length; b++) {
      const d = Math.hypot(rgb[a][0] - rgb[b][0], rgb[a][1] - rgb[b][1], rgb[a][2] - rgb[b][2]);
      const need = a < 12 && b < 12 ? 60 : 45; // the first 12 (BERT-base) are kept furthest apart
      assert.ok(d > need, `${P[a]} and ${P[b]} are too similar (${d.toFixed(1)})`);
    }
    // visible on white and on a dark background
    const lum = L.luminance(rgb[a]);
    assert.ok(lum < 0.75 && lum > 0.02, `${P[a]} luminance ${lum}`);
  }
  assert.equal(L.headColour(0), P[0]);
  assert.equal(L.headColour(P.length + 3), P[3]);
  assert.equal(L.headColour(-1), P[P.length - 1]);
});

test("dark theme lifts head colours so every one stands out from a dark background", () => {
  assert.equal(L.mixColour("#000000", "#ffffff", 0.5), "#808080");
  assert.equal(L.mixColour("#102030", "#102030", 0.7), "#102030");
  const bg = L.luminance(L.parseColour("#16181d"));
  for (let h = 0; h < L.HEAD_COLOURS.length; h++) {
    assert.equal(L.headColourFor(h, false), L.headColour(h));
    const lum = L.luminance(L.parseColour(L.headColourFor(h, true)));
    const contrast = (lum + 0.05) / (bg + 0.05);
    assert.ok(contrast >= 3, `head ${h} contrast ${contrast.toFixed(2)} on dark`);
  }
});

test("colour parsing, luminance, dark detection, ramps", () => {
  assert.deepEqual(L.parseColour("#fff"), [255, 255, 255]);
  assert.deepEqual(L.parseColour("#102030"), [16, 32, 48]);
  assert.deepEqual(L.parseColour("rgb(1, 2, 3)"), [1, 2, 3]);
  assert.deepEqual(L.parseColour("rgba(10, 20, 30, 0.5)"), [10, 20, 30]);
  assert.deepEqual(L.parseColour("rgb(10 20 30)"), [10, 20, 30]);
  assert.equal(L.parseColour("blue"), null);
  close(L.luminance([255, 255, 255]), 1, 1e-9);
  close(L.luminance([0, 0, 0]), 0, 1e-9);
  assert.ok(L.isDarkColour("rgb(22, 24, 29)"));
  assert.ok(!L.isDarkColour("#ffffff"));
  for (const stops of [L.RAMP_LIGHT, L.RAMP_DARK]) {
    const lut = L.buildRamp(stops);
    assert.equal(lut.length, 1024);
    assert.deepEqual([...lut.slice(0, 3)], L.parseColour(stops[0]));
    assert.deepEqual([...lut.slice(1020, 1023)], L.parseColour(stops[stops.length - 1]));
    assert.ok([...lut].filter((_, i) => i % 4 === 3).every((a) => a === 255));
  }
  // light ramp darkens with weight, dark ramp brightens
  const lum = (lut, i) => L.luminance([lut[i * 4], lut[i * 4 + 1], lut[i * 4 + 2]]);
  const lt = L.buildRamp(L.RAMP_LIGHT), dk = L.buildRamp(L.RAMP_DARK);
  for (let i = 8; i < 256; i += 8) {
    assert.ok(lum(lt, i) <= lum(lt, i - 8) + 1e-9);
    assert.ok(lum(dk, i) >= lum(dk, i - 8) - 1e-9);
  }
  // colourise clamps and applies gamma
  const px = L.colourise(Float32Array.of(-1, 0, 0.25, 2), lt);
  assert.deepEqual([...px.slice(0, 4)], [...lt.slice(0, 4)]);
  assert.deepEqual([...px.slice(12, 16)], [...lt.slice(1020, 1024)]);
  const g = L.colourise(Float32Array.of(0.25), lt, undefined, 0.5);
  assert.deepEqual([...g], [...lt.slice(128 * 4, 128 * 4 + 4)]);
});

test("curve geometry leaves and arrives horizontally", () => {
  const c = L.curve(0, 10, 100, 50);
  assert.deepEqual(c, { x1: 0, y1: 10, c1x: 50, c1y: 10, c2x: 50, c2y: 50, x2: 100, y2: 50 });
  assert.equal(L.curvePath(0, 10, 100, 50.123), "M0,10 C50,10 50,50.12 100,50.12");
});

test("bucketEdges keeps every edge above minWeight, in the right bucket, with focus", () => {
  const K = 5;
  const m = L.headMatrix(randomLayer(1, K, 5), K, 0);
  const levels = 10;
  const b = L.bucketEdges(m, K, { levels, minWeight: 0.05 });
  let count = 0;
  for (const { alpha, edges } of b) {
    for (let e = 0; e < edges.length; e += 2) {
      const w = m[edges[e] * K + edges[e + 1]];
      assert.ok(w > 0.05);
      assert.ok(w <= alpha + 1e-6 && w >= alpha - 1 / levels - 1e-6, `w=${w} alpha=${alpha}`);
      count++;
    }
  }
  assert.equal(count, [...m].filter((w) => w > 0.05).length);
  const from = L.bucketEdges(m, K, { focus: 2, side: "from", minWeight: 0 }).flatMap((x) => x.edges);
  for (let e = 0; e < from.length; e += 2) assert.equal(from[e], 2);
  assert.equal(from.length / 2, K);
  const to = L.bucketEdges(m, K, { focus: 3, side: "to", minWeight: 0 }).flatMap((x) => x.edges);
  for (let e = 1; e < to.length; e += 2) assert.equal(to[e], 3);
  // weights above 1 (summed heads) clamp into the top bucket
  const big = L.bucketEdges(Float32Array.of(2.5), 1, { levels: 4 });
  assert.deepEqual(big, [{ alpha: 1, edges: [0, 0] }]);
});

test("token display, labels, probabilities, default view", () => {
  assert.equal(L.displayToken(" Paris"), "Paris");
  assert.equal(L.displayToken("##ing"), "##ing");
  assert.equal(L.displayToken(" "), "␣");
  assert.equal(L.displayToken("\n"), "↵");
  assert.equal(L.displayToken(""), "∅");
  assert.equal(L.displayToken(null), "∅");
  const lab = L.tokenAriaLabel({ text: "cat", special: false, segment: 1, masked: true, knocked_out: false }, 3);
  assert.equal(lab, 'token 3: "cat", segment B, masked');
  assert.match(L.tokenAriaLabel({ text: "[SEP]", special: true, segment: 0, knocked_out: true }, 0), /special, knocked out/);
  assert.equal(L.formatProb(0.873), "87.3%");
  assert.equal(L.formatProb(0.0523), "5.23%");
  assert.equal(L.formatProb(0.0000001), "<0.1%");
  assert.equal(L.formatProb(NaN), "–");
  assert.equal(L.defaultView(L.HEAD_VIEW_MAX_TOKENS), "head");
  assert.equal(L.defaultView(L.HEAD_VIEW_MAX_TOKENS + 1), "matrix");
  assert.equal(L.clampInt(7.6, 0, 5), 5);
  assert.equal(L.clampInt(-3, 0, 5), 0);
  assert.equal(L.clampInt("x", 1, 5), 1);
});

test("click coalescing and optimistic token state", () => {
  const q = [
    { index: 2, mode: "mask" },
    { index: 3, mode: "mask" },
    { index: 2, mode: "mask" },
    { index: 3, mode: "knockout" },
    { index: 2, mode: "mask" },
  ];
  assert.deepEqual(L.coalesceToggles(q), [
    { index: 2, mode: "mask" },
    { index: 3, mode: "mask" },
    { index: 3, mode: "knockout" },
  ]);
  assert.deepEqual(L.coalesceToggles(q.slice(0, 3).filter((x) => x.index === 2)), []);
  const t = tokens("a b c d");
  t[3].masked = true;
  const p = L.applyPending(t, [{ index: 1, mode: "mask" }, { index: 3, mode: "mask" }, { index: 2, mode: "knockout" }, { index: 9, mode: "mask" }]);
  assert.deepEqual(p.map((x) => [x.masked, x.knocked_out, !!x.pending]), [
    [false, false, false],
    [true, false, true],
    [false, true, true],
    [false, false, true],
  ]);
  assert.equal(t[1].masked, false, "input tokens untouched");
});

test("modes and prediction captions depend on the model kind", () => {
  assert.deepEqual(L.availableModes("masked_lm"), ["mask", "knockout"]);
  assert.deepEqual(L.availableModes("causal_lm"), ["knockout"]);
  assert.deepEqual(L.availableModes("encoder"), ["knockout"]);
  const t = { text: " Paris", special: false, segment: 0, masked: false, knocked_out: false };
  assert.equal(L.predictionCaption("causal_lm", t, 4), 'Next token after "Paris" (#4)');
  assert.equal(L.predictionCaption("masked_lm", { ...t, masked: true }, 4), '[MASK] at #4 (was "Paris")');
  assert.equal(L.predictionCaption("masked_lm", t, 4), 'Token "Paris" (#4)');
});
