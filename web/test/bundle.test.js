// SPEC.md section 7 bundles made by the test kit, and what breaking each part of one does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64decode, b64encode } from '../src/bytes.js';
import { verify, verifyBundle } from '../src/index.js';
import { makeLog, signNote } from '../testkit/log.js';
import { bundle, checkpoint, key, key2, makeScenarioLog, otherLogKey, SPECS, strangerKey } from '../testkit/scenario.js';
import { loadVector } from '../testkit/vectors.js';

const log = makeScenarioLog();
const KEYS = [key.verifierKey];
const good = () => bundle(log, [3, 4, 0, 11]);
const run = (b, keys = KEYS) => verifyBundle(typeof b === 'string' ? b : JSON.stringify(b), keys);
const rejects = (b, code, what, keys) => assert.throws(() => run(b, keys), { code }, what);
const flipB64 = (s, i, bitMask = 1) => {
  const x = b64decode(s, 'test');
  x[i] ^= bitMask;
  return b64encode(x);
};
const ENTRY_CODES = ['entry-malformed', 'entry-not-canonical', 'entry-field-invalid', 'entry-field-missing', 'entry-index-mismatch', 'entry-signature-invalid'];

test("the test kit's key is the vector key", () => {
  assert.equal(key.verifierKey, loadVector('signing.json').verifier_key);
});

test('a good bundle verifies, and says what it proved', () => {
  const r = run(good());
  assert.equal(r.checkpoint.size, 12);
  assert.deepEqual(r.entries.map((e) => e.index), [3, 4, 0, 11]);
  assert.equal(r.consistency.fromSize, 7);
  assert.equal(r.entries[0].decoded.subjectSeq, 1n);
  assert.equal(verify(JSON.stringify(good()), KEYS).kind, 'bundle');
  for (const from of [0, 1, 8, 12]) run(bundle(log, [5], { from }));
  run(bundle(log, [0], { size: 1, from: null }));
  run({ checkpoint: checkpoint(log, 12), entries: [] });
});

test('each byte of an entry signature flipped: entry-signature-invalid', () => {
  for (let i = 0; i < 64; i++) {
    const b = good();
    b.entries[0].signature = flipB64(b.entries[0].signature, i);
    rejects(b, 'entry-signature-invalid', `signature byte ${i}`);
  }
});

test('each byte of each inclusion-proof hash flipped: inclusion-proof-mismatch; a hash more or less: inclusion-proof-length', () => {
  const n = good().entries[0].inclusion_proof.length;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < 32; i++) {
      const b = good();
      b.entries[0].inclusion_proof[k] = flipB64(b.entries[0].inclusion_proof[k], i, 0x80);
      rejects(b, 'inclusion-proof-mismatch', `path hash ${k} byte ${i}`);
    }
  }
  const b = good();
  b.entries[0].inclusion_proof.pop();
  rejects(b, 'inclusion-proof-length', 'a hash dropped');
  const c = good();
  c.entries[0].inclusion_proof.push(c.entries[0].inclusion_proof[0]);
  rejects(c, 'inclusion-proof-length', 'a hash added');
  const d = good();
  d.entries[0].index = 12;
  rejects(d, 'inclusion-index-out-of-range', 'index beyond the tree: inclusion is checked before the bytes are read (SPEC 9.3)');
});

test('each byte of the entry bytes flipped: rejected (by the reader, the index check or the signature)', () => {
  const len = b64decode(good().entries[0].entry, 'e').length;
  for (let i = 0; i < len; i++) {
    for (const mask of [0x01, 0x80]) {
      const b = good();
      b.entries[0].entry = flipB64(b.entries[0].entry, i, mask);
      assert.throws(() => run(b), (e) => ENTRY_CODES.includes(e.code), `entry byte ${i} mask ${mask}`);
    }
  }
});

test('the checkpoint: every body character changed, every signature byte flipped, the root re-signed wrong', () => {
  const cp = good().checkpoint;
  const bodyEnd = cp.indexOf('\n\n') + 1;
  for (let i = 0; i < bodyEnd; i++) {
    const c = cp[i] === 'A' ? 'B' : 'A';
    const b = good();
    b.checkpoint = cp.slice(0, i) + c + cp.slice(i + 1);
    assert.throws(() => run(b), (e) => typeof e.code === 'string' && (e.code.startsWith('note-') || e.code.startsWith('checkpoint-')), `body char ${i}`);
  }
  const line = cp.slice(bodyEnd + 1);
  const sigText = line.slice(line.lastIndexOf(' ') + 1, -1);
  for (let i = 0; i < 68; i++) {
    const b = good();
    b.checkpoint = cp.replace(sigText, flipB64(sigText, i));
    rejects(b, i < 4 ? 'note-no-known-signature' : 'note-signature-invalid', `checkpoint signature byte ${i}`);
  }
  for (let i = 0; i < 32; i++) {
    const b = good();
    const rootLine = cp.split('\n')[2];
    const body = cp.slice(0, bodyEnd).replace(rootLine, flipB64(rootLine, i));
    // re-signed by the real key: a checkpoint that lies about the root
    b.checkpoint = checkpointSigned(body);
    rejects(b, 'inclusion-proof-mismatch', `root byte ${i}, re-signed`);
  }
});

const checkpointSigned = (body) => signNote(body, [key]);

test('keys: a stranger, another log, rotation with key_id', () => {
  rejects(good(), 'note-no-known-signature', 'the verifier holds another key of that name', [strangerKey.verifierKey]);
  rejects(good(), 'note-no-known-signature', 'only another log key', [otherLogKey.verifierKey]);
  // a log whose entries key2 signed, checkpoints signed by both keys
  const rotated = makeLog(key, SPECS, { signWith: key2 });
  const b = { checkpoint: signNote(checkpoint(rotated, 12).split('\n\n')[0] + '\n', [key, key2]), entries: [3, 5].map((i) => ({ ...bundle(rotated, [i], { from: null }).entries[0], key_id: key2.idHex })) };
  run(b, [key.verifierKey, key2.verifierKey]);
  const noId = { ...b, entries: b.entries.map(({ key_id, ...e }) => e) };
  run(noId, [key.verifierKey, key2.verifierKey]);
  rejects(noId, 'entry-signature-invalid', 'only the old key', [key.verifierKey]);
  rejects(b, 'entry-key-unknown', 'key_id names a key the verifier lacks', [key.verifierKey]);
  const wrongId = { ...b, entries: b.entries.map((e) => ({ ...e, key_id: key.idHex })) };
  rejects(wrongId, 'entry-signature-invalid', 'key_id names the key that did not sign', [key.verifierKey, key2.verifierKey]);
});

test('bundle fields: unknown, missing, mistyped, duplicated', () => {
  rejects({ ...good(), extra: 1 }, 'bundle-malformed', 'unknown top-level field');
  const e = good();
  e.entries[0].leaf_hash = 'x';
  rejects(e, 'bundle-malformed', 'unknown entry field');
  const c = good();
  c.consistency.size = 7;
  rejects(c, 'bundle-malformed', 'unknown consistency field');
  const { entries, ...noEntries } = good();
  void entries;
  rejects(noEntries, 'bundle-malformed', 'entries missing');
  rejects(JSON.stringify(good()).replace('"index":3', '"index":3.0'), 'bundle-malformed', 'index 3.0');
  rejects(JSON.stringify(good()).replace('"index":3', '"index":-3'), 'bundle-malformed', 'index -3');
  rejects(JSON.stringify(good()).replace('"index":3', '"index":"3"'), 'bundle-malformed', 'index "3"');
  rejects(JSON.stringify(good()).replace('"index":3', '"index":9007199254740993'), 'number-out-of-range', 'index 2^53+1');
  rejects(JSON.stringify(good()).replace('"index":3,', '"index":4,"index":3,'), 'json-duplicate-key', 'index twice');
  rejects(JSON.stringify(good()) + 'x', 'json-syntax', 'trailing garbage');
  const k = good();
  k.entries[0].key_id = key.idHex.toUpperCase();
  rejects(k, 'bundle-malformed', 'key_id in upper case');
  const s = good();
  s.entries[0].signature = s.entries[0].signature.replace(/=*$/, '');
  rejects(s, 'bundle-malformed', 'signature without padding');
});

test('consistency: proof bytes, sizes, origin', () => {
  const n = good().consistency.proof.length;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < 32; i += 7) {
      const b = good();
      b.consistency.proof[k] = flipB64(b.consistency.proof[k], i);
      rejects(b, 'consistency-proof-mismatch', `consistency hash ${k} byte ${i}`);
    }
  }
  const later = good();
  later.consistency.from_checkpoint = checkpoint(log, 12);
  later.checkpoint = checkpoint(log, 7);
  later.entries = [];
  rejects(later, 'consistency-order', 'from_checkpoint larger');
  const other = good();
  const otherLog = makeLog(otherLogKey, SPECS);
  other.consistency.from_checkpoint = checkpoint(otherLog, 7);
  rejects(other, 'consistency-origin-mismatch', 'from another log', [key.verifierKey, otherLogKey.verifierKey]);
  const same = bundle(log, [1], { from: 12 });
  same.consistency.proof = [b64encode(new Uint8Array(32))];
  rejects(same, 'consistency-proof-not-empty', 'same size, non-empty proof');
});

test('the hash chain, where the bundle shows it', () => {
  const broken = makeLog(key, SPECS.map((s, i) => (i === 4 ? { ...s, prevHash: new Uint8Array(32).fill(9) } : s)));
  run(bundle(broken, [4], { from: null }));
  assert.throws(() => run(bundle(broken, [3, 4], { from: null })), { code: 'entry-chain-mismatch' });
  const bad0 = makeLog(key, SPECS.map((s, i) => (i === 0 ? { ...s, prevHash: new Uint8Array(32).fill(1) } : s)));
  assert.throws(() => run(bundle(bad0, [0], { from: null })), { code: 'entry-chain-mismatch' });
});
