// The committed page/index.html in a real browser: Debian's Chromium (/usr/bin/chromium, from
// scripts/bootstrap.sh), driven by puppeteer-core (which never downloads a browser). The page is
// opened from a file:// URL and used as an auditor would: the key pasted into its key box, a
// bundle pasted into its bundle box or picked with its file input, its Verify button clicked;
// the test reads what the page then shows. No request other than the page's own file:// URL may
// leave the page, and no load may be refused by its Content-Security-Policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const CHROMIUM = '/usr/bin/chromium';
const pageUrl = new URL('../page/index.html', import.meta.url).href;
const fixture = (name) => JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8'));
const text = (f) => (typeof f.input === 'string' ? f.input : JSON.stringify(f.input, null, 1));

function chromiumOrFail() {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    assert.fail(`Chromium is missing (${CHROMIUM} is not an executable): run scripts/bootstrap.sh, ` +
      "which installs Debian's chromium package; the page's browser test needs it.");
  }
}

test('the committed page in Chromium, from file://, with no network', { timeout: 60_000 }, async (t) => {
  chromiumOrFail();
  const dir = mkdtempSync(join(tmpdir(), 'gdpr-ledger-browser-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    pipe: true, // the DevTools protocol over a pipe: no debugging port is opened either
    ignoreDefaultArgs: true, // exactly these flags, nothing added by puppeteer
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`,
    ],
    timeout: 20_000,
    protocolTimeout: 20_000,
  });
  t.after(async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 800 });
  const requests = [];
  const problems = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  // loads the page's Content-Security-Policy refused (a refused load is not a request, but it
  // would be a page trying to reach out)
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP refused ${e.blockedURI}`));
  });

  const open = async () => {
    await page.goto(pageUrl, { waitUntil: 'load' });
    assert.equal(await page.title(), 'gdpr-ledger verifier');
  };
  // What a paste does: the whole text inserted at once into the focused box (input events fire).
  const paste = async (selector, value) => {
    await page.focus(selector);
    await page.keyboard.sendCharacter(value);
    assert.equal(await page.$eval(selector, (e) => e.value), value, `${selector} holds what was pasted`);
  };
  const verify = async () => {
    await page.click('#verify');
    await page.waitForSelector('#result.ok, #result.fail', { timeout: 5_000 });
    return page.$eval('#result', (r) => ({
      cls: r.className,
      verdict: r.querySelector('h2')?.textContent ?? '',
      where: r.querySelector('.where')?.textContent ?? null,
      text: r.innerText,
      rows: [...r.querySelectorAll('table tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
      visible: r.getBoundingClientRect().height > 0,
    }));
  };

  const good = fixture('js-bundle-ok');
  const key = `${good.keys.join('\n')}\n`;

  await t.test('a good bundle, pasted: verified, in plain words', async () => {
    await open();
    await paste('#keys', key);
    await paste('#bundle', text(good));
    const r = await verify();
    assert.equal(r.cls, 'ok', r.text);
    assert.ok(r.visible);
    assert.equal(r.verdict, 'Verified: 4 entries are in the log, signed and unchanged');
    assert.match(r.text, /Checkpoint of the log ledger\.example\.com\/gdpr\/test: tree size 12/);
    assert.match(r.text, /earlier checkpoint of size 7 is a prefix of this one/);
    assert.deepEqual(r.rows.map((row) => row[0]), ['3', '4', '0', '11']);
  });

  await t.test('a good lifecycle bundle, picked as a file: verified, one timeline row per entry', async () => {
    const f = fixture('js-lifecycle-ok');
    const file = join(dir, 'lifecycle.json');
    writeFileSync(file, text(f));
    await open();
    await paste('#keys', key);
    const input = await page.$('#file');
    await input.uploadFile(file);
    await page.waitForFunction(() => document.getElementById('bundle').value.length > 0, { timeout: 5_000 });
    assert.equal(await page.$eval('#bundle', (e) => e.value), text(f), 'the picked file fills the bundle box');
    const r = await verify();
    assert.equal(r.cls, 'ok', r.text);
    assert.equal(r.verdict, 'Verified: the complete history of one data subject (3 entries)');
    assert.match(r.text, /has exactly 3 entries in this tree, the latest at log index 5; all are shown, oldest first, none left out/);
    assert.equal(r.rows.length, f.input.entries.length, 'one row per entry');
    assert.deepEqual(r.rows.map((row) => row.slice(0, 2)), [['0', '1'], ['1', '3'], ['2', '5']], '# and log index');
    for (const row of r.rows) {
      assert.match(row[2], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/, 'received at');
      assert.equal(row[3], 'crm', 'producer');
      assert.equal(row[4], '5eb4026f', 'signed by key');
    }
    // one look at it, for a person: kept if WEB_SCREENSHOT_DIR is set, else removed with the rest
    const shots = process.env.WEB_SCREENSHOT_DIR ?? dir;
    const shot = join(shots, 'lifecycle-verified.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });

  await t.test('a tampered bundle (a signature bit flipped): the check and the entry are named', async () => {
    const f = fixture('js-bundle-signature-flipped');
    await open();
    await paste('#keys', key);
    await paste('#bundle', text(f));
    const r = await verify();
    assert.equal(r.cls, 'fail', r.text);
    assert.equal(r.verdict, `Not verified: check “${f.expect.code}” failed`);
    assert.equal(f.expect.code, 'entry-signature-invalid');
    assert.equal(r.where, 'Failing entry: entries[0] of the bundle, log index 3');
    assert.match(r.text, /the signature does not verify/);
  });

  await t.test('a tampered lifecycle (an entry left out): the check and the missing entry are named', async () => {
    const f = fixture('js-lifecycle-missing-entry');
    await open();
    await paste('#keys', key);
    await paste('#bundle', text(f));
    const r = await verify();
    assert.equal(r.cls, 'fail', r.text);
    assert.equal(r.verdict, 'Not verified: check “lifecycle-missing-entry” failed');
    assert.equal(r.where, "Failing entry: log index 3 (the subject's entry #1)");
    assert.equal(r.rows.length, 0, 'no timeline for a failed bundle');
  });

  await t.test('the same good bundle with no key: refused, not verified', async () => {
    await open();
    await paste('#bundle', text(good));
    const r = await verify();
    assert.equal(r.cls, 'fail');
    assert.equal(r.verdict, 'Not verified: check “verifier-key-missing” failed');
  });

  await t.test('no request but the page itself, no refused load, no error', () => {
    assert.ok(requests.length > 0, 'requests were observed');
    const foreign = requests.filter((u) => u !== pageUrl && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'requests other than the page file');
    assert.deepEqual(problems, []);
    assert.ok(fileURLToPath(pageUrl).endsWith('index.html'));
  });
});
