//! Every value of `tests/vectors/merkle.json` (made by an independent implementation of SPEC.md
//! section 2) reproduced by our tree, and every `must_fail` case rejected.

use gdpr_ledger::core::hash::{LeafHash, NodeHash, RootHash, empty_root, leaf_hash};
use gdpr_ledger::core::merkle::{
    CompactRange, MemoryHashStore, consistency_proof, inclusion_proof, root_at, verify_consistency,
    verify_inclusion,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    #[allow(dead_code)]
    about: String,
    empty_root: String,
    leaf_hashes: Vec<String>,
    roots: Vec<RootVector>,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
    must_fail: Vec<MustFail>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RootVector {
    size: u64,
    root: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionVector {
    index: u64,
    size: u64,
    leaf: String,
    root: String,
    path: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyVector {
    first: u64,
    second: u64,
    first_root: String,
    second_root: String,
    proof: Vec<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum MustFail {
    Inclusion {
        what: String,
        #[serde(flatten)]
        case: InclusionVector,
    },
    Consistency {
        what: String,
        #[serde(flatten)]
        case: ConsistencyVector,
    },
}

fn vectors() -> Vectors {
    // Embedded at compile time, so the test never reads a path of another checkout.
    serde_json::from_str(include_str!("../vectors/merkle.json")).expect("parse merkle.json")
}

fn leaf(text: &str) -> LeafHash {
    LeafHash::from_base64(text).expect("leaf hash")
}

fn root(text: &str) -> RootHash {
    RootHash::from_base64(text).expect("root hash")
}

fn hashes(texts: &[String]) -> Vec<NodeHash> {
    texts
        .iter()
        .map(|t| NodeHash::from_base64(t).expect("proof hash"))
        .collect()
}

/// Entry `i` of the vectors is the UTF-8 bytes of `entry-<i>`.
fn entry_leaf(i: u64) -> LeafHash {
    leaf_hash(format!("entry-{i}").as_bytes())
}

/// A store holding the tree of the largest size any vector names.
fn vector_store(v: &Vectors) -> MemoryHashStore {
    let max = v
        .roots
        .iter()
        .map(|r| r.size)
        .chain(v.inclusion.iter().map(|c| c.size))
        .chain(v.consistency.iter().map(|c| c.second))
        .max()
        .expect("vectors are not empty");
    MemoryHashStore::from_leaves((0..max).map(entry_leaf))
        .expect("small tree")
        .0
}

#[test]
fn empty_root_matches() {
    let v = vectors();
    assert_eq!(empty_root(), root(&v.empty_root));
}

#[test]
fn leaf_hashes_match() {
    let v = vectors();
    assert!(!v.leaf_hashes.is_empty());
    for (i, expected) in (0u64..).zip(&v.leaf_hashes) {
        assert_eq!(entry_leaf(i), leaf(expected), "leaf {i}");
    }
}

#[test]
fn roots_match_from_store_compact_range_and_reload() {
    let v = vectors();
    let store = vector_store(&v);
    let mut range = CompactRange::new();
    let mut completed = Vec::new();
    let mut roots = v.roots.iter().collect::<Vec<_>>();
    roots.sort_by_key(|r| r.size);
    for r in roots {
        while range.size() < r.size {
            range
                .append(entry_leaf(range.size()), &mut completed)
                .expect("append");
        }
        let expected = root(&r.root);
        assert_eq!(
            range.root(),
            expected,
            "compact range root of size {}",
            r.size
        );
        assert_eq!(
            root_at(&store, r.size).expect("root_at"),
            expected,
            "root_at {}",
            r.size
        );
        let reloaded = CompactRange::load(&store, r.size).expect("load");
        assert_eq!(
            reloaded.root(),
            expected,
            "reloaded root of size {}",
            r.size
        );
    }
}

#[test]
fn inclusion_proofs_are_generated_and_verify() {
    let v = vectors();
    let store = vector_store(&v);
    assert!(!v.inclusion.is_empty());
    for c in &v.inclusion {
        let expected = hashes(&c.path);
        assert_eq!(leaf(&c.leaf), entry_leaf(c.index), "leaf {}", c.index);
        let generated = inclusion_proof(&store, c.index, c.size).expect("inclusion proof");
        assert_eq!(generated, expected, "inclusion {} in {}", c.index, c.size);
        let r = root(&c.root);
        assert_eq!(root_at(&store, c.size).expect("root_at"), r);
        verify_inclusion(&leaf(&c.leaf), c.index, c.size, &expected, &r)
            .unwrap_or_else(|e| panic!("inclusion {} in {}: {e}", c.index, c.size));
    }
}

#[test]
fn consistency_proofs_are_generated_and_verify() {
    let v = vectors();
    let store = vector_store(&v);
    assert!(!v.consistency.is_empty());
    for c in &v.consistency {
        let expected = hashes(&c.proof);
        let generated = consistency_proof(&store, c.first, c.second).expect("consistency proof");
        assert_eq!(
            generated, expected,
            "consistency {} -> {}",
            c.first, c.second
        );
        let (r1, r2) = (root(&c.first_root), root(&c.second_root));
        assert_eq!(root_at(&store, c.first).expect("root_at"), r1);
        assert_eq!(root_at(&store, c.second).expect("root_at"), r2);
        verify_consistency(c.first, c.second, &r1, &r2, &expected)
            .unwrap_or_else(|e| panic!("consistency {} -> {}: {e}", c.first, c.second));
    }
}

#[test]
fn must_fail_cases_are_rejected() {
    let v = vectors();
    assert!(!v.must_fail.is_empty());
    for case in &v.must_fail {
        match case {
            MustFail::Inclusion { what, case: c } => {
                let result = verify_inclusion(
                    &leaf(&c.leaf),
                    c.index,
                    c.size,
                    &hashes(&c.path),
                    &root(&c.root),
                );
                assert!(result.is_err(), "accepted: {what}");
                println!(
                    "{what}: {}",
                    result.err().map(|e| e.to_string()).unwrap_or_default()
                );
            }
            MustFail::Consistency { what, case: c } => {
                let result = verify_consistency(
                    c.first,
                    c.second,
                    &root(&c.first_root),
                    &root(&c.second_root),
                    &hashes(&c.proof),
                );
                assert!(result.is_err(), "accepted: {what}");
                println!(
                    "{what}: {}",
                    result.err().map(|e| e.to_string()).unwrap_or_default()
                );
            }
        }
    }
}
