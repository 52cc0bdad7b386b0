//! Entry bytes: the protobuf encoding of `gdpr_ledger.v1.Entry` (SPEC.md section 3).
//!
//! The server encodes an entry once, with [`encode_entry`], and from then on the bytes are the
//! entry: they are stored, hashed, signed and served verbatim. A verifier hashes the bytes it is
//! given and decodes them only to read fields; it never re-encodes a decoded message.

use prost::Message as _;

use crate::core::directory::SubjectToken;
use crate::core::hash::{HASH_LEN, LeafHash, leaf_hash};
use crate::proto::v1::{Entry, EventKind};

/// An entry that breaks an invariant of the envelope (SPEC.md section 3), refused before encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryEncodeError {
    /// `prev_hash` is not 32 bytes.
    #[error("prev_hash is {HASH_LEN} bytes, got {0}")]
    PrevHashLength(usize),
    /// `received_at` is absent.
    #[error("received_at is missing")]
    MissingReceivedAt,
    /// `received_at.nanos` is outside `0..1_000_000_000`.
    #[error("received_at has {0} nanoseconds, outside 0..1e9")]
    ReceivedAtNanos(i32),
    /// `producer` is empty.
    #[error("producer is empty")]
    EmptyProducer,
    /// `event` is absent (field 8 is always present, `42 00` when the event is empty).
    #[error("event is missing")]
    MissingEvent,
    /// `subject_token` is neither empty nor 32 bytes.
    #[error("subject_token is empty or 32 bytes, got {0}")]
    SubjectTokenLength(usize),
    /// An entry of no subject carries subject chain fields.
    #[error("an entry without subject_token has subject_seq or subject_prev_index set")]
    SubjectFieldsWithoutToken,
    /// `subject_prev_index` is set on a subject's first entry.
    #[error("subject_prev_index is set while subject_seq is 0")]
    PrevIndexOnFirstSubjectEntry,
}

/// Bytes that are not a protobuf `Entry`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the entry bytes do not decode as gdpr_ledger.v1.Entry: {0}")]
pub struct EntryDecodeError(pub String);

/// Checks the envelope's invariants (SPEC.md section 3) and encodes it: fields in number order,
/// proto3 defaults omitted (prost does both), fields 2, 3, 4 and 8 always present.
pub fn encode_entry(entry: &Entry) -> Result<Vec<u8>, EntryEncodeError> {
    if entry.prev_hash.len() != HASH_LEN {
        return Err(EntryEncodeError::PrevHashLength(entry.prev_hash.len()));
    }
    let received_at = entry
        .received_at
        .as_ref()
        .ok_or(EntryEncodeError::MissingReceivedAt)?;
    if !(0..1_000_000_000).contains(&received_at.nanos) {
        return Err(EntryEncodeError::ReceivedAtNanos(received_at.nanos));
    }
    if entry.producer.is_empty() {
        return Err(EntryEncodeError::EmptyProducer);
    }
    if entry.event.is_none() {
        return Err(EntryEncodeError::MissingEvent);
    }
    match entry.subject_token.len() {
        0 if entry.subject_seq != 0 || entry.subject_prev_index != 0 => {
            return Err(EntryEncodeError::SubjectFieldsWithoutToken);
        }
        0 | 32 => {}
        other => return Err(EntryEncodeError::SubjectTokenLength(other)),
    }
    if entry.subject_seq == 0 && entry.subject_prev_index != 0 {
        return Err(EntryEncodeError::PrevIndexOnFirstSubjectEntry);
    }
    Ok(entry.encode_to_vec())
}

/// Decodes entry bytes. Unknown fields (a later version's 9 to 15) are skipped.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, EntryDecodeError> {
    Entry::decode(bytes).map_err(|e| EntryDecodeError(e.to_string()))
}

/// An entry as the log holds it: its exact bytes, their leaf hash and the decoded fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SequencedEntry {
    bytes: Vec<u8>,
    leaf: LeafHash,
    entry: Entry,
}

impl SequencedEntry {
    /// Encodes a new entry (see [`encode_entry`]).
    pub fn encode(entry: Entry) -> Result<Self, EntryEncodeError> {
        let bytes = encode_entry(&entry)?;
        Ok(Self {
            leaf: leaf_hash(&bytes),
            bytes,
            entry,
        })
    }

    /// Takes stored or received bytes as they are: hashes them and decodes them for reading.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, EntryDecodeError> {
        let entry = decode_entry(&bytes)?;
        Ok(Self {
            leaf: leaf_hash(&bytes),
            bytes,
            entry,
        })
    }

    /// The entry bytes, verbatim.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `BLAKE3(0x00 || entry_bytes)`.
    pub fn leaf_hash(&self) -> LeafHash {
        self.leaf
    }

    /// The decoded message (for reading only).
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The entry's position in the log (field 1; absent reads as 0).
    pub fn index(&self) -> u64 {
        self.entry.index
    }

    /// The leaf hash of the previous entry (field 2), or `None` if it is not 32 bytes.
    pub fn prev_hash(&self) -> Option<LeafHash> {
        LeafHash::from_slice(&self.entry.prev_hash).ok()
    }

    /// The producer's authenticated identity (field 4).
    pub fn producer(&self) -> &str {
        &self.entry.producer
    }

    /// The server's time at sequencing (field 3).
    pub fn received_at(&self) -> Option<&prost_types::Timestamp> {
        self.entry.received_at.as_ref()
    }

    /// The subject's pseudonym (field 5), `None` when the entry concerns no subject or the field
    /// is not 32 bytes.
    pub fn subject_token(&self) -> Option<SubjectToken> {
        SubjectToken::from_slice(&self.entry.subject_token).ok()
    }

    /// The event's kind, `None` when the number is not one this version knows.
    pub fn event_kind(&self) -> Option<EventKind> {
        let kind = self.entry.event.as_ref().map_or(0, |event| event.kind);
        EventKind::try_from(kind).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::Event;

    fn entry() -> Entry {
        Entry {
            index: 0,
            prev_hash: vec![0; 32],
            received_at: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            producer: "crm".into(),
            subject_token: Vec::new(),
            subject_seq: 0,
            subject_prev_index: 0,
            event: Some(Event::default()),
        }
    }

    #[test]
    fn empty_event_is_encoded_as_present() {
        let bytes = encode_entry(&entry()).unwrap();
        assert!(bytes.ends_with(&[0x42, 0x00]));
    }

    #[test]
    fn envelope_invariants_are_enforced() {
        type Breakage = fn(&mut Entry);
        let cases: Vec<(Breakage, EntryEncodeError)> = vec![
            (
                |e| {
                    e.prev_hash.pop();
                },
                EntryEncodeError::PrevHashLength(31),
            ),
            (
                |e| e.received_at = None,
                EntryEncodeError::MissingReceivedAt,
            ),
            (
                |e| {
                    if let Some(t) = e.received_at.as_mut() {
                        t.nanos = -1;
                    }
                },
                EntryEncodeError::ReceivedAtNanos(-1),
            ),
            (|e| e.producer.clear(), EntryEncodeError::EmptyProducer),
            (|e| e.event = None, EntryEncodeError::MissingEvent),
            (
                |e| e.subject_token = vec![1; 31],
                EntryEncodeError::SubjectTokenLength(31),
            ),
            (
                |e| e.subject_seq = 1,
                EntryEncodeError::SubjectFieldsWithoutToken,
            ),
            (
                |e| {
                    e.subject_token = vec![1; 32];
                    e.subject_prev_index = 3;
                },
                EntryEncodeError::PrevIndexOnFirstSubjectEntry,
            ),
        ];
        for (break_it, expected) in cases {
            let mut e = entry();
            break_it(&mut e);
            assert_eq!(encode_entry(&e), Err(expected));
        }
    }

    #[test]
    fn sequenced_entry_hashes_the_given_bytes() {
        let encoded = SequencedEntry::encode(entry()).unwrap();
        let read = SequencedEntry::from_bytes(encoded.bytes().to_vec()).unwrap();
        assert_eq!(read.leaf_hash(), leaf_hash(encoded.bytes()));
        assert_eq!(read.index(), 0);
        assert_eq!(read.producer(), "crm");
        assert_eq!(read.event_kind(), Some(EventKind::Unspecified));
        assert!(read.subject_token().is_none());
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(decode_entry(b"entry-5").is_err());
    }
}
