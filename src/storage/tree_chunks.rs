//! Complete 64-leaf chunks of the Merkle tree, one row each ([`columns::TREE_CHUNKS`]):
//! `u64 chunk -> 127 hashes`, the chunk's perfect subtrees (its 64 leaves, then each level up to
//! its root at level [`CHUNK_LEVELS`]) in the order [`aligned_subtrees`] lists them.
//!
//! An inclusion proof needs six nodes below level 6, all inside the proved leaf's chunk. Reading
//! them as one row costs one point read; computing them costs a range read of the chunk's entries
//! and 127 hashes (`LedgerStore::read_hashes` does that for the chunk at the growing edge, and for
//! chunks whose row a backfill has not written yet). These rows are the only place the levels
//! below 6 are stored (the `tree` family holds the levels from 6 up): a commit writes the row of
//! every chunk its group completes, checked against the chunk root it also writes, and `audit`
//! recomputes every row from the replayed leaves.
//!
//! `meta` key `tree_chunks_next` counts the chunks that have their row (all chunks below it do).
//! A commit writes rows only when that mark equals the chunks complete before its group;
//! otherwise (a data dir made before the rows) [`LedgerStore::backfill_tree_chunks`] catches up
//! at start, resumably.

use rocksdb::{DBRawIteratorWithThreadMode, WriteBatch};

use super::derived_rows::MarkAdvances;
use super::{CHUNK_LEVELS, CommitGroup, LedgerStore, StorageError, columns, synced};
use crate::core::hash::{NodeHash, leaf_hash};
use crate::core::merkle::{NodeId, aligned_subtrees};

/// Key in `meta` of the number of chunks that have their row.
pub const META_TREE_CHUNKS_NEXT: &[u8] = b"tree_chunks_next";

/// Leaves per chunk.
const CHUNK_LEAVES: u64 = 1 << CHUNK_LEVELS;

/// Hashes in a chunk row: 64 + 32 + ... + 1.
pub const CHUNK_ROW_HASHES: usize = 2 * CHUNK_LEAVES as usize - 1;

/// Chunks backfilled per write batch (about 4 MiB of rows).
const BACKFILL_CHUNKS: u64 = 1024;

/// A chunk's perfect subtrees from its 64 leaves, checked to be aligned.
fn chunk_nodes(chunk: u64, leaves: &[NodeHash]) -> Result<Vec<(NodeId, NodeHash)>, StorageError> {
    let first = first_leaf(chunk)?;
    aligned_subtrees(first, leaves)
        .map_err(|e| StorageError::inconsistent(format!("tree chunk {chunk}: {e}")))
}

/// The first leaf of `chunk`.
pub(super) fn first_leaf(chunk: u64) -> Result<u64, StorageError> {
    chunk
        .checked_mul(CHUNK_LEAVES)
        .filter(|first| NodeId::leaf(*first).is_ok())
        .ok_or_else(|| StorageError::inconsistent(format!("tree chunk {chunk} is beyond any tree")))
}

/// The row value of a complete chunk's nodes.
fn encode_chunk(nodes: &[(NodeId, NodeHash)]) -> Vec<u8> {
    nodes
        .iter()
        .flat_map(|(_, hash)| *hash.as_bytes())
        .collect()
}

/// The nodes of one chunk as a proof read finds them: its stored row, looked up by position, or
/// its perfect subtrees computed from the leaves (sorted by node).
pub(super) enum ChunkNodes {
    /// A complete chunk's row: 127 hashes in [`aligned_subtrees`] order.
    Row {
        /// The chunk.
        chunk: u64,
        /// The row value, checked to be 127 hashes long.
        hashes: Vec<u8>,
    },
    /// Computed from the stored leaves (the chunk at the growing edge, or one without a row).
    Computed(Vec<(NodeId, NodeHash)>),
}

impl ChunkNodes {
    /// A row value of `chunk`, checked for length.
    fn from_row(chunk: u64, hashes: Vec<u8>) -> Result<Self, StorageError> {
        if hashes.len() != CHUNK_ROW_HASHES * 32 {
            return Err(StorageError::undecodable(
                columns::TREE_CHUNKS,
                format!("chunk {chunk}"),
                format!("has {} bytes", hashes.len()),
            ));
        }
        Ok(Self::Row { chunk, hashes })
    }

    /// The hash of node `id` of this chunk, if the chunk holds it.
    pub(super) fn get(&self, id: NodeId) -> Option<NodeHash> {
        match self {
            Self::Row { chunk, hashes } => {
                let level = id.level();
                if level > CHUNK_LEVELS {
                    return None;
                }
                let offset = id.index().checked_sub((chunk * CHUNK_LEAVES) >> level)?;
                if offset >= CHUNK_LEAVES >> level {
                    return None;
                }
                // Levels below `level` take 64 + 32 + ... hashes: 128 - 128 / 2^level.
                let at = usize::try_from(2 * CHUNK_LEAVES - ((2 * CHUNK_LEAVES) >> level) + offset)
                    .ok()?
                    * 32;
                NodeHash::from_slice(hashes.get(at..at + 32)?).ok()
            }
            Self::Computed(nodes) => nodes
                .binary_search_by_key(&id, |(node, _)| *node)
                .ok()
                .map(|at| nodes[at].1),
        }
    }
}

impl LedgerStore {
    /// The number of chunks whose row is written (every chunk below it has one).
    pub fn tree_chunks_next(&self) -> Result<u64, StorageError> {
        self.derived_rows_next(META_TREE_CHUNKS_NEXT)
    }

    /// Adds to a commit group's batch the row of each chunk it completes and the advance of the
    /// mark (also to `advances`), if the rows are up to date (otherwise the backfill will write
    /// them). The group's leaves are the level-0 nodes it writes; the chunk's earlier leaves come
    /// from the store; each row is checked against the chunk root the group writes. Called by
    /// [`LedgerStore::commit`].
    pub(super) fn add_tree_chunk_rows(
        &self,
        batch: &mut WriteBatch,
        group: &CommitGroup,
        advances: &mut MarkAdvances,
    ) -> Result<(), StorageError> {
        // The group's leaves, in append order: consecutive indexes from the first.
        let new_leaves: Vec<(u64, NodeHash)> = group
            .tree_nodes
            .iter()
            .filter(|(id, _)| id.level() == 0)
            .map(|(id, hash)| (id.index(), *hash))
            .collect();
        let (Some(&(first, _)), Some(&(last, _))) = (new_leaves.first(), new_leaves.last()) else {
            return Ok(());
        };
        if self.commit_mark(META_TREE_CHUNKS_NEXT)? != first / CHUNK_LEAVES {
            return Ok(());
        }
        let roots: Vec<(NodeId, NodeHash)> = group
            .tree_nodes
            .iter()
            .filter(|(id, _)| id.level() == CHUNK_LEVELS)
            .copied()
            .collect();
        if !roots.is_empty() {
            let cf = self.cf(columns::TREE_CHUNKS)?;
            let mut iterator = self.db.raw_iterator_cf(self.cf(columns::ENTRIES)?);
            for (root_id, root) in roots {
                let chunk = root_id.index();
                let start = first_leaf(chunk)?;
                // Leaves before the group are its stored entries'; the group's own are in its
                // nodes.
                let mut leaves = if start < first {
                    self.stored_leaves(&mut iterator, start, first - start)?
                } else {
                    Vec::new()
                };
                for index in start + leaves.len() as u64..start + CHUNK_LEAVES {
                    let new_leaf = index
                        .checked_sub(first)
                        .and_then(|at| usize::try_from(at).ok())
                        .and_then(|at| new_leaves.get(at))
                        .filter(|(stored, _)| *stored == index)
                        .map(|(_, hash)| hash);
                    leaves.push(*new_leaf.ok_or_else(|| {
                        StorageError::missing(
                            columns::ENTRIES,
                            format!("leaf {index} of tree chunk {chunk}"),
                        )
                    })?);
                }
                let nodes = chunk_nodes(chunk, &leaves)?;
                if nodes.last() != Some(&(root_id, root)) {
                    return Err(StorageError::inconsistent(format!(
                        "tree chunk {chunk}: its leaves do not hash to the chunk's root"
                    )));
                }
                batch.put_cf(cf, columns::index_key(chunk), encode_chunk(&nodes));
            }
        }
        self.advance_commit_mark(
            batch,
            advances,
            META_TREE_CHUNKS_NEXT,
            (last + 1) / CHUNK_LEAVES,
        )
    }

    /// The leaf hashes of up to `count` consecutive entries from index `first` (fewer at the
    /// growing edge), read as one key range through `iterator` (a raw iterator over the
    /// `entries` family) and hashed (SPEC.md section 2).
    pub(super) fn stored_leaves(
        &self,
        iterator: &mut DBRawIteratorWithThreadMode<'_, rocksdb::DB>,
        first: u64,
        count: u64,
    ) -> Result<Vec<NodeHash>, StorageError> {
        let mut leaves = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        iterator.seek(columns::index_key(first));
        while iterator.valid() && (leaves.len() as u64) < count {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            // The run ends at the first key that is not the next entry.
            let index = first + leaves.len() as u64;
            if columns::decode_u64(key) != Some(index) {
                break;
            }
            let (bytes, _) = self.split_entry_row(index, value)?;
            leaves.push(NodeHash::from(leaf_hash(bytes)));
            iterator.next();
        }
        iterator.status()?;
        Ok(leaves)
    }

    /// The row of each of `chunks` (`None` where it has none), in the order of `chunks`: one
    /// batched point read.
    pub(super) fn tree_chunk_rows(
        &self,
        chunks: &[u64],
    ) -> Result<Vec<Option<ChunkNodes>>, StorageError> {
        // A read-only open of a data dir made before these rows has no such family.
        let Some(cf) = self.db.cf_handle(columns::TREE_CHUNKS) else {
            return Ok(chunks.iter().map(|_| None).collect());
        };
        let keys: Vec<[u8; 8]> = chunks.iter().map(|c| columns::index_key(*c)).collect();
        self.db
            .batched_multi_get_cf(cf, &keys, false)
            .into_iter()
            .zip(chunks)
            .map(|(value, chunk)| {
                value?
                    .map(|value| ChunkNodes::from_row(*chunk, value.to_vec()))
                    .transpose()
            })
            .collect()
    }

    /// The row of `chunk` as stored (its 127 hashes), as `audit` checks it against the replayed
    /// leaves.
    pub fn tree_chunk_row(&self, chunk: u64) -> Result<Option<Vec<NodeHash>>, StorageError> {
        match self.tree_chunk_rows(&[chunk])?.pop().flatten() {
            Some(ChunkNodes::Row { hashes, .. }) => hashes
                .chunks_exact(32)
                .map(|bytes| {
                    NodeHash::from_slice(bytes).map_err(|_| {
                        StorageError::undecodable(
                            columns::TREE_CHUNKS,
                            format!("chunk {chunk}"),
                            "holds a hash that is not 32 bytes",
                        )
                    })
                })
                .collect::<Result<_, _>>()
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Writes the row of every complete chunk that has none yet (a data dir made before them),
    /// from the stored leaves, resumably. Must run before the sequencer starts.
    /// `progress(done, total)` is called after each batch. Returns how many rows it wrote.
    pub fn backfill_tree_chunks(
        &self,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        self.forget_commit_marks();
        let complete = self.tree_size()? / CHUNK_LEAVES;
        let mut iterator = self.db.raw_iterator_cf(self.cf(columns::ENTRIES)?);
        let start = self.tree_chunks_next()?;
        let cf = self.cf(columns::TREE_CHUNKS)?;
        let mut chunk = start;
        while chunk < complete {
            let end = (chunk + BACKFILL_CHUNKS).min(complete);
            let mut batch = WriteBatch::default();
            for chunk in chunk..end {
                let leaves = self.stored_leaves(&mut iterator, first_leaf(chunk)?, CHUNK_LEAVES)?;
                if leaves.len() as u64 != CHUNK_LEAVES {
                    return Err(StorageError::inconsistent(format!(
                        "tree chunk {chunk} has {} of its leaves",
                        leaves.len()
                    )));
                }
                batch.put_cf(
                    cf,
                    columns::index_key(chunk),
                    encode_chunk(&chunk_nodes(chunk, &leaves)?),
                );
            }
            self.put_mark(&mut batch, META_TREE_CHUNKS_NEXT, end)?;
            self.db.write(batch)?;
            chunk = end;
            progress(chunk - start, complete - start);
        }
        self.db.write_opt(WriteBatch::default(), &synced())?;
        Ok(complete.saturating_sub(start))
    }

    /// Drops every chunk row and the mark, so that the next start writes them again from the
    /// leaves (what a data dir made before them goes through). Only with the server stopped.
    pub fn reset_tree_chunks(&self) -> Result<(), StorageError> {
        let cf = self.cf(columns::TREE_CHUNKS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, [0x00u8].as_slice(), [0xffu8; 9].as_slice());
        batch.delete_cf(self.cf(columns::META)?, META_TREE_CHUNKS_NEXT);
        self.db.write_opt(batch, &synced())?;
        self.forget_commit_marks();
        Ok(())
    }
}
