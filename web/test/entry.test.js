// The strict protobuf reader of the entry envelope (SPEC.md section 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, hex, unhex } from '../src/bytes.js';
import { decodeEntry } from '../src/entry.js';
import { bfield, encodeEntry, tag, varint } from '../testkit/log.js';
import { loadVector } from '../testkit/vectors.js';

const v = loadVector('signing.json');
const [e5, e0] = v.entry_envelopes.map((c) => unhex(c.bytes_hex));
const fields5 = decodeEntry(e5);

test("the tests' encoder reproduces both vector envelopes byte for byte", () => {
  assert.equal(hex(encodeEntry(fields5)), hex(e5));
  assert.equal(hex(encodeEntry(decodeEntry(e0))), hex(e0));
});

const bad = (bytes, code, what) => assert.throws(() => decodeEntry(bytes), { code }, what);
const base = { ...fields5 };
const with_ = (o) => encodeEntry({ ...base, ...o });

test('wire-format errors: entry-malformed', () => {
  for (let n = 1; n < e5.length; n++) {
    assert.throws(() => decodeEntry(e5.subarray(0, e5.length - n)), (err) => ['entry-malformed', 'entry-field-missing', 'entry-field-invalid'].includes(err.code), `cut ${n}`);
  }
  bad(concat(e5, Uint8Array.of(0x4b)), 'entry-malformed', 'a group start (wire type 3)');
  bad(concat(e5, Uint8Array.of(0x4e)), 'entry-malformed', 'wire type 6');
  bad(concat(Uint8Array.of(0x00, 0x01), e5.subarray(2)), 'entry-malformed', 'field number 0');
  bad(concat(Uint8Array.of(0x0a, 0x01, 0x05), e5.subarray(2)), 'entry-malformed', 'index with wire type 2');
  bad(concat(Uint8Array.of(0x08), new Uint8Array(10).fill(0xff), Uint8Array.of(0x01), e5.subarray(2)), 'entry-malformed', 'an 11-byte varint');
  bad(concat(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), e5.subarray(2)), 'entry-malformed', 'a varint of 65 bits');
});

test('encodings prost would not write: entry-not-canonical', () => {
  bad(concat(Uint8Array.of(0x08, 0x85, 0x00), e5.subarray(2)), 'entry-not-canonical', 'index 5 as a 2-byte varint');
  bad(concat(Uint8Array.of(0x08, 0x00), e0), 'entry-not-canonical', 'index 0 written out');
  bad(concat(Uint8Array.of(0x08, 0x05), e5), 'entry-not-canonical', 'index twice');
  bad(concat(e5, Uint8Array.of(0x08, 0x05)), 'entry-not-canonical', 'index after event');
  bad(concat(e5.subarray(0, e5.length - 2), Uint8Array.of(0x38, 0x00, 0x42, 0x00)), 'entry-not-canonical', 'subject_prev_index 0 written out');
});

test('field contents: entry-field-invalid and entry-field-missing', () => {
  bad(with_({ prevHash: new Uint8Array(31) }), 'entry-field-invalid', 'prev_hash of 31 bytes');
  bad(with_({ subjectToken: new Uint8Array(16) }), 'entry-field-invalid', 'a token of 16 bytes');
  bad(with_({ subjectToken: new Uint8Array(0) }), 'entry-field-invalid', 'subject_seq without a token');
  bad(with_({ receivedAt: { seconds: 1, nanos: 1e9 } }), 'entry-field-invalid', 'nanos = 10^9');
  bad(encodeEntry({ ...base, producer: null }), 'entry-field-missing', 'no producer');
  bad(encodeEntry({ ...base, producer: '' }), 'entry-not-canonical', 'an empty producer written out');
  const noEvent = e5.subarray(0, e5.length - 2);
  bad(noEvent, 'entry-field-missing', 'no event');
  bad(concat(e5.subarray(0, 2), bfield(2, new Uint8Array(32)).subarray(0, 0), e5.subarray(36)), 'entry-field-missing', 'no prev_hash');
  const x = encodeEntry({ ...base, producer: 'x' });
  const at = x.findIndex((b, i) => b === 0x22 && x[i + 1] === 0x01 && x[i + 2] === 0x78);
  x[at + 2] = 0xff;
  bad(x, 'entry-field-invalid', 'producer not UTF-8');
});

test('unknown fields 9 and up are skipped and listed', () => {
  const e = decodeEntry(with_({ extra: concat(tag(9, 0), varint(7), tag(12, 2), varint(1), Uint8Array.of(1)) }));
  assert.deepEqual(e.unknownFields, [9, 12]);
  assert.equal(e.index, 5n);
});
