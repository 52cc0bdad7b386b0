//! The JSON proof bundle an auditor verifies offline (SPEC.md section 7).
//!
//! ```json
//! {"checkpoint": "<signed note>",
//!  "entries": [{"index": 5, "entry": "<base64>", "signature": "<base64>",
//!               "inclusion_proof": ["<base64 hash>"], "key_id": "5eb4026f"}],
//!  "consistency": {"from_checkpoint": "<signed note>", "proof": ["<base64 hash>"]}}
//! ```
//!
//! Unknown fields are rejected, at every level. A v1 verifier that skipped a field it does not
//! know (say, a later version's subject-index proof) would report the bundle as verified while
//! checking less than its author meant; refusing makes the auditor fetch a verifier that knows.
//!
//! The verifier key always comes from the caller, never from the bundle.

use serde::{Deserialize, Serialize};

use crate::core::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
use crate::core::checks::{Check, json_check};
use crate::core::entry::{EntryDecodeError, SequencedEntry};
use crate::core::hash::NodeHash;
use crate::core::merkle::{ConsistencyError, InclusionError, verify_consistency, verify_inclusion};
use crate::core::signature::{EntrySignature, KeyId, VerifierKey, verify_entry_signature};

/// A proof bundle (SPEC.md section 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// The signed checkpoint (note text) everything is proved against.
    pub checkpoint: String,
    /// The entries proved to be in the checkpoint's tree.
    pub entries: Vec<BundleEntry>,
    /// Optional proof that an earlier checkpoint's tree is a prefix of this one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ConsistencyLink>,
}

/// One entry of a bundle, with its signature and inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The entry's position in the log; must equal the `index` inside the entry bytes.
    pub index: u64,
    /// The entry bytes, verbatim (base64 in JSON).
    #[serde(with = "json_text::bytes")]
    pub entry: Vec<u8>,
    /// The log's signature over the entry (base64 in JSON; SPEC.md section 4).
    #[serde(with = "json_text::signature")]
    pub signature: EntrySignature,
    /// RFC 9162 `PATH` from the entry's leaf to the checkpoint's root (base64 hashes in JSON).
    #[serde(with = "json_text::hashes")]
    pub inclusion_proof: Vec<NodeHash>,
    /// The ID of the log key that signed the entry (8 hex digits), if the bundle names it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "json_text::key_id"
    )]
    pub key_id: Option<KeyId>,
}

/// The link from an earlier checkpoint to the bundle's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyLink {
    /// The earlier signed checkpoint (note text).
    pub from_checkpoint: String,
    /// RFC 9162 `PROOF` from the earlier tree to the bundle's (base64 hashes in JSON).
    #[serde(with = "json_text::hashes")]
    pub proof: Vec<NodeHash>,
}

/// Why one entry of a bundle failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryFailure {
    /// The bundle names a key ID that is not a known key of the origin.
    #[error("it names key ID {0}, which is not a known key of the origin")]
    UnknownKeyId(KeyId),
    /// The signature does not verify under the key the bundle names.
    #[error("its signature does not verify under key {0}")]
    SignatureMismatch(KeyId),
    /// The signature verifies under none of the origin's known keys.
    #[error("its signature verifies under none of the {tried} known keys of the origin")]
    NoKeyVerifies {
        /// How many keys were tried.
        tried: usize,
    },
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("its inclusion proof fails: {0}")]
    Inclusion(InclusionError),
    /// The entry bytes are not an `Entry`.
    #[error(transparent)]
    Undecodable(EntryDecodeError),
    /// The `index` inside the entry bytes is not the bundle's index for it.
    #[error("the index inside the entry bytes is {in_entry}")]
    IndexMismatch {
        /// The index the entry bytes carry (absent reads as 0).
        in_entry: u64,
    },
}

/// Why a bundle does not verify. Each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The text is not a bundle (bad JSON, a key twice, a missing or unknown field, bad base64).
    #[error("not a valid proof bundle: {message}")]
    Json {
        /// Which: [`Check::JsonSyntax`], [`Check::JsonDuplicateKey`] or
        /// [`Check::BundleMalformed`].
        check: Check,
        /// The JSON reader's complaint.
        message: String,
    },
    /// The checkpoint does not open with the verifier keys.
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(CheckpointError),
    /// An entry fails.
    #[error("entry #{position} (index {index}) does not verify: {failure}")]
    Entry {
        /// 0-based position in the bundle's `entries`.
        position: usize,
        /// The bundle's index for the entry.
        index: u64,
        /// The check that failed.
        failure: EntryFailure,
    },
    /// An entry's `prev_hash` is not the leaf hash of its predecessor, which the bundle also
    /// holds (or entry 0's is not 32 zero bytes): the hash chain of SPEC.md section 3 is broken.
    #[error(
        "entry #{position} (index {index}): prev_hash is not the leaf hash of entry {predecessor}"
    )]
    Chain {
        /// 0-based position in the bundle's `entries`.
        position: usize,
        /// The entry's index.
        index: u64,
        /// The predecessor's index (for index 0: none, shown as the zero hash's "entry -1").
        predecessor: ChainPredecessor,
    },
    /// The consistency link's checkpoint does not open with the verifier keys.
    #[error("the earlier checkpoint of the consistency link does not verify: {0}")]
    FromCheckpoint(CheckpointError),
    /// The earlier checkpoint is of another log.
    #[error("the earlier checkpoint is of origin {from_origin:?}, not {origin:?}")]
    ConsistencyOrigin {
        /// The earlier checkpoint's origin.
        from_origin: String,
        /// The bundle checkpoint's origin.
        origin: String,
    },
    /// The earlier checkpoint is of a larger tree.
    #[error("the earlier checkpoint's tree size {from_size} exceeds the checkpoint's {size}")]
    FromCheckpointLarger {
        /// The earlier checkpoint's size.
        from_size: u64,
        /// The bundle checkpoint's size.
        size: u64,
    },
    /// The consistency proof does not link the two trees.
    #[error("the consistency proof fails: {0}")]
    Consistency(ConsistencyError),
}

impl EntryFailure {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> Check {
        match self {
            Self::UnknownKeyId(_) | Self::NoKeyVerifies { tried: 0 } => Check::EntryKeyUnknown,
            Self::SignatureMismatch(_) | Self::NoKeyVerifies { .. } => Check::EntrySignatureInvalid,
            Self::Inclusion(e) => e.check(),
            Self::Undecodable(_) => Check::EntryMalformed,
            Self::IndexMismatch { .. } => Check::EntryIndexMismatch,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

impl BundleError {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> Check {
        match self {
            Self::Json { check, .. } => *check,
            Self::Checkpoint(e) | Self::FromCheckpoint(e) => e.check(),
            Self::Entry { failure, .. } => failure.check(),
            Self::Chain { .. } => Check::EntryChainMismatch,
            Self::ConsistencyOrigin { .. } => Check::ConsistencyOriginMismatch,
            Self::FromCheckpointLarger { .. } => Check::ConsistencyOrder,
            Self::Consistency(e) => e.check(),
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// The entry a `prev_hash` should name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainPredecessor {
    /// Entry 0's `prev_hash` must be 32 zero bytes.
    None,
    /// The leaf hash of the entry of this index.
    Index(u64),
}

impl std::fmt::Display for ChainPredecessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("none (entry 0's is 32 zero bytes)"),
            Self::Index(index) => write!(f, "{index}"),
        }
    }
}

/// The hash chain where the entries show it (SPEC.md section 3): entry 0's `prev_hash` is 32 zero
/// bytes, and an entry whose predecessor is among `entries` names the predecessor's leaf hash.
/// The first failure in `entries`' order: its position there, its index and the predecessor.
pub(crate) fn check_chain(
    entries: &[(usize, &VerifiedEntry)],
) -> Result<(), (usize, u64, ChainPredecessor)> {
    let leaves: std::collections::HashMap<u64, crate::core::hash::LeafHash> = entries
        .iter()
        .map(|(_, e)| (e.entry.index(), e.entry.leaf_hash()))
        .collect();
    for (position, verified) in entries {
        let entry = &verified.entry;
        let index = entry.index();
        let prev = entry.entry().prev_hash.as_slice();
        let (expected, predecessor) = match index.checked_sub(1) {
            None => (Some([0u8; 32]), ChainPredecessor::None),
            Some(before) => (
                leaves.get(&before).map(|leaf| *leaf.as_bytes()),
                ChainPredecessor::Index(before),
            ),
        };
        if let Some(expected) = expected
            && prev != expected.as_slice()
        {
            return Err((*position, index, predecessor));
        }
    }
    Ok(())
}

/// An entry whose signature, inclusion and index verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEntry {
    /// The entry: bytes, leaf hash and decoded fields.
    pub entry: SequencedEntry,
    /// The log key whose signature verified.
    pub signed_by: KeyId,
}

/// What a verified bundle proves.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedBundle {
    /// The checkpoint, opened.
    pub checkpoint: VerifiedCheckpoint,
    /// Every entry, in the bundle's order, proved to be in the checkpoint's tree.
    pub entries: Vec<VerifiedEntry>,
    /// The earlier checkpoint, proved to be a prefix of this one, if the bundle links one.
    pub consistent_with: Option<VerifiedCheckpoint>,
}

impl Bundle {
    /// A bundle of `checkpoint` (note text) with no entries yet.
    pub fn new(checkpoint: String) -> Self {
        Self {
            checkpoint,
            entries: Vec::new(),
            consistency: None,
        }
    }

    /// Parses the JSON text of a bundle.
    pub fn from_json(text: &str) -> Result<Self, BundleError> {
        serde_json::from_str(text).map_err(|e| BundleError::Json {
            check: json_check(&e, Check::BundleMalformed),
            message: e.to_string(),
        })
    }

    /// The JSON text of the bundle, indented for people.
    pub fn to_json(&self) -> String {
        // Every field is a string, a number or a list of those, so serializing cannot fail
        // whatever the bundle holds.
        serde_json::to_string_pretty(self).expect("a bundle always serializes to JSON")
    }
}

/// Parses and verifies a bundle's JSON text; see [`verify_bundle`].
pub fn verify_bundle_json(text: &str, keys: &[VerifierKey]) -> Result<VerifiedBundle, BundleError> {
    verify_bundle(&Bundle::from_json(text)?, keys)
}

/// Verifies a bundle against the verifier keys (SPEC.md section 7): the checkpoint opens; every
/// entry's signature verifies under a known key of the origin (the one the bundle names, or any),
/// its inclusion proof leads to the checkpoint's root, and its bytes carry the bundle's index;
/// and, if a consistency link is present, the earlier checkpoint opens with the same keys and
/// origin, is not larger, and the proof links the two trees.
pub fn verify_bundle(bundle: &Bundle, keys: &[VerifierKey]) -> Result<VerifiedBundle, BundleError> {
    let head = Checkpoint::open(&bundle.checkpoint, keys).map_err(BundleError::Checkpoint)?;
    let log_keys: Vec<&VerifierKey> = keys
        .iter()
        .filter(|k| k.name() == head.checkpoint.origin)
        .collect();
    let entries = bundle
        .entries
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            verify_entry(entry, &head.checkpoint, &log_keys).map_err(|failure| BundleError::Entry {
                position,
                index: entry.index,
                failure,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let positioned: Vec<(usize, &VerifiedEntry)> = entries.iter().enumerate().collect();
    check_chain(&positioned).map_err(|(position, index, predecessor)| BundleError::Chain {
        position,
        index,
        predecessor,
    })?;
    let consistent_with = bundle
        .consistency
        .as_ref()
        .map(|link| verify_link(link, &head.checkpoint, keys))
        .transpose()?;
    Ok(VerifiedBundle {
        checkpoint: head,
        entries,
        consistent_with,
    })
}

/// Signature, then inclusion, then the index inside the bytes.
pub(crate) fn verify_entry(
    entry: &BundleEntry,
    head: &Checkpoint,
    log_keys: &[&VerifierKey],
) -> Result<VerifiedEntry, EntryFailure> {
    let leaf = crate::core::hash::leaf_hash(&entry.entry);
    let signed_by = match entry.key_id {
        Some(id) => {
            let key = log_keys
                .iter()
                .find(|k| k.key_id() == id)
                .ok_or(EntryFailure::UnknownKeyId(id))?;
            verify_entry_signature(key, &leaf, &entry.signature)
                .map_err(|_| EntryFailure::SignatureMismatch(id))?;
            id
        }
        None => log_keys
            .iter()
            .find(|k| verify_entry_signature(k, &leaf, &entry.signature).is_ok())
            .map(|k| k.key_id())
            .ok_or(EntryFailure::NoKeyVerifies {
                tried: log_keys.len(),
            })?,
    };
    verify_inclusion(
        &leaf,
        entry.index,
        head.size,
        &entry.inclusion_proof,
        &head.root,
    )
    .map_err(EntryFailure::Inclusion)?;
    let decoded =
        SequencedEntry::from_bytes(entry.entry.clone()).map_err(EntryFailure::Undecodable)?;
    if decoded.index() != entry.index {
        return Err(EntryFailure::IndexMismatch {
            in_entry: decoded.index(),
        });
    }
    Ok(VerifiedEntry {
        entry: decoded,
        signed_by,
    })
}

/// The earlier checkpoint opens with the same keys and origin, is not larger, and the proof links.
fn verify_link(
    link: &ConsistencyLink,
    head: &Checkpoint,
    keys: &[VerifierKey],
) -> Result<VerifiedCheckpoint, BundleError> {
    let from =
        Checkpoint::open(&link.from_checkpoint, keys).map_err(BundleError::FromCheckpoint)?;
    let earlier = &from.checkpoint;
    if earlier.origin != head.origin {
        return Err(BundleError::ConsistencyOrigin {
            from_origin: earlier.origin.clone(),
            origin: head.origin.clone(),
        });
    }
    if earlier.size > head.size {
        return Err(BundleError::FromCheckpointLarger {
            from_size: earlier.size,
            size: head.size,
        });
    }
    verify_consistency(
        earlier.size,
        head.size,
        &earlier.root,
        &head.root,
        &link.proof,
    )
    .map_err(BundleError::Consistency)?;
    Ok(from)
}

/// The JSON text forms of the bundle's binary fields: strict base64 and lowercase hex.
pub(crate) mod json_text {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Entry bytes as strict standard base64.
    pub mod bytes {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;

        use super::*;

        pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&STANDARD.encode(bytes))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let text = String::deserialize(d)?;
            STANDARD
                .decode(text)
                .map_err(|e| D::Error::custom(format!("entry is not canonical base64: {e}")))
        }
    }

    /// A 64-byte entry signature as strict standard base64.
    pub mod signature {
        use super::*;
        use crate::core::signature::EntrySignature;

        pub fn serialize<S: Serializer>(sig: &EntrySignature, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&sig.to_base64())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EntrySignature, D::Error> {
            let text = String::deserialize(d)?;
            EntrySignature::from_base64(&text)
                .map_err(|e| D::Error::custom(format!("signature: {e}")))
        }
    }

    /// A list of 32-byte hashes, each strict standard base64.
    pub mod hashes {
        use super::*;
        use crate::core::hash::NodeHash;

        pub fn serialize<S: Serializer>(hashes: &[NodeHash], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(hashes.iter().map(NodeHash::to_base64))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NodeHash>, D::Error> {
            Vec::<String>::deserialize(d)?
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    NodeHash::from_base64(text)
                        .map_err(|e| D::Error::custom(format!("proof hash {i}: {e}")))
                })
                .collect()
        }
    }

    /// A 32-byte subject token as strict standard base64.
    pub mod token {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;

        use super::*;
        use crate::core::directory::SubjectToken;

        pub fn serialize<S: Serializer>(token: &SubjectToken, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&STANDARD.encode(token.as_bytes()))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SubjectToken, D::Error> {
            let text = String::deserialize(d)?;
            let bytes = STANDARD
                .decode(text)
                .map_err(|e| D::Error::custom(format!("token is not canonical base64: {e}")))?;
            SubjectToken::from_slice(&bytes)
                .map_err(|_| D::Error::custom(format!("token is {} bytes, not 32", bytes.len())))
        }
    }

    /// An optional key ID as 8 lowercase hex digits.
    pub mod key_id {
        use super::*;
        use crate::core::signature::KeyId;

        pub fn serialize<S: Serializer>(id: &Option<KeyId>, s: S) -> Result<S::Ok, S::Error> {
            match id {
                Some(id) => s.serialize_str(&id.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KeyId>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| text.parse().map_err(D::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries `indexes` of a chain whose `prev_hash` is honest except where `broken` says.
    fn chain(indexes: &[u64], broken: Option<u64>) -> Vec<VerifiedEntry> {
        let mut prev = [0u8; 32];
        let mut out = Vec::new();
        for index in 0..=indexes.iter().copied().max().unwrap_or(0) {
            let mut prev_hash = prev.to_vec();
            if broken == Some(index) {
                prev_hash[0] ^= 1;
            }
            let entry = SequencedEntry::encode(crate::proto::v1::Entry {
                index,
                prev_hash,
                received_at: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                producer: "crm".into(),
                event: Some(crate::proto::v1::Event::default()),
                ..Default::default()
            })
            .expect("a valid envelope");
            prev = *entry.leaf_hash().as_bytes();
            if indexes.contains(&index) {
                out.push(VerifiedEntry {
                    entry,
                    signed_by: KeyId::from_bytes([0; 4]),
                });
            }
        }
        out
    }

    fn first_break(entries: &[VerifiedEntry]) -> Option<(usize, u64, ChainPredecessor)> {
        let positioned: Vec<(usize, &VerifiedEntry)> = entries.iter().enumerate().collect();
        check_chain(&positioned).err()
    }

    #[test]
    fn the_hash_chain_is_checked_where_the_entries_show_it() {
        assert_eq!(first_break(&chain(&[0, 1, 2, 5], None)), None);
        // A break between two entries both present, found at the later one.
        assert_eq!(
            first_break(&chain(&[1, 2, 3], Some(2))),
            Some((1, 2, ChainPredecessor::Index(1)))
        );
        // Entry 0 must start from 32 zero bytes.
        assert_eq!(
            first_break(&chain(&[0], Some(0))),
            Some((0, 0, ChainPredecessor::None))
        );
        // A break whose predecessor is not in the bundle cannot be seen.
        assert_eq!(first_break(&chain(&[0, 2], Some(2))), None);
        // The first failure in the bundle's order is reported.
        let mut reordered = chain(&[3, 4, 6, 7], Some(7));
        reordered.reverse();
        assert_eq!(
            first_break(&reordered),
            Some((0, 7, ChainPredecessor::Index(6)))
        );
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        let entry = r#"{"index":0,"entry":"","signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==","inclusion_proof":[]"#;
        let ok = format!(r#"{{"checkpoint":"x","entries":[{entry}}}]}}"#);
        assert!(Bundle::from_json(&ok).is_ok(), "{ok}");
        for bad in [
            format!(r#"{{"checkpoint":"x","entries":[{entry}}}],"extra":1}}"#),
            format!(r#"{{"checkpoint":"x","entries":[{entry},"extra":1}}]}}"#),
            r#"{"checkpoint":"x","entries":[],"consistency":{"from_checkpoint":"x","proof":[],"extra":1}}"#
                .to_owned(),
        ] {
            assert!(
                matches!(
                    Bundle::from_json(&bad),
                    Err(BundleError::Json {
                        check: Check::BundleMalformed,
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn binary_fields_are_strict() {
        let good_sig = "A".repeat(86) + "==";
        let bad_sig = "A".repeat(85) + "B==";
        let base = |sig: &str, key_id: &str| {
            format!(
                r#"{{"checkpoint":"x","entries":[{{"index":0,"entry":"","signature":"{sig}","inclusion_proof":[]{key_id}}}]}}"#
            )
        };
        assert!(Bundle::from_json(&base(&good_sig, "")).is_ok());
        assert!(Bundle::from_json(&base(&good_sig, r#","key_id":"5eb4026f""#)).is_ok());
        assert!(Bundle::from_json(&base(&bad_sig, "")).is_err());
        assert!(Bundle::from_json(&base(&good_sig, r#","key_id":"5EB4026F""#)).is_err());
    }

    #[test]
    fn json_round_trips() {
        let mut bundle = Bundle::new("note\n".into());
        bundle.entries.push(BundleEntry {
            index: 7,
            entry: vec![8, 7],
            signature: EntrySignature::from_bytes([3; 64]),
            inclusion_proof: vec![NodeHash::from_bytes([1; 32])],
            key_id: Some(KeyId::from_bytes([1, 2, 3, 4])),
        });
        bundle.consistency = Some(ConsistencyLink {
            from_checkpoint: "old\n".into(),
            proof: vec![NodeHash::from_bytes([2; 32])],
        });
        assert_eq!(Bundle::from_json(&bundle.to_json()), Ok(bundle));
    }
}
