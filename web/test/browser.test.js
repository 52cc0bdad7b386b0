// The committed page/index.html in a real browser: Debian's Chromium (/usr/bin/chromium, from
// scripts/bootstrap.sh), driven by puppeteer-core (which never downloads a browser). The page is
// opened from a file:// URL and used as an auditor would: the key pasted into its key box, a
// bundle pasted into its bundle box or picked with its file input, its Verify button clicked;
// the test reads what the page then shows. No request other than the page's own file:// URL may
// leave the page, and no load may be refused by its Content-Security-Policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      claimed: r.querySelector('table.claimed caption')?.textContent ?? null,
      erasure: r.querySelector('.erasure')?.innerText ?? null,
      visible: r.getBoundingClientRect().height > 0,
    }));
  };

  // A screenshot of the page as it is: web/test/artifacts/ (git-ignored), or $WEB_SCREENSHOT_DIR.
  const shots = process.env.WEB_SCREENSHOT_DIR ?? fileURLToPath(new URL('artifacts/', import.meta.url));
  mkdirSync(shots, { recursive: true });
  const shoot = async (name) => {
    const shot = join(shots, `${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
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
      // the test kit's entries carry an empty Event: no time, the producer as the system
      assert.equal(row[3], 'crm', 'system');
      assert.equal(row[7], '✓ verified, key 5eb4026f', 'proof');
    }
    await shoot('testkit-lifecycle-verified');
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
    // what the bundle claims, entry by entry, each entry checked on its own: both verify, the
    // bundle as a whole does not
    assert.deepEqual(r.rows.map((row) => [row[1], row[7]]), [['1', '✓ signed, included'], ['5', '✓ signed, included']]);
    assert.match(r.claimed, /not verified: rely on none of it/);
  });

  await t.test('the same good bundle with no key: refused, not verified', async () => {
    await open();
    await paste('#bundle', text(good));
    const r = await verify();
    assert.equal(r.cls, 'fail');
    assert.equal(r.verdict, 'Not verified: check “verifier-key-missing” failed');
  });

  // Documents a real server made (tests/integration/page_documents.rs): a lifecycle with an erasure, a
  // tampered copy of it, receipts, a breach finding with its bundle.
  const server = (name) => readFileSync(new URL(`server/${name}`, import.meta.url), 'utf8');
  const serverKey = server('verifier-key.txt');
  const lifecycleText = server('lifecycle.json');

  await t.test("a real server's lifecycle: the timeline, each step's proof, the erasure state", async () => {
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', lifecycleText);
    const r = await verify();
    assert.equal(r.cls, 'ok', r.text);
    assert.equal(r.verdict, 'Verified: the complete history of one data subject (10 entries)');
    assert.deepEqual(r.rows.map((row) => row[0]), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], '# in order');
    // when, system, what happened, categories, legal basis; purposes, proof
    assert.deepEqual(r.rows[0].slice(2, 7), ['2025-03-01 09:00:00', 'webshop (reported by crm)', 'Collected; via checkout-form [d-1]',
      'pd:Name, pd:EmailAddress', 'eu-gdpr:A6-1-b; for dpv:ServiceProvision']);
    assert.equal(r.rows[1][4], 'Consent given; consent cmp:rec-5521 [d-2]');
    assert.equal(r.rows[2][4], 'Shared; to mailer-eu (processor) in IE; consent cmp:rec-5521; by job:newsletter-sync [d-3]');
    assert.equal(r.rows[3][4], 'Shared; to mailer-us (processor) in US, transfer on standard contractual clauses; consent cmp:rec-5521; by job:newsletter-sync [d-4]');
    assert.equal(r.rows[3][6], 'eu-gdpr:A6-1-a; for dpv:DirectMarketing');
    assert.equal(r.rows[5][4], 'Consent withdrawn; consent cmp:rec-5521 [d-6]');
    assert.match(r.rows[6][4], /^Erasure requested \[d-erase\]$/);
    assert.equal(r.rows[6][3], 'privacy-portal (reported by ops)');
    assert.deepEqual(r.rows.slice(7).map((row) => [row[3].split(' ')[0], row[4]]), [
      ['crm', 'Deleted; method: erase; by job:erasure-worker [d-7]'],
      ['webshop', 'Deleted; method: erase; by job:erasure-worker [d-8]'],
      ['mailer-eu', 'Deleted; method: erase; by job:erasure-worker [d-9]'],
    ]);
    for (const row of r.rows) assert.match(row[7], /^✓ verified, key [0-9a-f]{8}$/);
    assert.match(r.erasure, /Erasure requested \d{4}-\d\d-\d\d .* at privacy-portal/);
    assert.match(r.erasure, /Holders \(collected or received the data\): webshop, mailer-eu, mailer-us\./);
    assert.match(r.erasure, /Deletion confirmed by: webshop \(erase, .*\), mailer-eu \(erase, .*\)\./);
    assert.match(r.erasure, /Not confirmed: mailer-us\. The erasure is open\./);
    assert.match(r.text, /the subject was erased and its sealed details destroyed \(a statement, not a proof\)/);
    await shoot('server-lifecycle-verified');
  });

  await t.test("the same lifecycle tampered (a recipient renamed in one entry): that step fails, nothing is verified", async () => {
    // mailer-us -> mailer-eu inside the bytes of the share to the US (log index of row 3)
    const b = JSON.parse(lifecycleText);
    const k = 3;
    const bytes = Buffer.from(b.entries[k].entry, 'base64');
    const at = bytes.indexOf('mailer-us');
    assert.ok(at > 0, 'the entry names mailer-us');
    bytes.write('mailer-eu', at);
    b.entries[k].entry = bytes.toString('base64');
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', JSON.stringify(b, null, 2));
    const r = await verify();
    assert.equal(r.cls, 'fail', r.text);
    assert.equal(r.verdict, 'Not verified: check “entry-signature-invalid” failed');
    assert.equal(r.where, `Failing entry: entries[${k}] of the bundle, log index ${b.entries[k].index}`);
    assert.equal(r.erasure, null, 'no erasure state from an unverified bundle');
    assert.match(r.claimed, /not verified: rely on none of it/);
    assert.equal(r.rows.length, 10);
    assert.deepEqual(r.rows.map((row) => row[7].slice(0, 1)), ['✓', '✓', '✓', '✗', '✓', '✓', '✓', '✓', '✓', '✓']);
    assert.equal(r.rows[k][7], '✗ entry-signature-invalid');
    assert.match(r.rows[k][4], /to mailer-eu \(processor\) in US/, 'what the tampered entry claims is shown, flagged');
    await shoot('server-lifecycle-tampered');
  });

  await t.test('a receipt with its bundle verifies; one without says plainly it cannot be verified offline', async () => {
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', server('receipt.json'));
    let r = await verify();
    assert.equal(r.cls, 'ok', r.text);
    const index = JSON.parse(server('receipt.json')).receipt.index;
    assert.equal(r.verdict, `Verified: the receipt's entry (log index ${index}) is in the log, signed and unchanged`);
    assert.equal(r.rows.length, 1);
    assert.equal(r.rows[0][3], 'Collected; via checkout-form [d-1]');
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', server('receipt-no-bundle.json'));
    r = await verify();
    assert.equal(r.cls, 'fail', r.text);
    assert.equal(r.verdict, 'Not verified: this receipt cannot be verified offline');
    assert.match(r.text, /neither the entry's bytes nor an inclusion proof/);
  });

  await t.test('a breach finding with its bundle: totals (said to be unverifiable) and each entry proved', async () => {
    const finding = JSON.parse(server('breach-finding.json'));
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', server('breach-bundle.json'));
    await paste('#finding', server('breach-finding.json'));
    let r = await verify();
    assert.equal(r.cls, 'ok', r.text);
    assert.equal(r.verdict, `Breach finding: ${finding.entries.length} entries listed, every one proved in the log`);
    assert.match(r.text, new RegExp(`${finding.summary.subjects} data subjects, ${finding.summary.records} records`));
    assert.match(r.text, /mailer-us in US/);
    assert.match(r.where, /cannot be verified offline/);
    assert.deepEqual(r.rows.map((row) => row[0]), finding.entries.map((e) => String(e.index)));
    for (const row of r.rows) assert.match(row[7], /^✓ verified, key [0-9a-f]{8}$/);
    await shoot('server-breach-finding');
    // the same finding with a bundle that proves only its first entry
    const partial = JSON.parse(server('breach-bundle.json'));
    partial.entries = partial.entries.filter((e) => e.index === finding.entries[0].index);
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', JSON.stringify(partial));
    await paste('#finding', server('breach-finding.json'));
    r = await verify();
    assert.equal(r.cls, 'fail', r.text);
    assert.equal(r.verdict, `Breach finding: ${finding.entries.length - 1} of ${finding.entries.length} entries listed are not proved`);
    assert.equal(r.rows[1][7], '✗ not in the bundle: not proved');
  });

  await t.test('a lifecycle of 100 entries: verified and drawn, timed', async () => {
    const text100 = server('lifecycle-100.json');
    await open();
    await paste('#keys', serverKey);
    await paste('#bundle', text100);
    const ms = await page.evaluate(() => {
      const t0 = performance.now();
      document.getElementById('verify').click();
      return performance.now() - t0;
    });
    const r = await page.$eval('#result', (e) => ({ cls: e.className, rows: e.querySelectorAll('tbody tr').length, verdict: e.querySelector('h2').textContent }));
    assert.equal(r.cls, 'ok');
    assert.equal(r.verdict, 'Verified: the complete history of one data subject (100 entries)');
    assert.equal(r.rows, 100);
    t.diagnostic(`verify and draw a 100-entry lifecycle in Chromium: ${ms.toFixed(0)} ms`);
  });

  await t.test('no request but the page itself, no refused load, no error', () => {
    assert.ok(requests.length > 0, 'requests were observed');
    const foreign = requests.filter((u) => u !== pageUrl && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'requests other than the page file');
    assert.deepEqual(problems, []);
    assert.ok(fileURLToPath(pageUrl).endsWith('index.html'));
  });
});
