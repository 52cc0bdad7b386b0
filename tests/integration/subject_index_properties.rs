//! The subject index against a naive reference written straight from docs/subject-index.md
//! section 5 (a full 256-level sparse tree hashed recursively over a `BTreeMap`), by property
//! tests over random update sequences with overwrites and long shared prefixes; and what a
//! verifier must refuse: altered proofs, other tokens, heads and roots, stale proofs, forged
//! absence. Also: pruning keeps exactly what retained versions reach, the tree has O(n) nodes and
//! O(log n) paths, and a corrupted store is named as such.
//!
//! Property tests run with a fixed seed ([`PROPTEST_SEED`], printed) so that a failure replays.

use std::collections::{BTreeMap, HashSet};

use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::directory::SubjectToken;
use gdpr_ledger::core::hash::{LeafHash, NodeHash, RootHash, leaf_hash};
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::core::subject_index::{
    EMPTY_SUBTREE_HASH, IndexCommit, IndexNode, IndexPage, MemorySubjectStore, NodeKey, NodePath,
    ProofTerminal, SubjectHead, SubjectIndexError, SubjectIndexStoreError, SubjectNodeStore,
    SubjectProof, SubtreeRef, apply_updates, empty_index_root, find_subject_index_root,
    format_extension_line, prove, read_node, root_at, subject_interior_hash, subject_leaf_hash,
    verify,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// The seed of every property test in this file.
const PROPTEST_SEED: u64 = 0x7375_626a_6563_7473;

type Index = BTreeMap<SubjectToken, SubjectHead>;

// ---------------------------------------------------------------------------------------------
// The naive reference: docs/subject-index.md section 5, over a sorted map.

fn bit(token: &SubjectToken, i: usize) -> bool {
    token.as_bytes()[i / 8] & (0x80 >> (i % 8)) != 0
}

/// `H(S, d)`: empty, one leaf, or the interior hash of the two halves split at bit `d`.
fn naive_hash(pairs: &[(SubjectToken, SubjectHead)], depth: usize) -> NodeHash {
    match pairs {
        [] => EMPTY_SUBTREE_HASH,
        [(token, head)] => subject_leaf_hash(token, head),
        _ => {
            let (left, right): (Vec<_>, Vec<_>) = pairs.iter().partition(|(t, _)| !bit(t, depth));
            subject_interior_hash(
                &naive_hash(&left, depth + 1),
                &naive_hash(&right, depth + 1),
            )
        }
    }
}

fn naive_root(index: &Index) -> RootHash {
    let pairs: Vec<_> = index.iter().map(|(t, h)| (*t, *h)).collect();
    RootHash::from(naive_hash(&pairs, 0))
}

/// The walk of section 7: siblings while two or more pairs remain on the token's side.
fn naive_proof(index: &Index, token: &SubjectToken) -> SubjectProof {
    let mut pairs: Vec<_> = index.iter().map(|(t, h)| (*t, *h)).collect();
    let mut siblings = Vec::new();
    let mut depth = 0;
    while pairs.len() >= 2 {
        let (mine, other): (Vec<_>, Vec<_>) = pairs
            .into_iter()
            .partition(|(t, _)| bit(t, depth) == bit(token, depth));
        siblings.push(naive_hash(&other, depth + 1));
        pairs = mine;
        depth += 1;
    }
    let terminal = match pairs.first() {
        None => ProofTerminal::Empty,
        Some((token, head)) => ProofTerminal::Leaf {
            token: *token,
            head: *head,
        },
    };
    SubjectProof { terminal, siblings }
}

// ---------------------------------------------------------------------------------------------
// Strategies and helpers.

fn proptest_config(cases: u32) -> ProptestConfig {
    eprintln!("proptest seed: {PROPTEST_SEED}");
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn pool_token(i: u8) -> SubjectToken {
    SubjectToken::from_bytes(*blake3::hash(&[i]).as_bytes())
}

fn flip(token: &SubjectToken, i: usize) -> SubjectToken {
    SubjectToken::from_bytes(flip_bytes(token.as_bytes(), i))
}

fn shared_bits(a: &SubjectToken, b: &SubjectToken) -> usize {
    (0..256).take_while(|&i| bit(a, i) == bit(b, i)).count()
}

fn flip_bytes(bytes: &[u8; 32], i: usize) -> [u8; 32] {
    let mut bytes = *bytes;
    bytes[i / 8] ^= 0x80 >> (i % 8);
    bytes
}

/// Random tokens, a small pool (so that updates overwrite), and pool tokens with one late bit
/// flipped (so that paths share up to 255 bits).
fn any_token() -> impl Strategy<Value = SubjectToken> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(SubjectToken::from_bytes),
        (0u8..12).prop_map(pool_token),
        (0u8..12, 180usize..256).prop_map(|(i, b)| flip(&pool_token(i), b)),
    ]
}

fn any_head() -> impl Strategy<Value = SubjectHead> {
    (any::<u64>(), any::<u64>(), any::<[u8; 32]>()).prop_map(|(count, last_index, leaf)| {
        SubjectHead {
            count,
            last_index,
            last_leaf: LeafHash::from_bytes(leaf),
        }
    })
}

fn any_batches() -> impl Strategy<Value = Vec<Vec<(SubjectToken, SubjectHead)>>> {
    prop::collection::vec(
        prop::collection::vec((any_token(), any_head()), 0..24),
        1..8,
    )
}

/// Applies `batches` as versions 1, 2, ...; returns the store and the map after each version.
fn build(batches: &[Vec<(SubjectToken, SubjectHead)>]) -> (MemorySubjectStore, Vec<Index>) {
    let mut store = MemorySubjectStore::new();
    let mut snapshots = Vec::new();
    let mut index = Index::new();
    for (version, batch) in (1u64..).zip(batches) {
        let base = (version > 1).then(|| version - 1);
        let commit = apply_updates(&store, base, version, batch).expect("apply");
        store.commit(commit);
        index.extend(batch.iter().copied());
        snapshots.push(index.clone());
    }
    (store, snapshots)
}

fn head(n: u64) -> SubjectHead {
    SubjectHead {
        count: n + 1,
        last_index: n,
        last_leaf: leaf_hash(format!("entry-{n}").as_bytes()),
    }
}

fn random_token(i: u64) -> SubjectToken {
    SubjectToken::from_bytes(*blake3::hash(&i.to_be_bytes()).as_bytes())
}

/// An index of `n` random tokens, committed in batches of `batch` as versions 1, 2, ...
fn random_index(n: u64, batch: u64) -> (MemorySubjectStore, Index, u64) {
    let mut store = MemorySubjectStore::new();
    let mut index = Index::new();
    let mut version = 0;
    for start in (0..n).step_by(batch as usize) {
        let updates: Vec<_> = (start..n.min(start + batch))
            .map(|i| (random_token(i), head(i)))
            .collect();
        let commit = apply_updates(
            &store,
            (version > 0).then_some(version),
            version + 1,
            &updates,
        )
        .expect("apply");
        store.commit(commit);
        index.extend(updates);
        version += 1;
    }
    (store, index, version)
}

/// The keys of every node reachable from `version`'s root.
fn reachable(store: &MemorySubjectStore, version: u64) -> HashSet<NodeKey> {
    let mut keys = HashSet::new();
    let mut stack = vec![(store.read_root(version).unwrap().unwrap(), NodePath::ROOT)];
    while let Some((reference, path)) = stack.pop() {
        let SubtreeRef::Stored { version, .. } = reference else {
            continue;
        };
        let key = NodeKey { version, path };
        let node = read_node(store, key).expect("reachable node stored");
        keys.insert(key);
        if let IndexNode::Interior { left, right } = node {
            stack.push((left, child(&path, 0)));
            stack.push((right, child(&path, 1)));
        }
    }
    keys
}

/// The key of the page that holds the node at `key`.
fn page_of(key: &NodeKey) -> NodeKey {
    NodeKey {
        version: key.version,
        path: key.path.page_top(),
    }
}

/// A path's child, through the public constructor.
fn child(path: &NodePath, side: u8) -> NodePath {
    let depth = usize::from(path.depth());
    let mut bits = *path.bits();
    if side == 1 {
        bits[depth / 8] |= 0x80 >> (depth % 8);
    }
    NodePath::new(path.depth() + 1, bits).expect("child path")
}

// ---------------------------------------------------------------------------------------------
// Property tests.

proptest! {
    #![proptest_config(proptest_config(96))]

    #[test]
    fn random_update_sequences_match_the_naive_reference(
        batches in any_batches(),
        extra in prop::collection::vec(any_token(), 4),
    ) {
        let (store, snapshots) = build(&batches);
        let latest = snapshots.last().expect("one batch at least");
        let latest_root = naive_root(latest);
        let mut tokens: Vec<SubjectToken> = latest.keys().copied().collect();
        tokens.extend(extra);
        for (version, index) in (1u64..).zip(&snapshots) {
            let root = naive_root(index);
            prop_assert_eq!(root_at(&store, version).expect("root_at"), root);
            for (i, token) in tokens.iter().enumerate() {
                let proof = prove(&store, version, token).expect("prove");
                // The naive proof costs O(n) hashes: compare a quarter of the tokens and the
                // extra ones (mostly absent); every token's proof is verified below.
                if i % 4 == 0 || i + 4 >= tokens.len() {
                    prop_assert_eq!(&proof, &naive_proof(index, token));
                }
                prop_assert_eq!(verify(&root, token, &proof), Ok(index.get(token).copied()));
                // A proof of an earlier version against the latest root never gives a stale answer,
                // and fails whenever the token's head changed since.
                if let Ok(answer) = verify(&latest_root, token, &proof) {
                    prop_assert_eq!(answer, latest.get(token).copied());
                }
                if index.get(token) != latest.get(token) {
                    prop_assert!(verify(&latest_root, token, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn any_altered_byte_of_a_proof_fails(
        batches in any_batches(),
        asked in any_token(),
        masks in prop::collection::vec(1u8..=255, 64),
    ) {
        let (store, snapshots) = build(&batches);
        let version = snapshots.len() as u64;
        let root = root_at(&store, version).expect("root_at");
        let proof = prove(&store, version, &asked).expect("prove");
        let bytes = proof.to_bytes();
        prop_assert_eq!(SubjectProof::from_bytes(&bytes), Ok(proof.clone()));
        for position in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[position] ^= masks[position % masks.len()];
            if let Ok(decoded) = SubjectProof::from_bytes(&altered) {
                prop_assert!(
                    verify(&root, &asked, &decoded).is_err(),
                    "byte {} altered still verifies", position
                );
            }
        }
    }

    #[test]
    fn other_tokens_heads_and_roots_fail(
        batches in any_batches(),
        asked in any_token(),
        other in any_token(),
        other_head in any_head(),
        bit in 0usize..256,
    ) {
        let (store, snapshots) = build(&batches);
        let index = snapshots.last().expect("one batch at least");
        let version = snapshots.len() as u64;
        let root = root_at(&store, version).expect("root_at");
        let proof = prove(&store, version, &asked).expect("prove");

        // Another token: the proof may prove it too (same path), but never wrongly.
        if let Ok(answer) = verify(&root, &other, &proof) {
            prop_assert_eq!(answer, index.get(&other).copied());
        }
        let across = flip(&asked, 0);
        if let Ok(answer) = verify(&root, &across, &proof) {
            prop_assert_eq!(answer, index.get(&across).copied());
        }
        // Another root.
        let bad_root = RootHash::from_bytes(flip_bytes(root.as_bytes(), bit));
        prop_assert_eq!(verify(&bad_root, &asked, &proof), Err(SubjectIndexError::RootMismatch));
        // Another head in the terminal leaf.
        if let ProofTerminal::Leaf { token, head } = proof.terminal
            && head != other_head
        {
            let terminal = ProofTerminal::Leaf { token, head: other_head };
            let altered = SubjectProof { terminal, ..proof.clone() };
            prop_assert_eq!(
                verify(&root, &asked, &altered),
                Err(SubjectIndexError::RootMismatch)
            );
        }
        // A sibling flipped.
        if !proof.siblings.is_empty() {
            let mut altered = proof.clone();
            let i = bit % altered.siblings.len();
            let flipped = flip_bytes(altered.siblings[i].as_bytes(), bit);
            altered.siblings[i] = NodeHash::from_bytes(flipped);
            prop_assert_eq!(
                verify(&root, &asked, &altered),
                Err(SubjectIndexError::RootMismatch)
            );
        }
    }

    #[test]
    fn forged_absence_and_membership_fail(batches in any_batches(), fake in any_head()) {
        let (store, snapshots) = build(&batches);
        let index = snapshots.last().expect("one batch at least");
        let version = snapshots.len() as u64;
        let root = root_at(&store, version).expect("root_at");
        for (token, real) in index {
            let proof = prove(&store, version, token).expect("prove");
            prop_assert_eq!(verify(&root, token, &proof), Ok(Some(*real)));
            // The real siblings with an empty terminal, at the real depth or above it.
            let mut forgeries = Vec::new();
            let depth = proof.siblings.len();
            for cut in [0, depth / 2, depth.saturating_sub(1), depth] {
                let siblings = proof.siblings[..cut].to_vec();
                forgeries.push(SubjectProof { terminal: ProofTerminal::Empty, siblings });
            }
            // The other tokens nearest on the path make the likeliest forgeries.
            let mut others: Vec<_> = index.iter().filter(|(t, _)| *t != token).collect();
            others.sort_by_key(|(t, _)| std::cmp::Reverse(shared_bits(t, token)));
            for (other, other_head) in others.into_iter().take(6) {
                // Another token's leaf in place of the token's, and another token's own proof.
                let terminal = ProofTerminal::Leaf { token: *other, head: *other_head };
                forgeries.push(SubjectProof { terminal, ..proof.clone() });
                forgeries.push(prove(&store, version, other).expect("prove"));
            }
            for forged in &forgeries {
                prop_assert!(
                    verify(&root, token, forged).is_err(),
                    "forged absence verifies: {:?}", forged
                );
            }
            // The proof of a neighbouring absent token may end in this token's leaf; then it
            // proves this token's real head, never its absence.
            let neighbour = prove(&store, version, &flip(token, 255)).expect("prove");
            if let Ok(answer) = verify(&root, token, &neighbour) {
                prop_assert_eq!(answer, Some(*real));
            }
        }
        // Forged membership of an absent token, on the absence proof's path.
        let first = index.keys().next().copied().unwrap_or_else(|| pool_token(0));
        let absent = flip(&first, 200);
        if !index.contains_key(&absent) {
            let proof = prove(&store, version, &absent).expect("prove");
            prop_assert_eq!(verify(&root, &absent, &proof), Ok(None));
            let terminal = ProofTerminal::Leaf { token: absent, head: fake };
            let forged = SubjectProof { terminal, ..proof };
            prop_assert!(verify(&root, &absent, &forged).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Storage: versions, pruning, size, costs.

#[test]
fn pruning_keeps_exactly_what_retained_versions_reach() {
    let (mut store, _, versions) = random_index(600, 50);
    // Overwrite some heads so that leaves, not only interior nodes, go stale.
    let mut version = versions;
    for round in 0..4u64 {
        let updates: Vec<_> = (round * 40..round * 40 + 60)
            .map(|i| (random_token(i), head(1000 + i)))
            .collect();
        let commit = apply_updates(&store, Some(version), version + 1, &updates).expect("apply");
        store.commit(commit);
        version += 1;
    }
    let latest = version;
    let before = store.page_count();
    let horizon = latest - 2;
    let deleted = store.prune(horizon);
    assert!(deleted > 0);
    assert_eq!(store.page_count(), before - deleted);

    let mut live = HashSet::new();
    for v in horizon..=latest {
        live.extend(reachable(&store, v).iter().map(page_of));
    }
    let stored: HashSet<NodeKey> = store.page_keys().copied().collect();
    assert_eq!(
        stored, live,
        "the store holds exactly the pages of retained versions"
    );
    for v in 1..horizon {
        assert!(matches!(
            prove(&store, v, &random_token(0)),
            Err(SubjectIndexStoreError::MissingRoot(missing)) if missing == v
        ));
    }
    for v in horizon..=latest {
        let root = root_at(&store, v).expect("root");
        for i in (0..700).step_by(7) {
            let proof = prove(&store, v, &random_token(i)).expect("prove after pruning");
            assert!(verify(&root, &random_token(i), &proof).is_ok());
        }
    }
}

#[test]
fn nodes_are_linear_and_paths_logarithmic_in_the_number_of_tokens() {
    let n = 4096u64;
    let (store, index, version) = random_index(n, 512);
    let live = reachable(&store, version).len() as f64;
    // n leaves and about n / ln 2 interior nodes.
    assert!(
        live > 2.2 * n as f64 && live < 2.7 * n as f64,
        "{live} nodes for {n} tokens"
    );
    let depth: usize = index
        .keys()
        .map(|t| prove(&store, version, t).expect("prove").siblings.len())
        .sum();
    let mean = depth as f64 / n as f64;
    assert!(
        mean > 11.0 && mean < 12.0 + 2.0,
        "mean path {mean} for log2 n = 12"
    );
    assert_eq!(naive_root(&index), root_at(&store, version).expect("root"));

    // Pages: every reachable node is in the page of its version and its page top, and a path
    // of about log2 n nodes crosses about log2 n / 4 pages.
    let pages: HashSet<NodeKey> = reachable(&store, version).iter().map(page_of).collect();
    let stored: HashSet<NodeKey> = store.page_keys().copied().collect();
    assert!(pages.is_subset(&stored));
    let mean_pages = index
        .keys()
        .map(|t| {
            let proof = prove(&store, version, t).expect("prove");
            proof.siblings.len() / 4 + 1
        })
        .sum::<usize>() as f64
        / n as f64;
    assert!(mean_pages < 4.0, "mean pages per path {mean_pages}");
    // A batch of k updates rewrites about k (log2 n / 4 + 1) pages at most (shared top levels are
    // fewer), each page whole.
    let k = 100u64;
    let updates: Vec<_> = (0..k)
        .map(|i| (random_token(i * 31), head(9000 + i)))
        .collect();
    let commit = apply_updates(&store, Some(version), version + 1, &updates).expect("apply");
    assert!(
        commit.pages.len() <= (k as usize) * 4,
        "{} pages",
        commit.pages.len()
    );
    assert_eq!(
        commit.pages.len(),
        commit.stale.len(),
        "overwrites replace page for page"
    );
    for (key, page) in &commit.pages {
        assert!(key.path.is_page_top() && key.version == version + 1);
        assert!(
            page.nodes()
                .iter()
                .all(|node| node.path.page_top() == key.path)
        );
    }
}

#[test]
fn an_empty_batch_is_a_version_with_the_same_root() {
    let (store, _, version) = random_index(10, 10);
    let commit = apply_updates(&store, Some(version), version + 5, &[]).expect("apply");
    assert!(commit.pages.is_empty() && commit.stale.is_empty());
    assert_eq!(commit.root_hash(), root_at(&store, version).expect("root"));
    let empty = apply_updates(&MemorySubjectStore::new(), None, 1, &[]).expect("apply");
    assert_eq!(empty.root, SubtreeRef::Empty);
    assert_eq!(empty.root_hash(), empty_index_root());
}

#[test]
fn versions_must_increase_from_an_existing_base() {
    let (store, _, version) = random_index(10, 10);
    assert!(matches!(
        apply_updates(&store, Some(version), version, &[]),
        Err(SubjectIndexStoreError::VersionNotIncreasing { .. })
    ));
    assert!(matches!(
        apply_updates(&store, Some(version + 1), version + 2, &[]),
        Err(SubjectIndexStoreError::MissingRoot(_))
    ));
}

/// A store that answers with one node of a page replaced, or missing.
struct CorruptStore {
    inner: MemorySubjectStore,
    key: NodeKey,
    replacement: Option<IndexNode>,
}

impl SubjectNodeStore for CorruptStore {
    type Error = std::convert::Infallible;

    fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, Self::Error> {
        let mut pages = self.inner.read_pages(keys)?;
        for (key, page) in keys.iter().zip(&mut pages) {
            if *key != page_of(&self.key) {
                continue;
            }
            if let Some(page) = page {
                let mut nodes: Vec<_> = page
                    .nodes()
                    .iter()
                    .filter(|node| node.path != self.key.path)
                    .map(|node| (node.path, node.node))
                    .collect();
                nodes.extend(self.replacement.map(|node| (self.key.path, node)));
                *page = IndexPage::from_nodes(nodes);
            }
        }
        Ok(pages)
    }

    fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, Self::Error> {
        self.inner.read_root(version)
    }
}

#[test]
fn a_corrupted_store_is_named_not_trusted() {
    let (store, index, version) = random_index(64, 64);
    let token = *index.keys().next().expect("tokens");
    // The token's leaf: the last node on its path.
    let leaf_key = *reachable(&store, version)
        .iter()
        .filter(|k| k.path.holds(&token))
        .max_by_key(|k| k.path.depth())
        .expect("leaf");
    let update = [(token, head(777))];

    let altered = IndexNode::Leaf {
        token,
        head: head(1),
    };
    let corrupt = CorruptStore {
        inner: store.clone(),
        key: leaf_key,
        replacement: Some(altered),
    };
    let mismatch = |e| matches!(e, SubjectIndexStoreError::NodeHashMismatch(k) if k == leaf_key);
    assert!(prove(&corrupt, version, &token).is_err_and(mismatch));
    let applied = apply_updates(&corrupt, Some(version), version + 1, &update);
    assert!(applied.is_err_and(mismatch));

    let missing = CorruptStore {
        inner: store.clone(),
        key: leaf_key,
        replacement: None,
    };
    let absent = |e| matches!(e, SubjectIndexStoreError::MissingNode(k) if k == leaf_key);
    assert!(prove(&missing, version, &token).is_err_and(absent));
    let applied = apply_updates(&missing, Some(version), version + 1, &update);
    assert!(applied.is_err_and(absent));

    // A leaf stored at a path its token is not below, its hash what the parent holds: only the
    // position lies.
    let (left_token, right_token) = (
        SubjectToken::from_bytes([0; 32]),
        SubjectToken::from_bytes([0xff; 32]),
    );
    let misplaced = IndexNode::Leaf {
        token: SubjectToken::from_bytes([0xfe; 32]),
        head: head(0),
    };
    let right = IndexNode::Leaf {
        token: right_token,
        head: head(1),
    };
    let stored = |node: &IndexNode| SubtreeRef::Stored {
        version: 1,
        hash: node.hash(),
    };
    let root_node = IndexNode::Interior {
        left: stored(&misplaced),
        right: stored(&right),
    };
    let left_key = NodeKey {
        version: 1,
        path: child(&NodePath::ROOT, 0),
    };
    let mut lying = MemorySubjectStore::new();
    let page = IndexPage::from_nodes(vec![
        (NodePath::ROOT, root_node),
        (left_key.path, misplaced),
        (child(&NodePath::ROOT, 1), right),
    ]);
    let root_key = NodeKey {
        version: 1,
        path: NodePath::ROOT,
    };
    lying.commit(IndexCommit {
        version: 1,
        root: stored(&root_node),
        pages: vec![(root_key, page)],
        stale: Vec::new(),
    });
    let off_path = |e| matches!(e, SubjectIndexStoreError::LeafOffPath(k) if k == left_key);
    assert!(prove(&lying, 1, &left_token).is_err_and(off_path));
    assert!(matches!(
        apply_updates(&lying, Some(1), 2, &[(left_token, head(5))]),
        Err(SubjectIndexStoreError::LeafOffPath(k)) if k == left_key
    ));
    // A page is checked whole: the other leaf of the lying page is not proved either.
    assert!(prove(&lying, 1, &right_token).is_err_and(off_path));
}

#[test]
fn a_proof_of_more_than_256_siblings_is_refused() {
    let proof = SubjectProof {
        terminal: ProofTerminal::Empty,
        siblings: vec![EMPTY_SUBTREE_HASH; 257],
    };
    assert_eq!(
        verify(&empty_index_root(), &random_token(0), &proof),
        Err(SubjectIndexError::TooManySiblings(257))
    );
}

#[test]
fn a_signed_checkpoint_carries_the_root_to_the_verifier() {
    let (store, index, version) = random_index(100, 25);
    let root = root_at(&store, version).expect("root");
    let signer = LogSigner::from_seed("ledger.example.com/gdpr/test", &[5; 32]).expect("signer");
    let checkpoint = Checkpoint {
        origin: signer.origin().to_owned(),
        size: 100,
        root: RootHash::from_bytes([1; 32]),
        extensions: vec!["other-extension 1".into(), format_extension_line(&root)],
    };
    let note = checkpoint.sign(&signer).expect("sign");
    let opened = Checkpoint::open(&note, &[signer.verifier_key()]).expect("open");
    let carried = find_subject_index_root(&opened.checkpoint)
        .expect("line")
        .expect("present");
    let token = *index.keys().nth(17).expect("token");
    let proof = prove(&store, version, &token).expect("prove");
    assert_eq!(
        verify(&carried, &token, &proof),
        Ok(index.get(&token).copied())
    );
}
