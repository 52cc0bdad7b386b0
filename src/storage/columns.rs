//! Column families and their key and value encodings. Integers are big-endian so that RocksDB's
//! byte order is numeric order.

use crate::core::hash::NodeHash;
use crate::core::subject_index::SubtreeRef;

/// Entries by index with their signatures: `u64 index -> key_id (4) || signature (64) ||
/// entry_bytes` (SPEC.md sections 3 and 4; the entry bytes verbatim), one row and one read per
/// entry. Entries appended before schema 7 (below [`META_SIGNATURES_INLINE_FROM`]) are
/// `u64 index -> entry_bytes`, their signatures in [`SIGNATURES`] (`storage::entry_rows`).
pub const ENTRIES: &str = "entries";
/// The signatures of the entries appended before schema 7: `u64 index -> key_id (4) ||
/// signature (64)`. No row is added from schema 7 on.
pub const SIGNATURES: &str = "signatures";
/// Perfect-subtree hashes of the Merkle tree: `NodeId::to_key_bytes() -> 32-byte hash`.
pub const TREE: &str = "tree";
/// Signed checkpoints by tree size: `u64 size -> signed note text`.
pub const CHECKPOINTS: &str = "checkpoints";
/// The producers' event ids: `producer || 0x00 || event_id -> u64 index || 32-byte content digest`.
pub const EVENT_IDS: &str = "event_ids";
/// The subject index: `token -> head (u64 count || u64 last index)` and
/// `token || u64 seq -> u64 index`, one row per entry of the subject.
pub const SUBJECTS: &str = "subjects";
/// The subject directory (SPEC.md section 6): `row key -> token`. Deletable; kept uncompressed.
pub const DIRECTORY: &str = "directory";
/// Store metadata: schema version and the log's origin.
pub const META: &str = "meta";

/// Pages of the authenticated subject index (`docs/subject-index.md` section 8): the key of a
/// page's top, `NodeKey::to_key_bytes() -> u64_be(version of the page it replaced, or u64::MAX)
/// || IndexPage::encode()`, immutable once written.
pub const SUBJECT_INDEX_PAGES: &str = "subject_index_pages";
/// The subject index of schema 3 and before, one row per node (`NodeKey::to_key_bytes() ->
/// u64_be(replaced) || IndexNode::to_bytes()`). A writable open of such a data dir rewrites the
/// latest version into [`SUBJECT_INDEX_PAGES`] and drops this family (`storage::subject_index`).
pub const LEGACY_SUBJECT_INDEX: &str = "subject_index";
/// The subject index's root record of each version (one per commit group, named by the tree size
/// after the group): `u64 version -> empty, or u64 writer version || 32-byte hash`.
pub const SUBJECT_INDEX_ROOTS: &str = "subject_index_roots";

/// Each subject's data key, wrapped by the master key (`src/vault.rs`): `token -> sealed key`, or
/// [`SHREDDED_KEY`] once the subject's erasure destroyed it. Secret; kept uncompressed so that a
/// scan of the files can prove a destroyed key gone.
pub const DATA_KEYS: &str = "data_keys";
/// Free-form event details, sealed by the subject's data key: `token || u64 index -> sealed`, so
/// that one range deletion removes a subject's details. Kept uncompressed.
pub const DETAILS: &str = "details";
/// Each subject's identifiers (`kind:normalized value`, for breach notification, article 34),
/// sealed by the subject's data key: `token -> sealed list`. Kept uncompressed.
pub const IDENTIFIERS: &str = "identifiers";
/// Erasure cases (`src/erasure/`): `token -> JSON record` (no personal data).
pub const ERASURES: &str = "erasures";

/// The report indexes and article 30 aggregates (`storage::report_index`, `docs/reports.md`).
pub const REPORTS: &str = "reports";

/// Families earlier versions kept and this one drops at its first writable open (their rows are
/// derived, so nothing is lost): `lifecycle_rows`, a copy of each subject's entries with their
/// signatures (334 bytes per entry), which halved a lifecycle's read time but not to where it
/// mattered (issue 14: 2.2M entries, p99 2.3 ms with the copy, 4.1 ms without).
pub const RETIRED: [&str; 1] = ["lifecycle_rows"];

/// `meta` keys of retired families, deleted with them.
pub const RETIRED_META: [&[u8]; 1] = [b"lifecycle_rows_next"];

/// Each complete 64-leaf chunk of the tree as one row (`storage::tree_chunks`): `u64 chunk ->`
/// its 127 perfect-subtree hashes. Derived from [`TREE`]; `audit` checks every row.
pub const TREE_CHUNKS: &str = "tree_chunks";

/// Every column family, in a fixed order.
pub const ALL: [&str; 16] = [
    ENTRIES,
    SIGNATURES,
    TREE,
    CHECKPOINTS,
    EVENT_IDS,
    SUBJECTS,
    DIRECTORY,
    META,
    SUBJECT_INDEX_PAGES,
    SUBJECT_INDEX_ROOTS,
    DATA_KEYS,
    DETAILS,
    IDENTIFIERS,
    ERASURES,
    REPORTS,
    TREE_CHUNKS,
];

/// The value that replaces a subject's wrapped data key when its erasure destroys it: the subject
/// is known to be erased, so no new key is made for it.
pub const SHREDDED_KEY: &[u8] = b"shredded";

/// Key of a details row: `token || u64 index`.
pub fn details_key(token: &[u8; 32], index: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(token);
    key[32..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Key of the schema version in [`META`].
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
/// Key of the log's origin in [`META`].
pub const META_ORIGIN: &[u8] = b"origin";
/// Key in [`META`] of the first entry whose signature is in its `entries` row (`u64_be`): 0 for
/// a data dir made with schema 7 or later, the log's size at the upgrade for an older one.
pub const META_SIGNATURES_INLINE_FROM: &[u8] = b"signatures_inline_from";
/// Key in [`META`] of a replica's last applied input-log sequence (`u64_be`).
pub const META_APPLIED_INPUT: &[u8] = b"applied_input";
/// Key in [`META`] of a replica's latest applied close of a transit epoch
/// ([`super::ClosedEpoch::to_bytes`]).
pub const META_CLOSED_EPOCH: &[u8] = b"closed_epoch";

/// Big-endian bytes of an index or size.
pub fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Reads an 8-byte big-endian integer.
pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Key of an event id row. The NUL separator cannot occur in a validated producer name.
pub fn event_id_key(producer: &str, event_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(producer.len() + 1 + event_id.len());
    key.extend_from_slice(producer.as_bytes());
    key.push(0);
    key.extend_from_slice(event_id.as_bytes());
    key
}

/// Key of one entry of a subject: `token || u64 seq`.
pub fn subject_entry_key(token: &[u8; 32], seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(token);
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Encodes a subject-index root record.
pub fn encode_index_root(root: &SubtreeRef) -> Vec<u8> {
    match root {
        SubtreeRef::Empty => Vec::new(),
        SubtreeRef::Stored { version, hash } => {
            let mut value = Vec::with_capacity(40);
            value.extend_from_slice(&version.to_be_bytes());
            value.extend_from_slice(hash.as_bytes());
            value
        }
    }
}

/// Decodes a subject-index root record.
pub fn decode_index_root(bytes: &[u8]) -> Option<SubtreeRef> {
    match bytes.len() {
        0 => Some(SubtreeRef::Empty),
        40 => Some(SubtreeRef::Stored {
            version: decode_u64(bytes)?,
            hash: NodeHash::from_slice(&bytes[8..]).ok()?,
        }),
        _ => None,
    }
}
