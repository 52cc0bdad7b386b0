//! Proof bundles (SPEC.md section 7): good bundles of a log of real `Entry` bytes verify, each
//! check fails where it should, and any single altered byte of entry bytes, signature, proof hash
//! or checkpoint text makes verification fail, except inside an ignored cosignature by an unknown
//! key, where it must still pass exactly when the altered line is still a well-formed signature
//! line.
//!
//! The proofs come from a deliberately naive RFC 9162 implementation in this file (checked
//! against `tests/vectors/merkle.json`), independent of the crate's Merkle code.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use gdpr_ledger::core::bundle::{
    Bundle, BundleEntry, BundleError, ConsistencyLink, EntryFailure, verify_bundle,
    verify_bundle_json,
};
use gdpr_ledger::core::checkpoint::{Checkpoint, CheckpointError};
use gdpr_ledger::core::entry::encode_entry;
use gdpr_ledger::core::hash::{NodeHash, RootHash, empty_root, leaf_hash, node_hash};
use gdpr_ledger::core::merkle::{ConsistencyError, InclusionError};
use gdpr_ledger::core::note::{NoteError, sign_note};
use gdpr_ledger::core::signature::{EntrySignature, KeyId, LogSigner, VerifierKey};
use gdpr_ledger::proto::v1::{Entry, Event, EventKind};

const ORIGIN: &str = "ledger.example.com/gdpr/test";
/// The seed of every property test here, printed by each so a failure can be replayed.
const PROPTEST_SEED: u64 = 0x6764_7072_2d62_6e64;

// --- A naive RFC 9162 section 2.1 tree over leaf hashes -----------------------------------------

fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `MTH` of a non-empty list.
fn mth(leaves: &[NodeHash]) -> NodeHash {
    match leaves.len() {
        0 => unreachable!("MTH of the empty list is handled by root()"),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn root(leaves: &[NodeHash]) -> RootHash {
    if leaves.is_empty() {
        empty_root()
    } else {
        RootHash::from(mth(leaves))
    }
}

/// `PATH(m, D[n])`, RFC 9162 section 2.1.3.1.
fn path(m: usize, leaves: &[NodeHash]) -> Vec<NodeHash> {
    let n = leaves.len();
    if n == 1 {
        return Vec::new();
    }
    let k = split_point(n);
    let (mut proof, sibling) = if m < k {
        (path(m, &leaves[..k]), mth(&leaves[k..]))
    } else {
        (path(m - k, &leaves[k..]), mth(&leaves[..k]))
    };
    proof.push(sibling);
    proof
}

/// `PROOF(m, D[n])`, RFC 9162 section 2.1.4.1, with SPEC.md's empty proof for m == 0 or m == n.
fn consistency(m: usize, leaves: &[NodeHash]) -> Vec<NodeHash> {
    fn subproof(m: usize, leaves: &[NodeHash], complete: bool) -> Vec<NodeHash> {
        let n = leaves.len();
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![mth(leaves)]
            };
        }
        let k = split_point(n);
        let (mut proof, sibling) = if m <= k {
            (subproof(m, &leaves[..k], complete), mth(&leaves[k..]))
        } else {
            (subproof(m - k, &leaves[k..], false), mth(&leaves[..k]))
        };
        proof.push(sibling);
        proof
    }
    if m == 0 || m == leaves.len() {
        Vec::new()
    } else {
        subproof(m, leaves, true)
    }
}

#[test]
fn naive_tree_reproduces_the_merkle_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/merkle.json")).unwrap();
    let roots = v["roots"].as_array().unwrap();
    let max = roots
        .iter()
        .map(|r| r["size"].as_u64().unwrap())
        .max()
        .unwrap();
    let leaves: Vec<NodeHash> = (0..max)
        .map(|i| leaf_hash(format!("entry-{i}").as_bytes()).into())
        .collect();
    for r in roots {
        let size = r["size"].as_u64().unwrap() as usize;
        assert_eq!(
            root(&leaves[..size]).to_base64(),
            r["root"].as_str().unwrap()
        );
    }
    let b64s = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect()
    };
    for case in v["inclusion"].as_array().unwrap() {
        let (index, size) = (
            case["index"].as_u64().unwrap(),
            case["size"].as_u64().unwrap(),
        );
        let proof: Vec<String> = path(index as usize, &leaves[..size as usize])
            .iter()
            .map(NodeHash::to_base64)
            .collect();
        assert_eq!(proof, b64s(&case["path"]), "inclusion {index} of {size}");
    }
    for case in v["consistency"].as_array().unwrap() {
        let (first, second) = (
            case["first"].as_u64().unwrap(),
            case["second"].as_u64().unwrap(),
        );
        let proof: Vec<String> = consistency(first as usize, &leaves[..second as usize])
            .iter()
            .map(NodeHash::to_base64)
            .collect();
        assert_eq!(
            proof,
            b64s(&case["proof"]),
            "consistency {first} to {second}"
        );
    }
}

// --- A log of real entries -------------------------------------------------------------------

fn signer(name: &str, seed: u8) -> LogSigner {
    LogSigner::from_seed(name, &[seed; 32]).unwrap()
}

/// Entries signed by whichever log key was current, as the server would write them.
struct Log {
    bytes: Vec<Vec<u8>>,
    signatures: Vec<EntrySignature>,
    key_ids: Vec<KeyId>,
    leaves: Vec<NodeHash>,
}

fn entry(index: u64, prev: [u8; 32]) -> Entry {
    let subject = index % 4 != 3;
    Entry {
        index,
        prev_hash: prev.to_vec(),
        received_at: Some(prost_types::Timestamp {
            seconds: 1_767_225_600 + index as i64,
            nanos: (index as i32) * 1000,
        }),
        producer: if index.is_multiple_of(2) {
            "crm"
        } else {
            "billing"
        }
        .to_owned(),
        subject_token: if subject {
            vec![(index % 3) as u8 + 1; 32]
        } else {
            Vec::new()
        },
        subject_seq: if subject { index / 3 } else { 0 },
        subject_prev_index: if subject && index >= 3 { index - 3 } else { 0 },
        event: Some(Event {
            event_id: format!("evt-{index}"),
            kind: EventKind::Access as i32,
            system: "crm".into(),
            ..Event::default()
        }),
    }
}

impl Log {
    /// `n` entries; entry i is signed by `key_for(i)`; entry i's bytes are `bytes_for(i)` if given.
    fn build(
        n: u64,
        key_for: impl Fn(u64) -> LogSigner,
        bytes_for: impl Fn(u64, [u8; 32]) -> Option<Vec<u8>>,
    ) -> Self {
        let mut log = Log {
            bytes: Vec::new(),
            signatures: Vec::new(),
            key_ids: Vec::new(),
            leaves: Vec::new(),
        };
        let mut prev = [0u8; 32];
        for i in 0..n {
            let bytes =
                bytes_for(i, prev).unwrap_or_else(|| encode_entry(&entry(i, prev)).unwrap());
            let leaf = leaf_hash(&bytes);
            let key = key_for(i);
            log.signatures.push(key.sign_entry(&leaf));
            log.key_ids.push(key.key_id());
            log.leaves.push(leaf.into());
            log.bytes.push(bytes);
            prev = *leaf.as_bytes();
        }
        log
    }

    fn simple(n: u64) -> Self {
        Self::build(n, |_| signer(ORIGIN, 1), |_, _| None)
    }

    /// The checkpoint of the first `size` entries, signed by `log_key` and, before or after it,
    /// cosigned by a witness the verifier does not know.
    fn checkpoint(&self, size: usize, log_key: &LogSigner, witness_first: bool) -> String {
        let body = Checkpoint {
            origin: log_key.origin().to_owned(),
            size: size as u64,
            root: root(&self.leaves[..size]),
            extensions: vec!["future-extension 1".into()],
        }
        .to_body();
        let witness = signer("witness.example", 9);
        let signers = if witness_first {
            [&witness, log_key]
        } else {
            [log_key, &witness]
        };
        sign_note(&body, &signers).unwrap()
    }

    fn bundle_entry(&self, index: usize, size: usize, with_key_id: bool) -> BundleEntry {
        BundleEntry {
            index: index as u64,
            entry: self.bytes[index].clone(),
            signature: self.signatures[index],
            inclusion_proof: path(index, &self.leaves[..size]),
            key_id: with_key_id.then_some(self.key_ids[index]),
        }
    }

    fn bundle(&self, size: usize, indices: &[usize], from: Option<usize>) -> Bundle {
        let key = signer(ORIGIN, 1);
        let mut bundle = Bundle::new(self.checkpoint(size, &key, false));
        for (n, &i) in indices.iter().enumerate() {
            bundle.entries.push(self.bundle_entry(i, size, n % 2 == 0));
        }
        bundle.consistency = from.map(|m| ConsistencyLink {
            from_checkpoint: self.checkpoint(m, &key, true),
            proof: consistency(m, &self.leaves[..size]),
        });
        bundle
    }
}

fn log_key() -> VerifierKey {
    signer(ORIGIN, 1).verifier_key()
}

// --- Good bundles ------------------------------------------------------------------------------

#[test]
fn every_entry_of_every_small_tree_verifies_with_every_earlier_checkpoint() {
    let log = Log::simple(13);
    for size in 1..=13 {
        let indices: Vec<usize> = (0..size).collect();
        for from in 0..=size {
            let bundle = log.bundle(size, &indices, Some(from));
            let verified = verify_bundle(&bundle, &[log_key()])
                .unwrap_or_else(|e| panic!("size {size} from {from}: {e}"));
            assert_eq!(verified.checkpoint.checkpoint.size, size as u64);
            assert_eq!(verified.checkpoint.log_keys, vec![log_key()]);
            assert_eq!(verified.checkpoint.unknown.len(), 1);
            let got: Vec<u64> = verified.entries.iter().map(|e| e.entry.index()).collect();
            assert_eq!(got, (0..size as u64).collect::<Vec<_>>());
            assert!(
                verified
                    .entries
                    .iter()
                    .all(|e| e.signed_by == log_key().key_id())
            );
            let earlier = verified.consistent_with.unwrap();
            assert_eq!(earlier.checkpoint.size, from as u64);
        }
    }
}

#[test]
fn bundle_without_consistency_or_entries_verifies_the_checkpoint_alone() {
    let log = Log::simple(5);
    let verified = verify_bundle(&log.bundle(5, &[], None), &[log_key()]).unwrap();
    assert!(verified.entries.is_empty() && verified.consistent_with.is_none());
}

#[test]
fn json_text_verifies_the_same() {
    let log = Log::simple(9);
    let bundle = log.bundle(9, &[0, 4, 8], Some(6));
    let json = bundle.to_json();
    assert!(json.contains("\"inclusion_proof\"") && json.contains("\"from_checkpoint\""));
    let verified = verify_bundle_json(&json, &[log_key()]).unwrap();
    assert_eq!(verified.entries.len(), 3);
    assert_eq!(verified.entries[1].entry.producer(), "crm");
}

#[test]
fn key_rotation_uses_the_named_key_or_any_known_one() {
    let old = signer(ORIGIN, 1);
    let new = signer(ORIGIN, 2);
    let log = Log::build(
        8,
        |i| {
            if i < 5 {
                signer(ORIGIN, 1)
            } else {
                signer(ORIGIN, 2)
            }
        },
        |_, _| None,
    );
    let mut bundle = Bundle::new(log.checkpoint(8, &new, false));
    for i in 0..8 {
        bundle.entries.push(log.bundle_entry(i, 8, i % 2 == 0));
    }
    let both = [old.verifier_key(), new.verifier_key()];
    let verified = verify_bundle(&bundle, &both).unwrap();
    assert_eq!(verified.entries[0].signed_by, old.key_id());
    assert_eq!(verified.entries[7].signed_by, new.key_id());

    // Without the old key: the first entry names it, the second does not.
    let only_new = [new.verifier_key()];
    assert_eq!(
        verify_bundle(&bundle, &only_new),
        Err(BundleError::Entry {
            position: 0,
            index: 0,
            failure: EntryFailure::UnknownKeyId(old.key_id())
        })
    );
    bundle.entries.remove(0);
    assert_eq!(
        verify_bundle(&bundle, &only_new),
        Err(BundleError::Entry {
            position: 0,
            index: 1,
            failure: EntryFailure::NoKeyVerifies { tried: 1 }
        })
    );

    // Naming the wrong known key fails even though another known key would verify.
    bundle.entries[0].key_id = Some(new.key_id());
    assert_eq!(
        verify_bundle(&bundle, &both),
        Err(BundleError::Entry {
            position: 0,
            index: 1,
            failure: EntryFailure::SignatureMismatch(new.key_id())
        })
    );
}

// --- Each check fails where it should ------------------------------------------------------

#[test]
fn entry_bytes_carrying_another_index_are_rejected() {
    // A misbehaving log signed, at position 3, an entry whose bytes say index 5.
    let log = Log::build(
        6,
        |_| signer(ORIGIN, 1),
        |i, prev| (i == 3).then(|| encode_entry(&entry(5, prev)).unwrap()),
    );
    let bundle = log.bundle(6, &[2, 3], None);
    assert_eq!(
        verify_bundle(&bundle, &[log_key()]),
        Err(BundleError::Entry {
            position: 1,
            index: 3,
            failure: EntryFailure::IndexMismatch { in_entry: 5 }
        })
    );
}

#[test]
fn entry_bytes_that_are_not_an_entry_are_rejected() {
    let log = Log::build(
        4,
        |_| signer(ORIGIN, 1),
        |i, _| (i == 2).then(|| b"entry-5".to_vec()),
    );
    let bundle = log.bundle(4, &[2], None);
    assert!(matches!(
        verify_bundle(&bundle, &[log_key()]),
        Err(BundleError::Entry {
            position: 0,
            index: 2,
            failure: EntryFailure::Undecodable(_)
        })
    ));
}

#[test]
fn entry_proved_against_a_tree_too_small_is_rejected() {
    let log = Log::simple(6);
    let mut bundle = log.bundle(4, &[], None);
    let mut entry = log.bundle_entry(5, 6, true);
    entry.inclusion_proof = path(3, &log.leaves[..4]);
    bundle.entries.push(entry);
    assert_eq!(
        verify_bundle(&bundle, &[log_key()]),
        Err(BundleError::Entry {
            position: 0,
            index: 5,
            failure: EntryFailure::Inclusion(InclusionError::IndexBeyondSize { index: 5, size: 4 })
        })
    );
}

#[test]
fn entry_moved_to_another_index_is_rejected() {
    let log = Log::simple(8);
    let mut bundle = log.bundle(8, &[3], None);
    bundle.entries[0].index = 2;
    bundle.entries[0].inclusion_proof = path(2, &log.leaves);
    assert!(matches!(
        verify_bundle(&bundle, &[log_key()]),
        Err(BundleError::Entry {
            failure: EntryFailure::Inclusion(InclusionError::RootMismatch),
            ..
        })
    ));
}

#[test]
fn checkpoint_of_another_key_is_rejected() {
    let log = Log::simple(4);
    let bundle = log.bundle(4, &[1], None);
    let stranger = signer("other.example", 7).verifier_key();
    assert_eq!(
        verify_bundle(&bundle, &[stranger]),
        Err(BundleError::Checkpoint(CheckpointError::Note(
            NoteError::NoKnownSignature
        )))
    );
}

#[test]
fn consistency_link_checks_are_each_named() {
    let log = Log::simple(10);
    let keys = [log_key()];

    // The earlier checkpoint is of a larger tree.
    let mut bundle = log.bundle(6, &[], None);
    bundle.consistency = Some(ConsistencyLink {
        from_checkpoint: log.checkpoint(8, &signer(ORIGIN, 1), false),
        proof: Vec::new(),
    });
    assert_eq!(
        verify_bundle(&bundle, &keys),
        Err(BundleError::FromCheckpointLarger {
            from_size: 8,
            size: 6
        })
    );

    // The earlier checkpoint is another log's, even one whose key the verifier holds.
    let other = signer("other.example", 3);
    let mut bundle = log.bundle(6, &[], None);
    bundle.consistency = Some(ConsistencyLink {
        from_checkpoint: log.checkpoint(4, &other, false),
        proof: consistency(4, &log.leaves[..6]),
    });
    assert_eq!(
        verify_bundle(&bundle, &[log_key(), other.verifier_key()]),
        Err(BundleError::ConsistencyOrigin {
            from_origin: "other.example".into(),
            origin: ORIGIN.into()
        })
    );
    assert!(matches!(
        verify_bundle(&bundle, &keys),
        Err(BundleError::FromCheckpoint(CheckpointError::Note(
            NoteError::NoKnownSignature
        )))
    ));

    // A proof for other sizes.
    let mut bundle = log.bundle(10, &[], Some(4));
    bundle.consistency.as_mut().unwrap().proof = consistency(5, &log.leaves);
    assert!(matches!(
        verify_bundle(&bundle, &keys),
        Err(BundleError::Consistency(_))
    ));

    // Equal sizes with an earlier checkpoint of a forked tree (same size, other root).
    let fork = Log::build(
        10,
        |_| signer(ORIGIN, 1),
        |i, prev| {
            (i == 9).then(|| {
                let mut e = entry(9, prev);
                e.producer = "forged".into();
                encode_entry(&e).unwrap()
            })
        },
    );
    let mut bundle = log.bundle(10, &[], None);
    bundle.consistency = Some(ConsistencyLink {
        from_checkpoint: fork.checkpoint(10, &signer(ORIGIN, 1), false),
        proof: Vec::new(),
    });
    assert!(matches!(
        verify_bundle(&bundle, &keys),
        Err(BundleError::Consistency(
            ConsistencyError::EqualSizesDifferentRoots { .. }
        ))
    ));
}

// --- Single altered bytes -----------------------------------------------------------------

/// Whether `line` is a well-formed signature line by a key not in `known`, per SPEC.md section 5:
/// `— <name> <base64>`, the name non-empty without white space, `+` or control characters, one
/// space, canonical base64 of at least 5 bytes (key ID and signature).
fn is_ignorable_unknown_signature_line(line: &str, known: &[VerifierKey]) -> bool {
    if line.chars().any(char::is_control) {
        return false;
    }
    let Some(rest) = line.strip_prefix("\u{2014} ") else {
        return false;
    };
    let Some((name, encoded)) = rest.split_once(' ') else {
        return false;
    };
    let name_ok = !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+');
    let Ok(raw) = STANDARD.decode(encoded) else {
        return false;
    };
    if !name_ok || encoded.contains(' ') || raw.len() < 5 {
        return false;
    }
    let key_id = KeyId::from_bytes(raw[..4].try_into().unwrap());
    !known
        .iter()
        .any(|k| k.name() == name && k.key_id() == key_id)
}

/// Whether a note with byte `position` altered must still open: only when the byte lies inside
/// (not at the end of) the signature line of the unknown witness, and that line is still an
/// ignorable one.
fn must_still_open(original: &str, mutated: &[u8], position: usize, known: &[VerifierKey]) -> bool {
    let Ok(text) = std::str::from_utf8(mutated) else {
        return false;
    };
    let block_start = original.rfind("\n\n").unwrap() + 2;
    let mut line_start = block_start;
    for line in original[block_start..].split_terminator('\n') {
        let line_end = line_start + line.len();
        if (line_start..line_end).contains(&position) {
            let is_witness_line = line.starts_with("\u{2014} witness.example ");
            return is_witness_line
                && text.is_char_boundary(line_start)
                && text.is_char_boundary(line_end)
                && is_ignorable_unknown_signature_line(&text[line_start..line_end], known);
        }
        line_start = line_end + 1;
    }
    false
}

/// Checks a bundle whose checkpoint (or earlier checkpoint) text had byte `position` replaced;
/// returns whether the change had to be (and was) accepted, or `None` if it changed nothing.
fn check_note_mutation(bundle: &Bundle, in_from: bool, position: usize, byte: u8) -> Option<bool> {
    let keys = [log_key()];
    let original = if in_from {
        bundle.consistency.as_ref().unwrap().from_checkpoint.clone()
    } else {
        bundle.checkpoint.clone()
    };
    let mut bytes = original.clone().into_bytes();
    if bytes[position] == byte {
        return None;
    }
    bytes[position] = byte;
    let expect_ok = must_still_open(&original, &bytes, position, &keys);
    // A bundle's notes are JSON strings: a mutation that is not UTF-8 cannot even be carried,
    // and is rejected when the note is opened from bytes.
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        assert!(!expect_ok);
        assert!(Checkpoint::open(&bytes, &keys).is_err());
        return Some(false);
    };
    let mut mutated = bundle.clone();
    if in_from {
        mutated.consistency.as_mut().unwrap().from_checkpoint = text;
    } else {
        mutated.checkpoint = text;
    }
    let result = verify_bundle(&mutated, &keys);
    assert_eq!(
        result.is_ok(),
        expect_ok,
        "byte {position} of the {} set to {byte:#04x}: {result:?}",
        if in_from {
            "earlier checkpoint"
        } else {
            "checkpoint"
        }
    );
    if let Ok(verified) = result {
        let reference = verify_bundle(bundle, &keys).unwrap();
        assert_eq!(
            verified.checkpoint.checkpoint,
            reference.checkpoint.checkpoint
        );
        assert_eq!(verified.entries, reference.entries);
        assert_eq!(verified.checkpoint.log_keys, reference.checkpoint.log_keys);
    }
    Some(expect_ok)
}

#[test]
fn every_single_byte_change_of_either_checkpoint_fails_unless_in_the_ignored_cosignature() {
    let log = Log::simple(11);
    let bundle = log.bundle(11, &[0, 7, 10], Some(7));
    let (mut accepted, mut rejected) = (0, 0);
    for in_from in [false, true] {
        let note_len = if in_from {
            bundle.consistency.as_ref().unwrap().from_checkpoint.len()
        } else {
            bundle.checkpoint.len()
        };
        for position in 0..note_len {
            for byte in [b'A', b'+', b' ', b'\n', b'\t', b'=', 0x80, 0xe2] {
                match check_note_mutation(&bundle, in_from, position, byte) {
                    Some(true) => accepted += 1,
                    Some(false) => rejected += 1,
                    None => {}
                }
            }
        }
    }
    // Changes inside the witness's name and signature that keep the line well formed are
    // accepted: the oracle is not vacuous either way.
    println!("{accepted} changes accepted, {rejected} rejected");
    assert!(accepted > 100, "only {accepted} accepted changes");
    assert!(rejected > 10 * accepted, "{rejected} rejected changes");
}

fn proptest_config() -> Config {
    println!("proptest seed: {PROPTEST_SEED:#x}");
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..Config::default()
    }
}

/// What to alter in a bundle.
#[derive(Debug, Clone)]
enum Target {
    EntryBytes,
    Signature,
    InclusionProof,
    ConsistencyProof,
    Checkpoint,
    FromCheckpoint,
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::EntryBytes),
        Just(Target::Signature),
        Just(Target::InclusionProof),
        Just(Target::ConsistencyProof),
        Just(Target::Checkpoint),
        Just(Target::FromCheckpoint),
    ]
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn any_single_altered_byte_fails_verification(
        target in target(),
        which in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        size in 2usize..=12,
        from_pick in any::<prop::sample::Index>(),
    ) {
        let log = Log::simple(12);
        let from = 1 + from_pick.index(size - 1); // 1..size, so the consistency proof is non-empty
        let indices: Vec<usize> = (0..size).collect();
        let bundle = log.bundle(size, &indices, Some(from));
        prop_assert!(verify_bundle(&bundle, &[log_key()]).is_ok());
        let mut mutated = bundle.clone();
        let entry_position = which.index(size);
        match target {
            Target::EntryBytes => {
                let bytes = &mut mutated.entries[entry_position].entry;
                let at = position.index(bytes.len());
                bytes[at] ^= flip;
            }
            Target::Signature => {
                let mut raw = *mutated.entries[entry_position].signature.as_bytes();
                raw[position.index(raw.len())] ^= flip;
                mutated.entries[entry_position].signature = EntrySignature::from_bytes(raw);
            }
            Target::InclusionProof => {
                let proof = &mut mutated.entries[entry_position].inclusion_proof;
                let at = position.index(proof.len() * 32);
                let mut raw = *proof[at / 32].as_bytes();
                raw[at % 32] ^= flip;
                proof[at / 32] = NodeHash::from_bytes(raw);
            }
            Target::ConsistencyProof => {
                let proof = &mut mutated.consistency.as_mut().unwrap().proof;
                let at = position.index(proof.len() * 32);
                let mut raw = *proof[at / 32].as_bytes();
                raw[at % 32] ^= flip;
                proof[at / 32] = NodeHash::from_bytes(raw);
            }
            Target::Checkpoint | Target::FromCheckpoint => {
                let in_from = matches!(target, Target::FromCheckpoint);
                let len = if in_from {
                    bundle.consistency.as_ref().unwrap().from_checkpoint.len()
                } else {
                    bundle.checkpoint.len()
                };
                let at = position.index(len);
                let original = if in_from {
                    bundle.consistency.as_ref().unwrap().from_checkpoint.as_bytes()[at]
                } else {
                    bundle.checkpoint.as_bytes()[at]
                };
                let _ = check_note_mutation(&bundle, in_from, at, original ^ flip);
                return Ok(());
            }
        }
        let result = verify_bundle(&mutated, &[log_key()]);
        match target {
            Target::ConsistencyProof => {
                prop_assert!(matches!(result, Err(BundleError::Consistency(_))), "{:?}", result);
            }
            _ => {
                let failed_here = matches!(
                    result,
                    Err(BundleError::Entry { position, .. }) if position == entry_position
                );
                prop_assert!(failed_here, "{:?}", result);
            }
        }
    }
}
