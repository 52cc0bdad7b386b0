// Every vector of tests/vectors/merkle.json (SPEC.md section 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64decode, b64encode, utf8 } from '../src/bytes.js';
import { emptyRoot, leafHash, rootOfLeafHashes, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { loadVector } from '../testkit/vectors.js';

const v = loadVector('merkle.json');
const h = (s) => b64decode(s, 'vector');
const leaves = Array.from({ length: 70 }, (_, i) => leafHash(utf8(`entry-${i}`)));

test('empty root', () => assert.equal(b64encode(emptyRoot()), v.empty_root));

test(`leaf hashes (${v.leaf_hashes.length})`, () => {
  v.leaf_hashes.forEach((x, i) => assert.equal(b64encode(leaves[i]), x, `leaf ${i}`));
});

test(`roots (${v.roots.length})`, () => {
  for (const r of v.roots) assert.equal(b64encode(rootOfLeafHashes(leaves.slice(0, r.size))), r.root, `size ${r.size}`);
});

test(`inclusion proofs (${v.inclusion.length})`, () => {
  for (const c of v.inclusion) {
    assert.doesNotThrow(() => verifyInclusion(c.index, c.size, h(c.leaf), c.path.map(h), h(c.root)), `index ${c.index} size ${c.size}`);
  }
});

test(`consistency proofs (${v.consistency.length})`, () => {
  for (const c of v.consistency) {
    assert.doesNotThrow(
      () => verifyConsistency(c.first, c.second, h(c.first_root), h(c.second_root), c.proof.map(h)),
      `${c.first} -> ${c.second}`,
    );
  }
});

// The vectors say only that these must fail; the code each must fail with is this verifier's.
const expected = {
  'inclusion path for index 3 of size 8 checked as index 4': 'inclusion-proof-mismatch',
  'inclusion path for index 5 of size 8 checked against size 7': 'inclusion-proof-mismatch',
  'index beyond size': 'inclusion-index-out-of-range',
  'consistency 5->8 with last hash dropped': 'consistency-proof-length',
  'consistency 4->8 checked with the root of size 3': 'consistency-proof-mismatch',
  'same size with a non-empty proof': 'consistency-proof-not-empty',
  'same size with different roots': 'consistency-proof-mismatch',
  'from the empty tree with a non-empty proof': 'consistency-proof-not-empty',
  'first larger than second': 'consistency-order',
};

test(`must_fail (${v.must_fail.length})`, () => {
  for (const c of v.must_fail) {
    const run =
      c.type === 'inclusion'
        ? () => verifyInclusion(c.index, c.size, h(c.leaf), c.path.map(h), h(c.root))
        : () => verifyConsistency(c.first, c.second, h(c.first_root), h(c.second_root), c.proof.map(h));
    assert.ok(expected[c.what], `no expected code for ${c.what}`);
    assert.throws(run, { code: expected[c.what] }, c.what);
  }
});

test('every proof of size 1..70 from the builders verifies, and a flipped hash fails', async () => {
  const { inclusionPath, consistencyProof } = await import('../testkit/log.js');
  for (let n = 1; n <= 70; n++) {
    const root = rootOfLeafHashes(leaves.slice(0, n));
    for (let i = 0; i < n; i++) verifyInclusion(i, n, leaves[i], inclusionPath(leaves.slice(0, n), i), root);
    for (let m = 0; m <= n; m++) {
      const p = consistencyProof(leaves.slice(0, n), m);
      verifyConsistency(m, n, rootOfLeafHashes(leaves.slice(0, m)), root, p);
      if (p.length) {
        const bad = p.map((x) => x.slice());
        bad[p.length - 1][0] ^= 1;
        assert.throws(() => verifyConsistency(m, n, rootOfLeafHashes(leaves.slice(0, m)), root, bad), { code: 'consistency-proof-mismatch' });
      }
    }
  }
});
