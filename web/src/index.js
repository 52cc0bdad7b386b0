// gdpr-ledger's independent verifier: the public API.

import { toObject, verifyBundle } from './bundle.js';
import { verifyLifecycle } from './lifecycle.js';
import { parseKeys } from './note.js';

export { VerifyError } from './errors.js';
export { b64decode, b64encode, hex, unhex } from './bytes.js';
export { parseJson } from './json.js';
export { leafHash, nodeHash, emptyRoot, rootOfLeafHashes, verifyInclusion, verifyConsistency } from './merkle.js';
export { verifyStrict, publicKeyProblem } from './ed25519.js';
export { decodeEntry, entrySignedMessage, verifyEntrySignature } from './entry.js';
export { parseVerifierKey, parseKeys, keyId, openNote, openCheckpoint, subjectIndexRootOf } from './note.js';
export * as subjectIndex from './subjectindex.js';
export { normalizeIdentifier, directoryRowKey, deterministicPseudonym } from './subject.js';
export { verifyBundle, verifyLifecycle };

// Verifies a SPEC.md section 7 bundle or a lifecycle bundle, told apart by `subject_proof`.
export function verify(input, keys) {
  keys = parseKeys(keys);
  const obj = toObject(input, 'bundle');
  if (obj !== null && typeof obj === 'object' && Object.prototype.hasOwnProperty.call(obj, 'subject_proof')) {
    return verifyLifecycle(obj, keys);
  }
  return verifyBundle(obj, keys);
}
