// The committed page/index.html (npm run build:page) runs its bundled script with nothing but a
// stand-in DOM (no Node API in reach), verifies good bundles and names the failed check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { bundle, key, lifecycle, makeScenarioLog, tokenA, tokenC } from '../testkit/scenario.js';

const html = readFileSync(new URL('../page/index.html', import.meta.url), 'utf8');
const script = html.slice(html.lastIndexOf('<script>') + 8, html.lastIndexOf('</script>'));

function page() {
  const els = {};
  const el = (id) => (els[id] ??= {
    value: '', className: '', textContent: '', children: [], listeners: {},
    addEventListener(type, f) { this.listeners[type] = f; },
    append(...c) { this.children.push(...c); },
  });
  const document = { getElementById: el, createElement: () => ({ textContent: '' }) };
  vm.runInNewContext(script, { document, TextEncoder, TextDecoder });
  return (keys, text) => {
    el('keys').value = keys;
    el('bundle').value = text;
    el('result').children = [];
    els.verify.listeners.click();
    return { cls: els.result.className, text: els.result.children.map((c) => c.textContent).join('\n') };
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
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenA, [1, 3, 5])));
  assert.match(r.text, /exactly 3 entries/);
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenC, [])));
  assert.match(r.text, /proved absent/);
  r = verifyIn(k, JSON.stringify(lifecycle(log, tokenA, [3, 1, 5])));
  assert.equal(r.cls, 'fail');
  assert.match(r.text, /lifecycle-out-of-order/);
  r = verifyIn('', JSON.stringify(bundle(log, [3])));
  assert.match(r.text, /verifier-key-missing/);
});
