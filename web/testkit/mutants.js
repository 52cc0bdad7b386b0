// Breaks the verifier one check at a time and runs the tests: each break must make some test fail.
// Run from web/: node testkit/mutants.js   (it restores every file it touches)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

// The library's tests only. The page's tests (page*.test.js, browser.test.js) check the committed
// page/index.html, which a mutant of src/ leaves as it is, and page-current.test.js would fail
// for every mutant (the rebuilt page differs), hiding the mutants no library test catches.
const TESTS = readdirSync('test').filter((f) => f.endsWith('.test.js') && !/^(page|browser)/.test(f)).sort().map((f) => `test/${f}`);

const MUTANTS = [
  ['src/merkle.js', 'const LEAF = Uint8Array.of(0x00);', 'const LEAF = Uint8Array.of(0x02);', 'leaf prefix byte 0x00 -> 0x02'],
  ['src/merkle.js', '      r = nodeHash(p, r);', '      r = nodeHash(r, p);', 'inclusion: left and right swapped'],
  ['src/ed25519.js', "  if (s >= L) return 's-not-canonical';", '', 'S >= L accepted'],
  ['src/ed25519.js', "  if (R.isSmallOrder()) return 'r-small-order';", '', 'small-order R accepted'],
  ['src/ed25519.js', '  return equal(p.toBytes(), bytes) ? p : null;', '  return p;', 'non-canonical points accepted'],
  ['src/note.js', '  if (ctl >= 0) {', '  if (false) {', 'control characters accepted'],
  ['src/note.js', '  if (!note.verified.some((k) => k.name === origin)) {', '  if (false) {', 'origin not compared with the key name'],
  ['src/bytes.js', '    if (last && pad === 1 && (v[2] & 3) !== 0)', '    if (false)', 'base64 trailing bits accepted'],
  ['src/entry.js', '      if (i > 0 && byte === 0) fail(', '      if (false) fail(', 'non-minimal varints accepted'],
  ['src/subjectindex.js', '      if (bit(leaf.token, i) !== bit(token, i)) {', '      if (false) {', 'leaf_off_path not checked'],
  ['src/subjectindex.js', 'export const EMPTY = new Uint8Array(32);', 'export const EMPTY = new Uint8Array(32).fill(1);', 'EMPTY not zero'],
  ['src/lifecycle.js', '  if (BigInt(raw.length) !== count)', '  if (false)', 'entries added not checked'],
  ['src/lifecycle.js', '      if (!equal(c.decoded.subjectToken, token))', '      if (false)', 'chain entries not checked for the token'],
  ['src/bundle.js', '    if (decoded.index !== BigInt(e.index)) {', '    if (false) {', 'index inside the bytes not compared'],
  ['src/bundle.js', '    verifyInclusion(e.index, cp.size, e.leaf, e.path, cp.root);', '', 'inclusion not checked'],
  ['src/json.js', '      if (Object.prototype.hasOwnProperty.call(out, key)) fail(', '      if (false) fail(', 'duplicate JSON keys accepted'],
];

let survivors = 0;
for (const [file, from, to, what] of MUTANTS) {
  const src = readFileSync(file, 'utf8');
  if (src.split(from).length !== 2) throw new Error(`${file}: the text to break is not there once: ${from}`);
  writeFileSync(file, src.replace(from, to));
  let out;
  try {
    out = execFileSync(process.execPath, ['--test', ...TESTS], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    out = e.stdout;
  } finally {
    writeFileSync(file, src);
  }
  const failed = Number(/^# fail (\d+)/m.exec(out)?.[1] ?? 0);
  if (failed === 0) survivors++;
  console.log(`${failed ? 'caught  ' : 'SURVIVED'} ${what}: ${failed} failing tests`);
}
console.log(`${MUTANTS.length - survivors} passed, ${survivors} failed`);
process.exit(survivors ? 1 : 0);
