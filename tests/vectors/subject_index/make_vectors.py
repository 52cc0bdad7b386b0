#!/usr/bin/env python3
"""Golden vectors for the subject index (docs/subject-index.md), written from that document alone.

An implementation independent of the Rust one: the tree is never stored, every hash is computed
straight from the recursive definition H(S, d) of section 5, proofs by the walk of section 7.
Needs the `blake3` package from PyPI (`pip install blake3`). Run from anywhere:

    python3 tests/vectors/subject_index/make_vectors.py

It writes vectors.json next to itself, and checks as it goes that every good proof verifies with the
result it should and that every must-fail case is rejected by the check it names.
"""

import base64
import json
import pathlib
import struct

from blake3 import blake3

EMPTY = bytes(32)
LEAF = b"\x10"
INTERIOR = b"\x11"
KEYWORD = "gdpr-ledger/subject-index"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    """Strict standard base64 of 32 bytes: re-encoding must give the same text back."""
    try:
        data = base64.b64decode(text, validate=True)
    except Exception as e:  # noqa: BLE001 - any decoding failure is the same failure here
        raise Malformed(f"base64: {e}") from e
    if len(data) != 32 or b64(data) != text:
        raise Malformed("not canonical base64 of 32 bytes")
    return data


def blake(data):
    return blake3(data).digest()


# ---------------------------------------------------------------------------------------------
# Section 3 and 4: bits, head bytes, hashes.

def bit(token, i):
    return (token[i // 8] >> (7 - i % 8)) & 1


def head_bytes(head):
    count, last_index, last_leaf = head
    return struct.pack(">QQ", count, last_index) + last_leaf


def leaf_hash(token, head):
    return blake(LEAF + token + head_bytes(head))


def interior_hash(left, right):
    return blake(INTERIOR + left + right)


# ---------------------------------------------------------------------------------------------
# Section 5: the tree, straight from its definition.

def subtree_hash(pairs, d):
    """H(S, d) for a list of (token, head) with distinct tokens sharing their first d bits."""
    if not pairs:
        return EMPTY
    if len(pairs) == 1:
        return leaf_hash(*pairs[0])
    left = [p for p in pairs if bit(p[0], d) == 0]
    right = [p for p in pairs if bit(p[0], d) == 1]
    return interior_hash(subtree_hash(left, d + 1), subtree_hash(right, d + 1))


def root_of(index):
    return subtree_hash(sorted(index.items()), 0)


# ---------------------------------------------------------------------------------------------
# Section 7: proofs, their encodings, verification.

class Malformed(Exception):
    """An encoding that does not decode."""


class Rejected(Exception):
    """A proof that decodes but fails a named check of section 7.3."""

    def __init__(self, check):
        super().__init__(check)
        self.check = check


def make_proof(index, token):
    """(terminal, siblings): terminal is None (empty) or (token', head')."""
    pairs = sorted(index.items())
    siblings = []
    d = 0
    while len(pairs) >= 2:
        mine = [p for p in pairs if bit(p[0], d) == bit(token, d)]
        other = [p for p in pairs if bit(p[0], d) != bit(token, d)]
        siblings.append(subtree_hash(other, d + 1))
        pairs = mine
        d += 1
    return (pairs[0] if pairs else None), siblings


def encode_binary(terminal, siblings):
    out = bytearray()
    if terminal is None:
        out.append(0x00)
    else:
        out.append(0x01)
        out += terminal[0] + head_bytes(terminal[1])
    d = len(siblings)
    out += struct.pack(">H", d)
    bitmap = bytearray((d + 7) // 8)
    for i, s in enumerate(siblings):
        if s != EMPTY:
            bitmap[i // 8] |= 0x80 >> (i % 8)
    out += bitmap
    for s in siblings:
        if s != EMPTY:
            out += s
    return bytes(out)


def decode_binary(data):
    pos = 0

    def take(n):
        nonlocal pos
        if len(data) - pos < n:
            raise Malformed("truncated")
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    tag = take(1)[0]
    if tag == 0x00:
        terminal = None
    elif tag == 0x01:
        token = take(32)
        count, last_index = struct.unpack(">QQ", take(16))
        terminal = (token, (count, last_index, take(32)))
    else:
        raise Malformed("unknown terminal tag")
    (d,) = struct.unpack(">H", take(2))
    if d > 256:
        raise Malformed("depth above 256")
    bitmap = take((d + 7) // 8)
    present = [bool(bitmap[i // 8] & (0x80 >> (i % 8))) for i in range(len(bitmap) * 8)]
    if any(present[d:]):
        raise Malformed("bitmap padding")
    siblings = []
    for i in range(d):
        if present[i]:
            s = take(32)
            if s == EMPTY:
                raise Malformed("explicit empty sibling")
            siblings.append(s)
        else:
            siblings.append(EMPTY)
    if pos != len(data):
        raise Malformed("trailing bytes")
    return terminal, siblings


def encode_json(terminal, siblings):
    proof = {}
    if terminal is not None:
        token, (count, last_index, last_leaf) = terminal
        proof["leaf"] = {"token": b64(token), "count": count, "last_index": last_index,
                         "last_leaf": b64(last_leaf)}
    proof["siblings"] = [None if s == EMPTY else b64(s) for s in siblings]
    return proof


def decode_json(proof):
    if not isinstance(proof, dict) or set(proof) - {"leaf", "siblings"} or "siblings" not in proof:
        raise Malformed("fields")
    terminal = None
    if proof.get("leaf") is not None:
        leaf = proof["leaf"]
        if set(leaf) != {"token", "count", "last_index", "last_leaf"}:
            raise Malformed("leaf fields")
        for n in (leaf["count"], leaf["last_index"]):
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 2**64:
                raise Malformed("number")
        terminal = (unb64(leaf["token"]), (leaf["count"], leaf["last_index"], unb64(leaf["last_leaf"])))
    if len(proof["siblings"]) > 256:
        raise Malformed("more than 256 siblings")
    siblings = []
    for s in proof["siblings"]:
        if s is None:
            siblings.append(EMPTY)
        else:
            h = unb64(s)
            if h == EMPTY:
                raise Malformed("explicit empty sibling")
            siblings.append(h)
    return terminal, siblings


def verify(root, token, terminal, siblings):
    """Section 7.3: the proved head, or None for proved absence; raises Rejected(check)."""
    d = len(siblings)
    if d > 256:
        raise Rejected("too_many_siblings")
    if terminal is not None and terminal[0] != token:
        if any(bit(terminal[0], i) != bit(token, i) for i in range(d)):
            raise Rejected("leaf_off_path")
    h = EMPTY if terminal is None else leaf_hash(*terminal)
    for i in reversed(range(d)):
        h = interior_hash(h, siblings[i]) if bit(token, i) == 0 else interior_hash(siblings[i], h)
    if h != root:
        raise Rejected("root_mismatch")
    if terminal is not None and terminal[0] == token:
        return terminal[1]
    return None


# ---------------------------------------------------------------------------------------------
# Section 6: the extension line.

def format_line(root):
    return f"{KEYWORD} v1 {b64(root)}"


def parse_line(line):
    """The root, or raises ValueError naming the error kind."""
    fields = line.split(" ")
    if fields[0] != KEYWORD:
        raise ValueError("not_subject_index")
    if len(fields) < 2 or fields[1] == "":
        raise ValueError("malformed")
    if fields[1] != "v1":
        raise ValueError("unsupported_version")
    if len(fields) != 3:
        raise ValueError("malformed")
    try:
        return unb64(fields[2])
    except Malformed:
        raise ValueError("root") from None


# ---------------------------------------------------------------------------------------------
# The vectors.

def token(i):
    return blake(f"gdpr-ledger subject-index vector token {i}".encode())


def flip(data, i):
    out = bytearray(data)
    out[i // 8] ^= 0x80 >> (i % 8)
    return bytes(out)


def entry_leaf(i):
    """The log leaf hash of the entry whose bytes are `entry-<i>` (SPEC.md section 2)."""
    return blake(b"\x00" + f"entry-{i}".encode())


def head(count, last_index):
    return (count, last_index, entry_leaf(last_index))


def head_json(h):
    return {"count": h[0], "last_index": h[1], "last_leaf": b64(h[2])}


ZERO = bytes(32)
ZERO_LAST = bytes(31) + b"\x01"      # differs from ZERO only in bit 255
ONES = b"\xff" * 32
HIGH = b"\x80" + bytes(31)
NEAR_T0 = flip(token(0), 20)           # shares exactly 20 bits with token(0)
NEAR_ZERO = bytes(30) + b"\x00\x02"    # shares 254 bits with ZERO and ZERO_LAST; absent

SEQUENCES = [
    ("basic", [
        [],
        [(token(0), head(1, 0))],
        [(token(1), head(1, 1)), (token(2), head(1, 2))],
        [(token(0), head(2, 3))],
        [],
        [(token(3), head(1, 4)), (token(3), head(2, 5)), (token(1), head(2, 6))],
        [(token(i), head(1, 3 + i)) for i in range(4, 24)],
        [(token(i), head(2, 40 + i)) for i in range(0, 24, 3)],
    ]),
    ("deep", [
        [(ZERO, head(1, 0)), (ZERO_LAST, head(1, 1))],
        [(ONES, head(1, 2)), (HIGH, head(1, 3))],
        [(token(0), head(1, 4)), (NEAR_T0, head(1, 5))],
        [(ZERO, head(2, 6))],
    ]),
]

ABSENT = [token(1000), token(1001), NEAR_ZERO, flip(token(5), 255), flip(HIGH, 1)]


def main():
    out = {
        "about": ("Subject index per docs/subject-index.md, made by make_vectors.py (Python, blake3). "
                  "Hashes, tokens and roots base64 (standard, padded); binary proofs and head bytes hex. "
                  "A sequence's batch k (1-based) is version k; roots[k-1] is its root. "
                  "Entry leaf hashes are BLAKE3(0x00 || 'entry-<index>')."),
        "empty_root": b64(EMPTY),
        "heads": [],
        "interior": [],
        "sequences": [],
        "proofs": [],
        "must_fail": [],
        "extension_lines": [],
        "bad_extension_lines": [],
    }

    for t, h in [(token(0), head(1, 0)), (ZERO, head(2**64 - 1, 2**64 - 2)), (ONES, (7, 0x0102030405060708, ONES))]:
        out["heads"].append({"token": b64(t), **head_json(h), "head_bytes": head_bytes(h).hex(),
                             "leaf_hash": b64(leaf_hash(t, h))})
    a, b = leaf_hash(token(0), head(1, 0)), leaf_hash(token(1), head(1, 1))
    for left, right in [(a, b), (EMPTY, a), (b, EMPTY)]:
        out["interior"].append({"left": b64(left), "right": b64(right), "hash": b64(interior_hash(left, right))})

    must_fail = out["must_fail"]

    def fail(what, root, tok, terminal, siblings, binary=True, as_json=True):
        """A case that decodes and must be rejected; the check is the one this verifier names."""
        try:
            verify(root, tok, terminal, siblings)
        except Rejected as r:
            case = {"what": what, "root": b64(root), "token": b64(tok), "check": r.check}
            if as_json:
                case["proof"] = encode_json(terminal, siblings)
            if binary:
                case["proof_bytes"] = encode_binary(terminal, siblings).hex()
            must_fail.append(case)
            return
        raise AssertionError(f"must-fail case verifies: {what}")

    def undecodable(what, root, tok, proof=None, proof_bytes=None):
        if proof is not None:
            try:
                decode_json(proof)
            except Malformed:
                pass
            else:
                raise AssertionError(f"decodes: {what}")
        if proof_bytes is not None:
            try:
                decode_binary(proof_bytes)
            except Malformed:
                pass
            else:
                raise AssertionError(f"decodes: {what}")
        case = {"what": what, "root": b64(root), "token": b64(tok), "check": "decode"}
        if proof is not None:
            case["proof"] = proof
        if proof_bytes is not None:
            case["proof_bytes"] = proof_bytes.hex()
        must_fail.append(case)

    states = {}
    for name, batches in SEQUENCES:
        index = {}
        roots = []
        versions = []
        for batch in batches:
            for t, h in batch:   # the last update of a token wins
                index[t] = h
            roots.append(root_of(index))
            versions.append(dict(index))
        states[name] = (versions, roots)
        out["sequences"].append({
            "name": name,
            "batches": [[{"token": b64(t), **head_json(h)} for t, h in batch] for batch in batches],
            "roots": [b64(r) for r in roots],
        })
        out["extension_lines"].append({"root": b64(roots[-1]), "line": format_line(roots[-1])})

        for version, (index_v, root) in enumerate(zip(versions, roots), start=1):
            asked = sorted(set(index_v) | set(ABSENT))
            if version not in (1, 2, len(versions)):
                asked = asked[:3]
            for t in asked:
                terminal, siblings = make_proof(index_v, t)
                for decoded in (decode_binary(encode_binary(terminal, siblings)),
                                decode_json(json.loads(json.dumps(encode_json(terminal, siblings))))):
                    assert decoded == (terminal, siblings)
                result = verify(root, t, terminal, siblings)
                assert result == index_v.get(t), (name, version, t.hex())
                out["proofs"].append({
                    "sequence": name, "version": version, "token": b64(t), "root": b64(root),
                    "result": None if result is None else head_json(result),
                    "proof": encode_json(terminal, siblings),
                    "proof_bytes": encode_binary(terminal, siblings).hex(),
                })

    # Must-fail cases on the final trees.
    versions, roots = states["basic"]
    index, root = versions[-1], roots[-1]
    t0 = token(0)
    terminal, siblings = make_proof(index, t0)
    assert terminal[0] == t0 and len(siblings) >= 3
    fail("membership: a sibling's first bit flipped", root, t0, terminal,
         [flip(siblings[0], 0)] + siblings[1:])
    fail("membership: the last sibling's last bit flipped", root, t0, terminal,
         siblings[:-1] + [flip(siblings[-1], 255)])
    fail("membership: count + 1", root, t0, (t0, (terminal[1][0] + 1,) + terminal[1][1:]), siblings)
    fail("membership: last_index - 1", root, t0, (t0, (terminal[1][0], terminal[1][1] - 1, terminal[1][2])), siblings)
    fail("membership: last_leaf altered", root, t0, (t0, terminal[1][:2] + (flip(terminal[1][2], 77),)), siblings)
    fail("membership: against the previous version's root", roots[-2], t0, terminal, siblings)
    fail("membership: against the empty root", EMPTY, t0, terminal, siblings)
    fail("membership: siblings swapped", root, t0, terminal, [siblings[1], siblings[0]] + siblings[2:])
    fail("membership: one sibling too many (empty)", root, t0, terminal, siblings + [EMPTY])
    fail("membership: one sibling too few", root, t0, terminal, siblings[:-1])
    other = next(t for t in sorted(index) if bit(t, 0) != bit(t0, 0))
    fail("membership proof of token 0 used for a token on another path", root, other, terminal, siblings)
    fail("membership proof of token 0 used for an absent token on another path", root,
         flip(t0, 0), terminal, siblings)
    old_terminal, old_siblings = make_proof(versions[2], t0)
    fail("stale: token 0's proof at version 3 against the final root", root, t0, old_terminal, old_siblings)
    fail("stale: token 0's proof at version 3 against version 4's root (token 0 overwritten)",
         roots[3], t0, old_terminal, old_siblings)
    fail("forged absence of token 0: empty terminal with the real siblings", root, t0, None, siblings)
    fail("forged absence of token 0: empty terminal one level up", root, t0, None, siblings[:-1])
    neighbour = next(t for t in sorted(index) if t != t0 and all(bit(t, i) == bit(t0, i) for i in range(len(siblings) - 1)))
    fail("forged absence of token 0: the neighbour's leaf in its place", root, t0, (neighbour, index[neighbour]), siblings)
    a_terminal, a_siblings = make_proof(index, token(1000))
    fail("absence proof of an absent token used for present token 0", root, t0, a_terminal, a_siblings)
    absent_t, absent_s = make_proof(versions[0], t0)
    fail("absence at version 1 (empty index) against the final root", root, t0, absent_t, absent_s)

    versions, roots = states["deep"]
    index, root = versions[-1], roots[-1]
    terminal, siblings = make_proof(index, ZERO)
    assert len(siblings) == 256 and terminal[0] == ZERO
    fail("forged absence of ZERO: ZERO_LAST's leaf at ZERO's depth 256", root, ZERO,
         (ZERO_LAST, index[ZERO_LAST]), siblings)
    fail("depth-256 membership: last sibling altered", root, ZERO, terminal, siblings[:-1] + [flip(siblings[-1], 3)])
    fail("stale: ZERO's head of version 1 with the final siblings", root, ZERO, (ZERO, versions[0][ZERO]), siblings)
    fail("ZERO's proof for ZERO_LAST", root, ZERO_LAST, terminal, siblings)
    near_terminal, near_siblings = make_proof(index, NEAR_ZERO)
    fail("forged absence of ZERO with NEAR_ZERO's proof", root, ZERO, near_terminal, near_siblings)

    # Encodings that must not decode (made from a good proof of the basic sequence).
    versions, roots = states["basic"]
    index, root = versions[-1], roots[-1]
    terminal, siblings = make_proof(index, t0)
    good = encode_binary(terminal, siblings)
    undecodable("binary: a trailing byte", root, t0, proof_bytes=good + b"\x00")
    undecodable("binary: the last byte missing", root, t0, proof_bytes=good[:-1])
    undecodable("binary: unknown terminal tag", root, t0, proof_bytes=b"\x02" + good[1:])
    d = len(siblings)
    depth_at = 1 + 32 + 48
    bitmap_end = depth_at + 2 + (d + 7) // 8
    if d % 8:
        padded = bytearray(good)
        padded[bitmap_end - 1] |= 0x01
        undecodable("binary: a bitmap bit beyond the depth", root, t0, proof_bytes=bytes(padded))
    explicit = (b"\x00" + struct.pack(">H", 1) + b"\x80" + EMPTY)
    undecodable("binary: an empty sibling written out", root, t0, proof_bytes=explicit)
    undecodable("binary: depth 257", root, t0,
                proof_bytes=b"\x00" + struct.pack(">H", 257) + b"\x00" * 33)
    undecodable("binary: empty input", root, t0, proof_bytes=b"")
    good_json = encode_json(terminal, siblings)
    undecodable("json: an empty sibling written out", root, t0,
                proof={**good_json, "siblings": [b64(EMPTY)] + good_json["siblings"][1:]})
    undecodable("json: an unknown field", root, t0, proof={**good_json, "depth": d})
    undecodable("json: siblings missing", root, t0, proof={"leaf": good_json["leaf"]})
    undecodable("json: a token without padding", root, t0,
                proof={**good_json, "leaf": {**good_json["leaf"], "token": good_json["leaf"]["token"].rstrip("=")}})
    last_leaf = good_json["leaf"]["last_leaf"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lenient = last_leaf[:42] + alphabet[alphabet.index(last_leaf[42]) ^ 1] + last_leaf[43:]
    if base64.b64decode(lenient) != base64.b64decode(last_leaf):
        raise AssertionError("the lenient text should differ only in unused bits")
    undecodable("json: a hash with non-zero trailing bits", root, t0,
                proof={**good_json, "leaf": {**good_json["leaf"], "last_leaf": lenient}})
    undecodable("json: 257 siblings", root, t0, proof={"siblings": [None] * 257})
    undecodable("json: a sibling of 31 bytes", root, t0,
                proof={**good_json, "siblings": [b64(bytes(range(1, 32)))] + good_json["siblings"][1:]})

    out["extension_lines"].append({"root": b64(EMPTY), "line": format_line(EMPTY)})
    r = b64(states["basic"][1][-1])
    bad_lines = [
        (f"{KEYWORD} v2 {r}", "unsupported_version"),
        (f"{KEYWORD} v2", "unsupported_version"),
        (f"{KEYWORD} V1 {r}", "unsupported_version"),
        (f"{KEYWORD}  v1 {r}", "malformed"),
        (f"{KEYWORD} v1  {r}", "malformed"),
        (f"{KEYWORD} v1 {r} ", "malformed"),
        (f"{KEYWORD} v1 {r} extra", "malformed"),
        (f"{KEYWORD} v1", "malformed"),
        (f"{KEYWORD}", "malformed"),
        (f"{KEYWORD} v1 {r.rstrip('=')}", "root"),
        (f"{KEYWORD} v1 {b64(bytes(31))}", "root"),
        (f"{KEYWORD}s v1 {r}", "not_subject_index"),
        (f"gdpr-ledger/other v1 {r}", "not_subject_index"),
    ]
    for line, kind in bad_lines:
        try:
            parse_line(line)
        except ValueError as e:
            assert str(e) == kind, (line, str(e), kind)
        else:
            raise AssertionError(line)
        out["bad_extension_lines"].append({"line": line, "error": kind})
    for good_line in out["extension_lines"]:
        assert b64(parse_line(good_line["line"])) == good_line["root"]

    path = pathlib.Path(__file__).with_name("vectors.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}: {len(out['proofs'])} proofs, {len(must_fail)} must-fail cases")


if __name__ == "__main__":
    main()
