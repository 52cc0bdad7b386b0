// Lifecycle bundles: one subject token's whole history at one checkpoint, proved complete
// (docs/subject-index.md section 10).

import { b64decode, equal } from './bytes.js';
import { VerifyError, fail, within } from './errors.js';
import { array, checkFields, string } from './json.js';
import { openCheckpoint, parseKeys, subjectIndexRootOf } from './note.js';
import { decodeProofJson, verifyProof } from './subjectindex.js';
import { checkChain, checkEntry, readBundleEntry, toObject } from './bundle.js';

const MALFORMED = 'lifecycle-malformed';

export function verifyLifecycle(input, keys) {
  keys = parseKeys(keys);
  const b = toObject(input, 'lifecycle bundle');
  checkFields(b, ['checkpoint', 'token', 'subject_proof', 'entries'], ['details_erased'], 'lifecycle bundle', MALFORMED);
  if (b.details_erased !== undefined && typeof b.details_erased !== 'boolean') fail(MALFORMED, 'details_erased is not a boolean');
  // SI 11: the whole shape first (a subject proof that does not decode is malformed here).
  const checkpointText = string(b.checkpoint, 'checkpoint', MALFORMED);
  const token = b64decode(string(b.token, 'token', MALFORMED), 'token', MALFORMED, 32);
  const raw = array(b.entries, 'lifecycle entries', MALFORMED).map((r, i) => readBundleEntry(r, `entries[${i}]`, MALFORMED));
  raw.forEach((e, i) => (e.where = `entries[${i}] (index ${e.index})`));
  let proof;
  try {
    proof = within('subject_proof', () => decodeProofJson(b.subject_proof));
  } catch (e) {
    if (e instanceof VerifyError && e.code === 'subject-proof-decode') fail(MALFORMED, e.message.slice(e.code.length + 2));
    throw e;
  }
  // 1. the checkpoint and its subject-index root
  const cp = within('checkpoint', () => openCheckpoint(checkpointText, keys));
  const indexRoot = within('checkpoint', () => subjectIndexRootOf(cp));
  if (indexRoot === null) fail('lifecycle-no-subject-index', `the checkpoint of size ${cp.size} carries no subject-index line`);
  // 2. the token's head, or its absence
  const result = within('subject_proof', () => verifyProof(indexRoot, token, proof));
  const common = { kind: 'lifecycle', checkpoint: cp, token, detailsErased: b.details_erased === true };
  if (!result.present) {
    if (raw.length !== 0) fail('lifecycle-absent-with-entries', `the token is proved absent, yet the bundle lists ${raw.length} entries`);
    return { ...common, present: false, head: null, entries: [] };
  }
  const { count, lastIndex, lastLeaf } = result.head;
  if (count === 0n) fail('lifecycle-head-invalid', 'the proved head has count 0, which the index never holds');
  // 3. walk the chain back from the head
  const byIndex = new Map();
  for (const e of raw) if (!byIndex.has(e.index)) byIndex.set(e.index, e);
  const chain = [];
  let i = lastIndex;
  for (let seq = count - 1n; seq >= 0n; seq--) {
    const e = i <= BigInt(Number.MAX_SAFE_INTEGER) ? byIndex.get(Number(i)) : undefined;
    if (e === undefined) fail('lifecycle-missing-entry', `the chain's entry ${seq} (index ${i}) is not in the bundle`, { seq, index: i });
    const c = checkEntry(e, cp, keys);
    within(e.where, () => {
      if (!equal(c.decoded.subjectToken, token)) fail('lifecycle-other-subject', `the entry carries another subject token (chain entry ${seq})`, { seq });
      if (c.decoded.subjectSeq !== seq) fail('lifecycle-seq-mismatch', `subject_seq is ${c.decoded.subjectSeq}, the chain's entry is ${seq}`, { seq });
      if (seq === count - 1n && !equal(c.leaf, lastLeaf)) fail('lifecycle-not-head', "the latest entry's leaf hash is not the head's last_leaf");
    });
    chain.unshift(c);
    i = c.decoded.subjectPrevIndex;
  }
  // 4. nothing added, oldest first
  if (BigInt(raw.length) !== count) fail('lifecycle-entries-added', `the bundle lists ${raw.length} entries, the head counts ${count}`);
  chain.forEach((c, seq) => {
    if (raw[seq] !== byIndex.get(c.index) || raw[seq].index !== c.index) {
      fail('lifecycle-out-of-order', `entries[${seq}] is not the chain's entry ${seq} (index ${c.index})`, { seq });
    }
  });
  checkChain(chain);
  return { ...common, present: true, head: result.head, entries: chain, subjectIndexRoot: indexRoot };
}
