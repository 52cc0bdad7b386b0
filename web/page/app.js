// The page's logic: read a bundle and keys, verify, say what was proved in plain words.
// Everything shown is set with textContent (never as HTML): a bundle's strings stay text.
import { b64encode, hex, verify } from '../src/index.js';

const $ = (id) => document.getElementById(id);
const short = (bytes) => `${hex(bytes).slice(0, 16)}…`;
const time = (ts) => {
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC') : `${ts.seconds} s`;
};
const plural = (n, one, many) => `${n} ${BigInt(n) === 1n ? one : many}`;

// One row of the entries table. A lifecycle's timeline has subject_seq first and no token
// column (every row carries the token named above it).
function entryRow(e, lifecycle) {
  const d = e.decoded;
  const token = d.subjectToken.length ? short(d.subjectToken) : '—';
  const tail = [e.key.keyId, `${d.event.length} bytes`];
  return lifecycle
    ? [String(d.subjectSeq), String(e.index), time(d.receivedAt), d.producer, ...tail]
    : [String(e.index), time(d.receivedAt), d.producer, token, ...tail];
}

// What a verified result proves: a heading, sentences, the entries (one row each), notes.
export function describe(r) {
  const cp = r.checkpoint;
  const out = { heading: '', lines: [], table: null, notes: [] };
  out.lines.push(`Checkpoint of the log ${cp.origin}: tree size ${cp.size}, root ${b64encode(cp.root)}, ` +
    `signed by ${cp.verified.map((k) => `${k.name}+${k.keyId}`).join(', ')} (a key you gave).`);
  const head = ['log index', 'received', 'producer', 'subject token', 'signed by key', 'event'];
  const timeline = ['#', 'log index', 'received', 'producer', 'signed by key', 'event'];
  if (r.kind === 'bundle') {
    const n = r.entries.length;
    out.heading = n
      ? `Verified: ${plural(n, 'entry is', 'entries are')} in the log, signed and unchanged`
      : 'Verified: a checkpoint of the log (no entries)';
    if (n) {
      out.lines.push('Each entry below is signed by the log and included in that tree.');
      out.table = { caption: 'Entries proved', head, rows: r.entries.map((e) => entryRow(e, false)) };
    }
    if (r.consistency) {
      out.lines.push(`The earlier checkpoint of size ${r.consistency.fromSize} is a prefix of this one: nothing it held was changed or removed.`);
    }
  } else {
    const t = short(r.token);
    if (!r.present) {
      out.heading = 'Verified: this data subject has no entry in the log';
      out.lines.push(`Subject token ${t} is proved absent: no entry of the ${cp.size} in this tree carries it.`);
    } else {
      out.heading = `Verified: the complete history of one data subject (${plural(r.head.count, 'entry', 'entries')})`;
      out.lines.push(`Subject token ${t} has exactly ${plural(r.head.count, 'entry', 'entries')} in this tree, the latest at ` +
        `log index ${r.head.lastIndex}; all are shown, oldest first, none left out.`);
      out.table = { caption: 'Timeline, oldest first', head: timeline, rows: r.entries.map((e) => entryRow(e, true)) };
    }
    out.notes.push('Which person the token stands for is not proved (the subject directory is deliberately not authenticated).');
    if (r.detailsErased) out.notes.push('The server states that the subject was erased and its sealed details destroyed (a statement, not a proof).');
  }
  out.notes.push('What each event says is not decoded here (SPEC-QUESTIONS Q11): its bytes are covered by the signature.');
  return out;
}

// Which entry a failure concerns, from the message's "entries[k] (index i)" or the details.
export function failingEntry(e) {
  const m = /^entries\[(\d+)\] \(index (\d+)\)/.exec(e.message.slice(e.code.length + 2));
  if (m) return `entries[${m[1]}] of the bundle, log index ${m[2]}`;
  const d = e.details ?? {};
  if (d.index !== undefined) return `log index ${d.index}${d.seq !== undefined ? ` (the subject's entry #${d.seq})` : ''}`;
  if (d.seq !== undefined) return `entries[${d.seq}] of the bundle`;
  return null;
}

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function table({ caption, head, rows }) {
  const t = el('table', undefined, 'entries');
  const thead = el('thead');
  const hr = el('tr');
  for (const h of head) hr.append(el('th', h));
  thead.append(hr);
  const tbody = el('tbody');
  for (const row of rows) {
    const tr = el('tr');
    for (const c of row) tr.append(el('td', c));
    tbody.append(tr);
  }
  t.append(el('caption', caption), thead, tbody);
  return t;
}

function run() {
  const out = $('result');
  out.className = '';
  out.textContent = '';
  const keys = $('keys').value.split('\n').map((s) => s.trim()).filter(Boolean);
  try {
    const d = describe(verify($('bundle').value.trim(), keys));
    out.className = 'ok';
    out.append(el('h2', d.heading, 'verdict'));
    for (const l of d.lines) out.append(el('p', l));
    if (d.table) out.append(table(d.table));
    for (const l of d.notes) out.append(el('p', l, 'note'));
  } catch (e) {
    out.className = 'fail';
    if (!e.code) {
      out.append(el('h2', 'Not verified: an unexpected error', 'verdict'), el('p', String(e)));
      return;
    }
    out.append(el('h2', `Not verified: check “${e.code}” failed`, 'verdict'));
    const where = failingEntry(e);
    if (where) out.append(el('p', `Failing entry: ${where}`, 'where'));
    out.append(el('p', e.message.slice(e.code.length + 2), 'why'));
    out.append(el('p', 'Nothing in this bundle should be relied on. The checks and their codes are listed in CHECKS.md.', 'note'));
  } finally {
    out.scrollIntoView?.({ block: 'nearest' });
  }
}

if (typeof document !== 'undefined') {
  $('verify').addEventListener('click', run);
  $('file').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    if (f) $('bundle').value = await f.text();
  });
}
