//! Column families and their key and value encodings. Integers are big-endian so that RocksDB's
//! byte order is numeric order.

/// Entry bytes by index: `u64 index -> entry_bytes` (SPEC.md section 3), verbatim.
pub const ENTRIES: &str = "entries";
/// Entry signatures by index: `u64 index -> key_id (4) || signature (64)`.
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

/// Every column family, in a fixed order.
pub const ALL: [&str; 8] = [
    ENTRIES,
    SIGNATURES,
    TREE,
    CHECKPOINTS,
    EVENT_IDS,
    SUBJECTS,
    DIRECTORY,
    META,
];

/// Key of the schema version in [`META`].
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
/// Key of the log's origin in [`META`].
pub const META_ORIGIN: &[u8] = b"origin";

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
