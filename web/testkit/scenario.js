// A small log, its checkpoints and bundles, made with the vector key of signing.json; shared by
// the bundle, lifecycle and fixture tests.
import { b64encode } from '../src/bytes.js';
import { rootOfLeafHashes } from '../src/merkle.js';
import {
  bundleEntry, checkpointBody, consistencyProof, makeKey, makeLog, pairsOf, siLine, siProofJson, siRoot, signNote,
} from './log.js';
import { loadVector } from './vectors.js';

const v = loadVector('signing.json');
export const ORIGIN = v.origin;
export const key = makeKey(ORIGIN, v.ed25519_seed_hex);
export const key2 = makeKey(ORIGIN, '2'.repeat(64)); // a rotated key of the same log
export const otherLogKey = makeKey('other.example/log', '3'.repeat(64));
export const strangerKey = makeKey(ORIGIN, '4'.repeat(64)); // same name, not the verifier's

export const tokenA = Uint8Array.from({ length: 32 }, (_, i) => 0x10 + i);
export const tokenB = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
export const tokenC = Uint8Array.from({ length: 32 }, (_, i) => 0x50 + i); // never in the log

// 0: -, 1: A, 2: B, 3: A, 4: -, 5: A, 6: B, 7..11: -
export const SPECS = [{}, { subjectToken: tokenA }, { subjectToken: tokenB, producer: 'billing' }, { subjectToken: tokenA },
  {}, { subjectToken: tokenA }, { subjectToken: tokenB }, {}, {}, {}, {}, {}];

export function checkpoint(log, size, { keys = [log.key], withIndex = true, pairs } = {}) {
  const heads = new Map([...log.heads].filter(([, h]) => h.head.lastIndex < BigInt(size)));
  const ext = withIndex ? [siLine(siRoot(pairs ?? pairsOf(heads)))] : [];
  return signNote(checkpointBody(log.key.origin, size, rootOfLeafHashes(log.leaves.slice(0, size)), ext), keys);
}

export function bundle(log, indices, { size = log.entries.length, from = 7, keyIds = false } = {}) {
  const b = { checkpoint: checkpoint(log, size), entries: indices.map((i) => bundleEntry(log, i, size, keyIds)) };
  if (from !== null) {
    b.consistency = { from_checkpoint: checkpoint(log, from), proof: consistencyProof(log.leaves.slice(0, size), from).map(b64encode) };
  }
  return b;
}

export function lifecycle(log, token, indices, { pairs = pairsOf(log.heads), withIndex = true } = {}) {
  return {
    checkpoint: checkpoint(log, log.entries.length, { pairs, withIndex }),
    token: b64encode(token),
    subject_proof: siProofJson(pairs, token),
    entries: indices.map((i) => bundleEntry(log, i, log.entries.length, true)),
  };
}

export const makeScenarioLog = (specs = SPECS, opts) => makeLog(key, specs, opts);
