"""The shared cases the Rust verifier exported (web/test/fixtures/rust-*.json, made by
tests/integration/shared_cases.rs): this verifier must give each Rust's verdict and, when it fails, Rust's code."""

import json
import unittest

from _repo import FIXTURES
from gdpr_ledger_client import verifier

KINDS = {
    "bundle": verifier.verify_bundle,
    "lifecycle": verifier.verify_lifecycle,
    "verify": verifier.verify,
    "checkpoint": verifier.open_checkpoint,
}


def run_case(case):
    """(ok, code) this verifier gives the case; inputs that are objects go through the JSON text,
    as a file handed to a verifier would."""
    document = case["input"]
    if case["kind"] != "checkpoint" and not isinstance(document, str):
        document = json.dumps(document)
    try:
        KINDS[case["kind"]](document, case["keys"])
    except verifier.VerificationError as error:
        return False, error.code
    return True, None


class SharedCases(unittest.TestCase):
    def setUp(self):
        self.files = sorted(FIXTURES.glob("rust-*.json"))

    def test_the_rust_cases_are_there_both_verdicts_among_them(self):
        cases = [json.loads(f.read_text()) for f in self.files]
        good = sum(1 for c in cases if c["expect"]["ok"])
        bad = sum(1 for c in cases if not c["expect"]["ok"] and c["expect"].get("code"))
        self.assertGreaterEqual(len(cases), 51)
        self.assertGreaterEqual(good, 9)
        self.assertGreaterEqual(bad, 42)
        self.assertEqual(good + bad, len(cases), "every failing Rust case names its code")
        self.assertEqual({c["kind"] for c in cases}, {"bundle", "lifecycle", "checkpoint"})

    def test_same_verdict_and_code_as_rust_on_every_case(self):
        disagreements = []
        for f in self.files:
            case = json.loads(f.read_text())
            expected = (case["expect"]["ok"], case["expect"].get("code"))
            with self.subTest(case=f.name):
                got = run_case(case)
                if got != expected:
                    disagreements.append(f"{f.name}: Rust {expected}, Python {got}")
                self.assertEqual(got, expected, f.name)
        self.assertEqual(disagreements, [])
