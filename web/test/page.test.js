// The committed page/index.html (npm run build:page) runs its bundled script with nothing but a
// stand-in DOM (no Node API in reach), verifies good bundles and names the failed check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { bundle, key, lifecycle, makeScenarioLog, tokenA, tokenC } from '../testkit/scenario.js';

const html = readFileSync(new URL('../page/index.html', import.meta.url), 'utf8');
const script = html.slice(html.lastIndexOf('<script>') + 8, html.lastIndexOf('</script>'));

// A stand-in element: children, text (setting it drops the children, as in a DOM), listeners.
function element(tag) {
  return {
    tag, value: '', className: '', children: [], listeners: {}, ownText: '',
    get textContent() { return this.ownText + this.children.map((c) => c.textContent).join('\n'); },
    set textContent(v) { this.ownText = String(v); this.children = []; },
    addEventListener(type, f) { this.listeners[type] = f; },
    append(...c) { this.children.push(...c); },
  };
}
const all = (e, tag) => [...(e.tag === tag ? [e] : []), ...e.children.flatMap((c) => all(c, tag))];

function page() {
  const els = {};
  const el = (id) => (els[id] ??= element('div'));
  const document = { getElementById: el, createElement: element };
  vm.runInNewContext(script, { document, TextEncoder, TextDecoder });
  return (keys, text) => {
    el('keys').value = keys;
    el('bundle').value = text;
    els.verify.listeners.click();
    const rows = all(els.result, 'tbody').flatMap((b) => all(b, 'tr')).map((tr) => tr.children.map((td) => td.textContent));
    return { cls: els.result.className, text: els.result.textContent, rows };
  };
}

test('the page verifies and explains, or names the failed check', () => {
  const verifyIn = page();
  const log = makeScenarioLog();
  const k = `${key.verifierKey}\n`;
  let r = verifyIn(k, JSON.stringify(bundle(log, [3, 0])));
  assert.equal(r.cls, 'ok', r.text);
  assert.match(r.text, /tree size 12/);
  assert.match(r.text, /size 7 is a prefix/);
  assert.deepEqual(r.rows.map((row) => row[0]), ['3', '0']);
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenA, [1, 3, 5])));
  assert.match(r.text, /exactly 3 entries/);
  assert.deepEqual(r.rows.map((row) => row.slice(0, 2)), [['0', '1'], ['1', '3'], ['2', '5']]);
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenC, [])));
  assert.match(r.text, /proved absent/);
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenA, [3, 1, 5])));
  assert.equal(r.cls, 'fail');
  assert.match(r.text, /lifecycle-out-of-order/);
  assert.match(r.text, /Failing entry: entries\[0\] of the bundle/);
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenA, [1, 5])));
  assert.match(r.text, /lifecycle-missing-entry/);
  assert.match(r.text, /Failing entry: log index 3 \(the subject's entry #1\)/);
  r = verifyIn('', JSON.stringify(bundle(log, [3])));
  assert.match(r.text, /verifier-key-missing/);
});
