// Test-only builders: a canonical protobuf encoder for entries, a signer, RFC 9162 proof makers
// and a subject-index proof maker, all written from the documents, so that the tests can make
// bundles and lifecycle bundles (and break them). Nothing here is used by the library.

import { ed25519 } from '@noble/curves/ed25519';
import { b64encode, concat, hex, unhex, utf8 } from '../src/bytes.js';
import { entrySignedMessage } from '../src/entry.js';
import { leafHash, rootOfLeafHashes } from '../src/merkle.js';
import { keyId } from '../src/note.js';
import { bit, EMPTY, KEYWORD, leafHash as siLeafHash, subtreeHash } from '../src/subjectindex.js';

// --- protobuf, canonical (fields in order, defaults left out) ---
function varint(x) {
  let v = BigInt.asUintN(64, BigInt(x));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}
const tag = (no, wt) => varint((no << 3) | wt);
const vfield = (no, x) => (BigInt(x) === 0n ? new Uint8Array(0) : concat(tag(no, 0), varint(x)));
const bfield = (no, b) => concat(tag(no, 2), varint(b.length), b);

export function encodeEntry(e) {
  const ts = concat(vfield(1, e.receivedAt.seconds), vfield(2, e.receivedAt.nanos));
  const token = e.subjectToken ?? new Uint8Array(0);
  return concat(
    vfield(1, e.index),
    bfield(2, e.prevHash),
    bfield(3, ts),
    e.producer === null ? new Uint8Array(0) : bfield(4, utf8(e.producer)),
    token.length ? bfield(5, token) : new Uint8Array(0),
    vfield(6, e.subjectSeq ?? 0),
    vfield(7, e.subjectPrevIndex ?? 0),
    bfield(8, e.event ?? new Uint8Array(0)),
    e.extra ?? new Uint8Array(0),
  );
}
export { varint, tag, bfield, vfield };

// --- keys and notes ---
export function makeKey(origin, seedHex) {
  const seed = unhex(seedHex);
  const publicKey = ed25519.getPublicKey(seed);
  const id = keyId(origin, publicKey);
  const verifierKey = `${origin}+${hex(id)}+${b64encode(concat(Uint8Array.of(1), publicKey))}`;
  return { origin, seed, publicKey, id, idHex: hex(id), verifierKey };
}

export function signNote(body, keys) {
  let sigs = '';
  for (const k of keys) {
    const sig = ed25519.sign(utf8(body), k.seed);
    sigs += `\u2014 ${k.origin} ${b64encode(concat(k.id, sig))}\n`;
  }
  return `${body}\n${sigs}`;
}

export function checkpointBody(origin, size, root, extensions = []) {
  return `${origin}\n${size}\n${b64encode(root)}\n${extensions.map((l) => `${l}\n`).join('')}`;
}

// --- RFC 9162 PATH and PROOF over leaf hashes ---
const largestPow2Below = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
export function inclusionPath(leaves, m) {
  const n = leaves.length;
  if (n <= 1) return [];
  const k = largestPow2Below(n);
  if (m < k) return [...inclusionPath(leaves.slice(0, k), m), rootOfLeafHashes(leaves.slice(k))];
  return [...inclusionPath(leaves.slice(k), m - k), rootOfLeafHashes(leaves.slice(0, k))];
}
function subproof(m, leaves, b) {
  const n = leaves.length;
  if (m === n) return b ? [] : [rootOfLeafHashes(leaves)];
  const k = largestPow2Below(n);
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), rootOfLeafHashes(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), rootOfLeafHashes(leaves.slice(0, k))];
}
export const consistencyProof = (leaves, m) => (m === 0 ? [] : subproof(m, leaves, true));

// --- a whole log ---
// specs: [{ producer?, subjectToken?, subjectSeq?, subjectPrevIndex?, event?, index? (override) }]
// Subject fields are filled in from the tokens unless the spec gives them.
export function makeLog(key, specs, { signWith = key } = {}) {
  const entries = [];
  const heads = new Map(); // token hex -> { count, lastIndex, lastLeaf }
  let prev = new Uint8Array(32);
  specs.forEach((s, i) => {
    const token = s.subjectToken ?? new Uint8Array(0);
    const h = token.length ? heads.get(hex(token))?.head : undefined;
    const fields = {
      index: s.index ?? i,
      prevHash: s.prevHash ?? prev,
      receivedAt: { seconds: 1767225600 + i, nanos: i * 1000 },
      producer: s.producer ?? 'crm',
      subjectToken: token,
      subjectSeq: token.length ? (s.subjectSeq ?? (h ? h.count : 0)) : 0,
      subjectPrevIndex: token.length ? (s.subjectPrevIndex ?? (h ? h.lastIndex : 0)) : 0,
      event: s.event ?? new Uint8Array(0),
      extra: s.extra,
    };
    const bytes = s.bytes ?? encodeEntry(fields);
    const leaf = leafHash(bytes);
    const signature = ed25519.sign(entrySignedMessage(key.origin, leaf), signWith.seed);
    if (token.length) heads.set(hex(token), { token, head: { count: BigInt((h?.count ?? 0n) + 1n), lastIndex: BigInt(i), lastLeaf: leaf } });
    entries.push({ index: i, bytes, leaf, signature, fields });
    prev = leaf;
  });
  const leaves = entries.map((e) => e.leaf);
  return { key, entries, leaves, heads, root: rootOfLeafHashes(leaves) };
}

export function bundleEntry(log, i, size = log.entries.length, withKeyId = false) {
  const e = log.entries[i];
  const out = {
    index: i,
    entry: b64encode(e.bytes),
    signature: b64encode(e.signature),
    inclusion_proof: inclusionPath(log.leaves.slice(0, size), i).map(b64encode),
  };
  if (withKeyId) out.key_id = log.key.idHex;
  return out;
}

// --- subject index ---
export const pairsOf = (heads) => [...heads.values()].map(({ token, head }) => ({ token, head }));
export const siRoot = (pairs) => subtreeHash(pairs, 0);
export const siLine = (root) => `${KEYWORD} v1 ${b64encode(root)}`;

// Section 7's construction, encoded as 7.2's JSON.
export function siProofJson(pairs, t) {
  let s = pairs;
  let d = 0;
  const siblings = [];
  while (s.length >= 2) {
    const mine = s.filter((p) => bit(p.token, d) === bit(t, d));
    const other = s.filter((p) => bit(p.token, d) !== bit(t, d));
    const h = subtreeHash(other, d + 1);
    siblings.push(h.every((x) => x === 0) ? null : b64encode(h));
    s = mine;
    d++;
  }
  const out = {};
  if (s.length === 1) {
    const { token, head } = s[0];
    out.leaf = { token: b64encode(token), count: Number(head.count), last_index: Number(head.lastIndex), last_leaf: b64encode(head.lastLeaf) };
  }
  out.siblings = siblings;
  return out;
}
export { EMPTY, siLeafHash };
