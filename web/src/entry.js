// Entry envelopes (SPEC.md section 3) and entry signatures (section 4).
//
// The wire reader is minimal and strict: it reads the envelope's fields 1-8 and the Timestamp
// inside field 3, keeps field 8 (the Event) as raw bytes, and rejects anything a prost encoder
// of SPEC.md section 3 could not have written (see CHECKS.md and SPEC-QUESTIONS.md): truncation,
// varints over 64 bits or not minimal, wire types 3, 4, 6 and 7, field number 0, fields out of
// order or repeated, proto3 defaults written out, a wrong wire type for a known field.
// Unknown fields (9 and up, reserved for the envelope's growth) are skipped and listed.

import { concat, utf8 } from './bytes.js';
import { verifyStrict } from './ed25519.js';
import { fail } from './errors.js';
import { leafHash } from './merkle.js';

const MALFORMED = 'entry-malformed';
const CANONICAL = 'entry-not-canonical';
const INVALID = 'entry-field-invalid';

function readVarint(b, o, what) {
  let x = 0n;
  for (let i = 0; i < 10; i++) {
    if (o + i >= b.length) fail(MALFORMED, `${what}: a varint runs past the end`);
    const byte = b[o + i];
    if (i === 9 && byte > 1) fail(MALFORMED, `${what}: a varint does not fit 64 bits`);
    x |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) fail(CANONICAL, `${what}: a varint is not minimally encoded`);
      return [x, o + i + 1];
    }
  }
  return fail(MALFORMED, `${what}: a varint is longer than 10 bytes`);
}

// Reads a message into [{ no, wt, value (BigInt for varints, Uint8Array otherwise) }], in order.
function readFields(b, what) {
  const out = [];
  let o = 0;
  let last = 0;
  while (o < b.length) {
    let key;
    [key, o] = readVarint(b, o, what);
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (key >> 3n > 0x1fffffffn || no === 0) fail(MALFORMED, `${what}: invalid field number ${key >> 3n}`);
    if (no === last) fail(CANONICAL, `${what}: field ${no} appears twice`);
    if (no < last) fail(CANONICAL, `${what}: field ${no} comes after field ${last}`);
    last = no;
    let value;
    if (wt === 0) {
      [value, o] = readVarint(b, o, what);
    } else if (wt === 2) {
      let len;
      [len, o] = readVarint(b, o, what);
      if (len > BigInt(b.length - o)) fail(MALFORMED, `${what}: field ${no} runs past the end`);
      value = b.subarray(o, o + Number(len));
      o += Number(len);
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (o + n > b.length) fail(MALFORMED, `${what}: field ${no} runs past the end`);
      value = b.subarray(o, o + n);
      o += n;
    } else {
      fail(MALFORMED, `${what}: field ${no} has wire type ${wt} (groups and types 6, 7 are not read)`);
    }
    out.push({ no, wt, value });
  }
  return out;
}

function expectType(f, wt, what) {
  if (f.wt !== wt) fail(MALFORMED, `${what}: field ${f.no} has wire type ${f.wt}, not ${wt}`);
  if (wt === 0 && f.value === 0n) fail(CANONICAL, `${what}: field ${f.no} writes out the default 0`);
}

function readTimestamp(b, what) {
  let seconds = 0n;
  let nanos = 0;
  for (const f of readFields(b, what)) {
    if (f.no === 1) {
      expectType(f, 0, what);
      seconds = BigInt.asIntN(64, f.value);
    } else if (f.no === 2) {
      expectType(f, 0, what);
      const n = BigInt.asIntN(64, f.value);
      if (n < 0n || n > 999999999n) fail(INVALID, `${what}: nanos ${n} is outside 0..999999999`);
      nanos = Number(n);
    } else {
      fail(INVALID, `${what}: google.protobuf.Timestamp has no field ${f.no}`);
    }
  }
  return { seconds, nanos };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Decodes entry_bytes. Integers are BigInt; subjectToken is empty or 32 bytes.
export function decodeEntry(bytes, what = 'entry') {
  const e = {
    index: 0n,
    prevHash: null,
    receivedAt: null,
    producer: null,
    subjectToken: new Uint8Array(0),
    subjectSeq: 0n,
    subjectPrevIndex: 0n,
    event: null,
    unknownFields: [],
  };
  for (const f of readFields(bytes, what)) {
    switch (f.no) {
      case 1:
        expectType(f, 0, what);
        e.index = f.value;
        break;
      case 2:
        expectType(f, 2, what);
        if (f.value.length !== 32) fail(INVALID, `${what}: prev_hash has ${f.value.length} bytes, not 32`);
        e.prevHash = f.value.slice();
        break;
      case 3:
        expectType(f, 2, what);
        e.receivedAt = readTimestamp(f.value, `${what} received_at`);
        break;
      case 4:
        expectType(f, 2, what);
        try {
          e.producer = utf8Strict.decode(f.value);
        } catch {
          fail(INVALID, `${what}: producer is not valid UTF-8`);
        }
        if (e.producer === '') fail(CANONICAL, `${what}: producer writes out the empty default`);
        break;
      case 5:
        expectType(f, 2, what);
        if (f.value.length !== 32) fail(INVALID, `${what}: subject_token has ${f.value.length} bytes, not 32 (an empty token is left out)`);
        e.subjectToken = f.value.slice();
        break;
      case 6:
        expectType(f, 0, what);
        e.subjectSeq = f.value;
        break;
      case 7:
        expectType(f, 0, what);
        e.subjectPrevIndex = f.value;
        break;
      case 8:
        expectType(f, 2, what);
        e.event = f.value.slice();
        break;
      default:
        if (f.no <= 8) throw new Error('unreachable');
        e.unknownFields.push(f.no);
    }
  }
  for (const [no, name] of [[2, 'prev_hash'], [3, 'received_at'], [4, 'producer'], [8, 'event']]) {
    const key = { 2: 'prevHash', 3: 'receivedAt', 4: 'producer', 8: 'event' }[no];
    if (e[key] === null) fail('entry-field-missing', `${what}: field ${no} (${name}) is absent; SPEC.md section 3 says it always is present`, { field: name });
  }
  if (e.subjectToken.length === 0 && (e.subjectSeq !== 0n || e.subjectPrevIndex !== 0n)) {
    fail(INVALID, `${what}: subject_seq or subject_prev_index is set on an entry without a subject_token`);
  }
  return e;
}

// SPEC.md section 4: the signed message.
export const entrySignedMessage = (origin, leaf) => concat(utf8('gdpr-ledger:entry:v1\n'), utf8(origin), utf8('\n'), leaf);

// Verifies an entry signature under the keys named `origin`: the key named by `keyIdHex`
// when given, else each until one verifies. Returns the key that verified.
export function verifyEntrySignature(keys, origin, entryBytes, signature, keyIdHex, what = 'entry') {
  let candidates = keys.filter((k) => k.name === origin);
  if (keyIdHex !== undefined) {
    candidates = candidates.filter((k) => k.keyId === keyIdHex);
    if (candidates.length === 0) fail('entry-key-unknown', `${what} names key ${keyIdHex}, which is not a known key of ${origin}`, { keyId: keyIdHex });
  }
  if (candidates.length === 0) fail('entry-key-unknown', `no known key is named ${origin}`);
  const msg = entrySignedMessage(origin, leafHash(entryBytes));
  const reasons = [];
  for (const k of candidates) {
    const why = verifyStrict(k.publicKey, msg, signature);
    if (why === null) return k;
    reasons.push(`${k.keyId}: ${why}`);
  }
  return fail('entry-signature-invalid', `${what}: the signature does not verify (${reasons.join('; ')})`, { reasons });
}
