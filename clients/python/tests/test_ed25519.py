"""Strict Ed25519 (SPEC.md section 9): what a plain RFC 8032 verifier may accept and this one
refuses: S >= L, non-canonical or small-order keys and R."""

import base64
import hashlib
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gdpr_ledger_client import verifier
from gdpr_ledger_client._ed25519 import L, P, strong_point, verify_strict
from gdpr_ledger_client.verifier import VerificationError

SEED = bytes(range(32))
# Points of small order: the identity (y = 1), the point of order 2 (y = -1) and one of order 4
# (x = sqrt(-1), y = 0).
IDENTITY = (1).to_bytes(32, "little")
ORDER_2 = (P - 1).to_bytes(32, "little")
ORDER_4 = (0).to_bytes(32, "little")


def key_text(name: str, public: bytes) -> str:
    key = b"\x01" + public
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex()
    return f"{name}+{key_id}+{base64.b64encode(key).decode()}"


class StrictEd25519(unittest.TestCase):
    def setUp(self):
        private = Ed25519PrivateKey.from_private_bytes(SEED)
        self.public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.message = b"gdpr-ledger:entry:v1\nlog\n" + bytes(32)
        self.signature = private.sign(self.message)

    def test_a_good_signature_verifies_and_a_changed_message_does_not(self):
        self.assertTrue(verify_strict(self.public, self.message, self.signature))
        self.assertFalse(verify_strict(self.public, self.message + b"!", self.signature))

    def test_s_plus_l_is_refused(self):
        s = int.from_bytes(self.signature[32:], "little") + L
        self.assertLess(s, 2**256)
        self.assertFalse(verify_strict(self.public, self.message, self.signature[:32] + s.to_bytes(32, "little")))

    def test_small_order_r_is_refused(self):
        for r in (IDENTITY, ORDER_2, ORDER_4):
            self.assertFalse(strong_point(r))
            self.assertFalse(verify_strict(self.public, self.message, r + self.signature[32:]))

    def test_non_canonical_encodings_are_refused(self):
        # y = p + 1 encodes the identity non-canonically; -0 (x = 0 with the sign bit) too.
        self.assertFalse(strong_point((P + 1).to_bytes(32, "little")))
        self.assertFalse(strong_point(((1 << 255) | 1).to_bytes(32, "little")))
        self.assertTrue(strong_point(self.public))

    def test_weak_verifier_keys_are_refused_when_read(self):
        self.assertEqual(verifier.parse_verifier_key(key_text("log", self.public)).public_key, self.public)
        for weak in (IDENTITY, ORDER_2, ORDER_4):
            with self.assertRaises(VerificationError) as raised:
                verifier.parse_verifier_key(key_text("log", weak))
            self.assertEqual(raised.exception.code, "verifier-key-weak")

    def test_verifier_key_codes(self):
        good = key_text("log", self.public)
        name, key_id, key = good.split("+", 2)
        cases = {
            "verifier-key-malformed": [f"lo g+{key_id}+{key}", f"{name}+{key_id.upper()}+{key}",
                                       f"{name}+{key_id}+{key[:-1]}", f"{name}+{key_id}"],
            "verifier-key-algorithm": [key_text("log", self.public).replace(key, base64.b64encode(b"\x02" + self.public).decode())],
            "verifier-key-id-mismatch": [f"other+{key_id}+{key}"],
        }
        for code, texts in cases.items():
            for text in texts:
                with self.subTest(text), self.assertRaises(VerificationError) as raised:
                    verifier.parse_verifier_key(text)
                self.assertEqual(raised.exception.code, code, text)
