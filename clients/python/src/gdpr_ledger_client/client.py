"""`Client`: a gRPC channel to a gdpr-ledger with its bearer token, retries and receipt checks.

Retries are the channel's, expressed as a gRPC service config (`grpc.service_config`): every
method of `gdpr_ledger.v1.Ledger` is retried on `UNAVAILABLE` only (the server was unreachable or
shutting down; nothing else is retried), with exponential backoff. That is safe for appends
because they are idempotent by event id (docs/events.md): a retry of the same event (same id, same
content) gets the original entry's receipt back, marked `duplicate`, and appends nothing; the same
id with other content is refused (`ALREADY_EXISTS`). So build each event once, keep its id, and
let the channel retry it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import grpc

from gdpr_ledger.v1 import event_pb2, ledger_pb2, ledger_pb2_grpc

from .verifier import VerificationError, VerifiedBundle, VerifierKey, parse_verifier_keys, verify_bundle

__all__ = ["Client", "RetryPolicy", "ReceiptMismatch", "service_config", "verify_receipt"]

LEDGER_SERVICE = "gdpr_ledger.v1.Ledger"


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's retryPolicy (gRFC A6) for the Ledger service; only UNAVAILABLE is retried."""

    max_attempts: int = 5
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    backoff_multiplier: float = 2.0


def service_config(retry: Optional[RetryPolicy] = RetryPolicy()) -> str:
    """The channel's service config (JSON): retry on UNAVAILABLE for every Ledger method."""
    if retry is None:
        return json.dumps({"methodConfig": [{"name": [{"service": LEDGER_SERVICE}]}]})
    policy = {
        "maxAttempts": retry.max_attempts,
        "initialBackoff": f"{retry.initial_backoff_s}s",
        "maxBackoff": f"{retry.max_backoff_s}s",
        "backoffMultiplier": retry.backoff_multiplier,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    return json.dumps({"methodConfig": [{"name": [{"service": LEDGER_SERVICE}], "retryPolicy": policy}]})


class ReceiptMismatch(VerificationError):
    """The receipt's bundle verified, but it proves another entry than the receipt names (this
    client's own check, code `receipt-mismatch`; not one of SPEC.md section 9's codes)."""

    def __init__(self, message: str):
        super().__init__("receipt-mismatch", message)


def verify_receipt(receipt: ledger_pb2.Receipt, keys: Iterable[str | VerifierKey] | str | VerifierKey) -> VerifiedBundle:
    """Verifies the bundle a receipt carries (append with `include_bundle`) against the verifier
    keys obtained out of band, and that it proves exactly the receipt's entry: its index, leaf hash
    and signature. Raises `VerificationError` (the SPEC.md section 9 code) or `ReceiptMismatch`."""
    if not receipt.bundle_json:
        raise ReceiptMismatch("the receipt carries no bundle (append with include_bundle=True)")
    verified = verify_bundle(receipt.bundle_json, keys)
    if len(verified.entries) != 1:
        raise ReceiptMismatch(f"the receipt's bundle holds {len(verified.entries)} entries, not 1")
    (entry,) = verified.entries
    if entry.index != receipt.index:
        raise ReceiptMismatch(f"the bundle proves index {entry.index}, the receipt names {receipt.index}")
    if entry.leaf_hash != receipt.leaf_hash:
        raise ReceiptMismatch("the bundle's entry has another leaf hash than the receipt")
    if receipt.checkpoint and receipt.checkpoint != verified.checkpoint.text:
        raise ReceiptMismatch("the bundle's checkpoint is not the receipt's")
    return verified


class Client:
    """A producer's (or auditor's) connection to the ledger's Ledger service.

    `address` is `host:port`; `token` is sent as `authorization: Bearer <token>` on every call.
    With `root_certificates` (PEM bytes of the CA that signed the server's certificate) the channel
    is TLS, optionally with a client certificate (`certificate_chain`, `private_key`, PEM) for
    servers that map client certificates to callers; without it, plaintext (loopback only).
    """

    def __init__(
        self,
        address: str,
        token: Optional[str] = None,
        *,
        root_certificates: Optional[bytes] = None,
        certificate_chain: Optional[bytes] = None,
        private_key: Optional[bytes] = None,
        server_name: Optional[str] = None,
        retry: Optional[RetryPolicy] = RetryPolicy(),
        timeout_s: float = 30.0,
        options: Sequence[tuple[str, object]] = (),
    ):
        channel_options = [
            ("grpc.enable_retries", 1 if retry is not None else 0),
            ("grpc.service_config", service_config(retry)),
            *options,
        ]
        if server_name:
            channel_options.append(("grpc.ssl_target_name_override", server_name))
        if root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            self.channel = grpc.secure_channel(address, credentials, options=channel_options)
        else:
            self.channel = grpc.insecure_channel(address, options=channel_options)
        self.ledger = ledger_pb2_grpc.LedgerStub(self.channel)
        self.token = token
        self.timeout_s = timeout_s

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _metadata(self, token: Optional[str]):
        token = token or self.token
        return [("authorization", f"Bearer {token}")] if token else []

    def append(self, submission: event_pb2.EventSubmission, *, include_bundle: bool = True,
               token: Optional[str] = None) -> ledger_pb2.Receipt:
        """Appends one event; the receipt carries its bundle unless `include_bundle` is False."""
        request = ledger_pb2.AppendRequest(submission=submission, include_bundle=include_bundle)
        return self.ledger.Append(request, metadata=self._metadata(token), timeout=self.timeout_s).receipt

    def append_batch(self, submissions: Sequence[event_pb2.EventSubmission], *, include_bundle: bool = True,
                     token: Optional[str] = None) -> list[ledger_pb2.Receipt]:
        """Appends several events atomically (distinct event ids), one receipt each, in order."""
        request = ledger_pb2.AppendBatchRequest(submissions=list(submissions), include_bundle=include_bundle)
        response = self.ledger.AppendBatch(request, metadata=self._metadata(token), timeout=self.timeout_s)
        return list(response.receipts)

    def append_verified(self, submission: event_pb2.EventSubmission, verifier_keys,
                        *, token: Optional[str] = None) -> tuple[ledger_pb2.Receipt, VerifiedBundle]:
        """Appends one event and verifies its receipt's bundle against the verifier keys (given
        out of band, never taken from the server): the log signed a tree that includes it."""
        keys = parse_verifier_keys(verifier_keys)
        receipt = self.append(submission, include_bundle=True, token=token)
        return receipt, verify_receipt(receipt, keys)

    def inclusion_proof(self, index: int, *, tree_size: int = 0, consistency_from: int = 0,
                        token: Optional[str] = None) -> str:
        """The SPEC.md section 7 bundle (JSON) proving entry `index` in the checkpoint of
        `tree_size` (0: the latest), linked to `consistency_from` when given. Needs a reader."""
        request = ledger_pb2.GetInclusionProofRequest(index=index, tree_size=tree_size,
                                                      consistency_from=consistency_from)
        return self.ledger.GetInclusionProof(request, metadata=self._metadata(token),
                                             timeout=self.timeout_s).bundle_json

    def checkpoint(self, *, tree_size: int = 0, token: Optional[str] = None) -> ledger_pb2.GetCheckpointResponse:
        """The signed checkpoint of `tree_size` (0: the latest). Its `verifier_key` is the server's
        word only: verify against a key obtained out of band."""
        request = ledger_pb2.GetCheckpointRequest(tree_size=tree_size)
        return self.ledger.GetCheckpoint(request, metadata=self._metadata(token), timeout=self.timeout_s)
