// Lifecycle bundles (docs/subject-index.md section 10) made by the test kit, and each way one
// can lie: entries left out, added, reordered, another subject's, a wrong head, a bad proof.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64decode, b64encode } from '../src/bytes.js';
import { openCheckpoint, subjectIndexRootOf, verify, verifyLifecycle } from '../src/index.js';
import { checkpointBody, makeLog, pairsOf, signNote, siLine } from '../testkit/log.js';
import { key, lifecycle, makeScenarioLog, SPECS, tokenA, tokenB, tokenC } from '../testkit/scenario.js';

const log = makeScenarioLog();
const KEYS = [key.verifierKey];
const run = (b, keys = KEYS) => verifyLifecycle(typeof b === 'string' ? b : JSON.stringify(b), keys);
const rejects = (b, code, what) => assert.throws(() => run(b), { code }, what);
const goodA = () => lifecycle(log, tokenA, [1, 3, 5]);

test('a complete lifecycle verifies; so do proofs of absence', () => {
  const r = run(goodA());
  assert.equal(r.present, true);
  assert.equal(r.head.count, 3n);
  assert.deepEqual(r.entries.map((e) => e.index), [1, 3, 5]);
  assert.equal(run(lifecycle(log, tokenB, [2, 6])).head.lastIndex, 6n);
  const absent = run(lifecycle(log, tokenC, []));
  assert.equal(absent.present, false);
  assert.equal(verify(JSON.stringify(goodA()), KEYS).kind, 'lifecycle');
  assert.equal(run({ ...goodA(), details_erased: true }).detailsErased, true);
});

test('entries left out, added, reordered', () => {
  rejects(lifecycle(log, tokenA, [1, 5]), 'lifecycle-missing-entry', 'the middle one left out');
  rejects(lifecycle(log, tokenA, [1, 3]), 'lifecycle-missing-entry', 'the latest left out');
  rejects(lifecycle(log, tokenA, [1, 3, 5, 2]), 'lifecycle-entries-added', "another subject's entry added");
  rejects(lifecycle(log, tokenA, [1, 3, 5, 5]), 'lifecycle-entries-added', 'an entry twice');
  rejects(lifecycle(log, tokenA, [3, 1, 5]), 'lifecycle-out-of-order', 'two swapped');
  rejects(lifecycle(log, tokenA, [5, 3, 1]), 'lifecycle-out-of-order', 'newest first');
  rejects(lifecycle(log, tokenC, [0]), 'lifecycle-absent-with-entries', 'absent token with an entry');
});

test("a dishonest log: a chain through another subject's entry, a wrong subject_seq, a head that is not the latest", () => {
  const through = makeLog(key, SPECS.map((s, i) => (i === 3 ? { ...s, subjectPrevIndex: 2 } : s)));
  assert.throws(() => run(lifecycle(through, tokenA, [2, 3, 5])), { code: 'lifecycle-other-subject' });
  const seq = makeLog(key, SPECS.map((s, i) => (i === 5 ? { ...s, subjectSeq: 7 } : s)));
  assert.throws(() => run(lifecycle(seq, tokenA, [1, 3, 5])), { code: 'lifecycle-seq-mismatch' });
  const pairs = pairsOf(log.heads).map((p) => (p.token === tokenA || b64encode(p.token) === b64encode(tokenA) ? { ...p, head: { ...p.head, lastLeaf: log.leaves[4] } } : p));
  assert.throws(() => run(lifecycle(log, tokenA, [1, 3, 5], { pairs })), { code: 'lifecycle-not-head' });
  const zero = pairsOf(log.heads).map((p) => (b64encode(p.token) === b64encode(tokenA) ? { ...p, head: { ...p.head, count: 0n } } : p));
  assert.throws(() => run(lifecycle(log, tokenA, [], { pairs: zero })), { code: 'lifecycle-head-invalid' });
});

test('the subject proof: each sibling byte and each head field altered', () => {
  const sib = goodA().subject_proof.siblings;
  sib.forEach((s, k) => {
    if (s === null) return;
    for (let i = 0; i < 32; i++) {
      const b = goodA();
      const x = b64decode(s, 's');
      x[i] ^= 0x40;
      b.subject_proof.siblings[k] = b64encode(x);
      rejects(b, 'subject-proof-root-mismatch', `sibling ${k} byte ${i}`);
    }
  });
  for (const f of ['count', 'last_index']) {
    const b = goodA();
    b.subject_proof.leaf[f] += 1;
    rejects(b, 'subject-proof-root-mismatch', `${f} + 1`);
  }
  const t = goodA();
  t.token = b64encode(tokenB);
  assert.throws(() => run(t), (e) => ['subject-proof-leaf-off-path', 'subject-proof-root-mismatch'].includes(e.code), 'proof of A shown for B');
  const u = goodA();
  u.subject_proof.depth = 2;
  rejects(u, 'lifecycle-malformed', 'unknown field in the proof (SI 11: a shape error inside a lifecycle bundle)');
});

test('entries inside a lifecycle get the bundle checks', () => {
  const b = goodA();
  const sig = b64decode(b.entries[1].signature, 's');
  sig[10] ^= 1;
  b.entries[1].signature = b64encode(sig);
  rejects(b, 'entry-signature-invalid', 'a signature flipped');
  const p = goodA();
  p.entries[2].inclusion_proof[0] = p.entries[2].inclusion_proof[1];
  rejects(p, 'inclusion-proof-mismatch', 'a path hash replaced');
});

test('fields and the checkpoint', () => {
  rejects({ ...goodA(), extra: true }, 'lifecycle-malformed', 'unknown field');
  rejects({ ...goodA(), details_erased: 'yes' }, 'lifecycle-malformed', 'details_erased not a boolean');
  const e = goodA();
  e.entries[0].extra = 1;
  rejects(e, 'lifecycle-malformed', 'unknown entry field');
  rejects({ ...goodA(), token: b64encode(tokenA).slice(0, -1) }, 'lifecycle-malformed', 'token not base64');
  rejects(lifecycle(log, tokenA, [1, 3, 5], { withIndex: false }), 'lifecycle-no-subject-index', 'no subject-index line');
  const two = goodA();
  const [body] = two.checkpoint.split('\n\n');
  two.checkpoint = signNote(`${body}\n${body.split('\n').pop()}\n`, [key]);
  rejects(two, 'subject-index-line-duplicate', 'two subject-index lines');
  const v2 = signNote(checkpointBody(key.origin, 12, log.root, [siLine(new Uint8Array(32)).replace(' v1 ', ' v2 ')]), [key]);
  // The line is read only where its root is needed (SPEC 9.2): a lifecycle, not the checkpoint.
  assert.throws(() => subjectIndexRootOf(openCheckpoint(v2, KEYS)), { code: 'subject-index-line-unsupported-version' });
  const unknownExt = signNote(checkpointBody(key.origin, 12, log.root, ['gdpr-ledger/other v1 x', siLine(new Uint8Array(32))]), [key]);
  assert.equal(openCheckpoint(unknownExt, KEYS).extensions.length, 2);
});
