// Every vector of tests/vectors/subject_index/vectors.json (docs/subject-index.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64decode, b64encode, hex, unhex } from '../src/bytes.js';
import {
  decodeProofBinary, decodeProofJson, headBytes, interiorHash, leafHash, parseSubjectIndexLine, subtreeHash, verifyProof,
} from '../src/subjectindex.js';
import { loadVector } from '../testkit/vectors.js';

const v = loadVector('subject_index/vectors.json');
const b = (s) => b64decode(s, 'vector');
const headOf = (j) => ({ count: BigInt(j.count), lastIndex: BigInt(j.last_index), lastLeaf: b(j.last_leaf) });
const CODES = {
  too_many_siblings: 'subject-proof-too-many-siblings',
  leaf_off_path: 'subject-proof-leaf-off-path',
  root_mismatch: 'subject-proof-root-mismatch',
  decode: 'subject-proof-decode',
};

test('empty root', () => assert.equal(v.empty_root, b64encode(new Uint8Array(32))));

test(`heads (${v.heads.length})`, () => {
  for (const h of v.heads) {
    assert.equal(hex(headBytes(headOf(h))), h.head_bytes);
    assert.equal(b64encode(leafHash(b(h.token), headOf(h))), h.leaf_hash);
  }
});

test(`interior hashes (${v.interior.length})`, () => {
  for (const x of v.interior) assert.equal(b64encode(interiorHash(b(x.left), b(x.right))), x.hash);
});

test(`sequences (${v.sequences.length}): root after every batch`, () => {
  for (const s of v.sequences) {
    const index = new Map();
    s.batches.forEach((batch, k) => {
      for (const u of batch) index.set(u.token, { token: b(u.token), head: headOf(u) }); // last one wins
      assert.equal(b64encode(subtreeHash([...index.values()])), s.roots[k], `${s.name} version ${k + 1}`);
    });
  }
});

function checkResult(r, expected, what) {
  if (expected === null) {
    assert.equal(r.present, false, what);
  } else {
    assert.equal(r.present, true, what);
    assert.equal(r.head.count, BigInt(expected.count), what);
    assert.equal(r.head.lastIndex, BigInt(expected.last_index), what);
    assert.equal(b64encode(r.head.lastLeaf), expected.last_leaf, what);
  }
}

test(`proofs (${v.proofs.length}), both encodings`, () => {
  for (const p of v.proofs) {
    const what = `${p.sequence} v${p.version} ${p.token}`;
    checkResult(verifyProof(b(p.root), b(p.token), decodeProofJson(p.proof)), p.result, `${what} json`);
    checkResult(verifyProof(b(p.root), b(p.token), decodeProofBinary(unhex(p.proof_bytes))), p.result, `${what} binary`);
  }
});

test(`must_fail (${v.must_fail.length}), each encoding given`, () => {
  let runs = 0;
  for (const m of v.must_fail) {
    const code = CODES[m.check];
    assert.ok(code, m.check);
    for (const [enc, decode, input] of [
      ['json', decodeProofJson, m.proof],
      ['binary', (x) => decodeProofBinary(unhex(x)), m.proof_bytes],
    ]) {
      if (input === undefined || input === null) continue;
      runs++;
      assert.throws(() => verifyProof(b(m.root), b(m.token), decode(input)), { code }, `${m.what} (${enc})`);
    }
  }
  assert.ok(runs >= v.must_fail.length);
});

test(`extension lines (${v.extension_lines.length} good, ${v.bad_extension_lines.length} bad)`, () => {
  for (const x of v.extension_lines) assert.equal(b64encode(parseSubjectIndexLine(x.line)), x.root);
  const codes = {
    unsupported_version: 'subject-index-line-unsupported-version',
    malformed: 'subject-index-line-malformed',
    root: 'subject-index-line-root',
  };
  for (const x of v.bad_extension_lines) {
    if (x.error === 'not_subject_index') assert.equal(parseSubjectIndexLine(x.line), null, x.line);
    else assert.throws(() => parseSubjectIndexLine(x.line), { code: codes[x.error] }, x.line);
  }
});

test('too_many_siblings is checked by verify itself (a proof built in memory)', () => {
  const proof = { leaf: null, siblings: Array.from({ length: 257 }, () => new Uint8Array(32).fill(1)) };
  assert.throws(() => verifyProof(new Uint8Array(32), new Uint8Array(32), proof), { code: 'subject-proof-too-many-siblings' });
});
