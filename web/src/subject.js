// Subject identifiers, directory row keys and deterministic pseudonyms (SPEC.md section 6).
// A verifier treats tokens as opaque; these exist to check the vectors and, for an auditor who
// holds the secrets, to recompute a row key or pseudonym.

import { blake3 } from '@noble/hashes/blake3';
import { concat, u64be, utf8 } from './bytes.js';
import { fail } from './errors.js';

const trimAscii = (s) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

export function normalizeIdentifier(kind, value) {
  const v = trimAscii(value);
  let n;
  if (kind === 'email') n = v.toLowerCase();
  else if (kind === 'phone') {
    const digits = v.replace(/[^0-9]/g, '');
    if (digits.length === 0) fail('subject-identifier-invalid', 'a phone number needs at least one digit');
    n = (v.startsWith('+') ? '+' : '') + digits;
  } else n = v;
  if (n.length === 0) fail('subject-identifier-invalid', `the ${kind} identifier is empty once normalized`);
  return `${kind}:${n}`;
}

export const directoryRowKey = (directorySecret, kind, value) =>
  blake3(utf8(normalizeIdentifier(kind, value)), { key: directorySecret });

export const deterministicPseudonym = (pseudonymSecret, firstIndex) =>
  blake3(concat(utf8('gdpr-ledger:subject:v1\n'), u64be(firstIndex)), { key: pseudonymSecret });
