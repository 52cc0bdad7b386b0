"""A pure-Python verifier of gdpr-ledger proofs, written from docs/SPEC.md and docs/subject-index.md.

Verifies, against verifier keys obtained out of band (never from the server):

- proof bundles (SPEC.md section 7): what a receipt's `bundle_json` and `GetInclusionProof` carry;
- checkpoints (signed notes, SPEC.md section 5);
- lifecycle bundles (docs/subject-index.md section 10).

A failure raises `VerificationError` whose `code` is the stable code of the check that failed, from
the normative tables (SPEC.md section 9, docs/subject-index.md section 11), and checks run in the
order those tables give, so this verifier and the server's (`gdpr-ledger verify`) give the same
verdict and the same code on the same input (the repository's shared cases check that).

Dependencies: `blake3` (hashes) and `cryptography` (the Ed25519 equation; the strictness rules of
SPEC.md section 9 are checked here, `_ed25519.py`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import blake3

from ._ed25519 import strong_point, verify_strict

__all__ = [
    "VerificationError",
    "VerifierKey",
    "Checkpoint",
    "VerifiedEntry",
    "VerifiedBundle",
    "VerifiedLifecycle",
    "SubjectHead",
    "parse_verifier_key",
    "parse_verifier_keys",
    "open_checkpoint",
    "verify_bundle",
    "verify_lifecycle",
    "verify_subject_proof",
    "leaf_hash",
    "node_hash",
]

U64_MAX = 2**64 - 1
ZERO_HASH = bytes(32)
ENTRY_CONTEXT = b"gdpr-ledger:entry:v1\n"
SUBJECT_INDEX_KEYWORD = "gdpr-ledger/subject-index"
MAX_SIGNATURE_LINES = 100
MAX_SIBLINGS = 256


class VerificationError(Exception):
    """A failed check: `code` is its stable code (SPEC.md section 9), the message says more."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message


def _fail(code: str, message: str):
    raise VerificationError(code, message)


# --- text rules (SPEC.md conventions, section 1) ----------------------------------------------

# Unicode's White_Space property (Rust's char::is_whitespace).
_WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}


def _is_control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"


def valid_name(name: str) -> bool:
    """A log origin / key name: not empty, no white space, no `+`, no control character."""
    return bool(name) and not any(c in _WHITE_SPACE or c == "+" or _is_control(c) for c in name)


def strict_b64(text: Any) -> bytes | None:
    """Standard base64 with padding, one text per value (no trailing bits, nothing else)."""
    if not isinstance(text, str) or not text.isascii():
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")
_KEY_ID = re.compile(r"[0-9a-f]{8}\Z")


# --- hashes (SPEC.md section 2, subject-index.md section 4) -----------------------------------

def leaf_hash(entry_bytes: bytes) -> bytes:
    return blake3.blake3(b"\x00" + entry_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return blake3.blake3(b"\x01" + left + right).digest()


# --- verifier keys (SPEC.md section 5, 9.1) ---------------------------------------------------

@dataclass(frozen=True)
class VerifierKey:
    """`<name>+<hex key id>+<base64(0x01 || public key)>`, checked."""

    name: str
    key_id: bytes
    public_key: bytes
    text: str

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()


def parse_verifier_key(text: str) -> VerifierKey:
    text = text.strip() if isinstance(text, str) else text
    if not isinstance(text, str):
        _fail("verifier-key-malformed", "a verifier key is text")
    parts = text.split("+", 2)
    if len(parts) != 3:
        _fail("verifier-key-malformed", "not <name>+<key id>+<key>")
    name, key_id_hex, key_text = parts
    if not valid_name(name):
        _fail("verifier-key-malformed", f"{name!r} is not a valid key name")
    if not _KEY_ID.match(key_id_hex):
        _fail("verifier-key-malformed", "the key id is not 8 lowercase hex digits")
    key = strict_b64(key_text)
    if key is None or len(key) != 33:
        _fail("verifier-key-malformed", "the key is not strict base64 of 33 bytes")
    if key[0] != 0x01:
        _fail("verifier-key-algorithm", f"algorithm byte {key[0]:#04x}, not 0x01 (Ed25519)")
    expected = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if expected.hex() != key_id_hex:
        _fail("verifier-key-id-mismatch", f"the key id is {key_id_hex}, the key's is {expected.hex()}")
    if not strong_point(key[1:]):
        _fail("verifier-key-weak", "the key is not a canonical point, or is of small order")
    return VerifierKey(name, expected, key[1:], text)


def parse_verifier_keys(keys: Iterable[str | VerifierKey] | str | VerifierKey) -> list[VerifierKey]:
    if isinstance(keys, (str, VerifierKey)):
        keys = [keys]
    return [k if isinstance(k, VerifierKey) else parse_verifier_key(k) for k in keys]


# --- strict JSON (SPEC.md 9.1) ----------------------------------------------------------------

class _NotInteger:
    """A JSON number with a fraction, an exponent or a sign: never a valid integer field."""

    def __init__(self, text: str):
        self.text = text


class _Duplicates:
    found: str | None = None


def _parse_json(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            _fail("json-syntax", "the bundle is not UTF-8")
    duplicates = _Duplicates()

    def pairs(items):
        obj = {}
        for key, value in items:
            if key in obj and duplicates.found is None:
                duplicates.found = key
            obj[key] = value
        return obj

    def constant(name):
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_float=_NotInteger,
            parse_int=lambda s: _NotInteger(s) if s.startswith("-") else int(s),
            parse_constant=constant,
        )
    except (ValueError, RecursionError) as error:
        _fail("json-syntax", str(error))
    if _has_surrogate(value):
        _fail("json-syntax", "a string holds a lone surrogate")
    if duplicates.found is not None:
        _fail("json-duplicate-key", f"key {duplicates.found!r} appears twice in one object")
    return value


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if any("\ud800" <= c <= "\udfff" for c in v):
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


class _Shape:
    """Checks of a decoded JSON value's shape, each failing with one code."""

    def __init__(self, code: str):
        self.code = code

    def fail(self, message: str):
        _fail(self.code, message)

    def object(self, value, what, required, optional=()):
        if not isinstance(value, dict):
            self.fail(f"{what} is not an object")
        for key in value:
            if key not in required and key not in optional:
                self.fail(f"{what} has an unknown field {key!r}")
        for key in required:
            if key not in value:
                self.fail(f"{what} lacks {key!r}")
        return value

    def string(self, value, what) -> str:
        if not isinstance(value, str):
            self.fail(f"{what} is not a string")
        return value

    def boolean(self, value, what) -> bool:
        if not isinstance(value, bool):
            self.fail(f"{what} is not a boolean")
        return value

    def u64(self, value, what) -> int:
        if type(value) is not int or not 0 <= value <= U64_MAX:
            self.fail(f"{what} is not an integer from 0 to 2^64 - 1")
        return value

    def b64(self, value, what, length=None) -> bytes:
        raw = strict_b64(value)
        if raw is None:
            self.fail(f"{what} is not strict base64")
        if length is not None and len(raw) != length:
            self.fail(f"{what} has {len(raw)} bytes, not {length}")
        return raw

    def hashes(self, value, what) -> list[bytes]:
        if not isinstance(value, list):
            self.fail(f"{what} is not a list")
        return [self.b64(h, f"{what}[{i}]", 32) for i, h in enumerate(value)]

    def entry(self, value, what) -> "_BundleEntry":
        self.object(value, what, ("index", "entry", "signature", "inclusion_proof"), ("key_id",))
        key_id = value.get("key_id")
        if key_id is not None and (not isinstance(key_id, str) or not _KEY_ID.match(key_id)):
            self.fail(f"{what}.key_id is not 8 lowercase hex digits")
        return _BundleEntry(
            index=self.u64(value["index"], f"{what}.index"),
            entry=self.b64(value["entry"], f"{what}.entry"),
            signature=self.b64(value["signature"], f"{what}.signature", 64),
            inclusion_proof=self.hashes(value["inclusion_proof"], f"{what}.inclusion_proof"),
            key_id=key_id,
        )

    def entries(self, value, what) -> list["_BundleEntry"]:
        if not isinstance(value, list):
            self.fail(f"{what} is not a list")
        return [self.entry(e, f"{what}[{i}]") for i, e in enumerate(value)]


@dataclass
class _BundleEntry:
    index: int
    entry: bytes
    signature: bytes
    inclusion_proof: list[bytes]
    key_id: str | None


# --- signed notes and checkpoints (SPEC.md section 5, 9.2) ------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    """An opened checkpoint: its text, body fields and the keys whose signature verified."""

    text: str
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    signed_by: tuple[VerifierKey, ...]


def _open_note(note: str | bytes, keys: Sequence[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            _fail("note-not-utf8", "the note is not UTF-8")
    for offset, c in enumerate(note):
        if c != "\n" and _is_control(c):
            _fail("note-control-character", f"control character U+{ord(c):04X} at offset {offset}")
    if not note.endswith("\n"):
        _fail("note-malformed", "the note does not end in a line feed")
    split = note.rfind("\n\n")
    if split < 0:
        _fail("note-malformed", "the note has no blank line before its signatures")
    body, block = note[: split + 1], note[split + 2 :]
    if not block:
        _fail("note-malformed", "the signature block is empty")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURE_LINES:
        _fail("note-too-many-signatures", f"{len(lines)} signature lines, more than {MAX_SIGNATURE_LINES}")
    parsed = []
    for number, line in enumerate(lines, 1):
        parts = line.split(" ")
        blob = strict_b64(parts[2]) if len(parts) == 3 else None
        if len(parts) != 3 or parts[0] != "\u2014" or not valid_name(parts[1]) or blob is None or len(blob) < 5:
            _fail("note-signature-line-malformed", f"signature line {number} is not '\u2014 <name> <base64>'")
        parsed.append((parts[1], blob))
    message = body.encode("utf-8")
    verified: list[VerifierKey] = []
    for number, (name, blob) in enumerate(parsed, 1):
        for key in keys:
            if key.name == name and key.key_id == blob[:4]:
                if not verify_strict(key.public_key, message, blob[4:]):
                    _fail("note-signature-invalid", f"signature line {number} by {key.text} does not verify")
                if key not in verified:
                    verified.append(key)
    if not verified:
        _fail("note-no-known-signature", "no signature line is by a given verifier key")
    return body, verified


def open_checkpoint(note: str | bytes, keys) -> Checkpoint:
    """Opens a checkpoint (SPEC.md section 5) with the given verifier keys (text or parsed)."""
    keys = parse_verifier_keys(keys)
    return _open_checkpoint(note, keys)


def _open_checkpoint(note: str | bytes, keys: Sequence[VerifierKey]) -> Checkpoint:
    body, verified = _open_note(note, keys)
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not valid_name(lines[0]):
        _fail("checkpoint-malformed", "the body lacks a valid origin, a size or a root line")
    origin, size_text, root_text, extensions = lines[0], lines[1], lines[2], lines[3:]
    if not _DECIMAL.match(size_text) or int(size_text) > U64_MAX:
        _fail("checkpoint-size-invalid", f"the size {size_text!r} is not a decimal below 2^64")
    root = strict_b64(root_text)
    if root is None or len(root) != 32:
        _fail("checkpoint-root-invalid", "the root is not strict base64 of 32 bytes")
    if any(line == "" for line in extensions):
        _fail("checkpoint-extension-empty", "an extension line is empty")
    signed_by = tuple(k for k in verified if k.name == origin)
    if not signed_by:
        _fail("checkpoint-origin-mismatch", f"the origin {origin!r} is not the name of a key that signed it")
    text = note if isinstance(note, str) else bytes(note).decode("utf-8")
    return Checkpoint(text, origin, int(size_text), root, tuple(extensions), signed_by)


# --- Merkle proofs (SPEC.md section 2, RFC 9162) ----------------------------------------------

def _inclusion_length(index: int, size: int) -> int:
    fn, sn, n = index, size - 1, 0
    while sn != 0:
        n += 1
        if fn & 1 or fn == sn:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    return n


def _inclusion_root(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2, for a proof of the right length."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r


def _check_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes, what: str):
    if index >= size:
        _fail("inclusion-index-out-of-range", f"{what}: index {index} is not below the tree size {size}")
    expected = _inclusion_length(index, size)
    if len(proof) != expected:
        _fail("inclusion-proof-length", f"{what}: {len(proof)} hashes, RFC 9162 implies {expected}")
    if _inclusion_root(index, size, leaf, proof) != root:
        _fail("inclusion-proof-mismatch", f"{what}: the proof does not lead to the checkpoint's root")


def _consistency_shape(first: int, second: int):
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def _consistency_length(first: int, second: int) -> int:
    fn, sn = _consistency_shape(first, second)
    n = 0 if first & (first - 1) == 0 else 1
    while sn != 0:
        n += 1
        if fn & 1 or fn == sn:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    return n


def _check_consistency(first: int, first_root: bytes, second: int, second_root: bytes, proof: Sequence[bytes]):
    if first > second:
        _fail("consistency-order", f"the earlier checkpoint's size {first} is above {second}")
    if first == 0 or first == second:
        if proof:
            _fail("consistency-proof-not-empty", f"{len(proof)} hashes where the proof must be empty")
        if first == second and first_root != second_root:
            _fail("consistency-proof-mismatch", "two checkpoints of one size have different roots")
        return
    expected = _consistency_length(first, second)
    if len(proof) != expected:
        _fail("consistency-proof-length", f"{len(proof)} hashes, RFC 9162 implies {expected}")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = _consistency_shape(first, second)
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if fr != first_root or sr != second_root or sn != 0:
        _fail("consistency-proof-mismatch", "the proof does not lead to both roots")


# --- entries (SPEC.md sections 3, 4; 9.3) -----------------------------------------------------

@dataclass(frozen=True)
class EntryFields:
    """The envelope of an entry (SPEC.md section 3); `event` is the Event's protobuf bytes."""

    index: int
    prev_hash: bytes
    received_at: tuple[int, int]
    producer: str
    subject_token: bytes
    subject_seq: int
    subject_prev_index: int
    event: bytes


class _Malformed(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int, bool]:
    """(value, next position, minimal); _Malformed when truncated or above 64 bits."""
    value = shift = 0
    start = pos
    while True:
        if pos >= len(data) or pos - start >= 10:
            raise _Malformed("a varint is truncated or too long")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            break
        shift += 7
    if value > U64_MAX:
        raise _Malformed("a varint is above 64 bits")
    minimal = pos - start == 1 or data[pos - 1] != 0
    return value, pos, minimal


def _fields(data: bytes) -> list[tuple[int, int, Any, bool]]:
    """The fields of a message: (number, wire type, value, minimal). Groups are refused."""
    out = []
    pos = 0
    while pos < len(data):
        tag, pos, minimal = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0 or number > 2**29 - 1:
            raise _Malformed(f"field number {number}")
        if wire == 0:
            value, pos, m = _varint(data, pos)
            minimal = minimal and m
        elif wire == 1:
            if pos + 8 > len(data):
                raise _Malformed("a fixed64 is truncated")
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos, m = _varint(data, pos)
            minimal = minimal and m
            if length > len(data) - pos:
                raise _Malformed("a length-delimited field runs past the end")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            if pos + 4 > len(data):
                raise _Malformed("a fixed32 is truncated")
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise _Malformed(f"wire type {wire}")
        out.append((number, wire, value, minimal))
    return out


def _well_formed(data: bytes, depth: int = 0):
    """Walks a message whose schema is not needed here (the Event): its wire form must parse."""
    for _, wire, value, _ in _fields(data):
        if wire == 2 and depth < 8:
            try:
                _well_formed(value, depth + 1)
            except _Malformed:
                pass  # a string or bytes field, not a nested message


_ENTRY_WIRE = {1: 0, 2: 2, 3: 2, 4: 2, 5: 2, 6: 0, 7: 0, 8: 2}


def decode_entry(data: bytes, what: str = "entry") -> EntryFields:
    """Decodes entry bytes (SPEC.md section 3) strictly, failing with the 9.3 entry codes."""
    try:
        fields = _fields(data)
        for number, wire, _, _ in fields:
            if number in _ENTRY_WIRE and wire != _ENTRY_WIRE[number]:
                raise _Malformed(f"field {number} has wire type {wire}")
        values = {number: value for number, _, value, _ in fields}
        if 4 in values:
            try:
                values[4].decode("utf-8")
            except UnicodeDecodeError:
                raise _Malformed("producer is not UTF-8") from None
        received = _fields(values[3]) if 3 in values else []
        for number, wire, _, _ in received:
            if number in (1, 2) and wire != 0:
                raise _Malformed("received_at has a field of the wrong wire type")
        if 8 in values:
            _fields(values[8])
    except _Malformed as error:
        _fail("entry-malformed", f"{what}: the bytes do not decode as an Entry ({error})")
    last = 0
    for number, _, value, minimal in fields:
        if number <= last or number not in _ENTRY_WIRE or not minimal:
            _fail("entry-not-canonical", f"{what}: field {number} is out of order, repeated, unknown or not minimal")
        if number in (1, 6, 7) and value == 0 or number in (4, 5) and value == b"":
            _fail("entry-not-canonical", f"{what}: field {number} writes out its default")
        last = number
    seconds = nanos = 0
    last = 0
    for number, _, value, minimal in received:
        if number <= last or number not in (1, 2) or not minimal or value == 0:
            _fail("entry-not-canonical", f"{what}: received_at is not in its canonical encoding")
        last = number
        if number == 1:
            seconds = value - 2**64 if value >= 2**63 else value
        else:
            nanos = value - 2**64 if value >= 2**63 else value
    for number, name in ((2, "prev_hash"), (3, "received_at"), (4, "producer"), (8, "event")):
        if number not in values:
            _fail("entry-field-missing", f"{what}: field {number} ({name}) is absent")
    token = values.get(5, b"")
    if len(values[2]) != 32:
        _fail("entry-field-invalid", f"{what}: prev_hash has {len(values[2])} bytes, not 32")
    if token and len(token) != 32:
        _fail("entry-field-invalid", f"{what}: subject_token has {len(token)} bytes, not 32")
    if not 0 <= nanos < 10**9:
        _fail("entry-field-invalid", f"{what}: received_at has {nanos} nanoseconds")
    if not token and (6 in values or 7 in values):
        _fail("entry-field-invalid", f"{what}: subject fields without a subject_token")
    return EntryFields(
        index=values.get(1, 0),
        prev_hash=values[2],
        received_at=(seconds, nanos),
        producer=values[4].decode("utf-8"),
        subject_token=token,
        subject_seq=values.get(6, 0),
        subject_prev_index=values.get(7, 0),
        event=values[8],
    )


@dataclass(frozen=True)
class VerifiedEntry:
    """An entry that verified: signed by `key`, included in the checkpoint's tree at `index`."""

    index: int
    entry_bytes: bytes
    leaf_hash: bytes
    key: VerifierKey
    fields: EntryFields

    def event(self):
        """The entry's Event as the generated protobuf message (needs the package's stubs)."""
        from gdpr_ledger.v1 import event_pb2

        return event_pb2.Event.FromString(self.fields.event)


def _verify_entry(entry: _BundleEntry, checkpoint: Checkpoint, keys: Sequence[VerifierKey], what: str) -> VerifiedEntry:
    candidates = [k for k in keys if k.name == checkpoint.origin]
    if entry.key_id is not None:
        candidates = [k for k in candidates if k.key_id_hex == entry.key_id]
        if not candidates:
            _fail("entry-key-unknown", f"{what} names key {entry.key_id}, not a known key of {checkpoint.origin}")
    if not candidates:
        _fail("entry-key-unknown", f"no known key is named {checkpoint.origin}")
    leaf = leaf_hash(entry.entry)
    message = ENTRY_CONTEXT + checkpoint.origin.encode("utf-8") + b"\n" + leaf
    key = next((k for k in candidates if verify_strict(k.public_key, message, entry.signature)), None)
    if key is None:
        _fail("entry-signature-invalid", f"{what}: the signature does not verify")
    _check_inclusion(entry.index, checkpoint.size, leaf, entry.inclusion_proof, checkpoint.root, what)
    fields = decode_entry(entry.entry, what)
    if fields.index != entry.index:
        _fail("entry-index-mismatch", f"{what}: the bytes carry index {fields.index}, the bundle says {entry.index}")
    return VerifiedEntry(entry.index, entry.entry, leaf, key, fields)


def _check_chain(entries: Sequence[VerifiedEntry]):
    leaves = {}
    for e in entries:
        leaves.setdefault(e.index, e.leaf_hash)
    for position, e in enumerate(entries):
        if e.index == 0 and e.fields.prev_hash != ZERO_HASH:
            _fail("entry-chain-mismatch", f"entry {position} (index 0): prev_hash is not 32 zero bytes")
        if e.index > 0 and e.index - 1 in leaves and e.fields.prev_hash != leaves[e.index - 1]:
            _fail("entry-chain-mismatch", f"entry {position} (index {e.index}): prev_hash is not the leaf hash of index {e.index - 1}")


# --- bundles (SPEC.md section 7) --------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedBundle:
    checkpoint: Checkpoint
    entries: tuple[VerifiedEntry, ...]
    consistent_with: Checkpoint | None = None


def verify_bundle(bundle: str | bytes | dict, keys) -> VerifiedBundle:
    """Verifies a SPEC.md section 7 bundle (JSON text, or an already-parsed dict) against the
    verifier keys (texts or `VerifierKey`s), in SPEC.md section 9's order. Raises
    `VerificationError` naming the first check that failed."""
    keys = parse_verifier_keys(keys)
    value = _parse_json(bundle) if isinstance(bundle, (str, bytes, bytearray)) else bundle
    shape = _Shape("bundle-malformed")
    shape.object(value, "the bundle", ("checkpoint", "entries"), ("consistency",))
    note = shape.string(value["checkpoint"], "checkpoint")
    entries = shape.entries(value["entries"], "entries")
    link = value.get("consistency")
    if link is not None:
        shape.object(link, "consistency", ("from_checkpoint", "proof"))
        from_note = shape.string(link["from_checkpoint"], "consistency.from_checkpoint")
        proof = shape.hashes(link["proof"], "consistency.proof")

    checkpoint = _open_checkpoint(note, keys)
    verified = tuple(
        _verify_entry(e, checkpoint, keys, f"entry {position} (index {e.index})") for position, e in enumerate(entries)
    )
    _check_chain(verified)
    earlier = None
    if link is not None:
        earlier = _open_checkpoint(from_note, keys)
        if earlier.origin != checkpoint.origin:
            _fail("consistency-origin-mismatch", f"from_checkpoint is of {earlier.origin!r}, not {checkpoint.origin!r}")
        _check_consistency(earlier.size, earlier.root, checkpoint.size, checkpoint.root, proof)
    return VerifiedBundle(checkpoint, verified, earlier)


# --- the subject index (subject-index.md sections 3 to 7) -------------------------------------

@dataclass(frozen=True)
class SubjectHead:
    count: int
    last_index: int
    last_leaf: bytes

    def encode(self) -> bytes:
        return self.count.to_bytes(8, "big") + self.last_index.to_bytes(8, "big") + self.last_leaf


def _bit(token: bytes, i: int) -> int:
    return (token[i // 8] >> (7 - i % 8)) & 1


def _subject_index_root(checkpoint: Checkpoint) -> bytes | None:
    ours = [line for line in checkpoint.extensions if line.split(" ")[0] == SUBJECT_INDEX_KEYWORD]
    if not ours:
        return None
    if len(ours) > 1:
        _fail("subject-index-line-duplicate", f"{len(ours)} subject-index lines")
    fields = ours[0].split(" ")
    if len(fields) < 2 or fields[1] == "":
        _fail("subject-index-line-malformed", "the subject-index line has no version")
    if fields[1] != "v1":
        _fail("subject-index-line-unsupported-version", f"subject-index version {fields[1]!r}")
    if len(fields) != 3:
        _fail("subject-index-line-malformed", "the subject-index line is not three fields")
    root = strict_b64(fields[2])
    if root is None or len(root) != 32:
        _fail("subject-index-line-root", "the subject-index root is not strict base64 of 32 bytes")
    return root


def _verify_subject_proof(root: bytes, token: bytes, leaf, siblings: Sequence[bytes]) -> SubjectHead | None:
    d = len(siblings)
    if d > MAX_SIBLINGS:
        _fail("subject-proof-too-many-siblings", f"{d} siblings")
    if leaf is not None:
        leaf_token, head = leaf
        if leaf_token != token and any(_bit(leaf_token, i) != _bit(token, i) for i in range(d)):
            _fail("subject-proof-leaf-off-path", "the proof's leaf is not on the token's path")
        h = blake3.blake3(b"\x10" + leaf_token + head.encode()).digest()
    else:
        h = ZERO_HASH
    for i in range(d - 1, -1, -1):
        h = blake3.blake3(b"\x11" + (h + siblings[i] if _bit(token, i) == 0 else siblings[i] + h)).digest()
    if h != root:
        _fail("subject-proof-root-mismatch", "the subject proof does not fold to the checkpoint's subject-index root")
    if leaf is not None and leaf[0] == token:
        return leaf[1]
    return None


def _subject_proof(shape: _Shape, proof: Any):
    """subject-index.md 7.2's JSON: (leaf (token, head) or None, siblings with EMPTY for null)."""
    shape.object(proof, "subject_proof", ("siblings",), ("leaf",))
    leaf = None
    if "leaf" in proof:
        raw = shape.object(proof["leaf"], "subject_proof.leaf", ("token", "count", "last_index", "last_leaf"))
        leaf = (
            shape.b64(raw["token"], "subject_proof.leaf.token", 32),
            SubjectHead(
                shape.u64(raw["count"], "subject_proof.leaf.count"),
                shape.u64(raw["last_index"], "subject_proof.leaf.last_index"),
                shape.b64(raw["last_leaf"], "subject_proof.leaf.last_leaf", 32),
            ),
        )
    if not isinstance(proof["siblings"], list):
        shape.fail("subject_proof.siblings is not a list")
    if len(proof["siblings"]) > MAX_SIBLINGS:
        shape.fail(f"{len(proof['siblings'])} siblings, more than {MAX_SIBLINGS}")
    siblings = []
    for i, s in enumerate(proof["siblings"]):
        if s is None:
            siblings.append(ZERO_HASH)
            continue
        h = shape.b64(s, f"subject_proof.siblings[{i}]", 32)
        if h == ZERO_HASH:
            shape.fail(f"subject_proof.siblings[{i}] writes out an empty subtree instead of null")
        siblings.append(h)
    return leaf, siblings


def verify_subject_proof(root: bytes, token: bytes, proof: dict) -> SubjectHead | None:
    """subject-index.md 7.3: the head `proof` proves for `token` against `root`, or None when it
    proves the token absent. A proof that does not decode (7.2) fails with `subject-proof-decode`."""
    leaf, siblings = _subject_proof(_Shape("subject-proof-decode"), proof)
    return _verify_subject_proof(root, token, leaf, siblings)


# --- lifecycle bundles (subject-index.md sections 10, 11) -------------------------------------

@dataclass(frozen=True)
class VerifiedLifecycle:
    checkpoint: Checkpoint
    token: bytes
    head: SubjectHead | None  # None: the token is proved absent
    entries: tuple[VerifiedEntry, ...]
    details_erased: bool = False


def verify_lifecycle(bundle: str | bytes | dict, keys) -> VerifiedLifecycle:
    """Verifies a lifecycle bundle (docs/subject-index.md section 10): the subject's entries are
    exactly the token's chain in the checkpoint's tree, none left out."""
    keys = parse_verifier_keys(keys)
    value = _parse_json(bundle) if isinstance(bundle, (str, bytes, bytearray)) else bundle
    shape = _Shape("lifecycle-malformed")
    shape.object(value, "the lifecycle", ("checkpoint", "token", "subject_proof", "entries"), ("details_erased",))
    note = shape.string(value["checkpoint"], "checkpoint")
    token = shape.b64(value["token"], "token", 32)
    leaf, siblings = _subject_proof(shape, value["subject_proof"])
    entries = shape.entries(value["entries"], "entries")
    details_erased = shape.boolean(value["details_erased"], "details_erased") if "details_erased" in value else False

    checkpoint = _open_checkpoint(note, keys)
    root = _subject_index_root(checkpoint)
    if root is None:
        _fail("lifecycle-no-subject-index", "the checkpoint carries no subject-index line")
    head = _verify_subject_proof(root, token, leaf, siblings)
    if head is None:
        if entries:
            _fail("lifecycle-absent-with-entries", f"the token is proved absent, yet {len(entries)} entries are listed")
        return VerifiedLifecycle(checkpoint, token, None, (), details_erased)
    if head.count < 1:
        _fail("lifecycle-head-invalid", "the proved head has count 0")
    positions = {e.index: position for position, e in enumerate(entries)}
    verified: dict[int, VerifiedEntry] = {}
    chain: list[tuple[int, int]] = []  # (seq, position)
    expected = head.last_index
    for seq in range(head.count - 1, -1, -1):
        position = positions.get(expected)
        if position is None:
            _fail("lifecycle-missing-entry", f"entry seq {seq} (index {expected}) of {head.count} is missing")
        entry = entries[position]
        checked = _verify_entry(entry, checkpoint, keys, f"entry {position} (index {entry.index})")
        if checked.fields.subject_token != token:
            _fail("lifecycle-other-subject", f"entry {position} (index {entry.index}) is another subject's")
        if checked.fields.subject_seq != seq:
            _fail("lifecycle-seq-mismatch", f"entry {position} has subject_seq {checked.fields.subject_seq}, not {seq}")
        if seq == head.count - 1 and checked.leaf_hash != head.last_leaf:
            _fail("lifecycle-not-head", f"entry {position} (index {entry.index}) is not the head's entry")
        expected = checked.fields.subject_prev_index
        verified[position] = checked
        chain.append((seq, position))
    if len(entries) != head.count:
        _fail("lifecycle-entries-added", f"{len(entries)} entries listed, the head counts {head.count}")
    for seq, position in reversed(chain):
        if seq != position:
            _fail("lifecycle-out-of-order", f"entry seq {seq} is at position {position}")
    ordered = tuple(verified[p] for p in sorted(verified))
    _check_chain(ordered)
    return VerifiedLifecycle(checkpoint, token, head, ordered, details_erased)


def verify(document: str | bytes | dict, keys) -> VerifiedBundle | VerifiedLifecycle:
    """A bundle or a lifecycle bundle, told apart by its `subject_proof` field."""
    keys = parse_verifier_keys(keys)
    value = _parse_json(document) if isinstance(document, (str, bytes, bytearray)) else document
    if isinstance(value, dict) and "subject_proof" in value:
        return verify_lifecycle(value, keys)
    return verify_bundle(value, keys)
