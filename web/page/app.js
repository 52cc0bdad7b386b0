// The page's logic: read a bundle (or a receipt, or a breach finding and its bundle) and keys,
// verify, say what was proved in plain words and draw the entries as a timeline.
// Everything shown is set with textContent (never as HTML): a bundle's strings stay text.
import { b64decode, b64encode, equal, hex } from '../src/bytes.js';
import { checkEntry, readBundleEntry } from '../src/bundle.js';
import { decodeEntry } from '../src/entry.js';
import { decodeEvent } from '../src/event.js';
import { verify } from '../src/index.js';
import { openCheckpoint, parseKeys } from '../src/note.js';

const $ = (id) => document.getElementById(id);
const short = (bytes) => `${hex(bytes).slice(0, 16)}…`;
const time = (ts) => {
  if (!ts) return '—';
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, ' UTC') : `${ts.seconds} s`;
};
const cellTime = (ts) => time(ts).replace(/ UTC$/, '');
const plural = (n, one, many) => `${n} ${BigInt(n) === 1n ? one : many}`;
const list = (xs) => (xs.length ? xs.join(', ') : '—');
const own = (o, k) => o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k);

// The Event of a decoded entry, or null with the reason it could not be read.
function eventOf(decoded) {
  try {
    return { ev: decodeEvent(decoded.event), problem: null };
  } catch (e) {
    return { ev: null, problem: String(e.message ?? e) };
  }
}

const KIND_WORDS = {
  unspecified: 'event of no kind',
  collection: 'Collected',
  share: 'Shared',
  access: 'Accessed',
  rectification: 'Rectified',
  restriction: 'Processing restricted',
  objection: 'Objection to processing',
  export: 'Exported (portability)',
  consent_given: 'Consent given',
  consent_withdrawn: 'Consent withdrawn',
  erasure_requested: 'Erasure requested',
  deletion_done: 'Deleted',
  retention_expired: 'Retention period expired',
  breach: 'Personal data breach',
  identity_link: 'Identity linked',
  correction: 'Correction',
  erasure_exempted: 'Erasure exempted (art. 17(3))',
};

// What happened, in words, from an Event (docs/events.md).
export function happened(ev) {
  const parts = [KIND_WORDS[ev.kind] ?? ev.kind];
  const r = ev.recipient;
  if (r) {
    let s = `${ev.kind === 'erasure_requested' ? 'passed on to' : 'to'} ${r.name} (${r.role}) in ${r.country || '?'}`;
    if (r.transferBasis) s += `, transfer on ${r.transferBasis}`;
    parts.push(s);
  }
  if (ev.deletionMethod) parts.push(`method: ${ev.deletionMethod}`);
  if (ev.collectionChannel) parts.push(`via ${ev.collectionChannel}`);
  if (ev.consentRef) parts.push(`consent ${ev.consentRef}`);
  if (ev.breachRef) parts.push(`breach ${ev.breachRef}`);
  if (ev.linkedIdentifierKind) parts.push(`another ${ev.linkedIdentifierKind} identifier`);
  if (ev.correction) {
    const c = ev.correction;
    parts.push(`${c.action} log index ${c.targetIndex}${c.reason ? ` (${c.reason})` : ''}`);
  }
  if (ev.exemption) {
    const x = ev.exemption;
    parts.push(`on ${x.legalGround}${x.until ? ` until ${time(x.until)}` : ' until further notice'}${x.reason ? ` (${x.reason})` : ''}`);
  }
  if (ev.actor) parts.push(`by ${ev.actor}`);
  if (ev.detailsDigest.length) parts.push('sealed details kept outside the log');
  return parts.join('; ');
}

const TIMELINE_HEAD = ['#', 'log index', 'when (UTC)', 'system', 'what happened', 'data categories', 'legal basis; purposes', 'proof'];
const BUNDLE_HEAD = ['log index', 'when (UTC)', 'system', 'what happened', 'data categories', 'legal basis; purposes', 'subject token', 'proof'];

// One row: the entry's event in words and its proof status.
function row(e, decoded, lifecycle, proof) {
  const { ev, problem } = eventOf(decoded);
  const token = decoded.subjectToken.length ? short(decoded.subjectToken) : '—';
  let cells;
  if (ev) {
    const system = ev.system && ev.system !== decoded.producer ? `${ev.system} (reported by ${decoded.producer})` : ev.system || decoded.producer;
    const basis = [list(ev.legalBases), ev.purposes.length ? `for ${ev.purposes.join(', ')}` : ''].filter(Boolean).join('; ');
    cells = [cellTime(ev.occurredAt), system, `${happened(ev)}${ev.eventId ? ` [${ev.eventId}]` : ''}`, list(ev.dataCategories), basis];
  } else {
    cells = [cellTime(decoded.receivedAt), decoded.producer, `the event could not be read (${problem})`, '—', '—'];
  }
  return lifecycle ? [String(decoded.subjectSeq), String(e.index), ...cells, proof] : [String(e.index), ...cells, token, proof];
}

// The erasure state that the verified entries show (a lifecycle's events, oldest first), as
// docs/erasure.md derives it: holders are the systems that collected the data and the recipients
// it was shared with; a holder has confirmed with a deletion_done of its name after its latest
// collection or share; erasure_exempted keeps it. Corrections are not in a subject's chain, so
// they are not applied here.
export function erasureState(events) {
  const req = events.findIndex((x) => x.ev?.kind === 'erasure_requested');
  if (req < 0) return null;
  const holders = new Map(); // name -> position of its latest collection or share
  const confirmed = new Map();
  const exempted = new Map();
  const passedOn = [];
  for (const [i, { ev }] of events.entries()) {
    if (!ev) continue;
    if (ev.kind === 'collection' && ev.system) holders.set(ev.system, i);
    if (ev.kind === 'share' && ev.recipient) holders.set(ev.recipient.name, i);
    if (ev.kind === 'erasure_requested' && ev.recipient) passedOn.push(ev.recipient.name);
    if (ev.kind === 'deletion_done') confirmed.set(ev.system, { at: i, method: ev.deletionMethod || 'unspecified', when: ev.occurredAt });
    if (ev.kind === 'erasure_exempted') exempted.set(ev.system, ev.exemption);
  }
  const r = events[req].ev;
  const lines = [`Erasure requested ${time(r.occurredAt)} at ${r.system}${passedOn.length ? `, passed on to ${passedOn.join(', ')}` : ''}.`];
  const done = [];
  const open = [];
  const kept = [];
  for (const [name, at] of holders) {
    const c = confirmed.get(name);
    if (c && c.at > at) done.push(`${name} (${c.method}, ${time(c.when)})`);
    else if (exempted.has(name)) {
      const x = exempted.get(name);
      kept.push(`${name} (${x?.legalGround ?? '?'}${x?.until ? ` until ${time(x.until)}` : ', until further notice'})`);
    } else open.push(name);
  }
  const others = [...confirmed.keys()].filter((n) => !holders.has(n));
  lines.push(`Holders (collected or received the data): ${list([...holders.keys()])}.`);
  lines.push(done.length ? `Deletion confirmed by: ${done.join(', ')}.` : 'No holder has confirmed a deletion.');
  if (kept.length) lines.push(`Kept on an exemption: ${kept.join(', ')}.`);
  if (others.length) lines.push(`Also confirmed a deletion: ${others.join(', ')}.`);
  lines.push(open.length ? `Not confirmed: ${open.join(', ')}. The erasure is open.` : 'Every holder has confirmed or is exempted.');
  return { complete: open.length === 0, lines };
}

// What a verified result proves: a heading, sentences, the entries (one row each), notes.
export function describe(r) {
  const cp = r.checkpoint;
  const out = { heading: '', lines: [], table: null, erasure: null, notes: [] };
  out.lines.push(`Checkpoint of the log ${cp.origin}: tree size ${cp.size}, root ${b64encode(cp.root)}, ` +
    `signed by ${cp.verified.map((k) => `${k.name}+${k.keyId}`).join(', ')} (a key you gave).`);
  if (r.kind === 'bundle') {
    const n = r.entries.length;
    out.heading = n
      ? `Verified: ${plural(n, 'entry is', 'entries are')} in the log, signed and unchanged`
      : 'Verified: a checkpoint of the log (no entries)';
    if (n) {
      out.lines.push('Each entry below is signed by the log and included in that tree.');
      const rows = r.entries.map((e) => row(e, e.decoded, false, `✓ verified, key ${e.key.keyId}`));
      out.table = { caption: 'Entries proved (proof: each entry signed by the log key named and included in the tree)', head: BUNDLE_HEAD, rows };
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
      const rows = r.entries.map((e) => row(e, e.decoded, true, `✓ verified, key ${e.key.keyId}`));
      out.table = { caption: 'Timeline, oldest first (proof: each entry signed by the log key named, included in the tree, and in its place in the subject\'s chain)', head: TIMELINE_HEAD, rows };
      out.erasure = erasureState(r.entries.map((e) => eventOf(e.decoded)));
    }
    out.notes.push('Which person the token stands for is not proved (the subject directory is deliberately not authenticated).');
    if (r.detailsErased) out.notes.push('The server states that the subject was erased and its sealed details destroyed (a statement, not a proof).');
  }
  out.notes.push("Each event's fields are read from its signed bytes (proto/gdpr_ledger/v1/event.proto); times are the producers' own clocks.");
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

// After a failure: each entry of the bundle checked on its own (signature, inclusion, bytes)
// against its checkpoint if that opens, with what it claims. Nothing here is a verdict.
export function inspect(text, keys, failure) {
  let b;
  try {
    b = JSON.parse(text);
    keys = parseKeys(keys);
  } catch {
    return null;
  }
  if (!own(b, 'entries') || !Array.isArray(b.entries) || b.entries.length === 0) return null;
  let cp = null;
  try {
    cp = typeof b.checkpoint === 'string' ? openCheckpoint(b.checkpoint, keys) : null;
  } catch {
    cp = null;
  }
  const m = /^entries\[(\d+)\]/.exec(failure.message.slice(failure.code.length + 2));
  const failingAt = m ? Number(m[1]) : -1;
  const lifecycle = own(b, 'subject_proof');
  const rows = [];
  for (const [i, raw] of b.entries.entries()) {
    let e;
    try {
      e = readBundleEntry(raw, `entries[${i}]`);
    } catch {
      rows.push([...(lifecycle ? ['?'] : []), String(raw?.index ?? '?'), '—', '—', 'not readable', '—', '—', ...(lifecycle ? [] : ['—']), '✗ malformed']);
      continue;
    }
    let proof = '– not checked: the checkpoint did not open';
    let decoded = null;
    if (cp) {
      try {
        decoded = checkEntry(e, cp, keys).decoded;
        proof = i === failingAt ? `✗ ${failure.code}` : '✓ signed, included';
      } catch (err) {
        proof = `✗ ${err.code ?? 'error'}`;
      }
    } else if (i === failingAt) {
      proof = `✗ ${failure.code}`;
    }
    if (decoded === null) {
      try {
        decoded = decodeEntry(e.bytes);
      } catch {
        decoded = null;
      }
    }
    rows.push(decoded ? row(e, decoded, lifecycle, proof) : [...(lifecycle ? ['?'] : []), String(e.index), '—', '—', 'the entry bytes do not decode', '—', '—', ...(lifecycle ? [] : ['—']), proof]);
  }
  return {
    caption: 'What the bundle claims, entry by entry (not verified: rely on none of it)',
    head: lifecycle ? TIMELINE_HEAD : BUNDLE_HEAD,
    rows,
  };
}

// What kind of document was pasted: a bundle or lifecycle bundle, a receipt, a breach finding.
export function kindOf(text) {
  let o;
  try {
    o = JSON.parse(text);
  } catch {
    return 'bundle';
  }
  if (own(o, 'checkpoint') || own(o, 'subject_proof')) return 'bundle';
  if (own(o, 'receipt') || own(o, 'bundleJson') || own(o, 'bundle_json') || own(o, 'leafHash') || own(o, 'leaf_hash')) return 'receipt';
  if (own(o, 'summary') && own(o, 'entries')) return 'finding';
  return 'bundle';
}

// A receipt (the Append response, as grpcurl prints it: proto3 JSON; or its `receipt` alone).
// Its bundle_json, when asked for with include_bundle, is a SPEC 7 bundle of the entry.
export function readReceipt(text) {
  const o = JSON.parse(text);
  const r = own(o, 'receipt') ? o.receipt : o;
  const pick = (a, b) => (own(r, a) ? r[a] : own(r, b) ? r[b] : undefined);
  return {
    index: pick('index', 'index') === undefined ? 0 : Number(pick('index', 'index')),
    leafHash: pick('leafHash', 'leaf_hash'),
    signature: pick('signature', 'signature'),
    bundle: pick('bundleJson', 'bundle_json') ?? '',
  };
}

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function table({ caption, head, rows }, className = 'entries') {
  const t = el('table', undefined, className);
  const thead = el('thead');
  const hr = el('tr');
  for (const h of head) hr.append(el('th', h));
  thead.append(hr);
  const tbody = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    for (const c of r) tr.append(el('td', c, c.startsWith('✗') ? 'bad' : c.startsWith('✓') ? 'good' : undefined));
    tbody.append(tr);
  }
  t.append(el('caption', caption), thead, tbody);
  return t;
}

function showVerified(out, d) {
  out.className = 'ok';
  out.append(el('h2', d.heading, 'verdict'));
  for (const l of d.lines) out.append(el('p', l));
  if (d.erasure) {
    const box = el('div', undefined, `erasure ${d.erasure.complete ? 'done' : 'open'}`);
    box.append(el('h3', 'Erasure state (read from the entries above)'));
    for (const l of d.erasure.lines) box.append(el('p', l));
    out.append(box);
  }
  if (d.table) out.append(table(d.table));
  for (const l of d.notes) out.append(el('p', l, 'note'));
}

function showFailure(out, e, claimed) {
  out.className = 'fail';
  if (!e.code) {
    out.append(el('h2', 'Not verified: an unexpected error', 'verdict'), el('p', String(e)));
    return;
  }
  out.append(el('h2', `Not verified: check “${e.code}” failed`, 'verdict'));
  const where = failingEntry(e);
  if (where) out.append(el('p', `Failing entry: ${where}`, 'where'));
  out.append(el('p', e.message.slice(e.code.length + 2), 'why'));
  if (claimed) out.append(table(claimed, 'entries claimed'));
  out.append(el('p', 'Nothing in this bundle should be relied on. The checks and their codes are listed in CHECKS.md.', 'note'));
}

// A breach finding (gdpr-ledger report breach --format json) with the bundle written by --bundle.
function showFinding(out, finding, bundleText, keys) {
  const f = JSON.parse(finding);
  const s = f.summary ?? {};
  const r = verify(bundleText, keys);
  if (r.kind !== 'bundle') throw new Error('the bundle box must hold the proof bundle of the finding (--bundle), not a lifecycle');
  const byIndex = new Map(r.entries.map((e) => [e.index, e]));
  const entries = Array.isArray(f.entries) ? f.entries : [];
  const rows = entries.map((x) => {
    const e = byIndex.get(Number(x.index));
    let proof = '✗ not in the bundle: not proved';
    if (e) {
      const { ev } = eventOf(e.decoded);
      const same = ev && ev.kind === String(x.kind).toLowerCase() && ev.system === x.system;
      proof = same || x.amended ? `✓ verified, key ${e.key.keyId}${x.amended ? ' (amended)' : ''}`
        : '✗ the proved entry says something else';
    }
    return [String(x.index), String(x.occurred_at ?? '').replace('T', ' ').replace(/Z$/, ''), String(x.system ?? ''), String(x.kind ?? ''), list(x.data_categories ?? []),
      x.recipient ? `${x.recipient} (${x.recipient_country})` : '—', x.subject_token ? `${String(x.subject_token).slice(0, 16)}…` : '—', proof];
  });
  const proved = rows.filter((x) => x[7].startsWith('✓')).length;
  out.className = proved === rows.length ? 'ok' : 'fail';
  out.append(el('h2', proved === rows.length
    ? `Breach finding: ${plural(rows.length, 'entry', 'entries')} listed, every one proved in the log`
    : `Breach finding: ${rows.length - proved} of ${rows.length} entries listed are not proved`, 'verdict'));
  out.append(el('p', `Totals as the server counted them (tree size ${s.tree_size}): ${s.subjects} data subjects, ${s.records} records; ` +
    `special categories ${s.special_categories_involved ? `involved: ${list(s.special_categories ?? [])}` : 'not involved'}; ` +
    `third-country transfers: ${(s.third_country_transfers ?? []).map((t) => `${t.recipient} in ${t.country} (${plural(t.records, 'record', 'records')})`).join(', ') || 'none'}.`));
  out.append(el('p', 'The totals, and that no other entry matches the query, cannot be verified offline: the log signs entries, not counts. ' +
    'What is proved is each listed entry below, by the proof bundle.', 'where'));
  out.append(el('p', `Checkpoint of the log ${r.checkpoint.origin}: tree size ${r.checkpoint.size}, root ${b64encode(r.checkpoint.root)}.`));
  out.append(table({ caption: 'Entries of the finding', head: ['log index', 'when (UTC)', 'system', 'kind', 'data categories', 'recipient', 'subject token', 'proof'], rows }));
}

function showReceipt(out, text, keys) {
  const rc = readReceipt(text);
  if (!rc.bundle) {
    out.className = 'fail';
    out.append(el('h2', 'Not verified: this receipt cannot be verified offline', 'verdict'));
    out.append(el('p', `It holds log index ${rc.index}, the entry's leaf hash and signature, and a checkpoint, but neither the entry's bytes ` +
      'nor an inclusion proof: nothing shows what was recorded or that it is in the log. Ask for the receipt with include_bundle, ' +
      `or for a proof bundle of log index ${rc.index} (GetInclusionProof), and verify that.`, 'why'));
    return;
  }
  const r = verify(rc.bundle, keys);
  const e = r.kind === 'bundle' ? r.entries.find((x) => x.index === rc.index) : undefined;
  if (!e) throw Object.assign(new Error(`the receipt's bundle does not hold log index ${rc.index}`), { receipt: true });
  if (rc.leafHash !== undefined && !equal(b64decode(String(rc.leafHash), 'leaf hash'), e.leaf)) {
    throw Object.assign(new Error("the receipt's leaf hash is not the entry's"), { receipt: true });
  }
  const d = describe(r);
  d.heading = `Verified: the receipt's entry (log index ${rc.index}) is in the log, signed and unchanged`;
  showVerified(out, d);
}

function run() {
  const out = $('result');
  out.className = '';
  out.textContent = '';
  const keys = $('keys').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const text = $('bundle').value.trim();
  const finding = ($('finding')?.value ?? '').trim();
  try {
    if (finding) showFinding(out, finding, text, keys);
    else if (kindOf(text) === 'finding') {
      out.className = 'fail';
      out.append(el('h2', 'A breach finding: paste it in the breach finding box, and its proof bundle here', 'verdict'));
      out.append(el('p', 'gdpr-ledger report breach --format json --bundle FILE writes the proof bundle to FILE.', 'why'));
    } else if (kindOf(text) === 'receipt') showReceipt(out, text, keys);
    else showVerified(out, describe(verify(text, keys)));
  } catch (e) {
    out.textContent = '';
    showFailure(out, e, e.code ? inspect(finding ? text : kindOf(text) === 'receipt' ? safeReceiptBundle(text) : text, keys, e) : null);
  } finally {
    out.scrollIntoView?.({ block: 'nearest' });
  }
}

function safeReceiptBundle(text) {
  try {
    return readReceipt(text).bundle;
  } catch {
    return '';
  }
}

if (typeof document !== 'undefined') {
  $('verify').addEventListener('click', run);
  $('file').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    if (f) $('bundle').value = await f.text();
  });
}
