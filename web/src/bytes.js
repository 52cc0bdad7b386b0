// Bytes, strict base64 (RFC 4648 section 4, with padding), lowercase hex, UTF-8.
// SPEC.md "Conventions": decoders are strict, so that one value has one text.

import { fail } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function b64encode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63] : '=';
  }
  return out;
}

// Decodes canonical base64 or throws `code`. Rejected: a length that is not a multiple of 4,
// characters outside the alphabet (white space included), '=' anywhere but the last one or two
// places, non-zero bits in the unused low bits of the last character. The empty string is the
// empty byte string. `length`, when given, is the exact decoded length required.
export function b64decode(text, what, code = 'base64-invalid', length = undefined) {
  if (typeof text !== 'string') fail(code, `${what}: not a string`);
  if (text.length % 4 !== 0) fail(code, `${what}: base64 length ${text.length} is not a multiple of 4`);
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const v = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      if (last && j >= 4 - pad) {
        continue; // a padding '=' (checked by endsWith above)
      }
      const d = c < 128 ? LOOKUP[c] : -1;
      if (d < 0) fail(code, `${what}: character ${JSON.stringify(text[i + j])} at ${i + j} is not base64`);
      v[j] = d;
    }
    const n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    if (last && pad === 2 && (v[1] & 15) !== 0) fail(code, `${what}: non-zero trailing bits in base64`);
    if (last && pad === 1 && (v[2] & 3) !== 0) fail(code, `${what}: non-zero trailing bits in base64`);
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  if (length !== undefined && out.length !== length) {
    fail(code, `${what}: ${out.length} bytes where ${length} are required`);
  }
  return out;
}

export function hex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function unhex(text, what = 'hex', code = 'hex-invalid') {
  if (typeof text !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(text)) fail(code, `${what}: not lowercase hex of whole bytes`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
export const utf8 = (s) => encoder.encode(s);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function u64be(x) {
  const out = new Uint8Array(8);
  let v = BigInt(x);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function isZero(bytes) {
  return bytes.every((b) => b === 0);
}
