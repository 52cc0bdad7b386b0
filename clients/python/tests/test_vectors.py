"""The repository's golden vectors (tests/vectors/), made by implementations independent of the
server's: the Merkle tree, signing (keys, notes, entry signatures, envelopes) and the subject index."""

import base64
import json
import unittest

from _repo import VECTORS
from gdpr_ledger_client import verifier
from gdpr_ledger_client.verifier import VerificationError

b64 = base64.b64decode


class Merkle(unittest.TestCase):
    v = json.loads((VECTORS / "merkle.json").read_text())

    def test_leaf_hashes(self):
        for i, expected in enumerate(self.v["leaf_hashes"]):
            self.assertEqual(verifier.leaf_hash(f"entry-{i}".encode()), b64(expected))

    def test_every_inclusion_proof_verifies_and_one_flipped_bit_fails(self):
        for case in self.v["inclusion"]:
            path = [b64(h) for h in case["path"]]
            args = (case["index"], case["size"], b64(case["leaf"]))
            verifier._check_inclusion(*args, path, b64(case["root"]), "vector")
            if path:
                bad = [bytes([path[0][0] ^ 1]) + path[0][1:]] + path[1:]
                with self.assertRaises(VerificationError) as raised:
                    verifier._check_inclusion(*args, bad, b64(case["root"]), "vector")
                self.assertEqual(raised.exception.code, "inclusion-proof-mismatch")
        self.assertGreater(len(self.v["inclusion"]), 100)

    def test_every_consistency_proof_verifies(self):
        for case in self.v["consistency"]:
            verifier._check_consistency(case["first"], b64(case["first_root"]), case["second"],
                                        b64(case["second_root"]), [b64(h) for h in case["proof"]])
        self.assertGreater(len(self.v["consistency"]), 100)

    def test_must_fail(self):
        for case in self.v["must_fail"]:
            with self.subTest(case["what"]), self.assertRaises(VerificationError):
                if case["type"] == "inclusion":
                    verifier._check_inclusion(case["index"], case["size"], b64(case["leaf"]),
                                              [b64(h) for h in case["path"]], b64(case["root"]), "vector")
                else:
                    verifier._check_consistency(case["first"], b64(case["first_root"]), case["second"],
                                                b64(case["second_root"]), [b64(h) for h in case["proof"]])


class Signing(unittest.TestCase):
    v = json.loads((VECTORS / "signing.json").read_text())

    def test_the_verifier_key_and_the_checkpoint(self):
        key = verifier.parse_verifier_key(self.v["verifier_key"])
        self.assertEqual(key.public_key.hex(), self.v["public_key_hex"])
        checkpoint = verifier.open_checkpoint(self.v["checkpoint_note"], [key])
        self.assertEqual(checkpoint.origin, self.v["origin"])
        self.assertEqual(checkpoint.size, self.v["checkpoint_size"])
        self.assertEqual(checkpoint.root, b64(self.v["checkpoint_root"]))
        for good in self.v["good_notes"]:
            verifier.open_checkpoint(good["note"], [key])
        for bad in self.v["bad_notes"]:
            with self.subTest(bad["what"]), self.assertRaises(VerificationError):
                verifier.open_checkpoint(bad["note"], [key])

    def test_entry_signature_and_envelopes(self):
        key = verifier.parse_verifier_key(self.v["verifier_key"])
        origin = self.v["origin"].encode()
        sig = self.v["entry_signature"]
        leaf = verifier.leaf_hash(sig["entry_bytes_utf8"].encode())
        self.assertEqual(leaf, b64(sig["leaf_hash"]))
        message = verifier.ENTRY_CONTEXT + origin + b"\n" + leaf
        self.assertTrue(verifier.verify_strict(key.public_key, message, b64(sig["signature"])))
        self.assertFalse(verifier.verify_strict(key.public_key, message + b"x", b64(sig["signature"])))
        for envelope in self.v["entry_envelopes"]:
            data = bytes.fromhex(envelope["bytes_hex"])
            fields = verifier.decode_entry(data)
            expected = envelope["fields"]
            self.assertEqual(fields.index, expected["index"])
            self.assertEqual(fields.prev_hash, b64(expected["prev_hash"]))
            self.assertEqual(fields.producer, expected["producer"])
            self.assertEqual(fields.subject_token, b64(expected.get("subject_token", "")))
            self.assertEqual(fields.subject_seq, expected.get("subject_seq", 0))
            self.assertEqual(fields.subject_prev_index, expected.get("subject_prev_index", 0))
            self.assertEqual(fields.received_at, (expected["received_at"]["seconds"],
                                                  expected["received_at"].get("nanos", 0)))
            leaf = verifier.leaf_hash(data)
            self.assertEqual(leaf, b64(envelope["leaf_hash"]))
            if "signature" in envelope:
                message = verifier.ENTRY_CONTEXT + origin + b"\n" + leaf
                self.assertTrue(verifier.verify_strict(key.public_key, message, b64(envelope["signature"])))


class EntryDecoding(unittest.TestCase):
    """9.3's entry codes on envelopes broken one way each (from the vector's entry 5)."""

    good = bytes.fromhex(json.loads((VECTORS / "signing.json").read_text())["entry_envelopes"][0]["bytes_hex"])

    def code(self, data):
        with self.assertRaises(VerificationError) as raised:
            verifier.decode_entry(data)
        return raised.exception.code

    def test_codes(self):
        self.assertEqual(self.code(self.good[:-1]), "entry-malformed")  # truncated event
        self.assertEqual(self.code(self.good[2:] + self.good[:2]), "entry-not-canonical")  # index last
        self.assertEqual(self.code(b"\x08\x85\x00" + self.good[2:]), "entry-not-canonical")  # long varint
        self.assertEqual(self.code(self.good[:-2]), "entry-field-missing")  # no event
        self.assertEqual(self.code(b"\x08\x05\x12\x01\x00" + self.good[36:]), "entry-field-invalid")


class SubjectIndex(unittest.TestCase):
    v = json.loads((VECTORS / "subject_index" / "vectors.json").read_text())

    def test_proofs_prove_their_result(self):
        for case in self.v["proofs"]:
            head = verifier.verify_subject_proof(b64(case["root"]), b64(case["token"]), case["proof"])
            if case["result"] is None:
                self.assertIsNone(head)
            else:
                self.assertEqual((head.count, head.last_index, head.last_leaf),
                                 (case["result"]["count"], case["result"]["last_index"],
                                  b64(case["result"]["last_leaf"])))
        self.assertGreater(len(self.v["proofs"]), 50)

    def test_must_fail_with_the_named_check(self):
        codes = {"root_mismatch": "subject-proof-root-mismatch", "leaf_off_path": "subject-proof-leaf-off-path",
                 "too_many_siblings": "subject-proof-too-many-siblings", "decode": "subject-proof-decode"}
        tried = 0
        for case in self.v["must_fail"]:
            if "proof" not in case:
                continue  # only a binary encoding: this verifier reads the JSON one
            tried += 1
            with self.subTest(case["what"]), self.assertRaises(VerificationError) as raised:
                verifier.verify_subject_proof(b64(case["root"]), b64(case["token"]), case["proof"])
            self.assertEqual(raised.exception.code, codes[case["check"]], case["what"])
        self.assertGreater(tried, 20)

    def test_extension_lines(self):
        for case in self.v["extension_lines"]:
            checkpoint = verifier.Checkpoint("", "o", 1, bytes(32), (case["line"],), ())
            self.assertEqual(verifier._subject_index_root(checkpoint), b64(case["root"]))
        for case in self.v["bad_extension_lines"]:
            if case["error"] == "not_subject_index":
                continue  # another extension line: ignored when a checkpoint is read
            checkpoint = verifier.Checkpoint("", "o", 1, bytes(32), (case["line"],), ())
            with self.subTest(case["line"]), self.assertRaises(VerificationError) as raised:
                verifier._subject_index_root(checkpoint)
            self.assertEqual(raised.exception.code, "subject-index-line-" + case["error"].replace("_", "-"))
