// Proof bundles (SPEC.md section 7), and the entry checks that lifecycle bundles share.

import { b64decode, equal, isZero } from './bytes.js';
import { decodeEntry, verifyEntrySignature } from './entry.js';
import { fail, within } from './errors.js';
import { array, checkFields, index, parseJson, string } from './json.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { openCheckpoint, parseKeys } from './note.js';

const MALFORMED = 'bundle-malformed';

// Accepts bundle text (read with the strict JSON reader), UTF-8 bytes, or an already parsed object
// (then duplicate keys can no longer be seen).
export function toObject(input, what) {
  if (input instanceof Uint8Array) {
    try {
      input = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      fail('json-syntax', `${what} is not valid UTF-8`);
    }
  }
  return typeof input === 'string' ? parseJson(input, what) : input;
}

// Reads one element of `entries` (SPEC.md section 7): shape and encodings only.
export function readBundleEntry(raw, where, code = MALFORMED) {
  checkFields(raw, ['index', 'entry', 'signature', 'inclusion_proof'], ['key_id'], where, code);
  const idx = index(raw.index, `${where} index`, code);
  const bytes = b64decode(string(raw.entry, `${where} entry`, code), `${where} entry`, code);
  const signature = b64decode(string(raw.signature, `${where} signature`, code), `${where} signature`, code, 64);
  const path = array(raw.inclusion_proof, `${where} inclusion_proof`, code).map((h, i) =>
    b64decode(string(h, `${where} inclusion_proof[${i}]`, code), `${where} inclusion_proof[${i}]`, code, 32),
  );
  let keyId;
  if (raw.key_id !== undefined) {
    keyId = string(raw.key_id, `${where} key_id`, code);
    if (!/^[0-9a-f]{8}$/.test(keyId)) fail(code, `${where} key_id ${JSON.stringify(keyId)} is not 8 lowercase hex digits`);
  }
  return { index: idx, bytes, signature, path, keyId, where, leaf: leafHash(bytes) };
}

// The checks SPEC.md section 7 makes of each entry against an opened checkpoint: the index inside
// the bytes, the signature under a key of the checkpoint's origin, the inclusion proof. Returns
// the decoded entry and the key that signed it.
export function checkEntry(e, cp, keys) {
  // SPEC.md 9.3's order: the entry is authenticated (key, signature, inclusion) before its bytes
  // are read.
  return within(e.where, () => {
    const key = verifyEntrySignature(keys, cp.origin, e.bytes, e.signature, e.keyId);
    verifyInclusion(e.index, cp.size, e.leaf, e.path, cp.root);
    const decoded = decodeEntry(e.bytes, 'entry bytes');
    if (decoded.index !== BigInt(e.index)) {
      fail('entry-index-mismatch', `the entry's bytes carry index ${decoded.index}, the bundle says ${e.index}`, { index: e.index });
    }
    return { ...e, decoded, key };
  });
}

// Beyond SPEC.md section 7's list (SPEC-QUESTIONS.md): the hash chain of section 3 wherever the
// bundle shows it: entry 0's prev_hash is zero, and an entry whose predecessor is in the bundle
// names the predecessor's leaf hash.
export function checkChain(checked) {
  const byIndex = new Map(checked.map((e) => [e.index, e]));
  for (const e of checked) {
    if (e.index === 0 && !isZero(e.decoded.prevHash)) fail('entry-chain-mismatch', `${e.where}: entry 0's prev_hash is not 32 zero bytes`, { index: 0 });
    const prev = byIndex.get(e.index - 1);
    if (prev && !equal(prev.leaf, e.decoded.prevHash)) {
      fail('entry-chain-mismatch', `${e.where}: prev_hash is not the leaf hash of entry ${e.index - 1}`, { index: e.index });
    }
  }
}

export function verifyBundle(input, keys) {
  keys = parseKeys(keys);
  const b = toObject(input, 'bundle');
  // SPEC.md 9.1: the whole shape first, then the checkpoint, the entries, the chain, the link.
  checkFields(b, ['checkpoint', 'entries'], ['consistency'], 'bundle', MALFORMED);
  const checkpointText = string(b.checkpoint, 'checkpoint', MALFORMED);
  const raw = array(b.entries, 'bundle entries', MALFORMED).map((r, i) => readBundleEntry(r, `entries[${i}]`));
  raw.forEach((e, i) => (e.where = `entries[${i}] (index ${e.index})`));
  let link = null;
  if (b.consistency !== undefined) {
    const c = checkFields(b.consistency, ['from_checkpoint', 'proof'], [], 'consistency', MALFORMED);
    link = {
      fromText: string(c.from_checkpoint, 'from_checkpoint', MALFORMED),
      proof: array(c.proof, 'consistency proof', MALFORMED).map((h, i) =>
        b64decode(string(h, `consistency proof[${i}]`, MALFORMED), `consistency proof[${i}]`, MALFORMED, 32),
      ),
    };
  }
  const cp = within('checkpoint', () => openCheckpoint(checkpointText, keys));
  const checked = raw.map((e) => checkEntry(e, cp, keys));
  checkChain(checked);
  let consistency = null;
  if (link !== null) {
    const { proof } = link;
    const from = within('consistency from_checkpoint', () => openCheckpoint(link.fromText, keys));
    if (from.origin !== cp.origin) fail('consistency-origin-mismatch', `from_checkpoint is of origin ${from.origin}, the checkpoint of ${cp.origin}`);
    if (from.size > cp.size) fail('consistency-order', `from_checkpoint's size ${from.size} is above the checkpoint's ${cp.size}`);
    within(`consistency ${from.size} -> ${cp.size}`, () => verifyConsistency(from.size, cp.size, from.root, cp.root, proof));
    consistency = { fromSize: from.size, fromRoot: from.root, fromCheckpoint: from };
  }
  return { kind: 'bundle', checkpoint: cp, entries: checked, consistency };
}
