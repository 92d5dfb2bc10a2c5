// exformer widget logic: binary buffers. base64 (the static model's and the saved state's form),
// any binary value anywidget may hand over viewed as bytes, the `attn` and `thumbs` layouts.

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = /* @__PURE__ */ (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  // Also accept the URL-safe alphabet.
  t["-".charCodeAt(0)] = 62;
  t["_".charCodeAt(0)] = 63;
  return t;
})();

/**
 * Decode standard base64 (RFC 4648 §4, padding optional, ASCII whitespace ignored; the URL-safe
 * alphabet is accepted too).
 * @param {string} s
 * @returns {Uint8Array}
 */
export function base64ToBytes(s) {
  if (typeof s !== "string") throw new TypeError("base64ToBytes expects a string");
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61 /* = */) break;
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    const v = c < 256 ? B64_INDEX[c] : -1;
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(s[i])} at offset ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.slice(0, n);
}

/**
 * Encode bytes as standard base64 with padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function bytesToBase64(bytes) {
  const parts = [];
  let chunk = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const t = (a << 16) | (b << 8) | c;
    chunk += B64[(t >> 18) & 63] + B64[(t >> 12) & 63];
    chunk += i + 1 < bytes.length ? B64[(t >> 6) & 63] : "=";
    chunk += i + 2 < bytes.length ? B64[t & 63] : "=";
    if (chunk.length > 8192) {
      parts.push(chunk);
      chunk = "";
    }
  }
  parts.push(chunk);
  return parts.join("");
}

/**
 * View any binary value the widget may receive as a Uint8Array without copying when possible.
 * anywidget hands binary traits over as DataView; tests and the static model may pass
 * ArrayBuffer, typed arrays, plain arrays of bytes, or a base64 string.
 * @param {unknown} buf
 * @returns {Uint8Array|null}
 */
export function toBytes(buf) {
  if (buf == null) return null;
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (Array.isArray(buf)) return Uint8Array.from(buf);
  if (typeof buf === "string") return base64ToBytes(buf);
  // ipywidgets sometimes wraps buffers as {buffer: ArrayBuffer}
  if (typeof buf === "object" && buf && "buffer" in buf) return toBytes(/** @type {any} */ (buf).buffer);
  throw new TypeError(`unsupported binary value of type ${Object.prototype.toString.call(buf)}`);
}

/**
 * Validate the `attn` buffer's size and view it as bytes without copying: Uint8 row-major
 * [nHeads, T, T], weight = byte / 255. Long inputs stay as bytes (T = 4096 with 12 heads is 200 MB
 * of bytes but would be 800 MB as floats).
 * @param {unknown} buffer
 * @param {number} nHeads
 * @param {number} T
 * @returns {Uint8Array}
 */
export function attentionBytes(buffer, nHeads, T) {
  const bytes = toBytes(buffer);
  const want = nHeads * T * T;
  if (!bytes) throw new Error("no attention buffer");
  if (!(nHeads > 0) || !(T > 0)) throw new Error(`bad attention shape: ${nHeads} heads × ${T} tokens`);
  if (bytes.length !== want) {
    throw new Error(
      `attention buffer holds ${bytes.length} bytes but n_heads × T × T = ${nHeads} × ${T} × ${T} = ${want}`,
    );
  }
  return bytes;
}

// (a pure IIFE: the bundle drops the table with decodeAttention, which only tests use)
const BYTE_TO_WEIGHT = /* @__PURE__ */ (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/**
 * Decode the `attn` buffer: Uint8 row-major [nHeads, T, T], weight = byte / 255.
 * @param {unknown} buffer
 * @param {number} nHeads
 * @param {number} T
 * @returns {Float32Array} length nHeads*T*T
 */
export function decodeAttention(buffer, nHeads, T) {
  const bytes = attentionBytes(buffer, nHeads, T);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_WEIGHT[bytes[i]];
  return out;
}

/**
 * One head's T*T matrix (a view, not a copy).
 * @template {Float32Array|Uint8Array} A
 * @param {A} attn [nHeads, T, T]
 * @param {number} T
 * @param {number} head
 */
export function headMatrix(attn, T, head) {
  const n = T * T;
  if (head < 0 || (head + 1) * n > attn.length) throw new RangeError(`head ${head} out of range`);
  return attn.subarray(head * n, (head + 1) * n);
}

/**
 * Thumbnail of (layer, head) from the `thumbs` buffer: Uint8 [nLayers, nHeads, S, S] (a view).
 * @param {Uint8Array} thumbs
 * @param {number} nHeads
 * @param {number} S
 * @param {number} layer
 * @param {number} head
 */
export function thumbAt(thumbs, nHeads, S, layer, head) {
  const n = S * S;
  const off = (layer * nHeads + head) * n;
  if (layer < 0 || head < 0 || head >= nHeads || off + n > thumbs.length) {
    throw new RangeError(`thumbnail (${layer}, ${head}) out of range`);
  }
  return thumbs.subarray(off, off + n);
}
