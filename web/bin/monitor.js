#!/usr/bin/env node
// A log monitor: fetches the ledger's latest signed checkpoint from its metrics listener
// (GET /checkpoint, src/http_pages.rs), opens it with the verifier key (strict, SPEC.md
// sections 5 and 9), and, if the state file holds an earlier checkpoint, fetches
// GET /consistency?from=<earlier size>&to=<new size> and verifies that the earlier tree is a
// prefix of the new one (RFC 9162). Then saves the new checkpoint as the state (written to a
// temporary file, then renamed over the state). Meant for cron:
//
//   node web/bin/monitor.js --url http://127.0.0.1:9464 --key secrets/verifier-key --state monitor.json
//
// --key is the verifier key itself (<name>+<key id>+<base64>) or a file holding it.
// Exit codes: 0 consistent (or first run); 1 usage, network or state file problem; 2 the
// checkpoint does not open with the key (bad signature, malformed); 3 the origin changed;
// 4 rollback (the log is smaller than the saved checkpoint); 5 the consistency proof fails.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { b64decode, b64encode, equal } from '../src/bytes.js';
import { verifyConsistency } from '../src/merkle.js';
import { openCheckpoint, parseKeys } from '../src/note.js';

class Stop extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!['--url', '--key', '--state'].includes(flag) || value === undefined) {
      throw new Stop(1, `usage: monitor.js --url http://HOST:PORT --key <verifier key or file> --state <file> (not understood: ${flag})`);
    }
    out[flag.slice(2)] = value;
  }
  for (const k of ['url', 'key', 'state']) if (!out[k]) throw new Stop(1, `--${k} is required`);
  return out;
}

async function getJson(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Stop(1, `GET ${url}: ${e.cause?.message ?? e.message}`);
  }
  const text = await response.text();
  if (!response.ok) throw new Stop(1, `GET ${url}: HTTP ${response.status}: ${text.trim()}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Stop(1, `GET ${url}: not JSON`);
  }
}

export async function monitor({ url, key, state }) {
  const keyText = existsSync(key) ? readFileSync(key, 'utf8').trim() : key.trim();
  let keys;
  try {
    keys = parseKeys([keyText]);
  } catch (e) {
    throw new Stop(1, `the verifier key: ${e.message}`);
  }
  const base = url.replace(/\/+$/, '');
  const served = await getJson(`${base}/checkpoint`);
  let cp;
  try {
    cp = openCheckpoint(String(served.note), keys);
  } catch (e) {
    throw new Stop(2, `the checkpoint does not open with the verifier key: ${e.message}`);
  }
  if (served.origin !== cp.origin || served.size !== cp.size || served.root !== b64encode(cp.root)) {
    throw new Stop(2, 'the /checkpoint fields are not those of its signed note');
  }
  let previous = null;
  if (existsSync(state)) {
    try {
      const s = JSON.parse(readFileSync(state, 'utf8'));
      previous = { origin: String(s.origin), size: s.size, root: b64decode(String(s.root), 'state root', undefined, 32) };
      if (!Number.isSafeInteger(previous.size) || previous.size < 0) throw new Error('size is not a tree size');
    } catch (e) {
      throw new Stop(1, `the state file ${state} is damaged: ${e.message}`);
    }
  }
  let said = `first checkpoint of ${cp.origin} saved: size ${cp.size}`;
  if (previous) {
    if (previous.origin !== cp.origin) throw new Stop(3, `origin changed: the state holds ${previous.origin}, the server signs ${cp.origin}`);
    if (cp.size < previous.size) throw new Stop(4, `rollback: the log's checkpoint has size ${cp.size}, smaller than the saved ${previous.size}`);
    const c = await getJson(`${base}/consistency?from=${previous.size}&to=${cp.size}`);
    if (c.origin !== cp.origin || c.from !== previous.size || c.to !== cp.size || !Array.isArray(c.proof)) {
      throw new Stop(5, 'inconsistent: the /consistency answer is not for the sizes asked');
    }
    try {
      const proof = c.proof.map((h, i) => b64decode(String(h), `proof[${i}]`, undefined, 32));
      verifyConsistency(previous.size, cp.size, previous.root, cp.root, proof);
    } catch (e) {
      throw new Stop(5, `inconsistent: the tree of size ${previous.size} saved is not a prefix of the tree of size ${cp.size}: ${e.message}`);
    }
    said = previous.size === cp.size && equal(previous.root, cp.root)
      ? `consistent: ${cp.origin} unchanged at size ${cp.size}`
      : `consistent: ${cp.origin} grew from size ${previous.size} to ${cp.size}`;
  }
  const tmp = `${state}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ origin: cp.origin, size: cp.size, root: b64encode(cp.root), note: served.note }, null, 1)}\n`);
  renameSync(tmp, state);
  return said;
}

try {
  console.log(await monitor(args(process.argv.slice(2))));
} catch (e) {
  console.error(`monitor: ${e.message}`);
  process.exitCode = e instanceof Stop ? e.status : 1;
}
