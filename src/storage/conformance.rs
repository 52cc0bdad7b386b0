//! One suite of behaviour that every [`TailStore`] passes: the RocksDB store and the in-memory
//! one. What the sequencer relies on: a commit is read back exactly, is all or nothing, and a
//! shredding in a group destroys what earlier parts of the same group sealed.

use prost::Message as _;

use super::{
    CommitGroup, EventIdRecord, LedgerStore, MemoryStore, NewEntry, StoredSignature, SubjectHead,
    TailStore, columns,
};
use crate::core::directory::SubjectToken;
use crate::core::hash::{LeafHash, NodeHash, leaf_hash};
use crate::core::merkle::{CompactRange, NodeId};
use crate::core::subject_index::{SubjectHead as IndexHead, apply_updates};
use crate::proto::v1::Entry;

const ALICE: [u8; 32] = [0xA1; 32];
const BOB: [u8; 32] = [0xB0; 32];
const CAROL: [u8; 32] = [0xCA; 32];

/// A group of `count` bare entries from `first` on (the tree needs only their bytes), with their
/// tree nodes, extending `range`.
pub(super) fn group_of(
    range: &mut CompactRange,
    first: u64,
    count: u64,
) -> (CommitGroup, Vec<LeafHash>) {
    let mut group = CommitGroup::default();
    let mut leaves = Vec::new();
    for index in first..first + count {
        let bytes = Entry {
            index,
            producer: "crm".into(),
            ..Entry::default()
        }
        .encode_to_vec();
        let leaf = leaf_hash(&bytes);
        range.append(leaf, &mut group.tree_nodes).expect("append");
        leaves.push(leaf);
        group.entries.push(NewEntry {
            index,
            bytes,
            signature: StoredSignature {
                key_id: [1, 2, 3, 4],
                signature: [index as u8; 64],
            },
        });
    }
    (group, leaves)
}

/// The suite. `fail_next` makes the store's next commit fail.
fn conforms<S: TailStore>(store: &S, fail_next: impl Fn(&S)) {
    // Empty.
    assert_eq!(store.tree_size().expect("size"), 0);
    assert_eq!(store.entry(0).expect("read"), None);
    assert_eq!(store.latest_subject_index().expect("read"), None);
    assert_eq!(store.event_id("crm", "e-0").expect("read"), None);

    // A first group: 70 entries (a whole 64-leaf chunk and more), Alice's rows, the index.
    let mut range = CompactRange::new();
    let (mut first, leaves) = group_of(&mut range, 0, 70);
    first.event_ids = (0..70)
        .map(|i| {
            let record = EventIdRecord {
                index: i,
                content_digest: [i as u8; 32],
            };
            ("crm".to_owned(), format!("e-{i}"), record)
        })
        .collect();
    // Alice's head records her first entry; Carol's, as a head row written before heads
    // recorded it, does not.
    first.subject_heads = vec![
        (
            ALICE,
            SubjectHead {
                count: 2,
                last_index: 69,
                first_index: Some(3),
            },
        ),
        (
            CAROL,
            SubjectHead {
                count: 1,
                last_index: 5,
                first_index: None,
            },
        ),
    ];
    first.subject_entries = vec![(ALICE, 0, 3), (ALICE, 1, 69)];
    first.directory_rows = vec![([7; 32], ALICE)];
    first.data_keys = vec![(ALICE, b"wrapped alice".to_vec())];
    first.sealed_details = vec![(ALICE, 3, b"sealed 3".to_vec())];
    first.sealed_identifiers = vec![(ALICE, b"sealed ids".to_vec())];
    let update = (
        SubjectToken::from_bytes(ALICE),
        IndexHead {
            count: 2,
            last_index: 69,
            last_leaf: leaves[69],
        },
    );
    let index = apply_updates(store, None, 70, &[update]).expect("index version");
    let root = index.root;
    first.subject_index = Some(index);
    assert_eq!(store.applied_input().expect("read"), None);
    first.applied_input = Some(41);
    first.checkpoint = Some((70, "note 70".to_owned()));
    // The store says when only the write is left (the sequencer then finishes the next group):
    // once, before any of the group is visible.
    let sizes_seen = std::sync::Mutex::new(Vec::new());
    store
        .commit_signalling(&first, &|| {
            if let Ok(mut seen) = sizes_seen.lock() {
                seen.push(store.tree_size().expect("size"));
            }
        })
        .expect("commit");
    assert_eq!(
        sizes_seen.into_inner().expect("lock"),
        [0],
        "called once, before the write"
    );
    assert_eq!(
        store.checkpoint_at(70).expect("read").as_deref(),
        Some("note 70")
    );
    assert_eq!(store.applied_input().expect("read"), Some(41));

    assert_eq!(store.tree_size().expect("size"), 70);
    for entry in &first.entries {
        assert_eq!(
            store.entry(entry.index).expect("read"),
            Some(entry.bytes.clone())
        );
        assert_eq!(
            store.signature(entry.index).expect("read"),
            Some(entry.signature)
        );
    }
    let record = store.event_id("crm", "e-5").expect("read").expect("row");
    assert_eq!((record.index, record.content_digest), (5, [5; 32]));
    assert_eq!(store.event_id("billing", "e-5").expect("read"), None);
    assert_eq!(
        store.subject_head(&ALICE).expect("read"),
        Some(SubjectHead {
            count: 2,
            last_index: 69,
            first_index: Some(3),
        })
    );
    assert_eq!(
        store.subject_heads(&[CAROL, BOB, ALICE]).expect("read"),
        vec![
            Some(SubjectHead {
                count: 1,
                last_index: 5,
                first_index: None,
            }),
            None,
            store.subject_head(&ALICE).expect("read"),
        ]
    );
    assert_eq!(store.directory_token(&[7; 32]).expect("read"), Some(ALICE));
    assert_eq!(store.directory_token(&[8; 32]).expect("read"), None);
    assert_eq!(
        store.data_key_row(&ALICE).expect("read").as_deref(),
        Some(b"wrapped alice".as_slice())
    );
    assert_eq!(
        store.sealed_details(&ALICE, 3).expect("read").as_deref(),
        Some(b"sealed 3".as_slice())
    );
    assert_eq!(
        store.sealed_identifiers(&ALICE).expect("read").as_deref(),
        Some(b"sealed ids".as_slice())
    );
    assert_eq!(
        store.latest_subject_index().expect("read"),
        Some((70, root))
    );
    assert_eq!(store.read_root(70).expect("read"), Some(root));
    // The tree: every leaf, a chunk's root, and the frontier a restart loads.
    let ids: Vec<NodeId> = (0..70).map(|i| NodeId::leaf(i).expect("id")).collect();
    let read: Vec<NodeHash> = store.read_hashes(&ids).expect("leaves");
    assert_eq!(
        read,
        leaves
            .iter()
            .map(|l| NodeHash::from(*l))
            .collect::<Vec<_>>()
    );
    let chunk_root = NodeId::new(6, 0).expect("id");
    let expected = first
        .tree_nodes
        .iter()
        .find(|(id, _)| *id == chunk_root)
        .map(|(_, hash)| *hash);
    assert_eq!(
        store
            .read_hashes(&[chunk_root])
            .expect("node")
            .first()
            .copied(),
        expected
    );
    let loaded = CompactRange::load(store, 70).expect("frontier");
    assert_eq!(loaded.root(), range.root());

    // A failed commit leaves nothing behind.
    let (mut failed, _) = group_of(&mut range.clone(), 70, 3);
    failed.directory_rows = vec![([9; 32], BOB)];
    failed.applied_input = Some(42);
    failed.checkpoint = Some((73, "note 73".to_owned()));
    fail_next(store);
    assert!(store.commit(&failed).is_err());
    assert_eq!(store.checkpoint_at(73).expect("read"), None);
    assert_eq!(store.tree_size().expect("size"), 70);
    assert_eq!(store.applied_input().expect("read"), Some(41));
    assert_eq!(store.entry(70).expect("read"), None);
    assert_eq!(store.directory_token(&[9; 32]).expect("read"), None);

    // Alice's erasure opens in a group that also sealed new details for her: the shredding
    // comes last, so nothing sealed for her survives, and her record is written.
    let (mut erasing, _) = group_of(&mut range, 70, 2);
    erasing.sealed_details = vec![(ALICE, 70, b"sealed 70".to_vec())];
    erasing.sealed_identifiers = vec![(ALICE, b"sealed ids 2".to_vec())];
    erasing.data_keys = vec![(BOB, b"wrapped bob".to_vec())];
    erasing.shreds = vec![(ALICE, b"record".to_vec())];
    store.commit(&erasing).expect("commit");
    assert_eq!(
        store.data_key_row(&ALICE).expect("read").as_deref(),
        Some(columns::SHREDDED_KEY)
    );
    assert_eq!(store.sealed_details(&ALICE, 3).expect("read"), None);
    assert_eq!(store.sealed_details(&ALICE, 70).expect("read"), None);
    assert_eq!(store.sealed_identifiers(&ALICE).expect("read"), None);
    assert_eq!(
        store.data_key_row(&BOB).expect("read").as_deref(),
        Some(b"wrapped bob".as_slice())
    );
    assert_eq!(store.tree_size().expect("size"), 72);
    // A group that is not a replica's apply leaves the applied sequence as it was.
    assert_eq!(store.applied_input().expect("read"), Some(41));

    // A replica's close of a transit epoch: a group without entries, durable with the applied
    // sequence; the log does not move.
    assert_eq!(store.closed_epoch().expect("read"), None);
    let closed = super::ClosedEpoch {
        epoch: 9,
        oldest_kept: 4,
        oldest_kept_check: [6; 32],
    };
    let close = CommitGroup {
        applied_input: Some(43),
        closed_epoch: Some(closed),
        ..CommitGroup::default()
    };
    store.commit(&close).expect("commit");
    assert_eq!(store.closed_epoch().expect("read"), Some(closed));
    assert_eq!(store.applied_input().expect("read"), Some(43));
    assert_eq!(store.tree_size().expect("size"), 72);
    let later = CommitGroup {
        applied_input: Some(44),
        closed_epoch: Some(super::ClosedEpoch {
            epoch: 10,
            ..closed
        }),
        ..CommitGroup::default()
    };
    fail_next(store);
    assert!(store.commit(&later).is_err());
    assert_eq!(store.closed_epoch().expect("read"), Some(closed));
    assert_eq!(store.applied_input().expect("read"), Some(43));
    assert_eq!(
        CompactRange::load(store, 72).expect("frontier").root(),
        range.root()
    );

    // Checkpoints.
    assert_eq!(store.checkpoint_at(72).expect("read"), None);
    store.put_checkpoint(72, "note 72").expect("put");
    assert_eq!(
        store.checkpoint_at(72).expect("read").as_deref(),
        Some("note 72")
    );
}

#[test]
fn the_rocksdb_store_conforms() {
    let (_dir, store) = LedgerStore::temporary("ledger.test/conformance");
    conforms(&store, |store| {
        store
            .fail_next_commit
            .store(true, std::sync::atomic::Ordering::SeqCst)
    });
}

#[test]
fn the_memory_store_conforms() {
    conforms(&MemoryStore::new(), MemoryStore::fail_next_commit);
}
