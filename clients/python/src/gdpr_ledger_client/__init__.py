"""gdpr-ledger's Python client.

- `Client`: the Ledger service over gRPC (bearer token, TLS, retries on UNAVAILABLE through the
  gRPC service config), `append_verified` appends and checks the receipt's bundle;
- `events`: typed builders of each event kind's `EventSubmission` (docs/events.md);
- `verifier`: a pure-Python verifier of proof bundles, checkpoints and lifecycle bundles
  (docs/SPEC.md sections 5, 7, 9; docs/subject-index.md sections 10, 11), reporting the same
  check codes as the server's verifier;
- the generated stubs are the package `gdpr_ledger.v1` (`ledger_pb2`, `ledger_pb2_grpc`, ...).
"""

from . import events
from .client import Client, ReceiptMismatch, RetryPolicy, service_config, verify_receipt
from .verifier import (
    Checkpoint,
    VerificationError,
    VerifiedBundle,
    VerifiedLifecycle,
    VerifierKey,
    open_checkpoint,
    parse_verifier_key,
    verify,
    verify_bundle,
    verify_lifecycle,
    verify_subject_proof,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "RetryPolicy",
    "ReceiptMismatch",
    "service_config",
    "verify_receipt",
    "events",
    "Checkpoint",
    "VerificationError",
    "VerifiedBundle",
    "VerifiedLifecycle",
    "VerifierKey",
    "open_checkpoint",
    "parse_verifier_key",
    "verify",
    "verify_bundle",
    "verify_lifecycle",
    "verify_subject_proof",
]
