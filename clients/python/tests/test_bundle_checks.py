"""Bundles this test signs itself with a key of its own (seed below), for the checks that the
shared cases do not reach first: the index inside the entry's bytes, entry decoding inside a
bundle, the hash chain at index 0, a key_id naming the key, and the JSON rules."""

import base64
import hashlib
import json
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gdpr_ledger_client import verifier
from gdpr_ledger_client.verifier import VerificationError

ORIGIN = "kit.example/log"
PRIVATE = Ed25519PrivateKey.from_private_bytes(bytes([9] * 32))
PUBLIC = PRIVATE.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
KEY_ID = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + PUBLIC).digest()[:4]
KEY = "+".join([ORIGIN, KEY_ID.hex(), base64.b64encode(b"\x01" + PUBLIC).decode()])
b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731


def envelope(index: int, prev_hash: bytes = bytes(32)) -> bytes:
    """SPEC.md section 3's encoding: index (omitted at 0), prev_hash, received_at, producer, event."""
    out = b""
    if index:
        out += b"\x08" + bytes([index])
    return out + b"\x12\x20" + prev_hash + b"\x1a\x02\x08\x01" + b"\x22\x03crm" + b"\x42\x00"


def bundle(entry_bytes: bytes, index: int = 0, **extra) -> str:
    """A one-entry tree (root = the leaf hash), checkpoint and entry signed by the kit's key."""
    leaf = verifier.leaf_hash(entry_bytes)
    body = f"{ORIGIN}\n1\n{b64(leaf)}\n"
    note = body + f"\n\u2014 {ORIGIN} {b64(KEY_ID + PRIVATE.sign(body.encode()))}\n"
    signature = PRIVATE.sign(verifier.ENTRY_CONTEXT + ORIGIN.encode() + b"\n" + leaf)
    entry = {"index": index, "entry": b64(entry_bytes), "signature": b64(signature), "inclusion_proof": []}
    entry.update(extra)
    return json.dumps({"checkpoint": note, "entries": [entry]})


class BundleChecks(unittest.TestCase):
    def code(self, text, keys=(KEY,)):
        with self.assertRaises(VerificationError) as raised:
            verifier.verify_bundle(text, list(keys))
        return raised.exception.code

    def test_the_kit_bundle_verifies(self):
        verified = verifier.verify_bundle(bundle(envelope(0), key_id=KEY_ID.hex()), [KEY])
        self.assertEqual(verified.entries[0].fields.producer, "crm")
        self.assertEqual(verified.checkpoint.size, 1)

    def test_the_index_inside_the_bytes_must_be_the_bundles(self):
        # Signed and included at index 0, but the bytes say index 1 (and name entry 0's hash).
        self.assertEqual(self.code(bundle(envelope(1, prev_hash=b"\x07" * 32))), "entry-index-mismatch")

    def test_entry_zero_chains_to_zero_bytes(self):
        self.assertEqual(self.code(bundle(envelope(0, prev_hash=b"\x07" * 32))), "entry-chain-mismatch")

    def test_undecodable_bytes_are_refused_after_their_signature(self):
        self.assertEqual(self.code(bundle(b"\x12\x40" + bytes(3))), "entry-malformed")
        self.assertEqual(self.code(bundle(envelope(0)[:-2])), "entry-field-missing")

    def test_a_key_id_that_names_no_known_key(self):
        self.assertEqual(self.code(bundle(envelope(0), key_id="00000000")), "entry-key-unknown")

    def test_json_rules(self):
        good = bundle(envelope(0))
        self.assertEqual(self.code(good[:-1]), "json-syntax")
        self.assertEqual(self.code(good + " x"), "json-syntax")
        self.assertEqual(self.code(good.replace('"index": 0', '"index": 0.0')), "bundle-malformed")
        self.assertEqual(self.code(good.replace('"index": 0', '"index": -0')), "bundle-malformed")
        self.assertEqual(self.code(good.replace('"index": 0', '"index": 1e0')), "bundle-malformed")
        self.assertEqual(self.code(good.replace('"index": 0', '"index": 0, "index": 0')), "json-duplicate-key")
        # syntax is checked before duplicate keys, over the whole text
        self.assertEqual(self.code(good.replace('"index": 0', '"index": 0, "index": 0')[:-1]), "json-syntax")
        self.assertEqual(self.code(good, keys=["not a key"]), "verifier-key-malformed")
