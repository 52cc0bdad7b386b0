// Every failure of the verifier is a VerifyError: `code` is a stable name (listed in CHECKS.md),
// the message says which entry, index or line failed, `details` carries the same facts as data.

export class VerifyError extends Error {
  constructor(code, message, details = {}) {
    super(`${code}: ${message}`);
    this.name = 'VerifyError';
    this.code = code;
    this.details = details;
  }
}

export function fail(code, message, details) {
  throw new VerifyError(code, message, details);
}

// Runs fn; a VerifyError it throws gets `prefix` in front of its message (keeping its code),
// so that a failure deep inside says which entry of which bundle it concerns.
export function within(prefix, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VerifyError) {
      throw new VerifyError(e.code, `${prefix}: ${e.message.slice(e.code.length + 2)}`, e.details);
    }
    throw e;
  }
}
