// The committed page/index.html is what page/build.js makes from the sources today: the test
// rebuilds it into a temporary file with the same script and compares the two byte for byte.
// An auditor can then open the committed file as it is, and it never drifts from src/ and page/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const web = new URL('../', import.meta.url);
const script = fileURLToPath(new URL('page/build.js', web));
const committedPath = fileURLToPath(new URL('page/index.html', web));

test('the committed page/index.html is the build of the current sources', async (t) => {
  // The output depends on esbuild's version: a different one installed would explain a mismatch.
  const pinned = JSON.parse(readFileSync(new URL('package.json', web), 'utf8')).devDependencies.esbuild;
  const installed = createRequire(new URL('package.json', web))('esbuild/package.json').version;
  assert.equal(installed, pinned, `esbuild ${installed} is installed, package.json pins ${pinned}: run npm ci`);

  const dir = mkdtempSync(join(tmpdir(), 'gdpr-ledger-page-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rebuilt = join(dir, 'index.html');
  // from another working directory, to show the build does not depend on it
  await promisify(execFile)(process.execPath, [script, rebuilt], { cwd: dir });

  const want = readFileSync(rebuilt);
  const have = readFileSync(committedPath);
  if (!want.equals(have)) {
    let at = 0;
    while (at < want.length && at < have.length && want[at] === have[at]) at++;
    assert.fail(`page/index.html is stale: it differs from a fresh build at byte ${at} ` +
      `(committed ${have.length} bytes, built ${want.length}). Run \`npm run build:page\` in web/ and commit page/index.html.`);
  }
});
