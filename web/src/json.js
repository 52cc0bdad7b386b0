// A strict JSON reader for bundles (RFC 8259 grammar): it rejects duplicate object keys (which
// JSON.parse silently resolves to the last one), keeps integers beyond 2^53 exact as BigInt, and
// returns numbers written with a fraction or exponent as JsonNonInteger, which every integer
// field rejects (SPEC.md section 7 and subject-index.md 7.2: numbers are JSON integers).
// Plus small helpers to check the shape of a decoded object.

import { fail } from './errors.js';

export class JsonNonInteger {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

export function parseJson(text, what = 'JSON') {
  if (typeof text !== 'string') fail('json-syntax', `${what} is not text`);
  let i = 0;
  const err = (m) => fail('json-syntax', `${what}: ${m} at offset ${i}`, { offset: i });
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return err('unexpected character');
  };
  const object = () => {
    i++;
    const out = {};
    ws();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') err('expected a key');
      const key = string();
      if (Object.prototype.hasOwnProperty.call(out, key)) fail('json-duplicate-key', `${what}: key ${JSON.stringify(key)} appears twice in one object`, { key });
      ws();
      if (text[i] !== ':') err("expected ':'");
      i++;
      Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === '}') {
        i++;
        return out;
      } else err("expected ',' or '}'");
    }
  };
  const array = () => {
    i++;
    const out = [];
    ws();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === ']') {
        i++;
        return out;
      } else err("expected ',' or ']'");
    }
  };
  const string = () => {
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) err('unterminated string');
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') err('control character in a string');
      if (c === '\\') {
        const e = text[i + 1];
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
        if (simple !== undefined) {
          out += simple;
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else err('bad escape');
      } else {
        out += c;
        i++;
      }
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) err('bad number');
    i += m[0].length;
    if (m[2] || m[3]) return new JsonNonInteger(m[0]);
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) err('trailing characters after the JSON value');
  return v;
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNonInteger);

// Checks that `obj` is an object with every `required` key and no key outside required+optional.
export function checkFields(obj, required, optional, what, code) {
  if (!isPlainObject(obj)) fail(code, `${what} is not a JSON object`);
  for (const k of required) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) fail(code, `${what} lacks the field "${k}"`, { field: k });
  }
  for (const k of Object.keys(obj)) {
    if (!required.includes(k) && !optional.includes(k)) fail(code, `${what} has the unknown field "${k}"`, { field: k });
  }
  return obj;
}

// A JSON integer >= 0 as BigInt.
export function uint(v, what, code) {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n) return v;
  return fail(code, `${what} is not a non-negative JSON integer`);
}

// A JSON integer >= 0 that fits a JavaScript number (2^53 - 1), as a number.
export function index(v, what, code) {
  const b = uint(v, what, code);
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) fail('number-out-of-range', `${what} ${b} is above 2^53-1, beyond this verifier`);
  return Number(b);
}

export function string(v, what, code) {
  if (typeof v !== 'string') fail(code, `${what} is not a string`);
  return v;
}

export function array(v, what, code) {
  if (!Array.isArray(v)) fail(code, `${what} is not an array`);
  return v;
}
