//! The authenticated subject index in RocksDB (`docs/subject-index.md` section 8): immutable
//! pages keyed by `(version, top)`, one root record per version, pruning below a horizon, and
//! the upgrade from the node-per-row layout of schema 3.
//!
//! A page's value is `u64_be(replaced) || page bytes`, where `replaced` is the version of the
//! page the same top held before this one (`u64::MAX` when the page is new). That is all pruning
//! needs: a page written by version `v` makes the one it replaced useless to every version from
//! `v` on, so pruning up to a horizon `H` walks the pages of versions `<= H` (a key range, since
//! keys start with the version) and deletes the pages they replaced. No separate stale list is
//! written on the append path.

use rustc_hash::FxHashMap;

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::{LedgerStore, StorageError, columns};
use crate::core::subject_index::{
    IndexCommit, IndexNode, IndexPage, NODE_KEY_LEN, NodeDecodeError, NodeKey, NodePath,
    SubjectNodeStore, SubtreeRef,
};

/// `replaced` of a node whose path is new.
const NOTHING_REPLACED: u64 = u64::MAX;

/// Deletes a pruning batch gathers before it is written (about 5 MiB of batch): the first pass
/// over a long history is written in many batches, each complete up to a version.
const PRUNE_BATCH_DELETES: usize = 100_000;

/// Key in [`columns::META`] of the highest horizon pruned so far.
const PRUNED_THROUGH_KEY: &[u8] = b"subject_index_pruned_through";

/// What one pruning pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneSummary {
    /// Versions whose pages were walked.
    pub versions_walked: u64,
    /// Replaced pages deleted.
    pub pages_deleted: u64,
    /// Root records deleted (versions below the horizon).
    pub roots_deleted: u64,
}

impl LedgerStore {
    /// Adds a version of the subject index to `batch`: its pages and its root record.
    pub(super) fn put_subject_index(
        &self,
        batch: &mut WriteBatch,
        index: &IndexCommit,
    ) -> Result<(), StorageError> {
        let replaced: FxHashMap<NodePath, u64> = index
            .stale
            .iter()
            .map(|stale| (stale.key.path, stale.key.version))
            .collect();
        let pages = self.cf(columns::SUBJECT_INDEX_PAGES)?;
        let mut value = Vec::with_capacity(512);
        for (key, page) in &index.pages {
            value.clear();
            let previous = replaced.get(&key.path).copied();
            value.extend_from_slice(&previous.unwrap_or(NOTHING_REPLACED).to_be_bytes());
            page.encode(key.version, &mut value).map_err(|error| {
                StorageError::inconsistent(format!("the subject-index page {key}: {error}"))
            })?;
            batch.put_cf(pages, key.to_key_bytes(), &value);
        }
        let roots = self.cf(columns::SUBJECT_INDEX_ROOTS)?;
        batch.put_cf(
            roots,
            columns::index_key(index.version),
            columns::encode_index_root(&index.root),
        );
        Ok(())
    }

    /// The latest version of the subject index and its root record.
    pub fn latest_subject_index(&self) -> Result<Option<(u64, SubtreeRef)>, StorageError> {
        let cf = self.cf(columns::SUBJECT_INDEX_ROOTS)?;
        match self.db.iterator_cf(cf, IteratorMode::End).next() {
            None => Ok(None),
            Some(row) => {
                let (key, value) = row?;
                let version = columns::decode_u64(&key).ok_or_else(|| {
                    StorageError::undecodable(
                        columns::SUBJECT_INDEX_ROOTS,
                        "a key",
                        "is not 8 bytes",
                    )
                })?;
                let root = columns::decode_index_root(&value).ok_or_else(|| {
                    StorageError::undecodable(
                        columns::SUBJECT_INDEX_ROOTS,
                        format!("the root record of version {version}"),
                        "is malformed",
                    )
                })?;
                Ok(Some((version, root)))
            }
        }
    }

    /// Rows, key bytes and value bytes of the subject index's pages by the depth of their top,
    /// over every version kept (`gdpr-ledger footprint`): where a version's bytes go.
    pub fn subject_index_footprint(
        &self,
    ) -> Result<std::collections::BTreeMap<u16, (u64, u64, u64)>, StorageError> {
        self.footprint_by(columns::SUBJECT_INDEX_PAGES, |key| {
            NodeKey::from_key_bytes(key)
                .map(|page| page.path.depth())
                .map_err(|e| {
                    StorageError::undecodable(columns::SUBJECT_INDEX_PAGES, "a page key", e)
                })
        })
    }

    /// The oldest version of the subject index still kept (proofs exist from it on).
    pub fn oldest_subject_index(&self) -> Result<Option<u64>, StorageError> {
        self.first_index_version(IteratorMode::Start)
    }

    /// The newest subject-index version at or below `size`.
    pub fn subject_index_version_at_or_below(
        &self,
        size: u64,
    ) -> Result<Option<u64>, StorageError> {
        let start = columns::index_key(size);
        self.first_index_version(IteratorMode::From(&start, Direction::Reverse))
    }

    /// The version of the first root record `mode` reaches.
    fn first_index_version(&self, mode: IteratorMode<'_>) -> Result<Option<u64>, StorageError> {
        let cf = self.cf(columns::SUBJECT_INDEX_ROOTS)?;
        match self.db.iterator_cf(cf, mode).next() {
            None => Ok(None),
            Some(row) => {
                let (key, _) = row?;
                columns::decode_u64(&key).map(Some).ok_or_else(|| {
                    StorageError::undecodable(
                        columns::SUBJECT_INDEX_ROOTS,
                        "a key",
                        "is not 8 bytes",
                    )
                })
            }
        }
    }

    /// Prunes the subject index so that the versions of the last `keep_entries` entries of a
    /// log of `tree_size` (and the newest version before them) keep their proofs. `None` when
    /// there is nothing old enough to prune.
    pub fn prune_subject_index_keeping(
        &self,
        tree_size: u64,
        keep_entries: u64,
    ) -> Result<Option<(u64, PruneSummary)>, StorageError> {
        let Some(horizon) =
            self.subject_index_version_at_or_below(tree_size.saturating_sub(keep_entries))?
        else {
            return Ok(None);
        };
        if self.oldest_subject_index()? == Some(horizon) {
            return Ok(None);
        }
        Ok(Some((horizon, self.prune_subject_index(horizon)?)))
    }

    /// Deletes what no version at or above `horizon` needs: every page replaced by a version
    /// `<= horizon`, and the root records below `horizon`. `horizon` must be a kept version (a
    /// checkpoint's size); versions from it on keep all their proofs. Safe beside the sequencer:
    /// it only ever reads the latest version, whose nodes are never deleted here.
    pub fn prune_subject_index(&self, horizon: u64) -> Result<PruneSummary, StorageError> {
        self.prune_subject_index_in_batches(horizon, PRUNE_BATCH_DELETES)
    }

    /// [`Self::prune_subject_index`], writing a batch once it holds `batch_deletes` deletions and
    /// the walk has finished a version.
    pub fn prune_subject_index_in_batches(
        &self,
        horizon: u64,
        batch_deletes: usize,
    ) -> Result<PruneSummary, StorageError> {
        if self.read_root(horizon)?.is_none() {
            return Err(StorageError::missing(
                columns::SUBJECT_INDEX_ROOTS,
                format!("version {horizon}, below which the subject index was to be pruned,"),
            ));
        }
        let meta = self.cf(columns::META)?;
        let from = match self.db.get_cf(meta, PRUNED_THROUGH_KEY)? {
            Some(bytes) => columns::decode_u64(&bytes)
                .ok_or_else(|| {
                    StorageError::undecodable(
                        columns::META,
                        "the subject-index pruning mark",
                        "is not 8 bytes",
                    )
                })?
                .saturating_add(1),
            None => 0,
        };
        let mut summary = PruneSummary::default();
        if from > horizon {
            return Ok(summary);
        }
        let nodes = self.cf(columns::SUBJECT_INDEX_PAGES)?;
        let mut batch = WriteBatch::default();
        let mut deletes_in_batch = 0usize;
        let mut last_version = None;
        let start = columns::index_key(from);
        for row in self
            .db
            .iterator_cf(nodes, IteratorMode::From(&start, Direction::Forward))
        {
            let (key, value) = row?;
            let node_key = NodeKey::from_key_bytes(&key)
                .map_err(|e| StorageError::undecodable(columns::SUBJECT_INDEX_PAGES, "a key", e))?;
            if node_key.version > horizon {
                break;
            }
            if last_version != Some(node_key.version) {
                // Every node of `last_version` is walked: a full batch is written up to it, so
                // that memory stays bounded however far the horizon moved.
                if let Some(walked) = last_version
                    && deletes_in_batch >= batch_deletes.max(1)
                {
                    summary.roots_deleted += self.finish_prune_batch(&mut batch, walked)?;
                    self.db
                        .write_opt(std::mem::take(&mut batch), &super::synced())?;
                    deletes_in_batch = 0;
                }
                last_version = Some(node_key.version);
                summary.versions_walked += 1;
            }
            let replaced = columns::decode_u64(&value).ok_or_else(|| {
                StorageError::undecodable(
                    columns::SUBJECT_INDEX_PAGES,
                    format!("page {node_key}"),
                    "is too short",
                )
            })?;
            if replaced != NOTHING_REPLACED {
                let old = NodeKey {
                    version: replaced,
                    path: node_key.path,
                };
                batch.delete_cf(nodes, old.to_key_bytes());
                summary.pages_deleted += 1;
                deletes_in_batch += 1;
            }
        }
        summary.roots_deleted += self.finish_prune_batch(&mut batch, horizon)?;
        self.db.write_opt(batch, &super::synced())?;
        Ok(summary)
    }

    /// Completes a pruning batch whose walk covered every version up to `through` (a kept
    /// version): deletes the root records below it and moves the pruning mark to it. Returns
    /// the root records deleted.
    fn finish_prune_batch(
        &self,
        batch: &mut WriteBatch,
        through: u64,
    ) -> Result<u64, StorageError> {
        let roots = self.cf(columns::SUBJECT_INDEX_ROOTS)?;
        let mut deleted = 0;
        for row in self.db.iterator_cf(roots, IteratorMode::Start) {
            let (key, _) = row?;
            match columns::decode_u64(&key) {
                Some(version) if version < through => {
                    batch.delete_cf(roots, key);
                    deleted += 1;
                }
                _ => break,
            }
        }
        batch.put_cf(
            self.cf(columns::META)?,
            PRUNED_THROUGH_KEY,
            through.to_be_bytes(),
        );
        Ok(deleted)
    }
}

/// Pages an upgrade from the node-per-row layout gathers before it writes them.
const REWRITE_BATCH_PAGES: usize = 10_000;

impl LedgerStore {
    /// Rewrites the latest version of a node-per-row subject index (schema 3 and before,
    /// [`columns::LEGACY_SUBJECT_INDEX`]) as pages of that version, checking every node against
    /// the hash its parent holds. Earlier versions are not rewritten: their root records go, as
    /// if pruned, so lifecycles at earlier checkpoints are refused naming the oldest kept (the
    /// entries, checkpoints and log tree are untouched, and `audit` still replays every version).
    /// Idempotent: an interrupted rewrite is done again from the start by the next open.
    pub(super) fn rewrite_legacy_subject_index(&self) -> Result<(), StorageError> {
        let Some(legacy) = self.db.cf_handle(columns::LEGACY_SUBJECT_INDEX) else {
            return Ok(());
        };
        let Some((latest, root)) = self.latest_subject_index()? else {
            return Ok(());
        };
        let read_legacy = |key: NodeKey, hash| -> Result<IndexNode, StorageError> {
            let family = columns::LEGACY_SUBJECT_INDEX;
            let bytes = self
                .db
                .get_cf(legacy, key.to_key_bytes())?
                .ok_or_else(|| StorageError::missing(family, format!("node {key}")))?;
            let node = bytes
                .get(8..)
                .ok_or(crate::core::subject_index::NodeDecodeError::Length(
                    bytes.len(),
                ))
                .and_then(IndexNode::from_bytes)
                .map_err(|e| StorageError::undecodable(family, format!("node {key}"), e))?;
            if node.hash() != hash {
                return Err(StorageError::inconsistent(format!(
                    "{family}: node {key} does not hash to what its parent holds"
                )));
            }
            Ok(node)
        };
        let pages = self.cf(columns::SUBJECT_INDEX_PAGES)?;
        let mut batch = WriteBatch::default();
        let mut in_batch = 0usize;
        let mut value = Vec::with_capacity(512);
        let mut tops = Vec::new();
        if let SubtreeRef::Stored { version, hash } = root {
            let path = NodePath::ROOT;
            tops.push((NodeKey { version, path }, hash));
        }
        let mut rewritten = 0u64;
        while let Some(top) = tops.pop() {
            let mut nodes = Vec::new();
            let mut here = vec![top];
            while let Some((key, hash)) = here.pop() {
                let mut node = read_legacy(key, hash)?;
                if let IndexNode::Interior { left, right } = &mut node {
                    for (bit, child) in [(0u8, left), (1, right)] {
                        if let SubtreeRef::Stored { version, hash } = *child {
                            let path = key.path.child(bit);
                            let below = (NodeKey { version, path }, hash);
                            if path.is_page_top() {
                                tops.push(below);
                            } else {
                                here.push(below);
                            }
                            *child = SubtreeRef::Stored {
                                version: latest,
                                hash,
                            };
                        }
                    }
                }
                nodes.push((key.path, node));
            }
            value.clear();
            value.extend_from_slice(&NOTHING_REPLACED.to_be_bytes());
            let key = NodeKey {
                version: latest,
                path: top.0.path,
            };
            IndexPage::from_nodes(nodes)
                .encode(latest, &mut value)
                .map_err(|e| StorageError::inconsistent(format!("rewriting page {key}: {e}")))?;
            batch.put_cf(pages, key.to_key_bytes(), &value);
            in_batch += 1;
            rewritten += 1;
            if in_batch >= REWRITE_BATCH_PAGES {
                // Not synced: the last write below is, and a WAL sync covers every write before.
                self.db.write(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        let roots = self.cf(columns::SUBJECT_INDEX_ROOTS)?;
        let root = match root {
            SubtreeRef::Empty => SubtreeRef::Empty,
            SubtreeRef::Stored { hash, .. } => SubtreeRef::Stored {
                version: latest,
                hash,
            },
        };
        batch.put_cf(
            roots,
            columns::index_key(latest),
            columns::encode_index_root(&root),
        );
        batch.delete_range_cf(roots, columns::index_key(0), columns::index_key(latest));
        batch.put_cf(
            self.cf(columns::META)?,
            PRUNED_THROUGH_KEY,
            latest.to_be_bytes(),
        );
        self.db.write_opt(batch, &super::synced())?;
        tracing::info!(
            version = latest,
            pages = rewritten,
            "rewrote the subject index's latest version one page per row"
        );
        Ok(())
    }

    /// Drops the node-per-row family once the data dir is at the current schema (the upgrade
    /// rewrote what it held).
    pub(super) fn drop_legacy_subject_index(&mut self) -> Result<(), StorageError> {
        if self.db.cf_handle(columns::LEGACY_SUBJECT_INDEX).is_some()
            && self.schema_version()? == super::SCHEMA_VERSION
        {
            self.db.drop_cf(columns::LEGACY_SUBJECT_INDEX)?;
            tracing::info!(
                family = columns::LEGACY_SUBJECT_INDEX,
                "dropped the node-per-row subject index"
            );
        }
        Ok(())
    }
}

/// A page row's value is the version of the page it replaced (8 bytes, big-endian; the pruning's
/// mark, written by `put_subject_index`), then the page's encoding (`IndexPage::encode`).
fn page_encoding(row: &[u8]) -> Result<&[u8], NodeDecodeError> {
    row.get(8..).ok_or(NodeDecodeError::Length(row.len()))
}

impl LedgerStore {
    /// Reads the pages at `keys` in one batched read and hands each stored encoding
    /// (`IndexPage::encode`, without its row's pruning mark) to `read`, with its position in
    /// `keys`: decoded for the index's reads, compared byte for byte by the audit, which decodes
    /// only the pages whose bytes differ from the ones it rebuilt. A page `read` refuses is
    /// reported as undecodable, naming its key.
    pub fn read_page_encodings<T>(
        &self,
        keys: &[NodeKey],
        mut read: impl FnMut(usize, &[u8]) -> Result<T, NodeDecodeError>,
    ) -> Result<Vec<Option<T>>, StorageError> {
        let cf = self.cf(columns::SUBJECT_INDEX_PAGES)?;
        let raw: Vec<[u8; NODE_KEY_LEN]> = keys.iter().map(NodeKey::to_key_bytes).collect();
        self.db
            .batched_multi_get_cf(cf, &raw, false)
            .into_iter()
            .zip(keys)
            .enumerate()
            .map(|(at, (value, key))| match value? {
                None => Ok(None),
                Some(bytes) => page_encoding(&bytes)
                    .and_then(|page| read(at, page))
                    .map(Some)
                    .map_err(|e| {
                        StorageError::undecodable(
                            columns::SUBJECT_INDEX_PAGES,
                            format!("page {key}"),
                            e,
                        )
                    }),
            })
            .collect()
    }
}

impl SubjectNodeStore for LedgerStore {
    type Error = StorageError;

    fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, StorageError> {
        self.read_page_encodings(keys, |at, page| {
            IndexPage::decode(keys[at].version, keys[at].path, page)
        })
    }

    fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, StorageError> {
        let cf = self.cf(columns::SUBJECT_INDEX_ROOTS)?;
        match self.db.get_pinned_cf(cf, columns::index_key(version))? {
            None => Ok(None),
            Some(bytes) => columns::decode_index_root(&bytes).map(Some).ok_or_else(|| {
                StorageError::undecodable(
                    columns::SUBJECT_INDEX_ROOTS,
                    format!("the root record of version {version}"),
                    "is malformed",
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::subject_index::{PAGE_LEVELS, apply_updates, sample_updates};
    use crate::storage::CommitGroup;

    /// The footprint by depth counts every page row once, under the depth of its top: two
    /// versions of an index of 200 tokens have two root pages, pages only at multiples of the
    /// page levels, and as many rows and bytes as the family.
    #[test]
    fn the_footprint_counts_each_page_under_the_depth_of_its_top() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/index-footprint");
        let updates = sample_updates(0..200u64);
        let first = apply_updates(&store, None, 1, &updates).expect("version 1");
        store
            .commit(&CommitGroup {
                subject_index: Some(first),
                ..CommitGroup::default()
            })
            .expect("commit");
        let second = apply_updates(&store, Some(1), 2, &updates[..3]).expect("version 2");
        store
            .commit(&CommitGroup {
                subject_index: Some(second),
                ..CommitGroup::default()
            })
            .expect("commit");
        let by_depth = store.subject_index_footprint().expect("footprint");
        assert_eq!(by_depth.get(&0).map(|rows| rows.0), Some(2), "{by_depth:?}");
        assert!(
            by_depth.len() >= 3 && by_depth.keys().all(|depth| depth % PAGE_LEVELS == 0),
            "{by_depth:?}"
        );
        let counted = by_depth
            .values()
            .fold((0, 0), |(rows, bytes), d| (rows + d.0, bytes + d.1 + d.2));
        let family = store
            .rows(columns::SUBJECT_INDEX_PAGES)
            .expect("rows")
            .fold((0, 0), |(rows, bytes), row| {
                let (key, value) = row.expect("row");
                (rows + 1, bytes + (key.len() + value.len()) as u64)
            });
        assert_eq!(counted, family);
    }

    /// A data dir of schema 5 (every reference to another page in eight bytes) opens as schema
    /// 6 without a rewrite: its pages still prove, a new version is built on them and written
    /// with references back, and the roots are those of an index that never had the old pages.
    #[test]
    fn pages_of_schema_5_are_read_and_new_pages_name_versions_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = crate::storage::StorageConfig::default();
        let origin = "ledger.test/pages-5";
        let updates = sample_updates(0..300u64);
        let commit = |store: &LedgerStore, index| {
            store
                .commit(&CommitGroup {
                    subject_index: Some(index),
                    ..CommitGroup::default()
                })
                .expect("commit")
        };
        // The same two versions in a store that only ever had the new encoding.
        let (_fresh_dir, fresh) = LedgerStore::temporary(origin);
        commit(
            &fresh,
            apply_updates(&fresh, None, 300, &updates).expect("v300"),
        );
        let later = apply_updates(&fresh, Some(300), 310, &updates[..5]).expect("v310");
        let expected_root = later.root_hash();
        commit(&fresh, later);

        {
            let store = LedgerStore::open(dir.path(), origin, &config).expect("open");
            commit(
                &store,
                apply_updates(&store, None, 300, &updates).expect("v300"),
            );
            // Every page rewritten as schema 5 wrote it, and the data dir marked schema 5.
            let pages = store.cf(columns::SUBJECT_INDEX_PAGES).expect("family");
            let rows: Vec<_> = store
                .rows(columns::SUBJECT_INDEX_PAGES)
                .expect("rows")
                .map(|row| row.expect("row"))
                .collect();
            let mut references = 0;
            for (key, value) in rows {
                let node_key = NodeKey::from_key_bytes(&key).expect("key");
                let page =
                    IndexPage::decode(node_key.version, node_key.path, &value[8..]).expect("page");
                let mut old = value[..8].to_vec();
                page.encode_as_schema_5(&mut old).expect("encode");
                references += old.len().saturating_sub(value.len()) / 7;
                store.db.put_cf(pages, &key, &old).expect("put");
            }
            assert!(references >= 16, "the index has references to rewrite");
            let meta = store.cf(columns::META).expect("family");
            store
                .db
                .put_cf(meta, columns::META_SCHEMA_VERSION, b"5")
                .expect("put");
        }
        let store = LedgerStore::open(dir.path(), origin, &config).expect("upgrades");
        assert_eq!(
            store.schema_version().expect("schema"),
            crate::storage::SCHEMA_VERSION
        );
        for (token, head) in &updates[..20] {
            let proof = crate::core::subject_index::prove(&store, 300, token).expect("prove");
            let root = crate::core::subject_index::root_at(&store, 300).expect("root");
            assert_eq!(
                crate::core::subject_index::verify(&root, token, &proof),
                Ok(Some(*head))
            );
        }
        let next = apply_updates(&store, Some(300), 310, &updates[..5]).expect("v310");
        assert_eq!(next.root_hash(), expected_root);
        let written: Vec<_> = next.pages.iter().map(|(key, _)| *key).collect();
        commit(&store, next);
        // The new version's pages are stored with references back: the old encoding of each is
        // longer by seven bytes a reference, and the value read back is the new one.
        let mut shorter = 0;
        for key in written {
            let value = store
                .db
                .get_cf(
                    store.cf(columns::SUBJECT_INDEX_PAGES).expect("family"),
                    key.to_key_bytes(),
                )
                .expect("read")
                .expect("written");
            let page = IndexPage::decode(key.version, key.path, &value[8..]).expect("page");
            let mut compact = Vec::new();
            page.encode(key.version, &mut compact).expect("encode");
            assert_eq!(&value[8..], &compact[..], "{key}");
            let mut old = Vec::new();
            page.encode_as_schema_5(&mut old).expect("encode");
            shorter += old.len() - compact.len();
        }
        assert!(shorter > 0);
    }
}
