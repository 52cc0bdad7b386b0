// Verifier keys, C2SP signed notes and tlog checkpoints (SPEC.md sections 1 and 5).

import { sha256 } from '@noble/hashes/sha2';
import { b64decode, concat, hex, utf8 } from './bytes.js';
import { publicKeyProblem, verifyStrict } from './ed25519.js';
import { fail } from './errors.js';
import { KEYWORD as SUBJECT_INDEX_KEYWORD, parseSubjectIndexLine } from './subjectindex.js';

const MAX_SIGNATURES = 100; // SPEC.md 9.2
const DASH = '\u2014 '; // em dash and one space, the start of every signature line
const ED25519 = 0x01; // the signature-type byte of an Ed25519 key (C2SP signed-note)

// A name (origin or key name): non-empty, no white space, no '+' (SPEC.md section 1).
// "White space" is taken as JavaScript's \s (Unicode white space); see SPEC-QUESTIONS.md.
function nameProblem(name) {
  if (name.length === 0) return 'is empty';
  if (/\s/u.test(name)) return 'contains white space';
  if (name.includes('+')) return "contains '+'";
  return null;
}

export function keyId(name, publicKey) {
  return sha256(concat(utf8(name), utf8('\n'), Uint8Array.of(ED25519), publicKey)).slice(0, 4);
}

// `<name>+<hex key_id>+<base64(0x01 || public_key)>`, split at the first two '+'.
export function parseVerifierKey(text) {
  if (typeof text !== 'string') fail('verifier-key-malformed', 'a verifier key must be a string');
  text = text.trim(); // a key pasted or read from a file may carry a final newline
  const p1 = text.indexOf('+');
  const p2 = p1 < 0 ? -1 : text.indexOf('+', p1 + 1);
  if (p2 < 0) fail('verifier-key-malformed', 'a verifier key is <name>+<key id>+<key>: two + are missing');
  const name = text.slice(0, p1);
  const idHex = text.slice(p1 + 1, p2);
  const problem = nameProblem(name);
  if (problem) fail('verifier-key-malformed', `the key name ${problem}`);
  if (!/^[0-9a-f]{8}$/.test(idHex)) fail('verifier-key-malformed', `key id ${JSON.stringify(idHex)} is not 8 lowercase hex digits`);
  const raw = b64decode(text.slice(p2 + 1), 'verifier key', 'verifier-key-malformed');
  if (raw.length === 0 || raw[0] !== ED25519) fail('verifier-key-algorithm', `key ${name}+${idHex} is not an Ed25519 key (type byte 0x01)`);
  if (raw.length !== 33) fail('verifier-key-malformed', `Ed25519 key ${name}+${idHex} has ${raw.length - 1} bytes, not 32`);
  const publicKey = raw.slice(1);
  if (hex(keyId(name, publicKey)) !== idHex) fail('verifier-key-id-mismatch', `key id ${idHex} does not match the name ${name} and its key`);
  const weak = publicKeyProblem(publicKey);
  if (weak) fail('verifier-key-weak', `key ${name}+${idHex} is rejected: ${weak}`);
  return { name, keyId: idHex, publicKey, text };
}

export function parseKeys(keys) {
  if (!Array.isArray(keys) || keys.length === 0) fail('verifier-key-missing', 'at least one verifier key is needed');
  return keys.map((k) => (typeof k === 'string' ? parseVerifierKey(k) : k));
}

// Opens a signed note: checks its text and every signature line, verifies every signature by a
// known key (name and key id both match), and requires at least one. Returns the body text (with
// its final newline), its lines, and the keys whose signatures verified.
export function openNote(text, keys, what = 'note') {
  keys = parseKeys(keys);
  if (text instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch {
      fail('note-not-utf8', `${what} is not valid UTF-8`);
    }
  }
  if (typeof text !== 'string') fail('note-malformed', `${what} is not text`);
  if (!isWellFormed(text)) fail('note-not-utf8', `${what} is not valid UTF-8 (a lone surrogate)`);
  // Control characters: Unicode category Cc (U+0000-U+001F, U+007F-U+009F) other than \n.
  const ctl = text.search(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u);
  if (ctl >= 0) {
    const line = text.slice(0, ctl).split('\n').length;
    fail('note-control-character', `${what} line ${line} holds control character U+${text.charCodeAt(ctl).toString(16).padStart(4, '0')}`, { line });
  }
  if (!text.endsWith('\n')) fail('note-malformed', `${what} does not end in a newline`);
  const split = text.lastIndexOf('\n\n');
  if (split < 0) fail('note-malformed', `${what} has no blank line before its signatures`);
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  // SPEC.md 9.2: an empty signature block is malformed; at most 100 lines; every line is read
  // before any signature is checked.
  if (block.length === 0) fail('note-malformed', `${what} has an empty signature block`);
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) fail('note-too-many-signatures', `${what} has ${lines.length} signature lines, more than ${MAX_SIGNATURES}`);
  const bodyBytes = utf8(body);
  const parsed = lines.map((line, i) => {
    const where = `${what} signature line ${i + 1}`;
    if (!line.startsWith(DASH)) fail('note-signature-line-malformed', `${where} does not start with an em dash and a space`, { line: i + 1 });
    const rest = line.slice(DASH.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const problem = nameProblem(name);
    if (sp < 0 || problem) fail('note-signature-line-malformed', `${where}: the key name ${problem ?? 'is not followed by a space'}`, { line: i + 1 });
    const sig = b64decode(rest.slice(sp + 1), where, 'note-signature-line-malformed');
    if (sig.length < 5) fail('note-signature-line-malformed', `${where}: ${sig.length} bytes are too few for a key id and a signature`, { line: i + 1 });
    return { where, name, sig, line: i + 1 };
  });
  const verified = [];
  for (const { where, name, sig, line } of parsed) {
    const id = sig.subarray(0, 4);
    for (const key of keys.filter((k) => k.name === name && k.keyId === hex(id))) {
      const why = verifyStrict(key.publicKey, bodyBytes, sig.slice(4));
      if (why) fail('note-signature-invalid', `${where}: the signature by known key ${key.name}+${key.keyId} does not verify (${why})`, { line, reason: why });
      if (!verified.includes(key)) verified.push(key);
    }
  }
  if (verified.length === 0) fail('note-no-known-signature', `${what} carries no signature by a known key (${keys.map((k) => `${k.name}+${k.keyId}`).join(', ')})`);
  return { body, bodyLines: body.slice(0, -1).split('\n'), verified };
}

function isWellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

// Opens a checkpoint (a signed tlog-checkpoint note). Returns
// { origin, size, root, extensions, verified (keys), text }; subjectIndexRootOf reads its
// subject-index root.
export function openCheckpoint(text, keys, what = 'checkpoint') {
  const note = openNote(text, keys, what);
  const lines = note.bodyLines;
  if (lines.length < 3) fail('checkpoint-malformed', `${what} body has ${lines.length} lines, fewer than origin, size and root`);
  const [origin, sizeText, rootText, ...extensions] = lines;
  const problem = nameProblem(origin);
  if (problem) fail('checkpoint-malformed', `${what} origin line ${problem}`);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) fail('checkpoint-size-invalid', `${what} tree size ${JSON.stringify(sizeText)} is not a decimal number without sign or leading zeros`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) fail('number-out-of-range', `${what} tree size ${sizeText} is above 2^53-1, beyond this verifier`);
  const root = b64decode(rootText, `${what} root`, 'checkpoint-root-invalid', 32);
  extensions.forEach((line, i) => {
    if (line.length === 0) fail('checkpoint-extension-empty', `${what} extension line ${i + 1} is empty`);
  });
  // SPEC.md 9.2: the origin is checked after the body's lines.
  if (!note.verified.some((k) => k.name === origin)) {
    fail('checkpoint-origin-mismatch', `${what} origin ${JSON.stringify(origin)} is not the name of the key that signed it (${note.verified.map((k) => k.name).join(', ')})`);
  }
  return { origin, size, root, extensions, verified: note.verified, text };
}

// The subject-index root a checkpoint carries (SI 6), or null when it carries none. Read only by
// a verifier that needs it (SPEC.md 9.2): a broken line fails lifecycles, not SPEC 7 bundles.
// Duplicates are counted before any line is parsed (SI 11's order).
export function subjectIndexRootOf(cp, what = 'checkpoint') {
  const ours = cp.extensions.filter((line) => line.split(' ')[0] === SUBJECT_INDEX_KEYWORD);
  if (ours.length > 1) fail('subject-index-line-duplicate', `${what} carries ${ours.length} subject-index lines`);
  return ours.length === 0 ? null : parseSubjectIndexLine(ours[0]);
}

// The keys of `keys` named `origin` (the log's own keys).
export const keysOf = (keys, origin) => keys.filter((k) => k.name === origin);
