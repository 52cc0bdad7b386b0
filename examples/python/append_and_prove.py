#!/usr/bin/env python3
"""Append one event to a gdpr-ledger and verify, in Python, that the log signed a tree including it.

A short example on top of the client package (clients/python, `gdpr_ledger_client`):
  1. build a collection event with the typed builder (the e-mail address goes in `subject` only);
  2. append it with `include_bundle` and verify the receipt's bundle (SPEC.md section 7) against
     the verifier key obtained out of band, never from the server: the checkpoint's signature,
     the entry's signature, its inclusion proof, the index inside its bytes;
  3. read the entry's inclusion proof in the latest checkpoint (GetInclusionProof, a reader's
     call) and verify that bundle too;
  4. send the same event again, as a retry would: the ledger answers with the original receipt
     (`duplicate`), appending nothing.

Usage: append_and_prove.py --address 127.0.0.1:50051 --token TOKEN --verifier-key KEY|FILE
The token needs the admin role, or pass a producer token as --token and an auditor token as
--reader-token. Every failure exits non-zero with `error: ...` (a verification failure names its
SPEC.md section 9 code).
"""

import argparse
import os
import sys
from pathlib import Path


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import grpc
    from gdpr_ledger_client import Client, VerificationError, events, parse_verifier_key, verify_bundle
except ImportError as error:
    fail(f"{error}; install the client: python3 -m pip install ./clients/python")


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
    if not args.verifier_key:
        fail("no verifier key: pass --verifier-key (without it nothing shows the log signed the tree)")
    text = args.verifier_key
    if os.path.isfile(text):
        text = Path(text).read_text()
    try:
        key = parse_verifier_key(text)
    except VerificationError as error:
        fail(f"the verifier key: {error}")

    # docs/events.md: the event id is the producer's, unique, and holds no personal data.
    event = events.collection(
        event_id=events.new_event_id("crm"),
        system="crm",
        subject=events.Subject.email(args.subject_email),
        data_categories=["pd:Name", "pd:EmailAddress"],
        purposes=["dpv:ServiceProvision"],
        legal_bases=["eu-gdpr:A6-1-b"],
        collection_channel="web-form",
    )
    with Client(args.address, args.token) as client:
        try:
            receipt, proved = client.append_verified(event, key)
            print(f"appended {event.event.event_id} at index {receipt.index}")
            print(f"receipt verified: entry {receipt.index} in the checkpoint of size "
                  f"{proved.checkpoint.size}, signed by {proved.entries[0].key.key_id_hex}")
            # The proof in the latest checkpoint (tree_size 0), read with a reader's token.
            bundle = verify_bundle(client.inclusion_proof(receipt.index, token=args.reader_token), key)
            (entry,) = bundle.entries
            if entry.index != receipt.index or entry.leaf_hash != receipt.leaf_hash:
                fail(f"the proof is of index {entry.index}, not of the receipt's entry {receipt.index}")
            print(f"checkpoint: origin {bundle.checkpoint.origin}, tree size {bundle.checkpoint.size}")
            print(f"inclusion verified: index {receipt.index} in the tree of size {bundle.checkpoint.size}")
            print("signatures verified: the checkpoint and the entry are signed by the log key")
            again = client.append(event, include_bundle=False)
            if not again.duplicate or again.index != receipt.index:
                fail(f"the retry was appended again (index {again.index}), not answered as a duplicate")
            print(f"retry answered with the original receipt: index {again.index}, duplicate")
        except grpc.RpcError as error:
            fail(f"{error.code().name}: {error.details()} (server {args.address})")
        except VerificationError as error:
            fail(str(error))


if __name__ == "__main__":
    main()
