//! The Merkle tree against a naive reference written straight from RFC 9162 section 2.1
//! (`MTH`, `PATH`, `PROOF`/`SUBPROOF`): exhaustively for every size up to 64, by property tests
//! up to 4,096 leaves, and in sparse trees of 2^40 and more leaves that no test could hold.
//! Also: tampering is rejected, reads per proof are O(log n), appends are O(1) hashes amortized.
//!
//! Property tests run with a fixed seed ([`PROPTEST_SEED`], printed) so that a failure replays.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use gdpr_ledger::core::hash::{LeafHash, NodeHash, RootHash, empty_root, leaf_hash, node_hash};
use gdpr_ledger::core::merkle::{
    CompactRange, ConsistencyError, HashStore, InclusionError, MemoryHashStore, MerkleError,
    MissingNodeError, NodeId, TreeFullError, consistency_proof, consistency_proof_len,
    inclusion_proof, inclusion_proof_len, inclusion_proofs, root_at, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// The seed of every property test in this file.
const PROPTEST_SEED: u64 = 0x6764_7072_6c65_6467;
/// The largest tree the property tests build.
const MAX_PROPTEST_SIZE: u64 = 4096;
/// The largest tree the exhaustive tests cover.
const MAX_EXHAUSTIVE_SIZE: u64 = 64;

// ---------------------------------------------------------------------------------------------
// The naive reference, straight from RFC 9162 section 2.1.

/// Something that knows `MTH(D[start:end])` for non-empty ranges of its leaves.
trait Reference {
    fn mth(&self, start: u64, end: u64) -> NodeHash;
}

/// The largest power of two smaller than `n`, for `n > 1` (RFC 9162 section 2.1.1's `k`).
fn split_point(n: u64) -> u64 {
    assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[0:n])`, with `MTH({}) = BLAKE3("")`.
fn reference_root(tree: &impl Reference, n: u64) -> RootHash {
    if n == 0 {
        empty_root()
    } else {
        RootHash::from(tree.mth(0, n))
    }
}

/// `PATH(m, D[start:end])` (RFC 9162 section 2.1.3.1), `m` absolute.
fn reference_path(tree: &impl Reference, m: u64, start: u64, end: u64) -> Vec<NodeHash> {
    let n = end - start;
    if n == 1 {
        return Vec::new();
    }
    let k = split_point(n);
    if m - start < k {
        let mut path = reference_path(tree, m, start, start + k);
        path.push(tree.mth(start + k, end));
        path
    } else {
        let mut path = reference_path(tree, m, start + k, end);
        path.push(tree.mth(start, start + k));
        path
    }
}

/// Per element of `PATH(m, D[start:end])`: whether the sibling is on the right.
fn reference_path_shape(m: u64, start: u64, end: u64) -> Vec<bool> {
    let n = end - start;
    if n == 1 {
        return Vec::new();
    }
    let k = split_point(n);
    let (mut shape, right) = if m - start < k {
        (reference_path_shape(m, start, start + k), true)
    } else {
        (reference_path_shape(m, start + k, end), false)
    };
    shape.push(right);
    shape
}

/// `PROOF(m, D[0:n])` (RFC 9162 section 2.1.4.1), empty for SPEC.md's edge cases.
fn reference_proof(tree: &impl Reference, m: u64, n: u64) -> Vec<NodeHash> {
    if m == 0 || m == n {
        return Vec::new();
    }
    reference_subproof(tree, m, 0, n, true)
}

/// `SUBPROOF(m, D[start:end], b)`, `m` relative to `start`.
fn reference_subproof(
    tree: &impl Reference,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
) -> Vec<NodeHash> {
    let n = end - start;
    if m == n {
        return if b {
            Vec::new()
        } else {
            vec![tree.mth(start, end)]
        };
    }
    let k = split_point(n);
    if m <= k {
        let mut proof = reference_subproof(tree, m, start, start + k, b);
        proof.push(tree.mth(start + k, end));
        proof
    } else {
        let mut proof = reference_subproof(tree, m - k, start + k, end, false);
        proof.push(tree.mth(start, start + k));
        proof
    }
}

/// A tree held as its list of leaf hashes.
struct LeafList<'a>(&'a [LeafHash]);

impl Reference for LeafList<'_> {
    fn mth(&self, start: u64, end: u64) -> NodeHash {
        let n = end - start;
        if n == 1 {
            return NodeHash::from(self.0[start as usize]);
        }
        let k = split_point(n);
        node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn test_leaf(i: u64) -> LeafHash {
    leaf_hash(format!("leaf-{i}").as_bytes())
}

/// The leaves and the store of the largest tree the property tests use, built once.
fn big_tree() -> &'static (Vec<LeafHash>, MemoryHashStore) {
    static TREE: OnceLock<(Vec<LeafHash>, MemoryHashStore)> = OnceLock::new();
    TREE.get_or_init(|| {
        let leaves: Vec<LeafHash> = (0..MAX_PROPTEST_SIZE).map(test_leaf).collect();
        let (store, _) = MemoryHashStore::from_leaves(leaves.iter().copied()).expect("append");
        (leaves, store)
    })
}

fn flip_bit<const N: usize>(bytes: &[u8; N], bit: usize) -> [u8; N] {
    let mut out = *bytes;
    out[(bit / 8) % N] ^= 1 << (bit % 8);
    out
}

/// A [`HashStore`] that counts calls and nodes read, and remembers the furthest leaf they reach.
struct CountingStore<'a, S> {
    inner: &'a S,
    calls: Cell<usize>,
    nodes: Cell<usize>,
    furthest: Cell<u64>,
}

impl<'a, S> CountingStore<'a, S> {
    fn new(inner: &'a S) -> Self {
        Self {
            inner,
            calls: Cell::new(0),
            nodes: Cell::new(0),
            furthest: Cell::new(0),
        }
    }

    /// One past the last leaf under any node read since the last call, and resets it.
    fn take_furthest(&self) -> u64 {
        self.furthest.replace(0)
    }

    /// (calls, nodes) since the last take, and resets both.
    fn take(&self) -> (usize, usize) {
        (self.calls.replace(0), self.nodes.replace(0))
    }
}

impl<S: HashStore> HashStore for CountingStore<'_, S> {
    type Error = S::Error;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, Self::Error> {
        self.calls.set(self.calls.get() + 1);
        self.nodes.set(self.nodes.get() + ids.len());
        let furthest = ids.iter().map(NodeId::end_leaf).max().unwrap_or(0);
        self.furthest.set(self.furthest.get().max(furthest));
        self.inner.read_hashes(ids)
    }
}

fn ceil_log2(n: u64) -> usize {
    if n <= 1 {
        0
    } else {
        (64 - (n - 1).leading_zeros()) as usize
    }
}

/// The bound asserted on nodes read per inclusion or consistency proof in a tree of `n > 1`
/// leaves: `2 * ceil(log2 n) - 1` (0 for smaller trees, whose proofs are empty). A proof has at
/// most `ceil(log2 n)` elements (plus one for a consistency proof, which starts lower), and only
/// the one on the right edge that is not a perfect subtree is read as several nodes, fewer than
/// its level. Consistency proofs reach it (3 -> 63 reads 11 nodes); inclusion proofs reach it
/// only at `n = 2` and otherwise read at most `2 * ceil(log2 n) - 2`.
fn read_bound(n: u64) -> usize {
    (2 * ceil_log2(n)).saturating_sub(1)
}

// ---------------------------------------------------------------------------------------------
// Exhaustive small sizes.

#[test]
fn roots_of_every_size_up_to_64_match_the_reference() {
    let (leaves, store) = big_tree();
    let reference = LeafList(leaves);
    let mut range = CompactRange::new();
    let mut completed = Vec::new();
    for n in 0..=MAX_EXHAUSTIVE_SIZE {
        let expected = reference_root(&reference, n);
        assert_eq!(range.size(), n);
        assert_eq!(range.root(), expected, "compact range root of size {n}");
        assert_eq!(root_at(store, n).expect("root_at"), expected, "root_at {n}");
        assert_eq!(
            CompactRange::load(store, n).expect("load"),
            range,
            "load {n}"
        );
        range
            .append(leaves[n as usize], &mut completed)
            .expect("append");
    }
}

#[test]
fn inclusion_proofs_for_every_index_of_every_size_up_to_64_match_the_reference() {
    let (leaves, store) = big_tree();
    let reference = LeafList(leaves);
    for n in 1..=MAX_EXHAUSTIVE_SIZE {
        let root = reference_root(&reference, n);
        for m in 0..n {
            let proof = inclusion_proof(store, m, n).expect("inclusion proof");
            assert_eq!(proof, reference_path(&reference, m, 0, n), "PATH({m}, {n})");
            assert_eq!(proof.len(), inclusion_proof_len(m, n));
            verify_inclusion(&leaves[m as usize], m, n, &proof, &root)
                .unwrap_or_else(|e| panic!("PATH({m}, {n}): {e}"));
        }
        assert!(matches!(
            inclusion_proof(store, n, n),
            Err(MerkleError::IndexBeyondSize { index, size }) if index == n && size == n
        ));
    }
}

#[test]
fn batched_inclusion_proofs_equal_one_by_one_proofs_from_one_read() {
    let (_, store) = big_tree();
    for n in [1u64, 2, 7, 64, 1000, 4096] {
        // Every third index, plus repeats and the last leaf, in no particular order.
        let mut indexes: Vec<u64> = (0..n).step_by(3).collect();
        indexes.reverse();
        indexes.push(n - 1);
        indexes.push(0);
        let one_by_one: Vec<_> = indexes
            .iter()
            .map(|&m| inclusion_proof(store, m, n).expect("proof"))
            .collect();
        let counting = CountingStore::new(store);
        let batched = inclusion_proofs(&counting, &indexes, n).expect("batched");
        assert_eq!(batched, one_by_one, "size {n}");
        assert!(
            counting.calls.get() <= 1,
            "one read for the batch, size {n}"
        );
    }
    assert!(matches!(
        inclusion_proofs(store, &[0, 9], 9),
        Err(MerkleError::IndexBeyondSize { index: 9, size: 9 })
    ));
}

#[test]
fn consistency_proofs_for_every_pair_of_sizes_up_to_64_match_the_reference() {
    let (leaves, store) = big_tree();
    let reference = LeafList(leaves);
    for n in 0..=MAX_EXHAUSTIVE_SIZE {
        let second_root = reference_root(&reference, n);
        for m in 0..=n {
            let first_root = reference_root(&reference, m);
            let proof = consistency_proof(store, m, n).expect("consistency proof");
            assert_eq!(proof, reference_proof(&reference, m, n), "PROOF({m}, {n})");
            assert_eq!(proof.len(), consistency_proof_len(m, n));
            verify_consistency(m, n, &first_root, &second_root, &proof)
                .unwrap_or_else(|e| panic!("PROOF({m}, {n}): {e}"));
        }
        assert!(matches!(
            consistency_proof(store, n + 1, n),
            Err(MerkleError::FirstBeyondSecond { first, second }) if first == n + 1 && second == n
        ));
    }
}

#[test]
fn inclusion_proofs_checked_at_another_index_fail_for_every_size_up_to_64() {
    let (leaves, store) = big_tree();
    let reference = LeafList(leaves);
    for n in 1..=MAX_EXHAUSTIVE_SIZE {
        let root = reference_root(&reference, n);
        for m in 0..n {
            let proof = inclusion_proof(store, m, n).expect("inclusion proof");
            for other in (0..n + 3).filter(|o| *o != m) {
                assert!(
                    verify_inclusion(&leaves[m as usize], other, n, &proof, &root).is_err(),
                    "PATH({m}, {n}) accepted as index {other}"
                );
            }
        }
    }
}

/// RFC 9162's inclusion proof does not bind the tree size by itself (the checkpoint signs the
/// size with the root): another size is accepted exactly when the path has the same shape there,
/// since the verifier then combines the same hashes in the same order.
#[test]
fn inclusion_proofs_checked_at_another_size_fail_unless_the_path_has_the_same_shape() {
    let (leaves, store) = big_tree();
    let reference = LeafList(leaves);
    let mut rejected = 0;
    for n in 1..=MAX_EXHAUSTIVE_SIZE {
        let root = reference_root(&reference, n);
        for m in 0..n {
            let proof = inclusion_proof(store, m, n).expect("inclusion proof");
            let shape = reference_path_shape(m, 0, n);
            for other in (0..=MAX_EXHAUSTIVE_SIZE + 3).filter(|o| *o != n) {
                let accepted =
                    verify_inclusion(&leaves[m as usize], m, other, &proof, &root).is_ok();
                let same_shape = m < other && reference_path_shape(m, 0, other) == shape;
                assert_eq!(
                    accepted, same_shape,
                    "PATH({m}, {n}) checked at size {other}"
                );
                rejected += usize::from(!accepted);
            }
        }
    }
    assert!(rejected > 0);
}

// ---------------------------------------------------------------------------------------------
// Property tests up to 4,096 leaves.

fn proptest_config() -> ProptestConfig {
    eprintln!("proptest seed: {PROPTEST_SEED}");
    ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_PROPTEST_SIZE).prop_flat_map(|n| (Just(n), 0..n))
}

/// Two tree sizes, `first <= second`.
fn size_pair() -> impl Strategy<Value = (u64, u64)> {
    (0..=MAX_PROPTEST_SIZE).prop_flat_map(|n| (0..=n, Just(n)))
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn random_inclusion_proofs_match_the_reference((n, m) in size_and_index()) {
        let (leaves, store) = big_tree();
        let reference = LeafList(&leaves[..n as usize]);
        let proof = inclusion_proof(store, m, n).expect("inclusion proof");
        prop_assert_eq!(&proof, &reference_path(&reference, m, 0, n));
        let root = reference_root(&reference, n);
        prop_assert_eq!(root_at(store, n).expect("root_at"), root);
        prop_assert_eq!(verify_inclusion(&leaves[m as usize], m, n, &proof, &root), Ok(()));
    }

    #[test]
    fn random_consistency_proofs_match_the_reference((m, n) in size_pair()) {
        let (leaves, store) = big_tree();
        let reference = LeafList(&leaves[..n as usize]);
        let proof = consistency_proof(store, m, n).expect("consistency proof");
        prop_assert_eq!(&proof, &reference_proof(&reference, m, n));
        let (first_root, second_root) = (reference_root(&reference, m), reference_root(&reference, n));
        prop_assert_eq!(verify_consistency(m, n, &first_root, &second_root, &proof), Ok(()));
    }

    #[test]
    fn tampered_inclusion_proofs_are_rejected(
        (n, m) in size_and_index(),
        element in any::<prop::sample::Index>(),
        bit in 0..256usize,
        other_index in any::<prop::sample::Index>(),
    ) {
        let (leaves, store) = big_tree();
        let leaf = leaves[m as usize];
        let proof = inclusion_proof(store, m, n).expect("inclusion proof");
        let root = root_at(store, n).expect("root_at");
        prop_assert_eq!(verify_inclusion(&leaf, m, n, &proof, &root), Ok(()));

        if !proof.is_empty() {
            let mut tampered = proof.clone();
            let i = element.index(proof.len());
            tampered[i] = NodeHash::from_bytes(flip_bit(tampered[i].as_bytes(), bit));
            prop_assert_eq!(
                verify_inclusion(&leaf, m, n, &tampered, &root),
                Err(InclusionError::RootMismatch)
            );
            let mut shorter = proof.clone();
            shorter.remove(i);
            prop_assert!(matches!(
                verify_inclusion(&leaf, m, n, &shorter, &root),
                Err(InclusionError::ProofLength { .. })
            ), "a shorter proof is not rejected for its length");
        }
        let mut longer = proof.clone();
        longer.push(NodeHash::from(leaf));
        prop_assert!(matches!(
            verify_inclusion(&leaf, m, n, &longer, &root),
            Err(InclusionError::ProofLength { .. })
        ), "a longer proof is not rejected for its length");
        let bad_leaf = LeafHash::from_bytes(flip_bit(leaf.as_bytes(), bit));
        prop_assert_eq!(
            verify_inclusion(&bad_leaf, m, n, &proof, &root),
            Err(InclusionError::RootMismatch)
        );
        let bad_root = RootHash::from_bytes(flip_bit(root.as_bytes(), bit));
        prop_assert_eq!(
            verify_inclusion(&leaf, m, n, &proof, &bad_root),
            Err(InclusionError::RootMismatch)
        );
        // Any other index, inside the tree or beyond it.
        let other = other_index.index(n as usize + 2) as u64;
        if other != m {
            prop_assert!(verify_inclusion(&leaf, other, n, &proof, &root).is_err());
        }
    }

    #[test]
    fn tampered_consistency_proofs_are_rejected(
        (m, n) in size_pair(),
        element in any::<prop::sample::Index>(),
        bit in 0..256usize,
    ) {
        let (_, store) = big_tree();
        let proof = consistency_proof(store, m, n).expect("consistency proof");
        let first_root = root_at(store, m).expect("root_at");
        let second_root = root_at(store, n).expect("root_at");
        prop_assert_eq!(verify_consistency(m, n, &first_root, &second_root, &proof), Ok(()));

        if !proof.is_empty() {
            let mut tampered = proof.clone();
            let i = element.index(proof.len());
            tampered[i] = NodeHash::from_bytes(flip_bit(tampered[i].as_bytes(), bit));
            prop_assert!(verify_consistency(m, n, &first_root, &second_root, &tampered).is_err());
            let mut shorter = proof.clone();
            shorter.remove(i);
            prop_assert!(matches!(
                verify_consistency(m, n, &first_root, &second_root, &shorter),
                Err(ConsistencyError::ProofLength { .. })
            ), "a shorter proof is not rejected for its length");
        }
        let mut longer = proof.clone();
        longer.push(NodeHash::from_bytes(*second_root.as_bytes()));
        prop_assert!(matches!(
            verify_consistency(m, n, &first_root, &second_root, &longer),
            Err(ConsistencyError::ProofLength { .. })
        ), "a longer proof is not rejected for its length");
        // SPEC.md: from the empty tree, anything is consistent, whatever the roots.
        if m > 0 {
            let bad_first = RootHash::from_bytes(flip_bit(first_root.as_bytes(), bit));
            prop_assert!(verify_consistency(m, n, &bad_first, &second_root, &proof).is_err());
            let bad_second = RootHash::from_bytes(flip_bit(second_root.as_bytes(), bit));
            prop_assert!(verify_consistency(m, n, &first_root, &bad_second, &proof).is_err());
        }
        if m < n {
            prop_assert_eq!(
                verify_consistency(n, m, &second_root, &first_root, &proof),
                Err(ConsistencyError::FirstBeyondSecond { first: n, second: m })
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Costs: reads per proof, hashes per append.

#[test]
fn proofs_read_at_most_two_log_n_nodes_in_one_call_all_inside_the_tree() {
    let (_, store) = big_tree();
    let counting = CountingStore::new(store);
    let mut sizes: Vec<u64> = (1..=300).collect();
    sizes.extend([
        511, 512, 513, 1000, 1023, 1024, 1025, 2047, 3000, 4095, 4096,
    ]);
    for &n in &sizes {
        let indexes: Vec<u64> = if n <= 300 {
            (0..n).collect()
        } else {
            (0..n).step_by(7).chain([n - 1]).collect()
        };
        for &m in &indexes {
            let proof = inclusion_proof(&counting, m, n).expect("inclusion proof");
            let (calls, nodes) = counting.take();
            assert!(nodes <= read_bound(n), "PATH({m}, {n}) read {nodes} nodes");
            assert!(
                counting.take_furthest() <= n,
                "PATH({m}, {n}) read beyond the tree"
            );
            assert!(nodes >= proof.len());
            assert_eq!(calls, usize::from(!proof.is_empty()), "PATH({m}, {n})");
        }
        for &m in indexes.iter().chain([&n]) {
            let proof = consistency_proof(&counting, m, n).expect("consistency proof");
            let (calls, nodes) = counting.take();
            assert!(nodes <= read_bound(n), "PROOF({m}, {n}) read {nodes} nodes");
            assert!(
                counting.take_furthest() <= n,
                "PROOF({m}, {n}) read beyond the tree"
            );
            assert!(nodes >= proof.len());
            assert_eq!(calls, usize::from(!proof.is_empty()), "PROOF({m}, {n})");
        }
        if n > 2 {
            let inclusion_bound = read_bound(n) - 1;
            for &m in &indexes {
                let _ = inclusion_proof(&counting, m, n).expect("inclusion proof");
                assert!(counting.take().1 <= inclusion_bound, "PATH({m}, {n})");
            }
        }
        let _ = CompactRange::load(&counting, n).expect("load");
        assert_eq!(counting.take(), (1, n.count_ones() as usize), "load {n}");
    }
    // The bound is tight.
    let _ = consistency_proof(&counting, 3, 63).expect("consistency proof");
    assert_eq!(counting.take(), (1, read_bound(63)));
}

#[test]
fn appending_n_leaves_emits_fewer_than_2n_nodes_each_with_its_subtree_hash() {
    let (leaves, _) = big_tree();
    let reference = LeafList(leaves);
    for n in [1u64, 2, 3, 7, 8, 1000, 1024, 4095, 4096] {
        let mut range = CompactRange::new();
        let mut emitted = Vec::new();
        for (i, leaf) in (0u64..).zip(&leaves[..n as usize]) {
            let before = emitted.len();
            assert_eq!(range.append(*leaf, &mut emitted), Ok(i));
            // The leaf first, then each completed parent, lowest first.
            assert_eq!(
                emitted[before],
                (NodeId::leaf(i).expect("leaf id"), NodeHash::from(*leaf))
            );
        }
        let parents = emitted.iter().filter(|(id, _)| id.level() > 0).count() as u64;
        // Each parent costs one node hash: n - popcount(n) < n hashes for n leaves.
        assert_eq!(parents, n - u64::from(n.count_ones()), "size {n}");
        assert_eq!(emitted.len() as u64, 2 * n - u64::from(n.count_ones()));
        assert!((emitted.len() as u64) < 2 * n);
        let mut seen = std::collections::HashSet::new();
        for (id, hash) in &emitted {
            assert!(seen.insert(*id), "{id} emitted twice");
            assert!(id.end_leaf() <= n);
            assert_eq!(*hash, reference.mth(id.first_leaf(), id.end_leaf()), "{id}");
        }
        assert_eq!(range.root(), reference_root(&reference, n));
    }
}

#[test]
fn store_failures_are_reported_not_papered_over() {
    // A store of 10 leaves asked about a tree of 11 names the node it lacks.
    let (small, _) = MemoryHashStore::from_leaves((0..10).map(test_leaf)).expect("append");
    let leaf_10 = NodeId::leaf(10).expect("leaf id");
    assert!(matches!(
        inclusion_proof(&small, 0, 11),
        Err(MerkleError::Store(MissingNodeError(id))) if id == leaf_10
    ));
    assert!(matches!(
        CompactRange::load(&small, 11),
        Err(MerkleError::Store(MissingNodeError(id))) if id == leaf_10
    ));

    /// A broken store that answers with fewer hashes than asked.
    struct ShortAnswers;
    impl HashStore for ShortAnswers {
        type Error = MissingNodeError;
        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, Self::Error> {
            Ok(vec![NodeHash::from_bytes([0; 32]); ids.len() - 1])
        }
    }
    assert!(matches!(
        root_at(&ShortAnswers, 3),
        Err(MerkleError::StoreAnswerLength { asked: 2, got: 1 })
    ));
    assert!(matches!(
        consistency_proof(&ShortAnswers, 3, 7),
        Err(MerkleError::StoreAnswerLength { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Sparse trees of 2^40 and more leaves.

/// A tree of `size` leaves that all hash to the same filler leaf except a few chosen ones, served
/// without holding it: a perfect subtree with no chosen leaf has the hash `filler[level]`, and
/// the few perfect subtrees above chosen leaves are precomputed in a map.
struct SparseTree {
    size: u64,
    filler: Vec<NodeHash>,
    chosen: BTreeMap<u64, LeafHash>,
    nodes: HashMap<NodeId, NodeHash>,
}

impl SparseTree {
    fn new(size: u64, chosen: &[u64]) -> Self {
        let mut filler = vec![NodeHash::from(leaf_hash(b"filler"))];
        for level in 1..64 {
            let below = filler[level - 1];
            filler.push(node_hash(&below, &below));
        }
        let chosen: BTreeMap<u64, LeafHash> = chosen
            .iter()
            .map(|&i| {
                assert!(i < size);
                (i, leaf_hash(format!("chosen-{i}").as_bytes()))
            })
            .collect();
        let mut tree = Self {
            size,
            filler,
            chosen,
            nodes: HashMap::new(),
        };
        for level in 0u8..64 {
            let ids: Vec<NodeId> = tree
                .chosen
                .keys()
                .filter_map(|&i| NodeId::new(level, i >> level).ok())
                .filter(|id| id.end_leaf() <= size)
                .collect();
            for id in ids {
                let hash = if level == 0 {
                    NodeHash::from(tree.chosen[&id.index()])
                } else {
                    let left = NodeId::new(level - 1, 2 * id.index()).expect("child");
                    let right = NodeId::new(level - 1, 2 * id.index() + 1).expect("child");
                    node_hash(&tree.node(left), &tree.node(right))
                };
                tree.nodes.insert(id, hash);
            }
        }
        tree
    }

    fn leaf(&self, i: u64) -> LeafHash {
        self.chosen
            .get(&i)
            .copied()
            .unwrap_or_else(|| LeafHash::from_bytes(*self.filler[0].as_bytes()))
    }

    fn node(&self, id: NodeId) -> NodeHash {
        self.nodes
            .get(&id)
            .copied()
            .unwrap_or(self.filler[id.level() as usize])
    }
}

impl Reference for SparseTree {
    /// `MTH` by RFC 9162's recursion, independent of the precomputed map: only perfect subtrees
    /// without chosen leaves are shortcut, to `filler[level]`.
    fn mth(&self, start: u64, end: u64) -> NodeHash {
        let n = end - start;
        if n == 1 {
            return NodeHash::from(self.leaf(start));
        }
        if n.is_power_of_two() && self.chosen.range(start..end).next().is_none() {
            return self.filler[n.trailing_zeros() as usize];
        }
        let k = split_point(n);
        node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
    }
}

impl HashStore for SparseTree {
    type Error = MissingNodeError;

    /// Holds exactly the perfect subtrees of a tree of `size` leaves.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, Self::Error> {
        ids.iter()
            .map(|id| {
                (id.end_leaf() <= self.size)
                    .then(|| self.node(*id))
                    .ok_or(MissingNodeError(*id))
            })
            .collect()
    }
}

const TWO_40: u64 = 1 << 40;

fn check_sparse_proofs(tree: &SparseTree, sizes: &[u64], extra_indexes: &[u64]) {
    let counting = CountingStore::new(tree);
    for &n in sizes {
        let root = reference_root(tree, n);
        assert_eq!(root_at(&counting, n).expect("root_at"), root, "root of {n}");
        assert_eq!(CompactRange::load(&counting, n).expect("load").root(), root);
        counting.take();
        let indexes = tree.chosen.keys().chain(extra_indexes).filter(|i| **i < n);
        for &m in indexes {
            let proof = inclusion_proof(&counting, m, n).expect("inclusion proof");
            let (calls, nodes) = counting.take();
            assert_eq!(calls, usize::from(!proof.is_empty()));
            assert!(nodes <= read_bound(n), "PATH({m}, {n}) read {nodes}");
            assert_eq!(proof, reference_path(tree, m, 0, n), "PATH({m}, {n})");
            verify_inclusion(&tree.leaf(m), m, n, &proof, &root)
                .unwrap_or_else(|e| panic!("PATH({m}, {n}): {e}"));
        }
    }
    for (a, &first) in sizes.iter().enumerate() {
        for &second in &sizes[a..] {
            let proof = consistency_proof(&counting, first, second).expect("consistency proof");
            let (_, nodes) = counting.take();
            assert!(
                nodes <= read_bound(second),
                "PROOF({first}, {second}) read {nodes}"
            );
            assert_eq!(
                proof,
                reference_proof(tree, first, second),
                "PROOF({first}, {second})"
            );
            let (r1, r2) = (reference_root(tree, first), reference_root(tree, second));
            verify_consistency(first, second, &r1, &r2, &proof)
                .unwrap_or_else(|e| panic!("PROOF({first}, {second}): {e}"));
        }
    }
}

#[test]
fn proofs_in_a_sparse_tree_of_2_pow_40_plus_3_leaves() {
    let chosen = [0, 1, 12_345, TWO_40 / 2 + 7, TWO_40 - 1, TWO_40, TWO_40 + 2];
    let tree = SparseTree::new(TWO_40 + 3, &chosen);
    assert!(tree.nodes.len() < 64 * chosen.len());
    let sizes = [
        1,
        12_346,
        TWO_40 / 2 + 8,
        TWO_40 - 1,
        TWO_40,
        TWO_40 + 1,
        TWO_40 + 3,
    ];
    check_sparse_proofs(&tree, &sizes, &[TWO_40 / 3, TWO_40 - 2]);
    // A size the store does not reach is reported, not invented.
    assert!(matches!(
        root_at(&tree, TWO_40 + 4),
        Err(MerkleError::Store(MissingNodeError(id))) if id.end_leaf() == TWO_40 + 4
    ));
}

#[test]
fn proofs_and_appends_at_the_largest_possible_tree() {
    let last = u64::MAX - 1;
    let chosen = [0, 5, TWO_40 + 1, 1 << 63, last];
    let tree = SparseTree::new(u64::MAX, &chosen);
    let sizes = [TWO_40 + 3, 1 << 63, (1 << 63) + 1, last, u64::MAX];
    check_sparse_proofs(&tree, &sizes, &[u64::MAX / 3]);

    // Appending the last possible leaf completes the tree; nothing fits after it.
    let mut range = CompactRange::load(&tree, last).expect("load");
    let mut emitted = Vec::new();
    assert_eq!(range.append(tree.leaf(last), &mut emitted), Ok(last));
    assert_eq!(
        emitted,
        vec![(
            NodeId::leaf(last).expect("leaf id"),
            tree.node(NodeId::leaf(last).expect("leaf id"))
        )]
    );
    assert_eq!(range.root(), reference_root(&tree, u64::MAX));
    assert_eq!(range, CompactRange::load(&tree, u64::MAX).expect("load"));
    assert_eq!(range.append(tree.leaf(0), &mut emitted), Err(TreeFullError));
    assert_eq!(range.size(), u64::MAX);
    assert_eq!(emitted.len(), 1);
}
