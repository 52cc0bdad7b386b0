// Strict Ed25519 verification (RFC 8032 signatures, checked as ed25519-dalek's `verify_strict`
// is documented to check them; SPEC.md sections 4 and 5). @noble/curves supplies the group
// arithmetic; the acceptance rules are written out here so that they can be read:
//
//   - the public key A and the signature's R must be the canonical encoding of a curve point:
//     y < p, and the sign bit is not set when x = 0 (re-encoding the decoded point gives the
//     same 32 bytes);
//   - A and R must not be of small order (order 1, 2, 4 or 8: [8]P is the identity);
//   - S (the signature's last 32 bytes, little-endian) must be below the group order L;
//   - the cofactorless equation: encode([S]B - [k]A) == R, with
//     k = SHA-512(R || A || message) mod L.
//
// Each check that fails is named by the reason returned.

import { ed25519 } from '@noble/curves/ed25519';
import { sha512 } from '@noble/hashes/sha2';
import { concat, equal } from './bytes.js';

const Point = ed25519.Point ?? ed25519.ExtendedPoint;
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBigInt(bytes) {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
  return x;
}

// Decodes 32 bytes to a point, or returns null when they are not the canonical encoding of one.
function decodeCanonical(bytes) {
  let p;
  try {
    p = Point.fromBytes(Uint8Array.from(bytes), true); // lenient decode ...
  } catch {
    return null;
  }
  return equal(p.toBytes(), bytes) ? p : null; // ... then demand the canonical encoding
}

// Why a 32-byte public key is unusable ('public-key-length', 'public-key-not-canonical',
// 'public-key-small-order'), or null when it is fine.
export function publicKeyProblem(pub) {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) return 'public-key-length';
  const a = decodeCanonical(pub);
  if (a === null) return 'public-key-not-canonical';
  if (a.isSmallOrder()) return 'public-key-small-order';
  return null;
}

// Returns null when `sig` is a valid strict signature of `msg` by `pub`, else the reason:
// 'signature-length', 'public-key-*' (above), 's-not-canonical', 'r-not-canonical',
// 'r-small-order' or 'equation'.
export function verifyStrict(pub, msg, sig) {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return 'signature-length';
  const keyProblem = publicKeyProblem(pub);
  if (keyProblem) return keyProblem;
  const rBytes = sig.subarray(0, 32);
  const s = leToBigInt(sig.subarray(32));
  if (s >= L) return 's-not-canonical';
  const R = decodeCanonical(rBytes);
  if (R === null) return 'r-not-canonical';
  if (R.isSmallOrder()) return 'r-small-order';
  const A = Point.fromBytes(Uint8Array.from(pub), true);
  const k = leToBigInt(sha512(concat(rBytes, pub, msg))) % L;
  const check = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return equal(check.toBytes(), rBytes) ? null : 'equation';
}
