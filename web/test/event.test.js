// The page names an entry's kind by the EventKind enum of proto/gdpr_ledger/v1/event.proto
// (SPEC-QUESTIONS Q11): every number the enum defines has its name here, so no kind the ledger
// writes is shown as "unknown".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeEvent } from '../src/event.js';

const proto = readFileSync(new URL('../../proto/gdpr_ledger/v1/event.proto', import.meta.url), 'utf8');

// An Event of `kind` alone: field 2 (kind), varint.
const eventOfKind = (kind) => {
  const bytes = [0x10];
  let n = kind;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    bytes.push(byte);
  } while (n);
  return new Uint8Array(bytes);
};

test('every EventKind of event.proto has its name', () => {
  const kinds = [...proto.matchAll(/^\s*EVENT_KIND_([A-Z0-9_]+)\s*=\s*(\d+);/gm)];
  assert.ok(kinds.length > 20, `found ${kinds.length} kinds`);
  for (const [, upper, number] of kinds) {
    assert.equal(decodeEvent(eventOfKind(Number(number))).kind, upper.toLowerCase(), `EVENT_KIND_${upper}`);
  }
  const next = Math.max(...kinds.map(([, , number]) => Number(number))) + 1;
  assert.equal(decodeEvent(eventOfKind(next)).kind, `unknown (${next})`);
});
