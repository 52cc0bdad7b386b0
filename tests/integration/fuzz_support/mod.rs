//! What the fuzzing of the core's decoders shares between `tests/integration/fuzz_decoders.rs` (stable, inside
//! `cargo test`) and the cargo-fuzz crate in `fuzz/` (nightly, libFuzzer), which includes this
//! file by path:
//!
//! - [`World`]: a small log made with the core's own builders (entries, entry signatures, the
//!   Merkle tree, the subject index, two checkpoints cosigned by a witness), plus the golden
//!   vectors of `tests/vectors/`. It is the reference: whatever a verifier accepts must be true of
//!   it.
//! - [`Decoder`]: every decoder of bytes or text that reaches the core from outside, with its
//!   seed artifacts ([`World::seeds`]) and its check ([`World::check`]).
//!
//! A check returns `Err` when the decoder misbehaved: it accepted something it must refuse, or what
//! it accepted does not mean what the reference says. A decoder that panics makes the check panic;
//! the caller catches that. The checks hold for any input, so libFuzzer can run them unchanged:
//!
//! - signed notes and checkpoints: a note opens only if its body is one that the log key signed
//!   (found by re-signing with the deterministic Ed25519 key, not by the code under test), so any
//!   change to signed bytes is refused; a checkpoint replayed by the auditor matches the log;
//! - bundles and lifecycle bundles: every verified fact (checkpoint, entry bytes at an index,
//!   earlier checkpoint, a subject's head and chain) is a fact of the reference log;
//! - entries: decoding never panics, and entry bytes other than the log's never pass the auditor's
//!   replay with the log's signature for that index;
//! - subject-index proofs: one proof, one encoding (a decoded proof re-encodes to the same bytes),
//!   and a proof that verifies against a known root and token gives the true answer and is the
//!   canonical proof;
//! - strict text forms (checkpoint bodies, verifier keys, extension lines, hashes, key IDs) and
//!   storage encodings: whatever decodes re-encodes to the same bytes; identifiers normalize
//!   idempotently;
//! - producers' submissions: one that validates makes an entry that encodes and reads back.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use serde_json::Value;

use gdpr_ledger::core::audit::LogAuditor;
use gdpr_ledger::core::bundle::{
    Bundle, BundleEntry, ConsistencyLink, VerifiedEntry, verify_bundle_json,
};
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::directory::{SubjectToken, normalize_identifier};
use gdpr_ledger::core::entry::{SequencedEntry, decode_entry, encode_entry};
use gdpr_ledger::core::hash::{LeafHash, NodeHash, RootHash, leaf_hash};
use gdpr_ledger::core::lifecycle::{LifecycleBundle, TimelineRow, verify_lifecycle_json};
use gdpr_ledger::core::merkle::{
    MemoryHashStore, NodeId, consistency_proof, inclusion_proof, root_at,
};
use gdpr_ledger::core::note::{SIGNATURE_LINE_PREFIX, open_note, sign_note};
use gdpr_ledger::core::signature::{EntrySignature, KeyId, LogSigner, VerifierKey};
use gdpr_ledger::core::subject_index::{
    IndexNode, IndexPage, MemorySubjectStore, NodeKey, NodePath, ProofTerminal, StaleNode,
    SubjectHead, SubjectProof, apply_updates, format_extension_line, parse_extension_line, prove,
    verify,
};
use gdpr_ledger::proto::v1::{Correction, Entry, Event, EventKind, EventSubmission, Recipient};
use gdpr_ledger::validation::{
    EXAMPLE_OCCURRED_AT_SECONDS, ValidationLimits, example_submission, validate_submission,
};

/// `tests/vectors/signing.json`, embedded so that no path of another checkout is read.
pub const SIGNING_VECTORS: &str = include_str!("../../vectors/signing.json");
/// `tests/vectors/subject_index/vectors.json`.
pub const SUBJECT_INDEX_VECTORS: &str = include_str!("../../vectors/subject_index/vectors.json");

/// The entries of the reference log.
pub const LOG_SIZE: u64 = 12;
/// The sizes of its two checkpoints (and the versions of its subject index).
pub const CHECKPOINT_SIZES: [u64; 2] = [7, 12];

/// Every decoder of untrusted bytes or text in the core, one fuzz target each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decoder {
    /// `note::open_note`: a C2SP signed note.
    OpenNote,
    /// `Checkpoint::open`, and `LogAuditor::check_checkpoint` when the size is the log's.
    CheckpointOpen,
    /// `Checkpoint::parse_body`: an unsigned checkpoint body.
    CheckpointBody,
    /// `VerifierKey::parse`: `<name>+<key id>+<base64 key>`.
    VerifierKey,
    /// `entry::decode_entry`, `SequencedEntry::from_bytes`, `TimelineRow::of`, and
    /// `LogAuditor::push` with the log's signature for the entry's index.
    Entry,
    /// `bundle::verify_bundle_json` (through `Bundle::from_json`).
    BundleJson,
    /// `lifecycle::verify_lifecycle_json` (through `LifecycleBundle::from_json`).
    LifecycleJson,
    /// `SubjectProof::from_bytes` and `subject_index::verify`: the input is
    /// `root (32 bytes) || token (32 bytes) || proof bytes`.
    SubjectProofBytes,
    /// The JSON form of a `SubjectProof` (serde), and `subject_index::verify`.
    SubjectProofJson,
    /// `subject_index::parse_extension_line`.
    ExtensionLine,
    /// The text forms of hashes, entry signatures and key IDs (base64 and hex).
    TextFields,
    /// Stored encodings read back from a data dir: `IndexNode::from_bytes`,
    /// `IndexPage::decode`, `NodeKey::from_key_bytes`, `StaleNode::from_key_bytes`, `NodeId::from_key_bytes`,
    /// `SubjectHead::from_bytes`.
    StoredBytes,
    /// `directory::normalize_identifier`, the input being `<kind>:<value>`.
    Identifier,
    /// What a producer sends: a protobuf `EventSubmission`, decoded and checked by
    /// `validation::validate_submission` (outside `src/core`, but pure and the first code a
    /// hostile producer reaches); an accepted one must make an entry that encodes and decodes.
    EventSubmission,
}

impl Decoder {
    /// All of them.
    pub const ALL: [Decoder; 14] = [
        Decoder::OpenNote,
        Decoder::CheckpointOpen,
        Decoder::CheckpointBody,
        Decoder::VerifierKey,
        Decoder::Entry,
        Decoder::BundleJson,
        Decoder::LifecycleJson,
        Decoder::SubjectProofBytes,
        Decoder::SubjectProofJson,
        Decoder::ExtensionLine,
        Decoder::TextFields,
        Decoder::StoredBytes,
        Decoder::Identifier,
        Decoder::EventSubmission,
    ];

    /// The name of its cargo-fuzz target and corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Decoder::OpenNote => "open_note",
            Decoder::CheckpointOpen => "checkpoint_open",
            Decoder::CheckpointBody => "checkpoint_body",
            Decoder::VerifierKey => "verifier_key",
            Decoder::Entry => "entry",
            Decoder::BundleJson => "bundle_json",
            Decoder::LifecycleJson => "lifecycle_json",
            Decoder::SubjectProofBytes => "subject_proof_bytes",
            Decoder::SubjectProofJson => "subject_proof_json",
            Decoder::ExtensionLine => "extension_line",
            Decoder::TextFields => "text_fields",
            Decoder::StoredBytes => "stored_bytes",
            Decoder::Identifier => "identifier",
            Decoder::EventSubmission => "event_submission",
        }
    }

    /// Whether its input is JSON (so that structure-aware mutations apply).
    pub fn is_json(self) -> bool {
        matches!(
            self,
            Decoder::BundleJson | Decoder::LifecycleJson | Decoder::SubjectProofJson
        )
    }
}

/// What one check saw, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The decoder (or verifier) accepted the input, and what it accepted is true.
    Accepted,
    /// The decoder refused the input.
    Rejected,
}

/// A known answer of the subject index: at `root`, `token` has `head` (or is absent), and its
/// canonical proof is `proof`.
pub struct ProofTruth {
    /// The subject-index root.
    pub root: RootHash,
    /// The token asked about.
    pub token: SubjectToken,
    /// The true head, `None` for absence.
    pub head: Option<SubjectHead>,
    /// The canonical proof's binary encoding.
    pub proof: Vec<u8>,
}

/// The reference log and everything derived from it.
pub struct World {
    /// The log's key (the seed of `tests/vectors/signing.json`).
    pub log: LogSigner,
    /// A witness whose key the verifier does not know.
    pub witness: LogSigner,
    /// What the verifier is given: the log's key only.
    pub keys: Vec<VerifierKey>,
    /// Entry bytes, by index.
    pub entries: Vec<Vec<u8>>,
    /// Entry signatures, by index.
    pub signatures: Vec<EntrySignature>,
    /// The Merkle tree of all entries.
    pub hashes: MemoryHashStore,
    /// The subject index, versions 7 and 12.
    pub index: MemorySubjectStore,
    /// Every node, node key and stale record the index wrote.
    pub stored: Vec<Vec<u8>>,
    /// The signed checkpoints: (checkpoint, note text), at sizes 7 and 12.
    pub checkpoints: Vec<(Checkpoint, String)>,
    /// The subject tokens (with entries, then absent ones).
    pub tokens: Vec<SubjectToken>,
    /// The subject-index root at each checkpoint size.
    pub index_roots: Vec<(u64, RootHash)>,
    /// Every subject's head at each checkpoint size.
    pub heads: HashMap<u64, HashMap<SubjectToken, SubjectHead>>,
    /// `auditors[k]` has replayed entries `0..k`.
    pub auditors: Vec<LogAuditor>,
    /// Every note body that the log key really signed in some seed (found by re-signing).
    pub signed_bodies: HashSet<String>,
    /// Known answers of the subject index (the log's and the vectors').
    pub truths: Vec<ProofTruth>,
    /// Seed artifacts, by decoder.
    seeds: HashMap<Decoder, Vec<Vec<u8>>>,
    /// Seeds that must be accepted (positive controls), by decoder.
    valid: HashMap<Decoder, Vec<Vec<u8>>>,
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("the vectors are JSON")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn b64(text: &str) -> Vec<u8> {
    STANDARD.decode(text).expect("the vectors' base64 decodes")
}

fn token_of(text: &str) -> SubjectToken {
    SubjectToken::from_slice(&b64(text)).expect("a 32-byte token")
}

/// A token of 32 bytes: `fill` everywhere, then `last` bytes at the end.
fn token(fill: u8, last: &[u8]) -> SubjectToken {
    let mut bytes = [fill; 32];
    bytes[32 - last.len()..].copy_from_slice(last);
    SubjectToken::from_bytes(bytes)
}

/// Which subject entry `i` of the reference log concerns (`None`: no subject).
fn subject_of(i: u64, tokens: &[SubjectToken]) -> Option<SubjectToken> {
    // A: 0 3 6 10; C: 1 9; B: 4 8; G: 5.
    match i {
        0 | 3 | 6 | 10 => Some(tokens[0]),
        4 | 8 => Some(tokens[1]),
        1 | 9 => Some(tokens[2]),
        5 => Some(tokens[3]),
        _ => None,
    }
}

/// The event of entry `i`: a different kind and shape for each, so the decoder meets every field.
fn event(i: u64) -> Event {
    let mut event = Event {
        event_id: format!("evt-{i}"),
        kind: (i % 17) as i32,
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_767_225_000 + i as i64,
            nanos: 0,
        }),
        system: if i.is_multiple_of(2) {
            "crm"
        } else {
            "billing"
        }
        .to_owned(),
        data_categories: vec!["contact".into(), "identity".into()],
        purposes: vec!["service".into()],
        legal_bases: vec!["contract".into()],
        ..Event::default()
    };
    match i % 4 {
        0 => {
            event.kind = EventKind::Share as i32;
            event.recipient = Some(Recipient {
                name: "Acme Mail".into(),
                role: 1,
                country: "IE".into(),
                transfer_basis: 0,
            });
        }
        1 => event.details_digest = vec![i as u8; 32],
        2 => {
            event.kind = EventKind::Correction as i32;
            event.correction = Some(Correction {
                target_index: i.saturating_sub(1),
                action: 2,
                reason: "typo".into(),
            });
        }
        _ => event.deletion_method = 1,
    }
    event
}

impl World {
    /// Builds the reference log, its seeds, and checks nothing (see `positive_controls`).
    pub fn build() -> Self {
        let signing = json(SIGNING_VECTORS);
        let seed: [u8; 32] = hex::decode(str_of(&signing, "ed25519_seed_hex"))
            .expect("hex seed")
            .try_into()
            .expect("32 bytes");
        let origin = str_of(&signing, "origin");
        let log = LogSigner::from_seed(origin, &seed).expect("the vectors' origin is a key name");
        let witness = LogSigner::from_seed("witness.example", &[9; 32]).expect("key name");
        let keys = vec![log.verifier_key()];

        // A and B share 254 leading bits (a path of ~255 levels), C and G are alone on their
        // side; D, E and F are absent (D and E end in an empty subtree, F on C's leaf).
        let tokens = vec![
            token(0x11, &[]),
            token(0x11, &[0x12]),
            token(0x80, &[]),
            token(0x40, &[]),
            token(0x11, &[0x00, 0x00]),
            token(0x00, &[]),
            token(0x80, &[0x81]),
        ];

        let mut entries = Vec::new();
        let mut signatures = Vec::new();
        let mut leaves = Vec::new();
        let mut prev = [0u8; 32];
        let mut heads: HashMap<SubjectToken, SubjectHead> = HashMap::new();
        let mut heads_at = HashMap::new();
        let mut auditors = vec![LogAuditor::new(keys.clone())];
        for i in 0..LOG_SIZE {
            let subject = subject_of(i, &tokens);
            let (seq, prev_index) = subject
                .and_then(|t| heads.get(&t))
                .map_or((0, 0), |h| (h.count, h.last_index));
            let entry = Entry {
                index: i,
                prev_hash: prev.to_vec(),
                received_at: Some(prost_types::Timestamp {
                    seconds: 1_767_225_600 + i as i64,
                    nanos: (i as i32) * 1000,
                }),
                producer: if i % 3 == 0 { "crm" } else { "billing" }.to_owned(),
                subject_token: subject.map_or_else(Vec::new, |t| t.as_bytes().to_vec()),
                subject_seq: seq,
                subject_prev_index: prev_index,
                event: Some(event(i)),
            };
            let bytes = encode_entry(&entry).expect("a valid envelope");
            let leaf = leaf_hash(&bytes);
            let signature = log.sign_entry(&leaf);
            if let Some(t) = subject {
                heads.insert(
                    t,
                    SubjectHead {
                        count: seq + 1,
                        last_index: i,
                        last_leaf: leaf,
                    },
                );
            }
            let mut auditor = auditors.last().expect("one auditor").clone();
            auditor
                .push(&bytes, &signature, Some(log.key_id()))
                .expect("the auditor replays the reference log");
            auditors.push(auditor);
            entries.push(bytes);
            signatures.push(signature);
            leaves.push(leaf);
            prev = *leaf.as_bytes();
            if CHECKPOINT_SIZES.contains(&(i + 1)) {
                heads_at.insert(i + 1, heads.clone());
            }
        }
        let (hashes, _) = MemoryHashStore::from_leaves(leaves).expect("a small tree");

        // The subject index, one version per checkpoint.
        let mut index = MemorySubjectStore::new();
        let mut stored = Vec::new();
        let mut base = None;
        let mut index_roots = Vec::new();
        for size in CHECKPOINT_SIZES {
            let updates: Vec<(SubjectToken, SubjectHead)> =
                heads_at[&size].iter().map(|(t, h)| (*t, *h)).collect();
            let commit = apply_updates(&index, base, size, &updates).expect("index update");
            for (key, page) in &commit.pages {
                stored.push(key.to_key_bytes().to_vec());
                let mut bytes = Vec::new();
                page.encode(key.version, &mut bytes)
                    .expect("a page encodes");
                stored.push(bytes);
                let mut bytes = Vec::new();
                page.encode_as_schema_5(&mut bytes)
                    .expect("a page encodes as schema 5 wrote it");
                stored.push(bytes);
                for node in page.nodes() {
                    stored.push(node.node.to_bytes());
                }
            }
            for stale in &commit.stale {
                stored.push(stale.to_key_bytes().to_vec());
            }
            index_roots.push(commit.root_hash());
            index.commit(commit);
            base = Some(size);
        }
        for (level, i) in [(0u8, 0u64), (0, 11), (2, 1), (3, 0), (63, 0)] {
            stored.push(
                NodeId::new(level, i)
                    .expect("node id")
                    .to_key_bytes()
                    .to_vec(),
            );
        }
        for h in heads_at[&12].values() {
            stored.push(h.to_bytes().to_vec());
        }

        let mut checkpoints = Vec::new();
        for (n, size) in CHECKPOINT_SIZES.into_iter().enumerate() {
            let checkpoint = Checkpoint {
                origin: origin.to_owned(),
                size,
                root: root_at(&hashes, size).expect("root"),
                extensions: vec![
                    format_extension_line(&index_roots[n]),
                    "future-extension 1".to_owned(),
                ],
            };
            // The witness signs first on one, after the log on the other.
            let signers = if n == 0 {
                [&witness, &log]
            } else {
                [&log, &witness]
            };
            let note = sign_note(&checkpoint.to_body(), &signers).expect("a valid body");
            checkpoints.push((checkpoint, note));
        }

        let mut world = World {
            log,
            witness,
            keys,
            entries,
            signatures,
            hashes,
            index,
            stored,
            checkpoints,
            tokens,
            index_roots: CHECKPOINT_SIZES.into_iter().zip(index_roots).collect(),
            heads: heads_at,
            auditors,
            signed_bodies: HashSet::new(),
            truths: Vec::new(),
            seeds: HashMap::new(),
            valid: HashMap::new(),
        };
        world.add_seeds(&signing);
        world
    }

    /// The checkpoint of size `size` and its note.
    pub fn checkpoint(&self, size: u64) -> &(Checkpoint, String) {
        self.checkpoints
            .iter()
            .find(|(c, _)| c.size == size)
            .expect("a checkpoint of the reference log")
    }

    /// The bundle entry of `index` against the tree of `size` leaves.
    fn bundle_entry(&self, index: u64, size: u64, with_key_id: bool) -> BundleEntry {
        BundleEntry {
            index,
            entry: self.entries[index as usize].clone(),
            signature: self.signatures[index as usize],
            inclusion_proof: inclusion_proof(&self.hashes, index, size).expect("proof"),
            key_id: with_key_id.then(|| self.log.key_id()),
        }
    }

    /// The indexes of `token`'s entries in the tree of `size` leaves, oldest first.
    pub fn chain(&self, token: &SubjectToken, size: u64) -> Vec<u64> {
        (0..size)
            .filter(|&i| subject_of(i, &self.tokens).as_ref() == Some(token))
            .collect()
    }

    /// A lifecycle bundle of `token` at the checkpoint of `size`.
    fn lifecycle(&self, token: SubjectToken, size: u64, erased: bool) -> LifecycleBundle {
        LifecycleBundle {
            checkpoint: self.checkpoint(size).1.clone(),
            token,
            subject_proof: prove(&self.index, size, &token).expect("proof"),
            entries: self
                .chain(&token, size)
                .into_iter()
                .enumerate()
                .map(|(n, i)| self.bundle_entry(i, size, n % 2 == 0))
                .collect(),
            details_erased: erased,
        }
    }

    fn add(&mut self, decoder: Decoder, seed: impl Into<Vec<u8>>, valid: bool) {
        let seed = seed.into();
        if valid {
            self.valid.entry(decoder).or_default().push(seed.clone());
        }
        self.seeds.entry(decoder).or_default().push(seed);
    }

    /// Records the body of `note` if the log key signed it: the note holds the line that
    /// re-signing the body with the (deterministic) log key gives.
    fn learn_signed_body(&mut self, note: &str) {
        let Some(split) = note.rfind("\n\n") else {
            return;
        };
        let body = &note[..split + 1];
        let mut raw = self.log.key_id().as_bytes().to_vec();
        raw.extend_from_slice(&self.log.sign_note_body(body.as_bytes()));
        let line = format!(
            "{SIGNATURE_LINE_PREFIX}{} {}",
            self.log.origin(),
            STANDARD.encode(raw)
        );
        if note[split + 2..].lines().any(|l| l == line) {
            self.signed_bodies.insert(body.to_owned());
        }
    }

    fn add_seeds(&mut self, signing: &Value) {
        // Notes and checkpoints: the log's, then the vectors' (good and bad).
        let mut notes: Vec<(String, bool, bool)> = self
            .checkpoints
            .iter()
            .map(|(_, n)| (n.clone(), true, true))
            .collect();
        notes.push((str_of(signing, "checkpoint_note").to_owned(), true, true));
        for case in signing["good_notes"].as_array().expect("good notes") {
            notes.push((str_of(case, "note").to_owned(), true, true));
        }
        for case in signing["bad_notes"].as_array().expect("bad notes") {
            notes.push((str_of(case, "note").to_owned(), false, false));
        }
        for (note, opens, is_checkpoint) in notes {
            self.learn_signed_body(&note);
            self.add(Decoder::OpenNote, note.clone(), opens);
            self.add(Decoder::CheckpointOpen, note.clone(), is_checkpoint);
            if let Some(split) = note.rfind("\n\n") {
                self.add(
                    Decoder::CheckpointBody,
                    &note.as_bytes()[..split + 1],
                    opens,
                );
            }
        }

        let vector_key = str_of(signing, "verifier_key").to_owned();
        self.add(Decoder::VerifierKey, vector_key, true);
        self.add(
            Decoder::VerifierKey,
            self.witness.verifier_key().to_string(),
            true,
        );

        // Entries: the log's, and the vectors' envelopes.
        for bytes in self.entries.clone() {
            self.add(Decoder::Entry, bytes, true);
        }
        for case in signing["entry_envelopes"].as_array().expect("envelopes") {
            let bytes = hex::decode(str_of(case, "bytes_hex")).expect("hex");
            self.add(Decoder::Entry, bytes, true);
        }

        // Bundles.
        let (cp7, cp12) = (self.checkpoint(7).1.clone(), self.checkpoint(12).1.clone());
        let mut with_link = Bundle::new(cp12);
        for (n, i) in [0u64, 5, 11].into_iter().enumerate() {
            with_link.entries.push(self.bundle_entry(i, 12, n != 1));
        }
        with_link.consistency = Some(ConsistencyLink {
            from_checkpoint: cp7.clone(),
            proof: consistency_proof(&self.hashes, 7, 12).expect("proof"),
        });
        let mut small = Bundle::new(cp7);
        small.entries.push(self.bundle_entry(3, 7, true));
        small.entries.push(self.bundle_entry(6, 7, false));
        for bundle in [with_link, small] {
            self.add(Decoder::BundleJson, bundle.to_json(), true);
        }

        // Lifecycles: A (4 entries), B (1 entry, erased), D absent (empty end), F absent (C's leaf).
        let t = self.tokens.clone();
        for (token, size, erased) in [(t[0], 12, false), (t[1], 7, true), (t[4], 12, false)] {
            self.add(
                Decoder::LifecycleJson,
                self.lifecycle(token, size, erased).to_json(),
                true,
            );
        }
        self.add(
            Decoder::LifecycleJson,
            self.lifecycle(t[6], 7, false).to_json(),
            true,
        );

        // Subject proofs: every token at both versions, then the vectors'.
        for size in CHECKPOINT_SIZES {
            let root = self.index_root(size);
            for token in self.tokens.clone() {
                let proof = prove(&self.index, size, &token).expect("proof");
                let head = self.heads[&size].get(&token).copied();
                let mut seed = root.as_bytes().to_vec();
                seed.extend_from_slice(token.as_bytes());
                seed.extend_from_slice(&proof.to_bytes());
                self.add(Decoder::SubjectProofBytes, seed, true);
                let json = serde_json::to_string(&proof).expect("JSON");
                self.add(Decoder::SubjectProofJson, json, true);
                self.truths.push(ProofTruth {
                    root,
                    token,
                    head,
                    proof: proof.to_bytes(),
                });
            }
        }
        let subject = json(SUBJECT_INDEX_VECTORS);
        for case in subject["proofs"].as_array().expect("proofs") {
            let root = RootHash::from_base64(str_of(case, "root")).expect("root");
            let token = token_of(str_of(case, "token"));
            let proof = hex::decode(str_of(case, "proof_bytes")).expect("hex");
            let head = (!case["result"].is_null()).then(|| SubjectHead {
                count: case["result"]["count"].as_u64().expect("count"),
                last_index: case["result"]["last_index"].as_u64().expect("index"),
                last_leaf: LeafHash::from_base64(str_of(&case["result"], "last_leaf"))
                    .expect("leaf"),
            });
            let mut seed = root.as_bytes().to_vec();
            seed.extend_from_slice(token.as_bytes());
            seed.extend_from_slice(&proof);
            self.add(Decoder::SubjectProofBytes, seed, true);
            self.add(Decoder::SubjectProofJson, case["proof"].to_string(), true);
            self.truths.push(ProofTruth {
                root,
                token,
                head,
                proof,
            });
        }
        for case in subject["must_fail"].as_array().expect("must_fail") {
            if let (Some(root), Some(token), Some(proof)) = (
                case["root"].as_str(),
                case["token"].as_str(),
                case["proof_bytes"].as_str(),
            ) {
                let mut seed = b64(root);
                seed.extend_from_slice(&b64(token));
                seed.extend_from_slice(&hex::decode(proof).expect("hex"));
                self.add(Decoder::SubjectProofBytes, seed, false);
            }
            if !case["proof"].is_null() {
                self.add(Decoder::SubjectProofJson, case["proof"].to_string(), false);
            }
        }

        // Extension lines.
        for (checkpoint, _) in self.checkpoints.clone() {
            self.add(
                Decoder::ExtensionLine,
                checkpoint.extensions[0].clone(),
                true,
            );
        }
        for case in subject["extension_lines"].as_array().expect("lines") {
            self.add(Decoder::ExtensionLine, str_of(case, "line"), true);
        }
        for case in subject["bad_extension_lines"].as_array().expect("lines") {
            self.add(Decoder::ExtensionLine, str_of(case, "line"), false);
        }

        // Text fields: a hash, an entry signature, a key ID, a token.
        let text_fields = [
            self.checkpoint(12).0.root.to_base64(),
            self.signatures[0].to_base64(),
            self.log.key_id().to_string(),
            STANDARD.encode(self.tokens[0].as_bytes()),
        ];
        for text in text_fields {
            self.add(Decoder::TextFields, text, true);
        }

        for bytes in self.stored.clone() {
            self.add(Decoder::StoredBytes, bytes, true);
        }

        for row in signing["directory_rows"].as_array().expect("rows") {
            let input = format!("{}:{}", str_of(row, "kind"), str_of(row, "value"));
            self.add(Decoder::Identifier, input, true);
        }
        self.add(Decoder::Identifier, "email: Alice@Example.COM \t", true);
        self.add(Decoder::Identifier, "phone:+44 (0)20 7946 0958", true);

        // Every kind's example submission (UNSPECIFIED's does not validate).
        let kinds = gdpr_ledger::validation::requirements::all_kinds();
        for kind in std::iter::once(EventKind::Unspecified).chain(kinds) {
            let bytes = example_submission(kind).encode_to_vec();
            self.add(
                Decoder::EventSubmission,
                bytes,
                kind != EventKind::Unspecified,
            );
        }
    }

    /// The subject-index root at a checkpoint size.
    pub fn index_root(&self, size: u64) -> RootHash {
        self.index_roots
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, root)| *root)
            .expect("a checkpoint size of the reference log")
    }

    /// The seed artifacts of `decoder`.
    pub fn seeds(&self, decoder: Decoder) -> &[Vec<u8>] {
        self.seeds.get(&decoder).map_or(&[], Vec::as_slice)
    }

    /// The seeds of `decoder` that it must accept (positive controls).
    pub fn valid_seeds(&self, decoder: Decoder) -> &[Vec<u8>] {
        self.valid.get(&decoder).map_or(&[], Vec::as_slice)
    }

    /// Runs `decoder` on `input` and checks what it returned. `Err` names the misbehaviour; a
    /// decoder's panic propagates.
    pub fn check(&self, decoder: Decoder, input: &[u8]) -> Result<Verdict, String> {
        match decoder {
            Decoder::OpenNote => self.check_open_note(input),
            Decoder::CheckpointOpen => self.check_checkpoint(input),
            Decoder::CheckpointBody => check_body(input),
            Decoder::VerifierKey => check_verifier_key(input),
            Decoder::Entry => self.check_entry(input),
            Decoder::BundleJson => self.check_bundle(input),
            Decoder::LifecycleJson => self.check_lifecycle(input),
            Decoder::SubjectProofBytes => self.check_proof_bytes(input),
            Decoder::SubjectProofJson => self.check_proof_json(input),
            Decoder::ExtensionLine => check_extension_line(input),
            Decoder::TextFields => check_text_fields(input),
            Decoder::StoredBytes => check_stored(input),
            Decoder::Identifier => check_identifier(input),
            Decoder::EventSubmission => self.check_submission(input),
        }
    }

    fn check_open_note(&self, input: &[u8]) -> Result<Verdict, String> {
        let Ok(opened) = open_note(input, &self.keys) else {
            return Ok(Verdict::Rejected);
        };
        if !self.signed_bodies.contains(&opened.body) {
            return Err(format!(
                "opened a note whose body the log never signed: {:?}",
                opened.body
            ));
        }
        if opened.verified_by != self.keys {
            return Err(format!("verified by {:?}", opened.verified_by));
        }
        Ok(Verdict::Accepted)
    }

    fn check_checkpoint(&self, input: &[u8]) -> Result<Verdict, String> {
        let Ok(verified) = Checkpoint::open(input, &self.keys) else {
            return Ok(Verdict::Rejected);
        };
        let body = verified.checkpoint.to_body();
        if !self.signed_bodies.contains(&body) {
            return Err(format!(
                "opened a checkpoint the log never signed: {body:?}"
            ));
        }
        if verified.log_keys != self.keys || !verified.cosigners.is_empty() {
            return Err(format!(
                "log keys {:?}, cosigners {:?}",
                verified.log_keys, verified.cosigners
            ));
        }
        // The auditor, replayed to the checkpoint's size, accepts it exactly when it is the log's.
        let size = verified.checkpoint.size;
        if let (Some(auditor), Ok(text)) =
            (self.auditors.get(size as usize), std::str::from_utf8(input))
        {
            let audited = auditor.clone().check_checkpoint(text);
            let reference = self.checkpoints.iter().find(|(c, _)| c.size == size);
            let agrees = match (&audited, reference) {
                (Ok(a), Some((c, _))) => a.checkpoint == *c,
                (Err(_), None) => true,
                _ => false,
            };
            if !agrees {
                return Err(format!("the auditor disagrees: {audited:?}"));
            }
        }
        Ok(Verdict::Accepted)
    }

    fn check_entry(&self, input: &[u8]) -> Result<Verdict, String> {
        let decoded = decode_entry(input);
        let Ok(sequenced) = SequencedEntry::from_bytes(input.to_vec()) else {
            return match decoded {
                Ok(_) => Err("decode_entry accepts what SequencedEntry refuses".into()),
                Err(_) => Ok(Verdict::Rejected),
            };
        };
        if decoded.as_ref() != Ok(sequenced.entry()) || sequenced.leaf_hash() != leaf_hash(input) {
            return Err("SequencedEntry disagrees with decode_entry or the leaf hash".into());
        }
        // Everything a reader does with a decoded entry.
        let _ = (
            sequenced.prev_hash(),
            sequenced.subject_token(),
            sequenced.event_kind(),
            sequenced.producer(),
            sequenced.received_at(),
        );
        let row = TimelineRow::of(&VerifiedEntry {
            entry: sequenced.clone(),
            signed_by: self.log.key_id(),
        });
        let _ = row.to_string();
        // The log's signature for this index passes the replay only for the log's bytes.
        let index = sequenced.index();
        if index < LOG_SIZE {
            let i = index as usize;
            let pushed = self.auditors[i]
                .clone()
                .push(input, &self.signatures[i], None);
            if pushed.is_ok() != (input == self.entries[i].as_slice()) {
                return Err(format!("the auditor's replay at index {index}: {pushed:?}"));
            }
        }
        Ok(Verdict::Accepted)
    }

    /// A verified checkpoint must be one of the log's.
    fn is_log_checkpoint(&self, checkpoint: &Checkpoint) -> bool {
        self.checkpoints.iter().any(|(c, _)| c == checkpoint)
    }

    /// Each verified entry must be the log's entry at its index.
    fn check_entries(&self, entries: &[VerifiedEntry], size: u64) -> Result<(), String> {
        for e in entries {
            let index = e.entry.index();
            if index >= size
                || e.entry.bytes() != self.entries[index as usize].as_slice()
                || e.signed_by != self.log.key_id()
            {
                return Err(format!("verified an entry that is not the log's: {e:?}"));
            }
        }
        Ok(())
    }

    fn check_bundle(&self, input: &[u8]) -> Result<Verdict, String> {
        let Ok(text) = std::str::from_utf8(input) else {
            return Ok(Verdict::Rejected);
        };
        let Ok(verified) = verify_bundle_json(text, &self.keys) else {
            return Ok(Verdict::Rejected);
        };
        let head = &verified.checkpoint.checkpoint;
        if !self.is_log_checkpoint(head) {
            return Err(format!(
                "verified a checkpoint that is not the log's: {head:?}"
            ));
        }
        self.check_entries(&verified.entries, head.size)?;
        if let Some(earlier) = &verified.consistent_with
            && (!self.is_log_checkpoint(&earlier.checkpoint) || earlier.checkpoint.size > head.size)
        {
            return Err(format!("verified a consistency link from {earlier:?}"));
        }
        Ok(Verdict::Accepted)
    }

    fn check_lifecycle(&self, input: &[u8]) -> Result<Verdict, String> {
        let Ok(text) = std::str::from_utf8(input) else {
            return Ok(Verdict::Rejected);
        };
        let Ok(verified) = verify_lifecycle_json(text, &self.keys) else {
            return Ok(Verdict::Rejected);
        };
        let checkpoint = &verified.checkpoint.checkpoint;
        if !self.is_log_checkpoint(checkpoint) {
            return Err(format!(
                "verified a checkpoint that is not the log's: {checkpoint:?}"
            ));
        }
        let size = checkpoint.size;
        let head = self.heads[&size].get(&verified.token).copied();
        if verified.head != head {
            return Err(format!(
                "verified head {:?} of {}, the log's is {head:?}",
                verified.head, verified.token
            ));
        }
        self.check_entries(&verified.entries, size)?;
        let got: Vec<u64> = verified.entries.iter().map(|e| e.entry.index()).collect();
        if got != self.chain(&verified.token, size) {
            return Err(format!("verified chain {got:?} of {}", verified.token));
        }
        let _ = TimelineRow::all(&verified);
        Ok(Verdict::Accepted)
    }

    /// The truth about `token` at the subject-index `root`, and its canonical proof: for the
    /// log's roots any token's (from the heads, and `prove`), for the vectors' roots the tokens
    /// they prove; `None` for a root the reference does not know.
    fn truth(
        &self,
        root: &RootHash,
        token: &SubjectToken,
    ) -> Option<(Option<SubjectHead>, Vec<u8>)> {
        if let Some(size) = CHECKPOINT_SIZES
            .into_iter()
            .find(|&s| self.index_root(s) == *root)
        {
            let proof = prove(&self.index, size, token).expect("the log's index proves");
            return Some((self.heads[&size].get(token).copied(), proof.to_bytes()));
        }
        self.truths
            .iter()
            .find(|t| (t.root, t.token) == (*root, *token))
            .map(|t| (t.head, t.proof.clone()))
    }

    /// A proof that verifies for `token` at `root` must give the true head and be the canonical
    /// proof, when the reference knows that root.
    fn check_proof(
        &self,
        root: &RootHash,
        token: &SubjectToken,
        proof: &SubjectProof,
    ) -> Result<Verdict, String> {
        let Ok(head) = verify(root, token, proof) else {
            return Ok(Verdict::Rejected);
        };
        match self.truth(root, token) {
            Some((truth, canonical)) if head != truth || proof.to_bytes() != canonical => {
                Err(format!(
                    "a proof verifies {head:?} for {token} at {root}, the truth is {truth:?} \
                     (canonical proof: {})",
                    hex::encode(canonical)
                ))
            }
            // Known and true, or a root the reference does not know (only a proof made for it
            // folds to it: nothing to compare).
            _ => Ok(Verdict::Accepted),
        }
    }

    fn check_proof_bytes(&self, input: &[u8]) -> Result<Verdict, String> {
        let (context, bytes) = if input.len() >= 64 {
            let root = RootHash::from_slice(&input[..32]).expect("32 bytes");
            let token = SubjectToken::from_slice(&input[32..64]).expect("32 bytes");
            (Some((root, token)), &input[64..])
        } else {
            (None, input)
        };
        let Ok(proof) = SubjectProof::from_bytes(bytes) else {
            return Ok(Verdict::Rejected);
        };
        if proof.to_bytes() != bytes {
            return Err("a proof decoded from bytes that are not its encoding".into());
        }
        match context {
            Some((root, token)) => self.check_proof(&root, &token, &proof),
            None => Ok(Verdict::Accepted),
        }
    }

    fn check_proof_json(&self, input: &[u8]) -> Result<Verdict, String> {
        let Ok(proof) = serde_json::from_slice::<SubjectProof>(input) else {
            return Ok(Verdict::Rejected);
        };
        let again = serde_json::to_string(&proof).map_err(|e| e.to_string())?;
        if serde_json::from_str::<SubjectProof>(&again).ok().as_ref() != Some(&proof)
            || SubjectProof::from_bytes(&proof.to_bytes()).as_ref() != Ok(&proof)
        {
            return Err("a JSON proof does not round-trip".into());
        }
        // At the log's roots, for every token of the reference log and the proof's own leaf.
        let mut tokens = self.tokens.clone();
        if let ProofTerminal::Leaf { token, .. } = proof.terminal {
            tokens.push(token);
        }
        for size in CHECKPOINT_SIZES {
            let root = self.index_root(size);
            for token in &tokens {
                self.check_proof(&root, token, &proof)?;
            }
        }
        Ok(Verdict::Accepted)
    }
}

/// The ledger's clock for validating submissions: an hour after the examples' events.
fn validation_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EXAMPLE_OCCURRED_AT_SECONDS as u64 + 3600)
}

impl World {
    fn check_submission(&self, input: &[u8]) -> Result<Verdict, String> {
        let Ok(submission) = EventSubmission::decode(input) else {
            return Ok(Verdict::Rejected);
        };
        let limits = ValidationLimits::default();
        if validate_submission(&submission, &limits, validation_clock()).is_err() {
            return Ok(Verdict::Rejected);
        }
        // What the server does next: the subject's identifier gets a directory row, and the
        // event goes into an entry that is encoded once and read back by every verifier.
        for identifier in [&submission.subject, &submission.linked_subject]
            .into_iter()
            .flatten()
        {
            normalize_identifier(&identifier.kind, &identifier.value)
                .map_err(|e| format!("validated, yet the identifier does not normalize: {e}"))?;
        }
        let entry = Entry {
            index: 3,
            prev_hash: vec![0; 32],
            received_at: Some(prost_types::Timestamp {
                seconds: 1_767_225_600,
                nanos: 0,
            }),
            producer: "producer".to_owned(),
            subject_token: submission
                .subject
                .as_ref()
                .map_or_else(Vec::new, |_| self.tokens[0].as_bytes().to_vec()),
            subject_seq: 0,
            subject_prev_index: 0,
            event: submission.event.clone(),
        };
        let bytes = encode_entry(&entry).map_err(|e| format!("validated, yet the entry: {e}"))?;
        let read = SequencedEntry::from_bytes(bytes)
            .map_err(|e| format!("validated, yet the entry does not decode: {e}"))?;
        if read.entry() != &entry {
            return Err("validated, yet the entry reads back otherwise".to_owned());
        }
        let _ = TimelineRow::of(&VerifiedEntry {
            entry: read,
            signed_by: self.log.key_id(),
        })
        .to_string();
        Ok(Verdict::Accepted)
    }
}

fn check_body(input: &[u8]) -> Result<Verdict, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(Verdict::Rejected);
    };
    match Checkpoint::parse_body(text) {
        Ok(checkpoint) if checkpoint.to_body() == text => Ok(Verdict::Accepted),
        Ok(checkpoint) => Err(format!("parsed {checkpoint:?}, which writes another body")),
        Err(_) => Ok(Verdict::Rejected),
    }
}

fn check_verifier_key(input: &[u8]) -> Result<Verdict, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(Verdict::Rejected);
    };
    match VerifierKey::parse(text) {
        Ok(key) if key.to_string() == text => Ok(Verdict::Accepted),
        Ok(key) => Err(format!("parsed {key}, which is written otherwise")),
        Err(_) => Ok(Verdict::Rejected),
    }
}

fn check_extension_line(input: &[u8]) -> Result<Verdict, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(Verdict::Rejected);
    };
    match parse_extension_line(text) {
        Ok(root) if format_extension_line(&root) == text => Ok(Verdict::Accepted),
        Ok(root) => Err(format!(
            "parsed root {root}, whose line is written otherwise"
        )),
        Err(_) => Ok(Verdict::Rejected),
    }
}

fn check_text_fields(input: &[u8]) -> Result<Verdict, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(Verdict::Rejected);
    };
    let mut verdict = Verdict::Rejected;
    let mut accept = |ok: bool, what: &str| -> Result<(), String> {
        if !ok {
            return Err(format!("{what} decodes from a text that is not its own"));
        }
        verdict = Verdict::Accepted;
        Ok(())
    };
    if let Ok(hash) = NodeHash::from_base64(text) {
        accept(hash.to_base64() == text, "a hash")?;
    }
    if let Ok(signature) = EntrySignature::from_base64(text) {
        accept(signature.to_base64() == text, "an entry signature")?;
    }
    if let Ok(id) = text.parse::<KeyId>() {
        accept(id.to_string() == text, "a key ID")?;
    }
    Ok(verdict)
}

fn check_stored(input: &[u8]) -> Result<Verdict, String> {
    let mut verdict = Verdict::Rejected;
    let mut accept = |ok: bool, what: &str| -> Result<(), String> {
        if !ok {
            return Err(format!(
                "{what} decodes from bytes that are not its encoding"
            ));
        }
        verdict = Verdict::Accepted;
        Ok(())
    };
    if let Ok(node) = IndexNode::from_bytes(input) {
        accept(node.to_bytes() == input, "an index node")?;
        let _ = node.hash();
    }
    // A page as the root page of version 1 (a deeper page's bytes read differently at the root),
    // in the encoding the server writes or in the one schemas up to 5 wrote (still read).
    if let Ok(page) = IndexPage::decode(1, NodePath::ROOT, input) {
        let mut bytes = Vec::new();
        page.encode(1, &mut bytes)
            .map_err(|e| format!("a decoded page does not encode: {e}"))?;
        let mut schema_5 = Vec::new();
        page.encode_as_schema_5(&mut schema_5)
            .map_err(|e| format!("a decoded page does not encode as schema 5: {e}"))?;
        accept(bytes == input || schema_5 == input, "an index page")?;
    }
    if let Ok(key) = NodeKey::from_key_bytes(input) {
        accept(key.to_key_bytes() == input, "a node key")?;
        let _ = key.to_string();
    }
    if let Ok(stale) = StaleNode::from_key_bytes(input) {
        accept(stale.to_key_bytes() == input, "a stale record")?;
    }
    if let Ok(id) = NodeId::from_key_bytes(input) {
        accept(id.to_key_bytes() == input, "a node ID")?;
    }
    if let Ok(head) = SubjectHead::from_bytes(input) {
        accept(head.to_bytes() == input, "a subject head")?;
    }
    Ok(verdict)
}

fn check_identifier(input: &[u8]) -> Result<Verdict, String> {
    let Some((kind, value)) = std::str::from_utf8(input)
        .ok()
        .and_then(|t| t.split_once(':'))
    else {
        return Ok(Verdict::Rejected);
    };
    let Ok(normalized) = normalize_identifier(kind, value) else {
        return Ok(Verdict::Rejected);
    };
    // `<kind>:<value>`, and normalizing again changes nothing (a producer that sends the
    // normalized form finds the same directory row).
    let Some(again) = normalized
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix(':'))
    else {
        return Err(format!("{normalized:?} does not start with {kind:?}:"));
    };
    match normalize_identifier(kind, again) {
        Ok(twice) if twice == normalized => Ok(Verdict::Accepted),
        twice => Err(format!("normalizing {normalized:?} again gives {twice:?}")),
    }
}
