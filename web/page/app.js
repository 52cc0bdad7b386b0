// The page's logic: read a bundle and keys, verify, say what was proved in plain words.
import { b64encode, hex, verify } from '../src/index.js';

const $ = (id) => document.getElementById(id);
const short = (bytes) => `${hex(bytes).slice(0, 16)}…`;
const time = (ts) => {
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : `${ts.seconds} s`;
};

function describeEntry(e) {
  const d = e.decoded;
  const subject = d.subjectToken.length
    ? `subject token ${short(d.subjectToken)}, subject_seq ${d.subjectSeq}`
    : 'no data subject';
  return `Entry ${e.index}: received ${time(d.receivedAt)} from producer “${d.producer}”, ${subject}; ` +
    `signed by log key ${e.key.keyId}, included in the tree (event: ${d.event.length} bytes, not decoded).`;
}

export function describe(r) {
  const cp = r.checkpoint;
  const lines = [
    `Checkpoint of ${cp.origin}: tree size ${cp.size}, root ${b64encode(cp.root)}, signed by ${cp.verified.map((k) => `${k.name}+${k.keyId}`).join(', ')}.`,
  ];
  if (r.kind === 'bundle') {
    lines.push(r.entries.length ? `${r.entries.length} entr${r.entries.length === 1 ? 'y is' : 'ies are'} in that log, as shown:` : 'The bundle holds no entries.');
    for (const e of r.entries) lines.push(`• ${describeEntry(e)}`);
    if (r.consistency) lines.push(`The earlier checkpoint of size ${r.consistency.fromSize} is a prefix of this one: nothing it held was changed or removed.`);
  } else {
    const t = short(r.token);
    if (!r.present) {
      lines.push(`Subject token ${t} is proved absent: no entry of the ${cp.size} in this tree carries it.`);
    } else {
      lines.push(`Subject token ${t} has exactly ${r.head.count} entr${r.head.count === 1n ? 'y' : 'ies'} in this tree, the latest at index ${r.head.lastIndex}; all are shown, oldest first, none left out:`);
      for (const e of r.entries) lines.push(`• ${describeEntry(e)}`);
    }
    lines.push('Which person the token stands for is not proved (the subject directory is deliberately not authenticated).');
    if (r.detailsErased) lines.push("The server states that the subject was erased and its sealed details destroyed (a statement, not a proof).");
  }
  return lines;
}

function run() {
  const out = $('result');
  out.className = '';
  out.textContent = '';
  const keys = $('keys').value.split('\n').map((s) => s.trim()).filter(Boolean);
  try {
    const r = verify($('bundle').value.trim(), keys);
    out.className = 'ok';
    const h = document.createElement('h2');
    h.textContent = r.kind === 'lifecycle' ? 'Verified: a complete lifecycle' : 'Verified: a proof bundle';
    out.append(h);
    for (const l of describe(r)) {
      const p = document.createElement('p');
      p.textContent = l;
      out.append(p);
    }
  } catch (e) {
    out.className = 'fail';
    const h = document.createElement('h2');
    h.textContent = e.code ? `Not verified: check “${e.code}” failed` : 'Not verified: an unexpected error';
    const p = document.createElement('p');
    p.textContent = e.code ? e.message.slice(e.code.length + 2) : String(e);
    out.append(h, p);
  }
}

if (typeof document !== 'undefined') {
  $('verify').addEventListener('click', run);
  $('file').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    if (f) $('bundle').value = await f.text();
  });
}
