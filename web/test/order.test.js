// SPEC.md section 9's order and the note rules it fixes: which check is reported when several
// could fail, so that this verifier and the Rust one name the same code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCheckpoint, openNote } from '../src/note.js';
import { checkpointBody, signNote } from '../testkit/log.js';
import { key, otherLogKey } from '../testkit/scenario.js';

const KEYS = [key.verifierKey];
const ROOT = new Uint8Array(32);
const body = checkpointBody(key.origin, 3, ROOT);
const good = signNote(body, [key]);
const unknownLine = signNote(body, [otherLogKey]).split('\n\n')[1]; // "— other.example/log ...\n"

test('an empty signature block is malformed (9.2)', () => {
  assert.throws(() => openNote(`${body}\n`, KEYS), { code: 'note-malformed' });
});

test('at most 100 signature lines (9.2)', () => {
  assert.equal(openCheckpoint(good + unknownLine.repeat(99), KEYS).size, 3);
  assert.throws(() => openNote(good + unknownLine.repeat(100), KEYS), { code: 'note-too-many-signatures' });
});

test('every signature line is read before any signature is checked (9.2)', () => {
  const [b, block] = good.split('\n\n');
  // A character in the middle of the signature: all six of its bits are data.
  const at = block.length - 40;
  const bad = block.slice(0, at) + (block[at] === 'A' ? 'B' : 'A') + block.slice(at + 1);
  assert.throws(() => openNote(`${b}\n\n${bad}`, KEYS), { code: 'note-signature-invalid' });
  assert.throws(() => openNote(`${b}\n\n${bad}— not a line\n`, KEYS), { code: 'note-signature-line-malformed' });
});

test("the checkpoint's origin is checked after its size and root (9.2)", () => {
  const other = checkpointBody('not.the.key/name', 3, ROOT).replace('\n3\n', '\n03\n');
  assert.throws(() => openCheckpoint(signNote(other, [key]), KEYS), { code: 'checkpoint-size-invalid' });
  const fine = checkpointBody('not.the.key/name', 3, ROOT);
  assert.throws(() => openCheckpoint(signNote(fine, [key]), KEYS), { code: 'checkpoint-origin-mismatch' });
});
