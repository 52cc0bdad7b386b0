// The subject index (docs/subject-index.md): head encoding, hashing, proofs in both encodings,
// proof verification, and the checkpoint extension line.

import { blake3 } from '@noble/hashes/blake3';
import { b64decode, concat, equal, isZero, u64be } from './bytes.js';
import { fail } from './errors.js';
import { checkFields, uint, array } from './json.js';

export const EMPTY = new Uint8Array(32);
export const KEYWORD = 'gdpr-ledger/subject-index';
const MAX_DEPTH = 256;
const DECODE = 'subject-proof-decode';

// Section 3: bit i of a token, most significant bit of byte 0 first.
export const bit = (token, i) => (token[i >> 3] >> (7 - (i & 7))) & 1;

// Section 3: the 48-byte head. count and lastIndex are BigInt or safe numbers.
export const headBytes = (head) => concat(u64be(head.count), u64be(head.lastIndex), head.lastLeaf);

// Section 4.
export const leafHash = (token, head) => blake3(concat(Uint8Array.of(0x10), token, headBytes(head)));
export const interiorHash = (left, right) => blake3(concat(Uint8Array.of(0x11), left, right));

// Section 5, straight from the definition: H(S, d) for pairs [{token, head}] with distinct tokens.
// Used by the tests to rebuild the vectors' roots; a verifier never needs it.
export function subtreeHash(pairs, d = 0) {
  if (pairs.length === 0) return EMPTY;
  if (pairs.length === 1) return leafHash(pairs[0].token, pairs[0].head);
  return interiorHash(
    subtreeHash(pairs.filter((p) => bit(p.token, d) === 0), d + 1),
    subtreeHash(pairs.filter((p) => bit(p.token, d) === 1), d + 1),
  );
}

// Section 7.1, strict. Returns { leaf: null | { token, head }, siblings: [Uint8Array] } with
// EMPTY standing for the siblings the bitmap leaves out.
export function decodeProofBinary(bytes) {
  let o = 0;
  const take = (n, what) => {
    if (o + n > bytes.length) fail(DECODE, `binary proof ends inside ${what} (offset ${o}, ${bytes.length} bytes)`);
    const out = bytes.slice(o, o + n);
    o += n;
    return out;
  };
  const tag = take(1, 'the terminal tag')[0];
  let leaf = null;
  if (tag === 0x01) {
    const token = take(32, 'the token');
    const hb = take(48, 'the head');
    leaf = { token, head: { count: beU64(hb, 0), lastIndex: beU64(hb, 8), lastLeaf: hb.slice(16) } };
  } else if (tag !== 0x00) {
    fail(DECODE, `unknown terminal tag 0x${tag.toString(16).padStart(2, '0')}`);
  }
  const db = take(2, 'the depth');
  const d = (db[0] << 8) | db[1];
  if (d > MAX_DEPTH) fail(DECODE, `depth ${d} is above ${MAX_DEPTH}`);
  const bitmap = take(Math.ceil(d / 8), 'the bitmap');
  for (let i = d; i < bitmap.length * 8; i++) {
    if (bitmap[i >> 3] & (0x80 >> (i & 7))) fail(DECODE, `bitmap bit ${i} is set, beyond depth ${d}`);
  }
  const siblings = [];
  for (let i = 0; i < d; i++) {
    if (bitmap[i >> 3] & (0x80 >> (i & 7))) {
      const h = take(32, `sibling ${i}`);
      if (isZero(h)) fail(DECODE, `sibling ${i} is written out as 32 zero bytes`);
      siblings.push(h);
    } else {
      siblings.push(EMPTY);
    }
  }
  if (o !== bytes.length) fail(DECODE, `${bytes.length - o} bytes after the last sibling`);
  return { leaf, siblings };
}

function beU64(b, at) {
  let x = 0n;
  for (let i = 0; i < 8; i++) x = (x << 8n) | BigInt(b[at + i]);
  return x;
}

const hash32 = (v, what) => b64decode(v, what, DECODE, 32);

// Section 7.2, strict. Same result shape as decodeProofBinary.
export function decodeProofJson(obj) {
  checkFields(obj, ['siblings'], ['leaf'], 'subject proof', DECODE);
  let leaf = null;
  if (obj.leaf !== undefined) {
    const l = checkFields(obj.leaf, ['token', 'count', 'last_index', 'last_leaf'], [], 'subject proof leaf', DECODE);
    leaf = {
      token: hash32(l.token, 'subject proof leaf token'),
      head: {
        count: u64(l.count, 'subject proof leaf count'),
        lastIndex: u64(l.last_index, 'subject proof leaf last_index'),
        lastLeaf: hash32(l.last_leaf, 'subject proof leaf last_leaf'),
      },
    };
  }
  const sib = array(obj.siblings, 'subject proof siblings', DECODE);
  if (sib.length > MAX_DEPTH) fail(DECODE, `${sib.length} siblings, more than ${MAX_DEPTH}`);
  const siblings = sib.map((s, i) => {
    if (s === null) return EMPTY;
    const h = hash32(s, `subject proof sibling ${i}`);
    if (isZero(h)) fail(DECODE, `sibling ${i} is written as 32 zero bytes instead of null`);
    return h;
  });
  return { leaf, siblings };
}

function u64(v, what) {
  const x = uint(v, what, DECODE);
  if (x >= 2n ** 64n) fail(DECODE, `${what} does not fit 64 bits`);
  return x;
}

// Section 7.3. Returns { present: true, head } or { present: false }.
export function verifyProof(root, token, proof) {
  const { leaf, siblings } = proof;
  const d = siblings.length;
  if (d > MAX_DEPTH) fail('subject-proof-too-many-siblings', `${d} siblings, more than ${MAX_DEPTH}`);
  if (leaf !== null && !equal(leaf.token, token)) {
    for (let i = 0; i < d; i++) {
      if (bit(leaf.token, i) !== bit(token, i)) {
        fail('subject-proof-leaf-off-path', `the proof's leaf differs from the token in bit ${i}, above the depth ${d} where the walk stopped`, { bit: i });
      }
    }
  }
  let h = leaf === null ? EMPTY : leafHash(leaf.token, leaf.head);
  for (let i = d - 1; i >= 0; i--) {
    h = bit(token, i) === 0 ? interiorHash(h, siblings[i]) : interiorHash(siblings[i], h);
  }
  if (!equal(h, root)) fail('subject-proof-root-mismatch', 'the subject proof does not lead to the subject-index root');
  if (leaf !== null && equal(leaf.token, token)) return { present: true, head: leaf.head };
  return { present: false };
}

// Section 6. Returns the root (32 bytes) if `line` is the subject-index line, null if it is
// another extension line; throws on a subject-index line that is not valid.
export function parseSubjectIndexLine(line) {
  const fields = line.split(' ');
  if (fields[0] !== KEYWORD) return null;
  if (fields.length < 2 || fields[1] === '') fail('subject-index-line-malformed', 'the subject-index line has no version field');
  if (fields[1] !== 'v1') fail('subject-index-line-unsupported-version', `subject-index version ${JSON.stringify(fields[1])} is not supported (only v1)`);
  if (fields.length !== 3) fail('subject-index-line-malformed', `the subject-index line has ${fields.length} space-separated fields, not 3`);
  return b64decode(fields[2], 'subject-index root', 'subject-index-line-root', 32);
}
