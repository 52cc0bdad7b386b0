"""The client's channel retries through its gRPC service config, on UNAVAILABLE only; receipts are
checked against their bundles. The server here is an in-process Python stand-in on 127.0.0.1 that
fails as told (the real server is exercised by tests/integration/python_client.rs)."""

import base64
import json
import threading
import unittest
from concurrent import futures

import grpc

from _repo import FIXTURES
from gdpr_ledger.v1 import ledger_pb2, ledger_pb2_grpc
from gdpr_ledger_client import (Client, ReceiptMismatch, RetryPolicy, VerificationError, events, service_config,
                                verify_receipt)
from gdpr_ledger_client import verifier

FAST = RetryPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05)


class FlakyLedger(ledger_pb2_grpc.LedgerServicer):
    """Answers Append with `failures` errors of `code` first, then a receipt; counts attempts."""

    def __init__(self, code, failures):
        self.code, self.failures, self.attempts = code, failures, 0
        self.tokens = []
        self.lock = threading.Lock()

    def Append(self, request, context):
        with self.lock:
            self.attempts += 1
            attempt = self.attempts
        self.tokens.append(dict(context.invocation_metadata()).get("authorization"))
        if attempt <= self.failures:
            context.abort(self.code, f"attempt {attempt} fails")
        return ledger_pb2.AppendResponse(receipt=ledger_pb2.Receipt(index=7))


class Retries(unittest.TestCase):
    def serve(self, code, failures):
        servicer = FlakyLedger(code, failures)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        ledger_pb2_grpc.add_LedgerServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.addCleanup(server.stop, None)
        return servicer, f"127.0.0.1:{port}"

    def append(self, address, retry=FAST):
        submission = events.collection(event_id="crm:evt-1", system="crm", subject=events.Subject.email("a@b.example"),
                                       data_categories=["pd:Name"], purposes=["dpv:X"], legal_bases=["eu-gdpr:A6-1-b"])
        with Client(address, "tok", retry=retry, timeout_s=10) as client:
            return client.append(submission, include_bundle=False)

    def test_unavailable_is_retried_until_it_succeeds(self):
        servicer, address = self.serve(grpc.StatusCode.UNAVAILABLE, 2)
        self.assertEqual(self.append(address).index, 7)
        self.assertEqual(servicer.attempts, 3)
        self.assertEqual(servicer.tokens, ["Bearer tok"] * 3)

    def test_attempts_are_bounded_by_the_policy(self):
        servicer, address = self.serve(grpc.StatusCode.UNAVAILABLE, 10)
        with self.assertRaises(grpc.RpcError) as raised:
            self.append(address)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(servicer.attempts, FAST.max_attempts)

    def test_other_codes_are_not_retried(self):
        for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.DEADLINE_EXCEEDED,
                     grpc.StatusCode.RESOURCE_EXHAUSTED):
            with self.subTest(code.name):
                servicer, address = self.serve(code, 1)
                with self.assertRaises(grpc.RpcError) as raised:
                    self.append(address)
                self.assertEqual(raised.exception.code(), code)
                self.assertEqual(servicer.attempts, 1)

    def test_without_a_policy_nothing_is_retried(self):
        servicer, address = self.serve(grpc.StatusCode.UNAVAILABLE, 1)
        with self.assertRaises(grpc.RpcError):
            self.append(address, retry=None)
        self.assertEqual(servicer.attempts, 1)

    def test_the_service_config_names_the_ledger_service_and_unavailable_only(self):
        config = json.loads(service_config())
        (method,) = config["methodConfig"]
        self.assertEqual(method["name"], [{"service": "gdpr_ledger.v1.Ledger"}])
        self.assertEqual(method["retryPolicy"]["retryableStatusCodes"], ["UNAVAILABLE"])


class Receipts(unittest.TestCase):
    case = json.loads((FIXTURES / "rust-bundle-ok.json").read_text())

    def receipt(self, **changes):
        (entry,) = self.case["input"]["entries"]
        data = base64.b64decode(entry["entry"])
        fields = dict(index=entry["index"], leaf_hash=verifier.leaf_hash(data), bundle_json=json.dumps(self.case["input"]),
                      checkpoint=self.case["input"]["checkpoint"])
        fields.update(changes)
        return ledger_pb2.Receipt(**fields)

    def test_a_receipt_verifies_with_its_bundle(self):
        verified = verify_receipt(self.receipt(), self.case["keys"])
        self.assertEqual(verified.entries[0].index, self.receipt().index)

    def test_a_receipt_for_another_entry_is_refused(self):
        for changes in ({"index": self.receipt().index + 1}, {"leaf_hash": bytes(32)}, {"bundle_json": ""},
                        {"checkpoint": "another\n"}):
            with self.subTest(list(changes)), self.assertRaises(ReceiptMismatch):
                verify_receipt(self.receipt(**changes), self.case["keys"])

    def test_a_tampered_bundle_fails_with_its_code(self):
        bundle = json.loads(json.dumps(self.case["input"]))
        signature = bytearray(base64.b64decode(bundle["entries"][0]["signature"]))
        signature[5] ^= 1
        bundle["entries"][0]["signature"] = base64.b64encode(bytes(signature)).decode()
        with self.assertRaises(VerificationError) as raised:
            verify_receipt(self.receipt(bundle_json=json.dumps(bundle)), self.case["keys"])
        self.assertEqual(raised.exception.code, "entry-signature-invalid")
