// The Event inside an entry (field 8 of the envelope, SPEC.md section 3), decoded for display.
//
// docs/events.md names the Event's fields and says its messages are in
// proto/gdpr_ledger/v1/event.proto, which gives their numbers and types (SPEC-QUESTIONS Q11).
// This is not a verification check: an entry is authenticated by its signature and inclusion
// over its bytes, whatever the Event says. So the reader is plain protobuf (repeated fields,
// unknown fields skipped) and a failure is an ordinary Error, never a VerifyError code: the page
// then says the event could not be read.

const KINDS = [
  'unspecified', 'collection', 'share', 'access', 'rectification', 'restriction', 'objection',
  'export', 'consent_given', 'consent_withdrawn', 'erasure_requested', 'deletion_done',
  'retention_expired', 'breach', 'identity_link', 'correction', 'erasure_exempted',
  'breach_notified', 'subjects_notified', 'controller_declared', 'request_received',
  'request_extended', 'request_answered', 'request_refused', 'request_policy_declared',
  'consent_policy_declared', 'retention_policy_declared', 'relationship_ended', 'system_declared',
];
const ROLES = ['unspecified', 'processor', 'sub-processor', 'controller', 'joint controller', 'channel partner', 'third party'];
const TRANSFER_BASES = [
  'unspecified', 'adequacy decision', 'standard contractual clauses', 'binding corporate rules',
  'code of conduct', 'certification', 'derogation',
];
const DELETION_METHODS = ['unspecified', 'delete', 'erase', 'destruct'];
const CORRECTION_ACTIONS = ['unspecified', 'retract', 'amend'];

const name = (list, n) => (n < BigInt(list.length) ? list[Number(n)] : undefined) ?? `unknown (${n})`;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function varint(b, o) {
  let x = 0n;
  for (let i = 0; i < 10; i++) {
    if (o + i >= b.length) throw new Error('a varint runs past the end');
    const byte = b[o + i];
    x |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return [BigInt.asUintN(64, x), o + i + 1];
  }
  throw new Error('a varint is longer than 10 bytes');
}

// [{ no, wt, value }] of one message, in the order written.
function fields(b) {
  const out = [];
  let o = 0;
  while (o < b.length) {
    let key;
    [key, o] = varint(b, o);
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    let value;
    if (wt === 0) {
      [value, o] = varint(b, o);
    } else if (wt === 2) {
      let len;
      [len, o] = varint(b, o);
      if (len > BigInt(b.length - o)) throw new Error(`field ${no} runs past the end`);
      value = b.subarray(o, o + Number(len));
      o += Number(len);
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (o + n > b.length) throw new Error(`field ${no} runs past the end`);
      value = b.subarray(o, o + n);
      o += n;
    } else {
      throw new Error(`field ${no} has wire type ${wt}`);
    }
    out.push({ no, wt, value });
  }
  return out;
}

function read(b, spec) {
  const m = {};
  for (const [, [key, type]] of Object.entries(spec)) if (type.endsWith('[]')) m[key] = [];
  for (const f of fields(b)) {
    const s = spec[f.no];
    if (s === undefined) continue; // unknown: skipped
    const [key, type] = s;
    const want = type === 'varint' ? 0 : 2;
    if (f.wt !== want) throw new Error(`${key} has wire type ${f.wt}`);
    let v;
    if (type === 'varint') v = f.value;
    else if (type === 'string' || type === 'string[]') v = utf8.decode(f.value);
    else if (type === 'bytes') v = f.value.slice();
    else v = read(f.value, type === 'timestamp' ? TIMESTAMP : MESSAGES[type]);
    if (type.endsWith('[]')) m[key].push(v);
    else m[key] = v;
  }
  return m;
}

const TIMESTAMP = { 1: ['seconds', 'varint'], 2: ['nanos', 'varint'] };
const MESSAGES = {
  recipient: { 1: ['name', 'string'], 2: ['role', 'varint'], 3: ['country', 'string'], 4: ['transferBasis', 'varint'] },
  correction: { 1: ['targetIndex', 'varint'], 2: ['action', 'varint'], 3: ['reason', 'string'] },
  exemption: { 1: ['legalGround', 'string'], 2: ['until', 'timestamp'], 3: ['reason', 'string'] },
};
const EVENT = {
  1: ['eventId', 'string'], 2: ['kind', 'varint'], 3: ['occurredAt', 'timestamp'], 4: ['system', 'string'],
  5: ['dataCategories', 'string[]'], 6: ['purposes', 'string[]'], 7: ['legalBases', 'string[]'],
  8: ['recipient', 'recipient'], 9: ['consentRef', 'string'], 10: ['actor', 'string'],
  11: ['deletionMethod', 'varint'], 12: ['correction', 'correction'], 13: ['linkedIdentifierKind', 'string'],
  14: ['breachRef', 'string'], 15: ['collectionChannel', 'string'], 16: ['detailsDigest', 'bytes'],
  17: ['exemption', 'exemption'],
};

const timestamp = (t) => (t ? { seconds: BigInt.asIntN(64, t.seconds ?? 0n), nanos: Number(BigInt.asIntN(64, t.nanos ?? 0n)) } : null);

// Decodes the Event's bytes. Strings are text, enums are words (docs/events.md), times are
// { seconds: BigInt, nanos } or null. Throws an Error when the bytes are not an Event.
export function decodeEvent(bytes) {
  const e = read(bytes, EVENT);
  const out = {
    eventId: e.eventId ?? '',
    kind: name(KINDS, e.kind ?? 0n),
    occurredAt: timestamp(e.occurredAt),
    system: e.system ?? '',
    dataCategories: e.dataCategories,
    purposes: e.purposes,
    legalBases: e.legalBases,
    recipient: null,
    consentRef: e.consentRef ?? '',
    actor: e.actor ?? '',
    deletionMethod: e.deletionMethod ? name(DELETION_METHODS, e.deletionMethod) : '',
    correction: null,
    linkedIdentifierKind: e.linkedIdentifierKind ?? '',
    breachRef: e.breachRef ?? '',
    collectionChannel: e.collectionChannel ?? '',
    detailsDigest: e.detailsDigest ?? new Uint8Array(0),
    exemption: null,
  };
  if (e.recipient) {
    const r = e.recipient;
    out.recipient = {
      name: r.name ?? '',
      role: name(ROLES, r.role ?? 0n),
      country: r.country ?? '',
      transferBasis: r.transferBasis ? name(TRANSFER_BASES, r.transferBasis) : '',
    };
  }
  if (e.correction) {
    const c = e.correction;
    out.correction = { targetIndex: c.targetIndex ?? 0n, action: name(CORRECTION_ACTIONS, c.action ?? 0n), reason: c.reason ?? '' };
  }
  if (e.exemption) {
    const x = e.exemption;
    out.exemption = { legalGround: x.legalGround ?? '', until: timestamp(x.until), reason: x.reason ?? '' };
  }
  return out;
}
