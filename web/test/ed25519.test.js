// What the strict Ed25519 check rejects (SPEC.md section 4: ed25519-dalek's verify_strict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519';
import { sha512 } from '@noble/hashes/sha2';
import { b64encode, concat, hex, unhex, utf8 } from '../src/bytes.js';
import { L, publicKeyProblem, verifyStrict } from '../src/ed25519.js';
import { keyId, parseVerifierKey } from '../src/note.js';
import { loadVector } from '../testkit/vectors.js';

const v = loadVector('signing.json');
const seed = unhex(v.ed25519_seed_hex);
const pub = ed25519.getPublicKey(seed);
const msg = utf8('a message');
const sig = ed25519.sign(msg, seed);
const Point = ed25519.Point ?? ed25519.ExtendedPoint;

const le = (x) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
  return out;
};
const leToBig = (b) => b.reduceRight((x, byte) => (x << 8n) | BigInt(byte), 0n);
const P = 2n ** 255n - 19n;
const IDENTITY = le(1n);
const IDENTITY_Y_PLUS_P = le(P + 1n); // y = 1 written as 1 + p
const IDENTITY_SIGN_BIT = Uint8Array.from(IDENTITY, (x, i) => (i === 31 ? x | 0x80 : x)); // x = 0 with the sign bit set

test('a valid signature verifies', () => {
  assert.equal(hex(pub), v.public_key_hex);
  assert.equal(verifyStrict(pub, msg, sig), null);
});

test('S >= L is rejected (S + L is the same signature to a lenient verifier)', () => {
  const s = leToBig(sig.subarray(32)) + L;
  assert.equal(verifyStrict(pub, msg, concat(sig.subarray(0, 32), le(s))), 's-not-canonical');
});

test('R: non-canonical encodings, small order, not a point', () => {
  const withR = (r) => concat(r, sig.subarray(32));
  assert.equal(verifyStrict(pub, msg, withR(IDENTITY_Y_PLUS_P)), 'r-not-canonical');
  assert.equal(verifyStrict(pub, msg, withR(IDENTITY_SIGN_BIT)), 'r-not-canonical');
  for (const t of ED25519_TORSION_SUBGROUP) assert.equal(verifyStrict(pub, msg, withR(unhex(t))), 'r-small-order', t);
  let y = 2n;
  while (true) {
    try {
      Point.fromBytes(le(y), true);
      y++;
    } catch {
      break;
    }
  }
  assert.equal(verifyStrict(pub, msg, withR(le(y))), 'r-not-canonical', `y = ${y} is on no point`);
});

test('A: small order (all 8 torsion points) and non-canonical encodings', () => {
  for (const t of ED25519_TORSION_SUBGROUP) assert.equal(publicKeyProblem(unhex(t)), 'public-key-small-order', t);
  assert.equal(publicKeyProblem(IDENTITY_Y_PLUS_P), 'public-key-not-canonical');
  assert.equal(publicKeyProblem(IDENTITY_SIGN_BIT), 'public-key-not-canonical');
  // y = 3 + p: a non-canonical encoding of a point of large order (y = 3), which a decoder that
  // reduces y mod p (as curve25519-dalek's does) accepts; see SPEC-QUESTIONS.md.
  assert.equal(Point.fromBytes(le(3n), true).isSmallOrder(), false);
  assert.equal(publicKeyProblem(le(3n + P)), 'public-key-not-canonical');
  assert.equal(verifyStrict(IDENTITY, msg, sig), 'public-key-small-order');
  assert.equal(verifyStrict(pub.subarray(1), msg, sig), 'public-key-length');
  assert.equal(verifyStrict(pub, msg, sig.subarray(1)), 'signature-length');
});

test('cofactorless: a signature under A + T (T of order 8) that a cofactored verifier accepts is rejected', () => {
  const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
  const T = Point.fromBytes(unhex(ED25519_TORSION_SUBGROUP[1]));
  const A2 = Point.BASE.multiply(scalar % L).add(T).toBytes();
  assert.equal(publicKeyProblem(A2), null, 'a mixed-order key is not of small order');
  let tried = 0;
  for (let i = 0; ; i++) {
    const m = utf8(`message ${i}`);
    const r = (leToBig(sha512(m)) % (L - 1n)) + 1n;
    const R = Point.BASE.multiply(r).toBytes();
    const k = leToBig(sha512(concat(R, A2, m))) % L;
    if (k % 8n === 0n) continue; // then [k]T is the identity and both verifiers agree
    const s = (r + k * (scalar % L)) % L;
    const forged = concat(R, le(s));
    assert.equal(ed25519.verify(forged, m, A2, { zip215: false }), true, 'noble (cofactored) accepts it');
    assert.equal(verifyStrict(A2, m, forged), 'equation');
    if (++tried === 4) break;
  }
});

test('verifier keys: id, type byte, weak keys, form', () => {
  const name = v.origin;
  const mk = (n, pk, idHex = hex(keyId(n, pk)), type = 1) => `${n}+${idHex}+${b64encode(concat(Uint8Array.of(type), pk))}`;
  assert.equal(parseVerifierKey(mk(name, pub)).keyId, '5eb4026f');
  assert.equal(parseVerifierKey(`${mk(name, pub)}\n`).keyId, '5eb4026f', 'a final newline (key file) is allowed');
  assert.throws(() => parseVerifierKey(mk(name, pub, '00000000')), { code: 'verifier-key-id-mismatch' });
  assert.throws(() => parseVerifierKey(mk(name, pub, '5EB4026F')), { code: 'verifier-key-malformed' });
  assert.throws(() => parseVerifierKey(mk(name, pub, undefined, 2)), { code: 'verifier-key-algorithm' });
  assert.throws(() => parseVerifierKey(mk(name, IDENTITY)), { code: 'verifier-key-weak' });
  assert.throws(() => parseVerifierKey(mk(name, IDENTITY_Y_PLUS_P)), { code: 'verifier-key-weak' });
  assert.throws(() => parseVerifierKey(mk('a b', pub)), { code: 'verifier-key-malformed' });
  assert.throws(() => parseVerifierKey(`${name}+5eb4026f`), { code: 'verifier-key-malformed' });
  assert.throws(() => parseVerifierKey(mk(name, pub).slice(0, -1)), { code: 'verifier-key-malformed' });
  assert.throws(() => parseVerifierKey(`${mk(name, pub)}=`), { code: 'verifier-key-malformed' });
  assert.throws(() => parseVerifierKey(`${mk(name, pub).slice(0, -1)}+`), { code: 'verifier-key-id-mismatch' }, 'the key part may hold +');
});
