//! [`TailStore`]: what the sequencer reads and writes, and nothing more. The sequencer holds the
//! store as `Arc<dyn TailStore>`, so that its rules (idempotency, corrections, identity links,
//! erasure ordering, refusals) run against RocksDB ([`LedgerStore`]) in production and against
//! [`super::MemoryStore`] in unit tests that take milliseconds. Both pass one conformance suite
//! (`storage::conformance`).
//!
//! The store does no policy: it answers point reads and writes a [`CommitGroup`] atomically,
//! exactly as given (the shredding of a subject erased in the group last, so that it also
//! destroys what earlier jobs of the same group sealed for it).

use super::{CommitGroup, EventIdRecord, LedgerStore, StorageError, StoredSignature, SubjectHead};
use crate::core::merkle::HashStore;
use crate::core::subject_index::{SubjectNodeStore, SubtreeRef};

/// The sequencer's view of storage: the log's tail and the rows a plan reads, and the atomic,
/// durable write of a commit group. The tree's nodes come through [`HashStore`], the subject
/// index's through [`SubjectNodeStore`].
pub trait TailStore:
    HashStore<Error = StorageError> + SubjectNodeStore<Error = StorageError> + Send + Sync
{
    /// The number of entries (the durable tree size).
    fn tree_size(&self) -> Result<u64, StorageError>;
    /// The entry bytes at `index`.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError>;
    /// The signature of the entry at `index`.
    fn signature(&self, index: u64) -> Result<Option<StoredSignature>, StorageError>;
    /// The entry a producer appended under an event id.
    fn event_id(
        &self,
        producer: &str,
        event_id: &str,
    ) -> Result<Option<EventIdRecord>, StorageError>;
    /// The token a directory row (keyed hash of an identifier) points at.
    fn directory_token(&self, row_key: &[u8; 32]) -> Result<Option<[u8; 32]>, StorageError>;
    /// The head of a token's chain.
    fn subject_head(&self, token: &[u8; 32]) -> Result<Option<SubjectHead>, StorageError>;
    /// A subject's wrapped data key, or the marker [`super::columns::SHREDDED_KEY`].
    fn data_key_row(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError>;
    /// A subject's sealed identifier list.
    fn sealed_identifiers(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError>;
    /// The sealed details of `token`'s entry at `index`.
    fn sealed_details(&self, token: &[u8; 32], index: u64)
    -> Result<Option<Vec<u8>>, StorageError>;
    /// [`Self::event_id`] of each of `keys` (`(producer, event id)`), in order.
    fn event_ids(&self, keys: &[(&str, &str)]) -> Result<Vec<Option<EventIdRecord>>, StorageError> {
        keys.iter()
            .map(|(producer, event_id)| self.event_id(producer, event_id))
            .collect()
    }
    /// [`Self::directory_token`] of each of `row_keys`, in order.
    fn directory_tokens(
        &self,
        row_keys: &[[u8; 32]],
    ) -> Result<Vec<Option<[u8; 32]>>, StorageError> {
        row_keys
            .iter()
            .map(|row| self.directory_token(row))
            .collect()
    }
    /// [`Self::subject_head`] of each of `tokens`, in order.
    fn subject_heads(&self, tokens: &[[u8; 32]]) -> Result<Vec<Option<SubjectHead>>, StorageError> {
        tokens
            .iter()
            .map(|token| self.subject_head(token))
            .collect()
    }
    /// [`Self::data_key_row`] of each of `tokens`, in order.
    fn data_key_rows(&self, tokens: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        tokens
            .iter()
            .map(|token| self.data_key_row(token))
            .collect()
    }
    /// The subject index's latest version and its root record.
    fn latest_subject_index(&self) -> Result<Option<(u64, SubtreeRef)>, StorageError>;
    /// Writes the group atomically and durably: when this returns `Ok`, all of it survives a
    /// crash; when it returns `Err`, none of it is visible.
    fn commit(&self, group: &CommitGroup) -> Result<(), StorageError>;
    /// [`Self::commit`], calling `writing` once the group's rows are made and only their write
    /// (with its sync) is left: the sequencer may then finish the group after it (a big one), so
    /// that its subject-index version and checkpoint are made during this write rather than
    /// after it.
    fn commit_signalling(
        &self,
        group: &CommitGroup,
        writing: &dyn Fn(),
    ) -> Result<(), StorageError> {
        writing();
        self.commit(group)
    }
    /// The signed checkpoint of `size`.
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StorageError>;
    /// Stores a signed checkpoint (not necessarily synced: it is signed again, byte for byte, if
    /// a crash loses it).
    fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StorageError>;
    /// A replica's last durably applied input-log sequence ([`CommitGroup::applied_input`]).
    fn applied_input(&self) -> Result<Option<u64>, StorageError>;
    /// A replica's latest durably applied close of a transit epoch
    /// ([`CommitGroup::closed_epoch`]).
    fn closed_epoch(&self) -> Result<Option<super::ClosedEpoch>, StorageError>;
}

impl TailStore for LedgerStore {
    fn tree_size(&self) -> Result<u64, StorageError> {
        LedgerStore::tree_size(self)
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        LedgerStore::entry(self, index)
    }

    fn signature(&self, index: u64) -> Result<Option<StoredSignature>, StorageError> {
        LedgerStore::signature(self, index)
    }

    fn event_id(
        &self,
        producer: &str,
        event_id: &str,
    ) -> Result<Option<EventIdRecord>, StorageError> {
        LedgerStore::event_id(self, producer, event_id)
    }

    fn directory_token(&self, row_key: &[u8; 32]) -> Result<Option<[u8; 32]>, StorageError> {
        LedgerStore::directory_token(self, row_key)
    }

    fn subject_head(&self, token: &[u8; 32]) -> Result<Option<SubjectHead>, StorageError> {
        LedgerStore::subject_head(self, token)
    }

    fn data_key_row(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        LedgerStore::data_key_row(self, token)
    }

    fn sealed_identifiers(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        LedgerStore::sealed_identifiers(self, token)
    }

    fn sealed_details(
        &self,
        token: &[u8; 32],
        index: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        LedgerStore::sealed_details(self, token, index)
    }

    fn latest_subject_index(&self) -> Result<Option<(u64, SubtreeRef)>, StorageError> {
        LedgerStore::latest_subject_index(self)
    }

    fn event_ids(&self, keys: &[(&str, &str)]) -> Result<Vec<Option<EventIdRecord>>, StorageError> {
        LedgerStore::event_ids(self, keys)
    }

    fn directory_tokens(
        &self,
        row_keys: &[[u8; 32]],
    ) -> Result<Vec<Option<[u8; 32]>>, StorageError> {
        LedgerStore::directory_tokens(self, row_keys)
    }

    fn subject_heads(&self, tokens: &[[u8; 32]]) -> Result<Vec<Option<SubjectHead>>, StorageError> {
        LedgerStore::subject_heads(self, tokens)
    }

    fn data_key_rows(&self, tokens: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        LedgerStore::data_key_rows(self, tokens)
    }

    fn commit(&self, group: &CommitGroup) -> Result<(), StorageError> {
        LedgerStore::commit(self, group)
    }

    fn commit_signalling(
        &self,
        group: &CommitGroup,
        writing: &dyn Fn(),
    ) -> Result<(), StorageError> {
        LedgerStore::commit_signalling(self, group, writing)
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StorageError> {
        LedgerStore::checkpoint_at(self, size)
    }

    fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StorageError> {
        LedgerStore::put_checkpoint(self, size, note)
    }

    fn applied_input(&self) -> Result<Option<u64>, StorageError> {
        LedgerStore::applied_input(self)
    }

    fn closed_epoch(&self) -> Result<Option<super::ClosedEpoch>, StorageError> {
        LedgerStore::closed_epoch(self)
    }
}
