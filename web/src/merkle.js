// The log's Merkle tree: RFC 9162 section 2.1 with BLAKE3 (SPEC.md section 2).
// Sizes and indices are JavaScript numbers, so at most 2^53 - 1 (checked where they are read).

import { blake3 } from '@noble/hashes/blake3';
import { concat, equal } from './bytes.js';
import { fail } from './errors.js';

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

export const hash = (bytes) => blake3(bytes);
export const leafHash = (entryBytes) => blake3(concat(LEAF, entryBytes));
export const nodeHash = (left, right) => blake3(concat(NODE, left, right));
export const emptyRoot = () => blake3(new Uint8Array(0));

const odd = (x) => x % 2 === 1;
const half = (x) => Math.floor(x / 2);
function isPowerOfTwo(x) {
  while (x > 1 && !odd(x)) x = half(x);
  return x === 1;
}

// MTH of RFC 9162 2.1.1 over leaf hashes (used by tests to rebuild trees).
export function rootOfLeafHashes(leaves) {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(rootOfLeafHashes(leaves.slice(0, k)), rootOfLeafHashes(leaves.slice(k)));
}

function checkSize(x, what) {
  if (!Number.isSafeInteger(x) || x < 0) fail('number-out-of-range', `${what} ${x} is not an integer in 0 .. 2^53-1`);
}

// RFC 9162 2.1.3.2: does `path` prove that `leaf` is at `index` in the tree of `size` leaves
// with root `root`? Throws inclusion-index-out-of-range, inclusion-proof-length or
// inclusion-proof-mismatch.
export function verifyInclusion(index, size, leaf, path, root) {
  checkSize(index, 'index');
  checkSize(size, 'tree size');
  if (index >= size) fail('inclusion-index-out-of-range', `index ${index} is not below tree size ${size}`, { index, size });
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) fail('inclusion-proof-length', `inclusion proof of index ${index} in size ${size} has ${path.length} hashes, too many`, { index, size });
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('inclusion-proof-length', `inclusion proof of index ${index} in size ${size} has ${path.length} hashes, too few`, { index, size });
  if (!equal(r, root)) fail('inclusion-proof-mismatch', `inclusion proof of index ${index} does not lead to the root of size ${size}`, { index, size });
}

// RFC 9162 2.1.4.2 for 0 < first < second, and SPEC.md section 2's rules for the edge cases.
export function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  checkSize(first, 'first size');
  checkSize(second, 'second size');
  const ctx = { first, second };
  if (first > second) fail('consistency-order', `first size ${first} is larger than second size ${second}`, ctx);
  if (first === 0 || first === second) {
    if (proof.length !== 0) fail('consistency-proof-not-empty', `a consistency proof from ${first} to ${second} must be empty, it has ${proof.length} hashes`, ctx);
    if (first === second && !equal(firstRoot, secondRoot)) fail('consistency-proof-mismatch', `two roots of size ${first} differ`, ctx);
    return;
  }
  if (proof.length === 0) fail('consistency-proof-length', `empty consistency proof from ${first} to ${second}`, ctx);
  let path = proof;
  if (isPowerOfTwo(first)) path = [firstRoot, ...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) fail('consistency-proof-length', `consistency proof from ${first} to ${second} has ${proof.length} hashes, too many`, ctx);
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('consistency-proof-length', `consistency proof from ${first} to ${second} has ${proof.length} hashes, too few`, ctx);
  if (!equal(fr, firstRoot)) fail('consistency-proof-mismatch', `consistency proof does not lead to the root of size ${first}`, ctx);
  if (!equal(sr, secondRoot)) fail('consistency-proof-mismatch', `consistency proof does not lead to the root of size ${second}`, ctx);
}
