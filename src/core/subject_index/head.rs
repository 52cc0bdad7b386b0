//! A subject's head: the leaf value of the subject index (docs/subject-index.md, "Leaf value").

use crate::core::hash::{HASH_LEN, LeafHash};

/// Length of [`SubjectHead::to_bytes`]: two big-endian `u64`s and a leaf hash.
pub const SUBJECT_HEAD_LEN: usize = 8 + 8 + HASH_LEN;

/// Where a subject's backward chain of entries starts (SPEC.md section 3, fields 5 to 7): how many
/// entries carry the token, and the index and leaf hash of the latest. An auditor who holds a
/// proved head walks `subject_prev_index` back from `last_index` and must find exactly `count`
/// entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubjectHead {
    /// How many entries of the log carry the token (the latest entry's `subject_seq` plus one).
    pub count: u64,
    /// The index of the latest entry that carries the token.
    pub last_index: u64,
    /// The leaf hash (SPEC.md section 2) of that entry.
    pub last_leaf: LeafHash,
}

/// Bytes that are not a [`SubjectHead`] encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a subject head is {SUBJECT_HEAD_LEN} bytes, got {0}")]
pub struct SubjectHeadLengthError(pub usize);

impl SubjectHead {
    /// The fixed encoding that the leaf hash covers:
    /// `u64_be(count) || u64_be(last_index) || last_leaf`, 48 bytes.
    pub fn to_bytes(&self) -> [u8; SUBJECT_HEAD_LEN] {
        let mut bytes = [0u8; SUBJECT_HEAD_LEN];
        bytes[..8].copy_from_slice(&self.count.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.last_index.to_be_bytes());
        bytes[16..].copy_from_slice(self.last_leaf.as_bytes());
        bytes
    }

    /// The inverse of [`SubjectHead::to_bytes`]; the slice must be exactly 48 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SubjectHeadLengthError> {
        let bytes: &[u8; SUBJECT_HEAD_LEN] = bytes
            .try_into()
            .map_err(|_| SubjectHeadLengthError(bytes.len()))?;
        let (count, rest) = bytes.split_at(8);
        let (last_index, last_leaf) = rest.split_at(8);
        Ok(Self {
            count: u64_be(count),
            last_index: u64_be(last_index),
            last_leaf: LeafHash::from_slice(last_leaf)
                .map_err(|_| SubjectHeadLengthError(bytes.len()))?,
        })
    }
}

/// Reads 8 big-endian bytes; the caller has split exactly 8.
fn u64_be(bytes: &[u8]) -> u64 {
    let mut array = [0u8; 8];
    array.copy_from_slice(bytes);
    u64::from_be_bytes(array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    #[test]
    fn encoding_is_count_index_leaf_big_endian() {
        let head = SubjectHead {
            count: 0x0102_0304_0506_0708,
            last_index: 9,
            last_leaf: leaf_hash(b"entry-9"),
        };
        let bytes = head.to_bytes();
        assert_eq!(&bytes[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[8..16], &[0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(&bytes[16..], head.last_leaf.as_bytes());
        assert_eq!(SubjectHead::from_bytes(&bytes), Ok(head));
        assert_eq!(
            SubjectHead::from_bytes(&bytes[1..]),
            Err(SubjectHeadLengthError(47))
        );
    }
}
