// Runs every test/fixtures/*.json (layout: web/README.md): {kind, input, keys, expect}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { openCheckpoint, verify, verifyBundle, verifyLifecycle } from '../src/index.js';

const dir = new URL('./fixtures/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const KINDS = {
  bundle: verifyBundle,
  lifecycle: verifyLifecycle,
  verify,
  checkpoint: openCheckpoint,
};

for (const file of files) {
  test(`fixture ${file}`, (t) => {
    const f = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    const fn = KINDS[f.kind];
    assert.ok(fn, `${file}: unknown kind ${f.kind}`);
    // bundles go through the strict JSON reader, as a file given to a verifier would
    const input = f.kind !== 'checkpoint' && typeof f.input !== 'string' ? JSON.stringify(f.input) : f.input;
    let result;
    let error;
    try {
      result = fn(input, f.keys);
    } catch (e) {
      if (!e.code) throw e;
      error = e;
    }
    if (f.expect.ok) {
      assert.equal(error, undefined, `${file}: expected to verify, failed with ${error?.message}`);
      assert.ok(result);
    } else {
      assert.ok(error, `${file}: expected a failure${f.expect.code ? ` (${f.expect.code})` : ''}, it verified`);
      if (f.expect.code) assert.equal(error.code, f.expect.code, `${file}: ${error.message}`);
      else t.diagnostic(`${file} fails with ${error.code}`);
    }
  });
}

test('fixtures exist', () => assert.ok(files.length > 0));

// The cases the Rust side exports (tests/integration/shared_cases.rs): its verdict and code are in `expect`,
// so every rust-*.json test above is an agreement check between the two verifiers.
test('the Rust side exported its shared cases, both verdicts among them', (t) => {
  const rust = files.filter((f) => f.startsWith('rust-')).map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')));
  const good = rust.filter((f) => f.expect.ok).length;
  const bad = rust.filter((f) => !f.expect.ok && f.expect.code).length;
  t.diagnostic(`rust fixtures: ${rust.length} (${good} verify, ${bad} fail with a code)`);
  assert.ok(rust.length >= 25, `${rust.length} rust-*.json fixtures`);
  assert.ok(good >= 6 && bad >= 20, `${good} good, ${bad} bad`);
  assert.equal(good + bad, rust.length, 'every failing Rust case names its code');
});
