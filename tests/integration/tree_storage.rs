//! The log tree as RocksDB keeps it: every proof read through `LedgerStore` (upper levels read
//! and cached, the six lower levels from each complete 64-leaf chunk's row, or computed from the
//! chunk's entries) equals the proof of an in-memory tree of the same leaves, at every size,
//! growing edge included; with the chunk rows the commits wrote, without them, and with the rows
//! a backfill writes.

use gdpr_ledger::core::hash::{LeafHash, leaf_hash};
use gdpr_ledger::core::merkle::{
    CompactRange, HashStore, MemoryHashStore, NodeId, consistency_proof, inclusion_proof,
    inclusion_proofs, root_at,
};
use gdpr_ledger::proto::v1::Entry;
use gdpr_ledger::storage::{CommitGroup, LedgerStore, NewEntry, StorageConfig, StoredSignature};

const LEAVES: u64 = 700;

/// The bytes of entry `i`: a bare envelope, since the tree needs only its bytes (and the report
/// index skips an entry without an event).
fn entry(i: u64) -> Vec<u8> {
    prost::Message::encode_to_vec(&Entry {
        index: i,
        ..Entry::default()
    })
}

fn leaf(i: u64) -> LeafHash {
    leaf_hash(&entry(i))
}

/// A store holding the tree of `LEAVES` leaves, committed in groups of uneven sizes (as the
/// sequencer commits them), and the same tree in memory.
fn stores(dir: &std::path::Path) -> (LedgerStore, MemoryHashStore) {
    let store = LedgerStore::open(dir, "tree.test/log", &StorageConfig::default()).expect("opens");
    commit_leaves(&store, &mut CompactRange::new(), 0..LEAVES);
    let (memory, _) = MemoryHashStore::from_leaves((0..LEAVES).map(leaf)).expect("tree");
    (store, memory)
}

/// Commits the entries of `leaves` in groups of uneven sizes, `range` the tree before them.
fn commit_leaves(store: &LedgerStore, range: &mut CompactRange, leaves: std::ops::Range<u64>) {
    let mut next = leaves.start;
    for group_size in [1u64, 2, 61, 64, 3, 129, 200].into_iter().cycle() {
        if next == leaves.end {
            break;
        }
        let mut group = CommitGroup::default();
        for i in next..(next + group_size).min(leaves.end) {
            range
                .append(leaf(i), &mut group.tree_nodes)
                .expect("append");
            group.entries.push(NewEntry {
                index: i,
                bytes: entry(i),
                signature: StoredSignature {
                    key_id: [0; 4],
                    signature: [0; 64],
                },
            });
        }
        next = (next + group_size).min(leaves.end);
        store.commit(&group).expect("commit");
    }
}

/// A reset of the chunk rows between commits (the store open) leaves the chunks of the commits
/// after it to the backfill too, as the reset mark says: the commit forgets the mark it
/// remembered. Were it to go on from it, it would write the rows of chunks 10 and 11 and set the
/// mark to 12, and the backfill would never write chunks 0 to 9.
#[test]
fn commits_after_a_reset_of_the_chunk_rows_leave_them_to_the_backfill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        LedgerStore::open(dir.path(), "tree.test/log", &StorageConfig::default()).expect("opens");
    let mut range = CompactRange::new();
    commit_leaves(&store, &mut range, 0..LEAVES);
    assert_eq!(store.tree_chunks_next().expect("mark"), LEAVES / 64);
    store.reset_tree_chunks().expect("reset");
    commit_leaves(&store, &mut range, LEAVES..800);
    assert_eq!(
        store.tree_chunks_next().expect("mark"),
        0,
        "no chunk row written after the reset"
    );
    assert_eq!(store.tree_chunk_row(11).expect("row"), None);
    assert_eq!(store.backfill_tree_chunks(|_, _| {}).expect("backfill"), 12);
    let (memory, _) = MemoryHashStore::from_leaves((0..800).map(leaf)).expect("tree");
    for chunk in 0..12 {
        assert_eq!(
            store.tree_chunk_row(chunk).expect("row"),
            Some(chunk_nodes(&memory, chunk)),
            "chunk {chunk}"
        );
    }
}

/// The nodes of chunk `chunk` of `memory`'s tree, as its row holds them: each level from the
/// leaves up to the chunk's root, in index order.
fn chunk_nodes(memory: &MemoryHashStore, chunk: u64) -> Vec<gdpr_ledger::core::hash::NodeHash> {
    let mut ids = Vec::new();
    for level in 0..=6u8 {
        let first = (chunk * 64) >> level;
        ids.extend((first..first + (64 >> level)).map(|i| NodeId::new(level, i).expect("id")));
    }
    memory.read_hashes(&ids).expect("in memory")
}

#[test]
fn every_node_and_proof_read_from_rocksdb_matches_the_tree_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, memory) = stores(dir.path());
    // The commits wrote the row of every complete chunk, and nothing more.
    let complete = LEAVES / 64;
    assert_eq!(store.tree_chunks_next().expect("mark"), complete);
    for chunk in 0..=complete {
        let expected = (chunk < complete).then(|| chunk_nodes(&memory, chunk));
        assert_eq!(
            store.tree_chunk_row(chunk).expect("row"),
            expected,
            "chunk {chunk}"
        );
    }
    matches_memory(&store, &memory);

    // Without the rows (a data dir made before them), the lower levels are computed: same answers.
    store.reset_tree_chunks().expect("reset");
    assert_eq!(store.tree_chunk_row(0).expect("row"), None);
    matches_memory(&store, &memory);

    // A backfill writes them again, equal to what the commits wrote.
    assert_eq!(
        store.backfill_tree_chunks(|_, _| {}).expect("backfill"),
        complete
    );
    assert_eq!(store.tree_chunks_next().expect("mark"), complete);
    assert!(store.tree_chunk_row(complete - 1).expect("row").is_some());
    matches_memory(&store, &memory);
}

/// Every node, root, inclusion and consistency proof read from `store` equals `memory`'s.
fn matches_memory(store: &LedgerStore, memory: &MemoryHashStore) {
    // Every perfect subtree, one at a time and all in one call (chunks shared, cache filling).
    let mut all = Vec::new();
    for level in 0..=9u8 {
        for index in 0..(LEAVES >> level) {
            let id = NodeId::new(level, index).expect("node id");
            assert_eq!(
                store.read_hashes(&[id]).expect("read"),
                memory.read_hashes(&[id]).expect("in memory"),
                "{id:?}"
            );
            all.push(id);
        }
    }
    assert_eq!(
        store.read_hashes(&all).expect("read"),
        memory.read_hashes(&all).expect("in memory")
    );
    for size in [
        1, 2, 63, 64, 65, 127, 128, 129, 300, 511, 512, 513, 640, 699, 700,
    ] {
        assert_eq!(
            root_at(store, size).ok(),
            root_at(memory, size).ok(),
            "root {size}"
        );
        let indexes: Vec<u64> = (0..size).step_by(7).chain([size - 1]).collect();
        for &index in &indexes {
            assert_eq!(
                inclusion_proof(store, index, size).expect("stored proof"),
                inclusion_proof(memory, index, size).expect("memory proof"),
                "inclusion of {index} in {size}"
            );
        }
        assert_eq!(
            inclusion_proofs(store, &indexes, size).expect("stored proofs"),
            inclusion_proofs(memory, &indexes, size).expect("memory proofs"),
            "batched inclusion in {size}"
        );
        for first in [1, 5, 64, 100, size / 2, size] {
            if first <= size {
                assert_eq!(
                    consistency_proof(store, first, size).expect("stored proof"),
                    consistency_proof(memory, first, size).expect("memory proof"),
                    "consistency {first} -> {size}"
                );
            }
        }
    }
}

#[test]
fn a_node_beyond_the_stored_leaves_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, _) = stores(dir.path());
    // Leaf 700 and the level-2 node over leaves 700..704 do not exist: the chunk holding them
    // ends at leaf 699.
    for id in [NodeId::leaf(LEAVES), NodeId::new(2, LEAVES / 4)] {
        let id = id.expect("node id");
        assert!(store.read_hashes(&[id]).is_err(), "{id:?} was answered");
    }
}
