//! The rows of the `entries` family (schema 7): each entry's signature and bytes in one row,
//! `key_id (4) || signature (64) || entry_bytes`, so that appending writes one key per entry
//! and reading an entry with its signature (a lifecycle, an audit) is one read. The entries
//! appended before the data dir's upgrade to schema 7 keep their bytes alone in their row and
//! their signature in the `signatures` family: where one layout ends and the other begins is
//! the index recorded in `meta` ([`columns::META_SIGNATURES_INLINE_FROM`]), 0 for a data dir
//! made with schema 7, so the upgrade rewrites nothing.
//!
//! Every reader of the family goes through [`LedgerStore::split_entry_row`].

use rocksdb::IteratorMode;

use super::{
    LedgerStore, SCHEMA_VERSION, StorageError, StoredSignature, columns, decode_signature,
};

/// The bytes of a signature at the front of a row: key id and Ed25519 signature.
pub(super) const SIGNATURE_LEN: usize = 4 + 64;

/// Appends the `entries` row of an entry appended from schema 7 on to `out`.
pub(super) fn encode_entry_row(signature: &StoredSignature, bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(SIGNATURE_LEN + bytes.len());
    out.extend_from_slice(&signature.key_id);
    out.extend_from_slice(&signature.signature);
    out.extend_from_slice(bytes);
}

/// One row of the `entries` family, split: the entry's index, its bytes, and its signature when
/// the row holds it (entries appended before the upgrade to schema 7 have theirs in the
/// `signatures` family).
#[derive(Debug)]
pub struct EntryRow {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry bytes (SPEC.md section 3), verbatim.
    pub bytes: Vec<u8>,
    /// The signature, when the row holds it.
    pub signature: Option<StoredSignature>,
}

/// Where the signatures are: `u64::MAX` (all in the `signatures` family) for a data dir that
/// has not been upgraded to schema 7 (opened read-only), else the recorded index. A data dir of
/// this schema without the mark is damage.
pub(super) fn read_inline_from(store: &LedgerStore) -> Result<u64, StorageError> {
    let meta = store.cf(columns::META)?;
    let current = store.schema_version()? == SCHEMA_VERSION;
    match store
        .db
        .get_cf(meta, columns::META_SIGNATURES_INLINE_FROM)?
    {
        None if current => Err(StorageError::missing(
            columns::META,
            "signatures_inline_from",
        )),
        Some(value) => columns::decode_u64(&value).ok_or_else(|| {
            StorageError::undecodable(columns::META, "signatures_inline_from", "is not 8 bytes")
        }),
        None => Ok(u64::MAX),
    }
}

impl LedgerStore {
    /// Whether the entry at `index` has its signature in its `entries` row.
    pub(super) fn signature_inline(&self, index: u64) -> bool {
        index >= self.signatures_inline_from
    }

    /// The entry bytes of the `entries` row `value` of entry `index`, and the signature the row
    /// holds (`None` for an entry appended before schema 7, whose signature is a `signatures`
    /// row). A row too short for its signature is damage.
    pub fn split_entry_row<'v>(
        &self,
        index: u64,
        value: &'v [u8],
    ) -> Result<(&'v [u8], Option<StoredSignature>), StorageError> {
        if !self.signature_inline(index) {
            return Ok((value, None));
        }
        let Some((signature, bytes)) = value.split_at_checked(SIGNATURE_LEN) else {
            return Err(StorageError::undecodable(
                columns::ENTRIES,
                format!("entry {index}"),
                format!("has {} bytes, fewer than its signature", value.len()),
            ));
        };
        Ok((bytes, Some(decode_signature(index, signature)?)))
    }

    /// Every row of the `entries` family in log order, split ([`LedgerStore::split_entry_row`]):
    /// for the scans over the log (reports, audits).
    pub fn entry_rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<EntryRow, StorageError>> + '_, StorageError> {
        let cf = self.cf(columns::ENTRIES)?;
        Ok(self
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .map(move |row| {
                let (key, value) = row?;
                let index = columns::decode_u64(&key).ok_or_else(|| {
                    StorageError::undecodable(columns::ENTRIES, "a key", "is not 8 bytes")
                })?;
                let (bytes, signature) = self.split_entry_row(index, &value)?;
                Ok(EntryRow {
                    index,
                    bytes: bytes.to_vec(),
                    signature,
                })
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle::CompactRange;
    use crate::storage::conformance::group_of;
    use crate::storage::{SCHEMA_VERSION, StorageConfig};

    fn raw(store: &LedgerStore, family: &str, index: u64) -> Option<Vec<u8>> {
        let cf = store.cf(family).expect("family");
        store
            .db
            .get_cf(cf, columns::index_key(index))
            .expect("read")
    }

    #[test]
    fn entries_before_the_upgrade_keep_their_signature_rows_and_later_ones_carry_theirs() {
        let origin = "test.example/entry-rows";
        let config = StorageConfig::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut range = CompactRange::new();
        let (before, _) = group_of(&mut range, 0, 10);
        {
            // A data dir as schema 6 left it: entry rows of bytes alone, a signature row each.
            let store = LedgerStore::open(dir.path(), origin, &config).expect("open");
            store.commit(&before).expect("commit");
            assert_eq!(store.rows(columns::SIGNATURES).expect("rows").count(), 0);
            let entries = store.cf(columns::ENTRIES).expect("family");
            let signatures = store.cf(columns::SIGNATURES).expect("family");
            let meta = store.cf(columns::META).expect("family");
            for entry in &before.entries {
                let row = raw(&store, columns::ENTRIES, entry.index).expect("row");
                assert_eq!(&row[SIGNATURE_LEN..], &entry.bytes[..], "written inline");
                let key = columns::index_key(entry.index);
                store.db.put_cf(entries, key, &entry.bytes).expect("put");
                store
                    .db
                    .put_cf(signatures, key, &row[..SIGNATURE_LEN])
                    .expect("put");
            }
            store
                .db
                .delete_cf(meta, columns::META_SIGNATURES_INLINE_FROM)
                .expect("delete");
            store
                .db
                .put_cf(meta, columns::META_SCHEMA_VERSION, b"6")
                .expect("put");
        }
        // Read-only, not upgraded: every signature in its own row.
        {
            let store = LedgerStore::open_read_only(dir.path(), &config).expect("open");
            let entry = &before.entries[3];
            assert_eq!(store.entry(3).expect("read"), Some(entry.bytes.clone()));
            assert_eq!(store.signature(3).expect("read"), Some(entry.signature));
        }
        let (after, _) = group_of(&mut range, 10, 5);
        {
            let store = LedgerStore::open(dir.path(), origin, &config).expect("upgrades");
            assert_eq!(store.schema_version().expect("schema"), SCHEMA_VERSION);
            store.commit(&after).expect("commit");
            // Nothing rewritten below the size at the upgrade; one row per entry above it.
            assert_eq!(
                raw(&store, columns::ENTRIES, 3),
                Some(before.entries[3].bytes.clone())
            );
            assert!(raw(&store, columns::SIGNATURES, 3).is_some());
            let row = raw(&store, columns::ENTRIES, 12).expect("row");
            assert_eq!(&row[SIGNATURE_LEN..], &after.entries[2].bytes[..]);
            assert_eq!(raw(&store, columns::SIGNATURES, 12), None);
            // An entry below the mark would overwrite one of the old layout: refused.
            let (below, _) = group_of(&mut CompactRange::new(), 0, 4);
            assert!(store.commit(&below).is_err());
            assert_eq!(
                raw(&store, columns::ENTRIES, 3),
                Some(before.entries[3].bytes.clone())
            );
        }
        let all: Vec<_> = before.entries.iter().chain(&after.entries).collect();
        for store in [
            LedgerStore::open(dir.path(), origin, &config).expect("open"),
            LedgerStore::open_read_only(dir.path(), &config).expect("open"),
        ] {
            let asked = [3u64, 12, 9, 14, 0, 10];
            let read = store.entries_with_signatures(&asked).expect("read");
            let signatures = store.signatures(&asked).expect("read");
            for ((index, row), signature) in asked.iter().zip(read).zip(signatures) {
                let entry = all[*index as usize];
                assert_eq!(row, Some((entry.bytes.clone(), entry.signature)), "{index}");
                assert_eq!(signature.expect("row"), Some(entry.signature), "{index}");
                assert_eq!(
                    store.entry(*index).expect("read"),
                    Some(entry.bytes.clone())
                );
                assert_eq!(
                    store.signature(*index).expect("read"),
                    Some(entry.signature)
                );
            }
            let rows: Vec<EntryRow> = store
                .entry_rows()
                .expect("rows")
                .map(|row| row.expect("row"))
                .collect();
            assert_eq!(rows.len(), all.len());
            for (row, entry) in rows.iter().zip(&all) {
                assert_eq!((row.index, &row.bytes), (entry.index, &entry.bytes));
                let inline = (row.index >= 10).then_some(entry.signature);
                assert_eq!(row.signature, inline, "{}", row.index);
            }
            assert_eq!(
                store.entries_with_signatures(&[15]).expect("read"),
                vec![None]
            );
        }
    }

    #[test]
    fn a_data_dir_of_this_schema_without_the_mark_is_refused() {
        let origin = "test.example/entry-rows";
        let config = StorageConfig::default();
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = LedgerStore::open(dir.path(), origin, &config).expect("open");
            let meta = store.cf(columns::META).expect("family");
            store
                .db
                .delete_cf(meta, columns::META_SIGNATURES_INLINE_FROM)
                .expect("delete");
        }
        assert!(LedgerStore::open(dir.path(), origin, &config).is_err());
        assert!(LedgerStore::open_read_only(dir.path(), &config).is_err());
    }

    #[test]
    fn an_entry_row_too_short_for_its_signature_is_damage() {
        let (_dir, store) = LedgerStore::temporary("test.example/entry-rows");
        let (group, _) = group_of(&mut CompactRange::new(), 0, 2);
        store.commit(&group).expect("commit");
        let entries = store.cf(columns::ENTRIES).expect("family");
        store
            .db
            .put_cf(entries, columns::index_key(1), [0u8; SIGNATURE_LEN - 1])
            .expect("put");
        assert!(store.entry(1).is_err());
        assert!(store.entries_with_signatures(&[0, 1]).is_err());
        assert_eq!(
            store.entry(0).expect("read"),
            Some(group.entries[0].bytes.clone())
        );
    }
}
