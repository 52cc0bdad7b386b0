//! Every value of `tests/vectors/subject_index/vectors.json` (made by `make_vectors.py`, an
//! implementation of docs/subject-index.md independent of ours) reproduced by the subject index:
//! head encodings and hashes, the root after every batch of every sequence (through the stored,
//! versioned tree), every proof in both encodings, every must-fail case rejected by the check the
//! vectors name, and the checkpoint extension lines.

use std::collections::HashMap;

use gdpr_ledger::core::directory::SubjectToken;
use gdpr_ledger::core::hash::{LeafHash, NodeHash, RootHash};
use gdpr_ledger::core::subject_index::{
    EMPTY_SUBTREE_HASH, ExtensionLineError, MemorySubjectStore, SubjectHead, SubjectIndexError,
    SubjectProof, apply_updates, empty_index_root, format_extension_line, parse_extension_line,
    prove, root_at, subject_interior_hash, subject_leaf_hash, verify,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    #[allow(dead_code)]
    about: String,
    empty_root: String,
    heads: Vec<HeadVector>,
    interior: Vec<InteriorVector>,
    sequences: Vec<Sequence>,
    proofs: Vec<ProofVector>,
    must_fail: Vec<MustFail>,
    extension_lines: Vec<ExtensionLine>,
    bad_extension_lines: Vec<BadExtensionLine>,
}

#[derive(Deserialize, Clone, Copy)]
struct HeadJson {
    count: u64,
    last_index: u64,
    #[serde(deserialize_with = "leaf")]
    last_leaf: LeafHash,
}

#[derive(Deserialize)]
// No deny_unknown_fields: serde does not support it with `flatten`.
struct HeadVector {
    token: String,
    #[serde(flatten)]
    head: HeadJson,
    head_bytes: String,
    leaf_hash: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InteriorVector {
    left: String,
    right: String,
    hash: String,
}

#[derive(Deserialize)]
// No deny_unknown_fields: serde does not support it with `flatten`.
struct Update {
    token: String,
    #[serde(flatten)]
    head: HeadJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sequence {
    name: String,
    batches: Vec<Vec<Update>>,
    roots: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofVector {
    sequence: String,
    version: u64,
    token: String,
    root: String,
    result: Option<HeadJson>,
    proof: serde_json::Value,
    proof_bytes: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MustFail {
    what: String,
    root: String,
    token: String,
    check: String,
    #[serde(default)]
    proof: Option<serde_json::Value>,
    #[serde(default)]
    proof_bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionLine {
    root: String,
    line: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BadExtensionLine {
    line: String,
    error: String,
}

fn leaf<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LeafHash, D::Error> {
    let text = String::deserialize(d)?;
    LeafHash::from_base64(&text).map_err(serde::de::Error::custom)
}

fn vectors() -> Vectors {
    // Embedded at compile time, so the test never reads a path of another checkout.
    serde_json::from_str(include_str!("../vectors/subject_index/vectors.json"))
        .expect("parse vectors.json")
}

fn token(text: &str) -> SubjectToken {
    SubjectToken::from_bytes(*NodeHash::from_base64(text).expect("token").as_bytes())
}

fn root(text: &str) -> RootHash {
    RootHash::from_base64(text).expect("root")
}

fn node(text: &str) -> NodeHash {
    NodeHash::from_base64(text).expect("hash")
}

fn head(h: &HeadJson) -> SubjectHead {
    SubjectHead {
        count: h.count,
        last_index: h.last_index,
        last_leaf: h.last_leaf,
    }
}

/// The name docs/subject-index.md section 7.3 gives the check that failed.
fn check_name(error: SubjectIndexError) -> &'static str {
    match error {
        SubjectIndexError::TooManySiblings(_) => "too_many_siblings",
        SubjectIndexError::LeafOffPath { .. } => "leaf_off_path",
        SubjectIndexError::RootMismatch => "root_mismatch",
    }
}

/// Every sequence applied batch by batch (batch k is version k), with its stores kept.
fn stores(v: &Vectors) -> HashMap<String, MemorySubjectStore> {
    let mut stores = HashMap::new();
    for sequence in &v.sequences {
        assert_eq!(sequence.batches.len(), sequence.roots.len());
        let mut store = MemorySubjectStore::new();
        for (version, (batch, expected)) in
            (1u64..).zip(sequence.batches.iter().zip(&sequence.roots))
        {
            let updates: Vec<_> = batch
                .iter()
                .map(|u| (token(&u.token), head(&u.head)))
                .collect();
            let base = version.checked_sub(1).filter(|&b| b > 0);
            let commit = apply_updates(&store, base, version, &updates).expect("apply");
            assert_eq!(
                commit.root_hash(),
                root(expected),
                "{} batch {version}",
                sequence.name
            );
            store.commit(commit);
        }
        // Every version stays readable after later ones.
        for (version, expected) in (1u64..).zip(&sequence.roots) {
            assert_eq!(root_at(&store, version).expect("root_at"), root(expected));
        }
        stores.insert(sequence.name.clone(), store);
    }
    stores
}

#[test]
fn empty_root_and_hashes_match() {
    let v = vectors();
    assert_eq!(empty_index_root(), root(&v.empty_root));
    assert_eq!(EMPTY_SUBTREE_HASH, node(&v.empty_root));
    assert!(!v.heads.is_empty() && !v.interior.is_empty());
    for h in &v.heads {
        let value = head(&h.head);
        assert_eq!(hex::encode(value.to_bytes()), h.head_bytes);
        assert_eq!(
            SubjectHead::from_bytes(&hex::decode(&h.head_bytes).expect("hex")),
            Ok(value)
        );
        assert_eq!(
            subject_leaf_hash(&token(&h.token), &value),
            node(&h.leaf_hash)
        );
    }
    for i in &v.interior {
        assert_eq!(
            subject_interior_hash(&node(&i.left), &node(&i.right)),
            node(&i.hash)
        );
    }
}

#[test]
fn roots_after_every_batch_match() {
    let v = vectors();
    assert!(!v.sequences.is_empty());
    stores(&v);
}

#[test]
fn proofs_are_generated_byte_for_byte_and_verify() {
    let v = vectors();
    let stores = stores(&v);
    assert!(!v.proofs.is_empty());
    let (mut present, mut absent) = (0, 0);
    for p in &v.proofs {
        let t = token(&p.token);
        let r = root(&p.root);
        let from_json: SubjectProof = serde_json::from_value(p.proof.clone()).expect("json proof");
        let bytes = hex::decode(&p.proof_bytes).expect("hex");
        let from_bytes = SubjectProof::from_bytes(&bytes).expect("binary proof");
        assert_eq!(
            from_json, from_bytes,
            "{} v{} {}",
            p.sequence, p.version, p.token
        );

        let generated = prove(&stores[&p.sequence], p.version, &t).expect("prove");
        assert_eq!(
            generated, from_bytes,
            "{} v{} {}",
            p.sequence, p.version, p.token
        );
        assert_eq!(generated.to_bytes(), bytes);
        assert_eq!(serde_json::to_value(&generated).expect("json"), p.proof);
        assert_eq!(root_at(&stores[&p.sequence], p.version).expect("root"), r);

        let expected = p.result.as_ref().map(head);
        assert_eq!(
            verify(&r, &t, &generated),
            Ok(expected),
            "{} v{}",
            p.sequence,
            p.version
        );
        if expected.is_some() {
            present += 1;
        } else {
            absent += 1;
        }
    }
    assert!(present > 0 && absent > 0);
}

#[test]
fn must_fail_cases_are_rejected_by_the_named_check() {
    let v = vectors();
    assert!(!v.must_fail.is_empty());
    for case in &v.must_fail {
        let (r, t) = (root(&case.root), token(&case.token));
        let mut decoded = Vec::new();
        if let Some(json) = &case.proof {
            match serde_json::from_value::<SubjectProof>(json.clone()) {
                Ok(proof) => decoded.push(proof),
                Err(e) => assert_eq!(case.check, "decode", "{}: {e}", case.what),
            }
        }
        if let Some(text) = &case.proof_bytes {
            match SubjectProof::from_bytes(&hex::decode(text).expect("hex")) {
                Ok(proof) => decoded.push(proof),
                Err(e) => assert_eq!(case.check, "decode", "{}: {e}", case.what),
            }
        }
        if case.check == "decode" {
            assert!(decoded.is_empty(), "{} decodes", case.what);
            continue;
        }
        assert!(!decoded.is_empty(), "{}", case.what);
        for proof in decoded {
            let error = verify(&r, &t, &proof).expect_err(&case.what);
            assert_eq!(check_name(error), case.check, "{}", case.what);
        }
    }
}

#[test]
fn extension_lines_match() {
    let v = vectors();
    assert!(!v.extension_lines.is_empty() && !v.bad_extension_lines.is_empty());
    for e in &v.extension_lines {
        assert_eq!(format_extension_line(&root(&e.root)), e.line);
        assert_eq!(parse_extension_line(&e.line), Ok(root(&e.root)));
    }
    for bad in &v.bad_extension_lines {
        let kind = match parse_extension_line(&bad.line) {
            Err(ExtensionLineError::NotSubjectIndex) => "not_subject_index",
            Err(ExtensionLineError::UnsupportedVersion(_)) => "unsupported_version",
            Err(ExtensionLineError::Malformed) => "malformed",
            Err(ExtensionLineError::Root(_)) => "root",
            other => panic!("{:?}: {other:?}", bad.line),
        };
        assert_eq!(kind, bad.error, "{:?}", bad.line);
    }
}
