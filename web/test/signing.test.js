// Every vector of tests/vectors/signing.json (SPEC.md sections 3 to 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64decode, b64encode, hex, unhex, utf8 } from '../src/bytes.js';
import { decodeEntry, verifyEntrySignature } from '../src/entry.js';
import { leafHash } from '../src/merkle.js';
import { openCheckpoint, parseVerifierKey, subjectIndexRootOf } from '../src/note.js';
import { deterministicPseudonym, directoryRowKey, normalizeIdentifier } from '../src/subject.js';
import { loadVector } from '../testkit/vectors.js';

const v = loadVector('signing.json');
const key = parseVerifierKey(v.verifier_key);

test('verifier key', () => {
  assert.equal(key.name, v.origin);
  assert.equal(key.keyId, '5eb4026f');
  assert.equal(hex(key.publicKey), v.public_key_hex);
});

test('checkpoint note opens', () => {
  const cp = openCheckpoint(v.checkpoint_note, [key]);
  assert.equal(cp.origin, v.origin);
  assert.equal(cp.size, v.checkpoint_size);
  assert.equal(b64encode(cp.root), v.checkpoint_root);
  assert.equal(cp.text.slice(0, v.checkpoint_body.length), v.checkpoint_body);
  assert.deepEqual(cp.extensions, []);
  assert.equal(subjectIndexRootOf(cp), null);
});

test(`good notes (${v.good_notes.length})`, () => {
  for (const n of v.good_notes) {
    const cp = openCheckpoint(n.note, [key]);
    assert.equal(cp.size, v.checkpoint_size, n.what);
  }
});

// The vectors say only that these must fail; the code each fails with is this verifier's.
const expected = {
  'size changed after signing': 'note-signature-invalid',
  'signed by another key under the same name': 'note-no-known-signature',
  'size with a leading zero, validly signed': 'checkpoint-size-invalid',
  'malformed signature line': 'note-signature-line-malformed',
  'no final newline': 'note-malformed',
  'signature base64 not canonical (same bytes to a lenient decoder)': 'note-signature-line-malformed',
  'origin line differs from the key name, validly signed': 'checkpoint-origin-mismatch',
  'tab inside an extension line, validly signed': 'note-control-character',
  'empty extension line, validly signed': 'checkpoint-extension-empty',
  'root of 31 bytes, validly signed': 'checkpoint-root-invalid',
  'only a cosignature by an unknown key': 'note-no-known-signature',
};

test(`bad notes (${v.bad_notes.length})`, () => {
  for (const n of v.bad_notes) {
    assert.ok(expected[n.what], `no expected code for ${n.what}`);
    assert.throws(() => openCheckpoint(n.note, [key]), { code: expected[n.what] }, n.what);
  }
});

test('entry signature of "entry-5"', () => {
  const bytes = utf8(v.entry_signature.entry_bytes_utf8);
  assert.equal(b64encode(leafHash(bytes)), v.entry_signature.leaf_hash);
  const sig = b64decode(v.entry_signature.signature, 'sig');
  assert.equal(verifyEntrySignature([key], v.origin, bytes, sig), key);
  const other = Uint8Array.from(sig);
  other[0] ^= 1;
  assert.throws(() => verifyEntrySignature([key], v.origin, bytes, other), { code: 'entry-signature-invalid' });
  assert.throws(() => verifyEntrySignature([key], `${v.origin}x`, bytes, sig), { code: 'entry-key-unknown' });
});

test(`entry envelopes (${v.entry_envelopes.length})`, () => {
  for (const c of v.entry_envelopes) {
    const bytes = unhex(c.bytes_hex);
    assert.equal(b64encode(leafHash(bytes)), c.leaf_hash, c.what);
    const e = decodeEntry(bytes);
    const f = c.fields;
    assert.equal(e.index, BigInt(f.index), c.what);
    assert.equal(b64encode(e.prevHash), f.prev_hash, c.what);
    assert.equal(e.receivedAt.seconds, BigInt(f.received_at.seconds), c.what);
    assert.equal(e.receivedAt.nanos, f.received_at.nanos, c.what);
    assert.equal(e.producer, f.producer, c.what);
    assert.equal(b64encode(e.subjectToken), f.subject_token, c.what);
    assert.equal(e.subjectSeq, BigInt(f.subject_seq), c.what);
    assert.equal(e.subjectPrevIndex, BigInt(f.subject_prev_index), c.what);
    assert.equal(f.event, 'empty message');
    assert.equal(e.event.length, 0, c.what);
    if (c.signature) verifyEntrySignature([key], v.origin, bytes, b64decode(c.signature, 'sig'));
  }
});

test(`directory rows (${v.directory_rows.length}) and the deterministic pseudonym`, () => {
  const secret = unhex(v.directory_secret_hex);
  for (const r of v.directory_rows) {
    assert.equal(normalizeIdentifier(r.kind, r.value), r.normalized);
    assert.equal(hex(directoryRowKey(secret, r.kind, r.value)), r.row_key_hex);
  }
  const p = v.deterministic_pseudonym;
  assert.equal(hex(deterministicPseudonym(unhex(p.pseudonym_secret_hex), p.first_index)), p.pseudonym_hex);
  assert.throws(() => normalizeIdentifier('phone', ' + () '), { code: 'subject-identifier-invalid' });
  assert.throws(() => normalizeIdentifier('customer_id', ' \t'), { code: 'subject-identifier-invalid' });
});
