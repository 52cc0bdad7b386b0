// Writes test/fixtures/js-*.json: fixtures in the layout web/README.md describes, made by this
// test kit (so they test this verifier against itself; fixtures exported by the Rust side, with
// other names, are the independent ones). Run: node testkit/make-fixtures.js
import { writeFileSync } from 'node:fs';
import { b64decode, b64encode } from '../src/bytes.js';
import { bundle, key, lifecycle, makeScenarioLog, tokenA, tokenC } from './scenario.js';
import { loadVector } from './vectors.js';

const log = makeScenarioLog();
const keys = [key.verifierKey];
const v = loadVector('signing.json');
const flipSig = (b) => {
  const s = b64decode(b.entries[0].signature, 's');
  s[0] ^= 1;
  b.entries[0].signature = b64encode(s);
  return b;
};

const fixtures = {
  'bundle-ok': { kind: 'bundle', what: 'entries 3, 4, 0, 11 of 12 with a consistency proof from 7', input: bundle(log, [3, 4, 0, 11]), expect: { ok: true } },
  'bundle-signature-flipped': { kind: 'bundle', what: "bit 0 of the first entry's signature flipped", input: flipSig(bundle(log, [3])), expect: { ok: false, code: 'entry-signature-invalid' } },
  'bundle-unknown-field': { kind: 'bundle', what: 'an unknown top-level field', input: { ...bundle(log, [3]), note: 'x' }, expect: { ok: false, code: 'bundle-malformed' } },
  'lifecycle-ok': { kind: 'lifecycle', what: "token A's three entries", input: lifecycle(log, tokenA, [1, 3, 5]), expect: { ok: true } },
  'lifecycle-absent': { kind: 'lifecycle', what: 'a token that no entry carries', input: lifecycle(log, tokenC, []), expect: { ok: true } },
  'lifecycle-missing-entry': { kind: 'verify', what: "token A's middle entry left out", input: lifecycle(log, tokenA, [1, 5]), expect: { ok: false, code: 'lifecycle-missing-entry' } },
  'checkpoint-ok': { kind: 'checkpoint', what: 'the checkpoint of signing.json', input: v.checkpoint_note, expect: { ok: true } },
  'checkpoint-leading-zero': { kind: 'checkpoint', what: 'signing.json: size with a leading zero', input: v.bad_notes[2].note, expect: { ok: false, code: 'checkpoint-size-invalid' } },
};

for (const [name, f] of Object.entries(fixtures)) {
  const out = { kind: f.kind, what: f.what, input: f.input, keys, expect: f.expect };
  writeFileSync(new URL(`../test/fixtures/js-${name}.json`, import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
}
console.log(`wrote ${Object.keys(fixtures).length} fixtures`);
