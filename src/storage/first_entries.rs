//! The one-time completion of head rows written before heads recorded a subject's first entry.
//!
//! A head row records its subject's first entry (`SubjectHead::first_index`) since the sequencer
//! plans it, so that the commit's breach count rows need not read it back; the sequencer carries
//! what a head holds, so a head row of an earlier version (16 bytes) would stay without it, and
//! its subject's entries would keep that read for good. Once, before the sequencer starts, this
//! pass gives each such head the entry its row of seq 0 holds, the next row in key order.

use rocksdb::WriteBatch;

use super::{LedgerStore, StorageError, columns, encode_subject_head, synced};

/// The `meta` mark set once every head row records its first entry.
pub const META_HEADS_RECORD_FIRST_ENTRY: &[u8] = b"heads_record_first_entry";

/// Head rows rewritten per synced batch.
const BATCH_ROWS: usize = 10_000;

impl LedgerStore {
    /// Gives every head row without its subject's first entry the entry of the subject's row of
    /// seq 0, once (marked in `meta`; a data dir made by this version only sets the mark). A head
    /// whose next row is not its row of seq 0 (which an audit reports) is left as it is. Returns
    /// how many head rows were completed. Must run before the sequencer starts: it is the only
    /// other writer of head rows.
    pub fn record_first_entries_in_heads(&self) -> Result<u64, StorageError> {
        let meta = self.cf(columns::META)?;
        if self
            .db
            .get_cf(meta, META_HEADS_RECORD_FIRST_ENTRY)?
            .is_some()
        {
            return Ok(0);
        }
        let subjects = self.cf(columns::SUBJECTS)?;
        let mut completed = 0;
        let mut batch = WriteBatch::default();
        // The last head row read without its first entry, waiting for the row after it.
        let mut waiting: Option<([u8; 32], super::SubjectHead)> = None;
        for row in self.rows(columns::SUBJECTS)? {
            let (key, value) = row?;
            let first_of_waiting = waiting
                .take()
                .filter(|(token, _)| *key == columns::subject_entry_key(token, 0));
            if let Some((token, mut head)) = first_of_waiting {
                head.first_index = columns::decode_u64(&value);
                let (bytes, length) = encode_subject_head(&head);
                batch.put_cf(subjects, token, &bytes[..length]);
                completed += 1;
                if batch.len() >= BATCH_ROWS {
                    self.db.write_opt(std::mem::take(&mut batch), &synced())?;
                }
            }
            if let Ok(token) = <[u8; 32]>::try_from(&*key) {
                let head = super::decode_subject_head(&value)?;
                if head.first_index.is_none() {
                    waiting = Some((token, head));
                }
            }
        }
        self.db.write_opt(batch, &synced())?;
        self.db
            .put_cf_opt(meta, META_HEADS_RECORD_FIRST_ENTRY, b"", &synced())?;
        Ok(completed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{CommitGroup, SubjectHead};

    /// Heads of an earlier version get their subject's first entry, once; a head whose row of
    /// seq 0 is missing is left without it.
    #[test]
    fn heads_without_their_first_entry_get_it_once() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/first-entries");
        let (alice, bob, carol) = ([0xA1; 32], [0xB0; 32], [0xCA; 32]);
        let head = |count, last_index, first_index| SubjectHead {
            count,
            last_index,
            first_index,
        };
        let group = CommitGroup {
            subject_heads: vec![
                (alice, head(2, 9, None)),
                (bob, head(1, 4, Some(4))),
                (carol, head(1, 6, None)),
            ],
            // Carol's row of seq 0 is missing.
            subject_entries: vec![(alice, 0, 3), (alice, 1, 9), (bob, 0, 4)],
            ..CommitGroup::default()
        };
        store.commit(&group).expect("commit");

        assert_eq!(store.record_first_entries_in_heads().expect("pass"), 1);
        let heads = store.subject_heads(&[alice, bob, carol]).expect("read");
        assert_eq!(
            heads,
            vec![
                Some(head(2, 9, Some(3))),
                Some(head(1, 4, Some(4))),
                Some(head(1, 6, None)),
            ]
        );
        // Marked: the pass does not run again.
        store
            .commit(&CommitGroup {
                subject_heads: vec![(alice, head(3, 10, None))],
                ..CommitGroup::default()
            })
            .expect("commit");
        assert_eq!(store.record_first_entries_in_heads().expect("pass"), 0);
        assert_eq!(
            store.subject_head(&alice).expect("read"),
            Some(head(3, 10, None))
        );
    }
}
