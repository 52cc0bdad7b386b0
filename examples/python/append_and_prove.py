#!/usr/bin/env python3
"""Append one event to a gdpr-ledger and verify, in Python, that the log includes it.

What an integrator's service does, in five steps:
  1. generate the gRPC stubs from the repository's proto/ (into a temp dir, nothing is committed);
  2. Append a collection event (the subject's e-mail goes in `subject`, never in the event);
  3. GetInclusionProof for the new entry: a SPEC.md section 7 bundle (JSON);
  4. recompute the entry's leaf hash from its bytes and walk the proof up to the root hash that
     the checkpoint names (docs/SPEC.md section 2, RFC 9162 section 2.1.3.2);
  5. with --verifier-key (obtained out of band, never from the server): check the checkpoint's
     Ed25519 signature (SPEC.md section 5) and the entry's own signature (section 4), so the root
     proved against is one the log really signed.

Usage: append_and_prove.py --address 127.0.0.1:50051 --token TOKEN [--verifier-key KEY|FILE]
The token needs the admin role, or pass a producer token as --token and an auditor token as
--reader-token. Every failure exits non-zero with a message saying what failed.
"""

import argparse
import base64
import hashlib
import importlib.resources
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import blake3
    import grpc
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from grpc_tools import protoc
except ImportError as error:
    fail(f"{error}; install the requirements: "
         "python3 -m pip install -r examples/python/requirements.txt")


def generate_stubs(out_dir):
    """Runs protoc on proto/gdpr_ledger/v1/*.proto and makes the result importable."""
    well_known = importlib.resources.files("grpc_tools") / "_proto"  # google/protobuf/*.proto
    protos = sorted(str(p) for p in (PROTO_DIR / "gdpr_ledger" / "v1").glob("*.proto"))
    if not protos:
        fail(f"no .proto files under {PROTO_DIR}")
    status = protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{well_known}",
                          f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *protos])
    if status != 0:
        fail(f"protoc failed on {PROTO_DIR} (status {status})")
    sys.path.insert(0, str(out_dir))


# --- SPEC.md section 2: the Merkle tree (RFC 9162 with BLAKE3) ---------------------------------

def leaf_hash(entry_bytes):
    return blake3.blake3(b"\x00" + entry_bytes).digest()


def node_hash(left, right):
    return blake3.blake3(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2: the root `proof` leads to from `leaf`, or None if malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None  # the proof is longer than the path to the root
        if fn & 1 or fn == sn:  # we are a right child, or the last node of our level
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:  # skip the levels where we have no left sibling
                fn >>= 1
                sn >>= 1
        else:  # we are a left child
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None  # a shorter proof does not reach the root


# --- SPEC.md section 5: checkpoints as signed notes ------------------------------------------

def parse_checkpoint(note):
    """Splits a signed note into (body, signature lines, origin, size, root)."""
    body, sep, signatures = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        fail("the checkpoint is not a signed note")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        fail("the checkpoint body lacks its origin, size or root line")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        fail("the checkpoint's root is not 32 bytes")
    return body, signatures.rstrip("\n").split("\n"), origin, size, root


def parse_verifier_key(text):
    """`<name>+<hex key id>+<base64(0x01 || public key)>`, split at the first two '+' only."""
    name, key_id, key = text.strip().split("+", 2)
    key = base64.b64decode(key, validate=True)
    if len(key) != 33 or key[0] != 0x01:
        fail("the verifier key is not an Ed25519 key (0x01 followed by 32 bytes)")
    expected_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if expected_id.hex() != key_id:
        fail("the verifier key's id does not match its name and key")
    return name, expected_id, Ed25519PublicKey.from_public_bytes(key[1:])


def verify_checkpoint_signature(body, signature_lines, origin, verifier_key):
    name, key_id, public_key = verifier_key
    if origin != name:
        fail(f"the checkpoint's origin {origin!r} is not the verifier key's name {name!r}")
    verified = False
    for line in signature_lines:
        dash, line_name, blob = line.split(" ")
        blob = base64.b64decode(blob, validate=True)
        if dash != "\u2014" or line_name != name or blob[:4] != key_id:
            continue  # a witness or another key: not ours to check
        try:
            public_key.verify(blob[4:], body.encode())
        except InvalidSignature:
            fail("the checkpoint's signature by the log key does not verify")
        verified = True
    if not verified:
        fail("the checkpoint carries no signature by the given verifier key")


def verify_entry_signature(signature, origin, leaf, verifier_key):
    """SPEC.md section 4: Ed25519 over "gdpr-ledger:entry:v1\\n" || origin || "\\n" || leaf hash."""
    try:
        message = b"gdpr-ledger:entry:v1\n" + origin.encode() + b"\n" + leaf
        verifier_key[2].verify(signature, message)
    except InvalidSignature:
        fail("the entry's signature does not verify")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    parser.add_argument("--address", default=env("GDPR_LEDGER_ADDRESS", "127.0.0.1:50051"),
                        help="host:port of the ledger (env GDPR_LEDGER_ADDRESS)")
    parser.add_argument("--token", default=env("GDPR_LEDGER_TOKEN"),
                        help="bearer token that may append (env GDPR_LEDGER_TOKEN)")
    parser.add_argument("--reader-token", default=env("GDPR_LEDGER_READER_TOKEN"),
                        help="bearer token that may read proofs, if --token may not "
                             "(env GDPR_LEDGER_READER_TOKEN)")
    parser.add_argument("--verifier-key", default=env("GDPR_LEDGER_VERIFIER_KEY"),
                        help="the log's verifier key, or a file holding it, obtained out of band "
                             "(env GDPR_LEDGER_VERIFIER_KEY)")
    parser.add_argument("--subject-email", default="jane.doe@example.com",
                        help="the data subject (never stored: the ledger keeps a pseudonym)")
    args = parser.parse_args()
    if not args.token:
        fail("no token: pass --token or set GDPR_LEDGER_TOKEN")
    verifier_key = None
    if args.verifier_key:
        text = args.verifier_key
        if os.path.isfile(text):
            text = Path(text).read_text()
        verifier_key = parse_verifier_key(text)

    with tempfile.TemporaryDirectory() as stubs:
        generate_stubs(stubs)
        from gdpr_ledger.v1 import entry_pb2, event_pb2, ledger_pb2, ledger_pb2_grpc

        channel = grpc.insecure_channel(args.address)  # plaintext, as the server speaks it
        ledger = ledger_pb2_grpc.LedgerStub(channel)

        def auth(token):
            return [("authorization", f"Bearer {token}")]

        # A collection event as in docs/events.md. The event id is unique per producer and holds
        # no personal data; the e-mail address goes only into `subject`.
        event = event_pb2.Event(
            event_id=f"crm:evt-{time.time_ns()}-{secrets.token_hex(4)}",
            kind=event_pb2.EVENT_KIND_COLLECTION,
            system="crm",
            data_categories=["pd:Name", "pd:EmailAddress"],
            purposes=["dpv:ServiceProvision"],
            legal_bases=["eu-gdpr:A6-1-b"],
            collection_channel="web-form",
        )
        event.occurred_at.GetCurrentTime()
        submission = event_pb2.EventSubmission(
            event=event,
            subject=event_pb2.SubjectIdentifier(kind="email", value=args.subject_email),
        )
        try:
            receipt = ledger.Append(ledger_pb2.AppendRequest(submission=submission),
                                    metadata=auth(args.token), timeout=30).receipt
            print(f"appended {event.event_id} at index {receipt.index}")
            # The proof in the latest checkpoint (tree_size 0), which includes the new entry.
            bundle = ledger.GetInclusionProof(
                ledger_pb2.GetInclusionProofRequest(index=receipt.index),
                metadata=auth(args.reader_token or args.token), timeout=30)
        except grpc.RpcError as error:
            fail(f"{error.code().name}: {error.details()} (server {args.address})")

        # The bundle (SPEC.md section 7): the checkpoint, and the entry with its proof.
        bundle = json.loads(bundle.bundle_json)
        (proved,) = bundle["entries"]
        entry_bytes = base64.b64decode(proved["entry"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in proved["inclusion_proof"]]
        body, signature_lines, origin, size, root = parse_checkpoint(bundle["checkpoint"])

        # The entry is ours: its index and leaf hash match the receipt. The leaf hash is computed
        # from the bytes as served; decoding them is only for reading fields, never re-encoded.
        leaf = leaf_hash(entry_bytes)
        inner_index = entry_pb2.Entry.FromString(entry_bytes).index  # absent (0) at index 0
        if proved["index"] != receipt.index or inner_index != receipt.index:
            fail(f"the bundle proves index {proved['index']}, not {receipt.index}")
        if leaf != receipt.leaf_hash:
            fail("the entry's leaf hash differs from the receipt's")
        print(f"checkpoint: origin {origin}, tree size {size}")
        if root_from_inclusion_proof(receipt.index, size, leaf, proof) != root:
            fail(f"the inclusion proof of index {receipt.index} "
                 "does not lead to the checkpoint's root")
        print(f"inclusion verified: index {receipt.index} in the tree of size {size}")

        if verifier_key is None:
            print("signatures not checked: "
                  "pass --verifier-key to check that the log signed this root")
        else:
            verify_checkpoint_signature(body, signature_lines, origin, verifier_key)
            verify_entry_signature(base64.b64decode(proved["signature"], validate=True),
                                   origin, leaf, verifier_key)
            print("signatures verified: the checkpoint and the entry are signed by the log key")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, KeyError, TypeError) as error:  # a malformed bundle, note or key
        fail(f"malformed input: {error!r}")
