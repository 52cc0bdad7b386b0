//! A data subject's lifecycle, proved complete at one checkpoint (`docs/subject-index.md`
//! section 10), and its offline verification.
//!
//! ```json
//! {"checkpoint": "<signed note>",
//!  "token": "<base64 subject token>",
//!  "subject_proof": {"leaf": {...}, "siblings": [...]},
//!  "entries": [<SPEC.md section 7 bundle entries, oldest first>]}
//! ```
//!
//! The checkpoint signs the subject index's root; the subject proof gives the token's head (how
//! many entries carry the token, and the index and leaf hash of the latest) or its absence; the
//! entries must then be exactly the token's chain, walked back from the head through
//! `subject_prev_index` down to `subject_seq` 0, each signed and included in the checkpoint's tree.
//! Whatever the server leaves out, adds, reorders or proves against another root is caught, and
//! the error names the check.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::bundle::{
    BundleEntry, ChainPredecessor, EntryFailure, VerifiedEntry, check_chain, json_text,
    verify_entry,
};
use crate::core::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
use crate::core::checks::{Check, json_check};
use crate::core::directory::SubjectToken;
use crate::core::signature::VerifierKey;
use crate::core::subject_index::{
    ExtensionLineError, SubjectHead, SubjectIndexError, SubjectProof, find_subject_index_root,
    verify,
};

/// A lifecycle bundle: everything an auditor needs to check one subject's whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleBundle {
    /// The signed checkpoint (note text) everything is proved against.
    pub checkpoint: String,
    /// The subject token whose lifecycle this is.
    #[serde(with = "json_text::token")]
    pub token: SubjectToken,
    /// The token's head, or its absence, against the checkpoint's subject-index root.
    pub subject_proof: SubjectProof,
    /// Every entry of the token in the checkpoint's tree, oldest first (`subject_seq` 0, 1, ...).
    pub entries: Vec<BundleEntry>,
    /// The server's statement that the subject has been erased: its details (and identifiers)
    /// were crypto-shredded, so entries that commit to details (`details_digest`) have none any
    /// more. Not covered by any proof: proofs never depend on details. Absent in JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub details_erased: bool,
}

impl LifecycleBundle {
    /// Parses the JSON text of a lifecycle bundle.
    pub fn from_json(text: &str) -> Result<Self, LifecycleError> {
        serde_json::from_str(text).map_err(|e| LifecycleError::Json {
            check: json_check(&e, Check::LifecycleMalformed),
            message: e.to_string(),
        })
    }

    /// The JSON text, indented for people.
    pub fn to_json(&self) -> String {
        // Strings, numbers, nulls and lists of those only: serializing cannot fail.
        serde_json::to_string_pretty(self).expect("a lifecycle bundle always serializes to JSON")
    }
}

/// Why a lifecycle does not verify. Each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The text is not a lifecycle bundle.
    #[error("not a valid lifecycle bundle: {message}")]
    Json {
        /// Which: [`Check::JsonSyntax`], [`Check::JsonDuplicateKey`] or
        /// [`Check::LifecycleMalformed`].
        check: Check,
        /// The JSON reader's complaint.
        message: String,
    },
    /// The checkpoint does not open with the verifier keys.
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(CheckpointError),
    /// The checkpoint carries no subject-index line.
    #[error("the checkpoint carries no subject-index root (no extension line names it)")]
    NoIndexRoot,
    /// The checkpoint's subject-index line cannot be read (or there are several).
    #[error("the checkpoint carries no usable subject-index root: {0}")]
    IndexLine(ExtensionLineError),
    /// The subject proof does not verify against the checkpoint's subject-index root: it was made
    /// for another root (stale) or forged.
    #[error(
        "the subject proof does not verify against the checkpoint's subject-index root (stale or forged): {0}"
    )]
    SubjectProof(SubjectIndexError),
    /// The subject is absent at this checkpoint, yet the bundle lists entries.
    #[error("the subject proof shows the token absent, yet the bundle lists {0} entries")]
    EntriesOfAbsentSubject(usize),
    /// The proved head says the token has no entry, which the index never holds.
    #[error("the subject proof proves a head with count 0, which the subject index never holds")]
    EmptyHead,
    /// Fewer entries than the head's count: the one with this `subject_seq` is missing.
    #[error(
        "entry with subject_seq {seq} (index {index}) is missing: the subject index says the token has {count} entries, the bundle lists {listed}"
    )]
    MissingEntry {
        /// The missing entry's place in the chain.
        seq: u64,
        /// Its index in the log, as the chain says.
        index: u64,
        /// How many entries the head says.
        count: u64,
        /// How many the bundle lists.
        listed: usize,
    },
    /// More entries than the head's count.
    #[error("the bundle lists {listed} entries, but the subject index says the token has {count}")]
    ExtraEntries {
        /// How many the head says.
        count: u64,
        /// How many the bundle lists.
        listed: usize,
    },
    /// The chain's entry `seq` is listed at another position than `seq`: entries out of order.
    #[error(
        "entry #{position} (index {index}) is the chain's entry with subject_seq {seq}, so it belongs at #{seq}: entries out of order"
    )]
    OutOfPlace {
        /// Where the bundle lists it.
        position: usize,
        /// Its index.
        index: u64,
        /// Its place in the chain.
        seq: u64,
    },
    /// An entry fails its signature, inclusion or index check.
    #[error("entry #{position} (index {index}) does not verify: {failure}")]
    Entry {
        /// Position in the bundle.
        position: usize,
        /// The bundle's index for it.
        index: u64,
        /// The check that failed.
        failure: EntryFailure,
    },
    /// An entry carries another subject's token (or none).
    #[error("entry #{position} (index {index}) is not an entry of this subject")]
    OtherSubject {
        /// Position in the bundle.
        position: usize,
        /// Its index.
        index: u64,
    },
    /// An entry's `subject_seq` is not its place in the chain.
    #[error("entry #{position} (index {index}) says subject_seq {found}, its place is {position}")]
    SeqMismatch {
        /// Position in the bundle.
        position: usize,
        /// Its index.
        index: u64,
        /// What it says.
        found: u64,
    },
    /// The hash chain (SPEC.md section 3) is broken between two entries the bundle holds.
    #[error(
        "entry #{position} (index {index}): prev_hash is not the leaf hash of entry {predecessor}"
    )]
    Chain {
        /// Position in the bundle.
        position: usize,
        /// Its index.
        index: u64,
        /// The entry its prev_hash should name.
        predecessor: ChainPredecessor,
    },
    /// The latest entry is not the one the head names (its leaf hash differs).
    #[error(
        "the latest entry (index {index}) is not the one the subject index names: leaf hash differs"
    )]
    HeadMismatch {
        /// Its index.
        index: u64,
    },
}

impl LifecycleError {
    /// The failed check (docs/subject-index.md section 11, docs/SPEC.md section 9).
    pub fn check(&self) -> Check {
        match self {
            Self::Json { check, .. } => *check,
            Self::Checkpoint(e) => e.check(),
            Self::NoIndexRoot => Check::LifecycleNoSubjectIndex,
            Self::IndexLine(e) => e.check(),
            Self::SubjectProof(e) => e.check(),
            Self::EntriesOfAbsentSubject(_) => Check::LifecycleAbsentWithEntries,
            Self::EmptyHead => Check::LifecycleHeadInvalid,
            Self::MissingEntry { .. } => Check::LifecycleMissingEntry,
            Self::ExtraEntries { .. } => Check::LifecycleEntriesAdded,
            Self::OutOfPlace { .. } => Check::LifecycleOutOfOrder,
            Self::Entry { failure, .. } => failure.check(),
            Self::OtherSubject { .. } => Check::LifecycleOtherSubject,
            Self::SeqMismatch { .. } => Check::LifecycleSeqMismatch,
            Self::Chain { .. } => Check::EntryChainMismatch,
            Self::HeadMismatch { .. } => Check::LifecycleNotHead,
        }
    }

    /// The failed check's stable code.
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// A verified lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedLifecycle {
    /// The checkpoint, opened.
    pub checkpoint: VerifiedCheckpoint,
    /// The subject token.
    pub token: SubjectToken,
    /// The proved head, `None` when the token has no entry in the checkpoint's tree.
    pub head: Option<SubjectHead>,
    /// Every entry of the token, oldest first: proved complete.
    pub entries: Vec<VerifiedEntry>,
    /// The server's (unproved) statement that the subject's details were erased.
    pub details_erased: bool,
}

/// Parses and verifies a lifecycle bundle's JSON text; see [`verify_lifecycle`].
pub fn verify_lifecycle_json(
    text: &str,
    keys: &[VerifierKey],
) -> Result<VerifiedLifecycle, LifecycleError> {
    verify_lifecycle(&LifecycleBundle::from_json(text)?, keys)
}

/// Verifies a lifecycle bundle against the verifier keys: the checkpoint opens; the subject proof
/// verifies against the subject-index root it signs; if the token is absent there are no entries;
/// otherwise the entries are exactly `count` long and, walked back from the head's `last_index`
/// through `subject_prev_index`, entry `#seq` is the chain's entry with `subject_seq = seq`, carries
/// the token, is signed by a known key and included in the checkpoint's tree, and the latest one's
/// leaf hash is the head's.
pub fn verify_lifecycle(
    bundle: &LifecycleBundle,
    keys: &[VerifierKey],
) -> Result<VerifiedLifecycle, LifecycleError> {
    let opened = Checkpoint::open(&bundle.checkpoint, keys).map_err(LifecycleError::Checkpoint)?;
    let root = find_subject_index_root(&opened.checkpoint)
        .map_err(LifecycleError::IndexLine)?
        .ok_or(LifecycleError::NoIndexRoot)?;
    let head = verify(&root, &bundle.token, &bundle.subject_proof)
        .map_err(LifecycleError::SubjectProof)?;
    let Some(head) = head else {
        if !bundle.entries.is_empty() {
            return Err(LifecycleError::EntriesOfAbsentSubject(bundle.entries.len()));
        }
        return Ok(VerifiedLifecycle {
            checkpoint: opened,
            token: bundle.token,
            head: None,
            entries: Vec::new(),
            details_erased: bundle.details_erased,
        });
    };
    if head.count == 0 {
        return Err(LifecycleError::EmptyHead);
    }
    let listed = bundle.entries.len();
    let log_keys: Vec<&VerifierKey> = keys
        .iter()
        .filter(|k| k.name() == opened.checkpoint.origin)
        .collect();
    let positions: HashMap<u64, usize> = bundle
        .entries
        .iter()
        .enumerate()
        .map(|(position, entry)| (entry.index, position))
        .collect();
    // Walk the chain from the head back to subject_seq 0, finding each entry by its index.
    let mut verified: Vec<Option<VerifiedEntry>> = vec![None; listed];
    let mut chain_positions: Vec<(u64, usize, u64)> = Vec::new();
    let mut expected_index = head.last_index;
    for seq in (0..head.count).rev() {
        let Some(&position) = positions.get(&expected_index) else {
            return Err(LifecycleError::MissingEntry {
                seq,
                index: expected_index,
                count: head.count,
                listed,
            });
        };
        let entry = &bundle.entries[position];
        let checked = verify_entry(entry, &opened.checkpoint, &log_keys).map_err(|failure| {
            LifecycleError::Entry {
                position,
                index: entry.index,
                failure,
            }
        })?;
        if checked.entry.subject_token() != Some(bundle.token) {
            return Err(LifecycleError::OtherSubject {
                position,
                index: entry.index,
            });
        }
        let fields = checked.entry.entry();
        if fields.subject_seq != seq {
            return Err(LifecycleError::SeqMismatch {
                position,
                index: entry.index,
                found: fields.subject_seq,
            });
        }
        if seq + 1 == head.count && checked.entry.leaf_hash() != head.last_leaf {
            return Err(LifecycleError::HeadMismatch { index: entry.index });
        }
        expected_index = fields.subject_prev_index;
        verified[position] = Some(checked);
        chain_positions.push((seq, position, entry.index));
    }
    if listed as u64 != head.count {
        return Err(LifecycleError::ExtraEntries {
            count: head.count,
            listed,
        });
    }
    // Every entry of the chain is there and nothing else; now each must be at its place.
    if let Some(&(seq, position, index)) = chain_positions
        .iter()
        .rev()
        .find(|(seq, position, _)| *position as u64 != *seq)
    {
        return Err(LifecycleError::OutOfPlace {
            position,
            index,
            seq,
        });
    }
    let entries: Vec<VerifiedEntry> = verified.into_iter().flatten().collect();
    let positioned: Vec<(usize, &VerifiedEntry)> = entries.iter().enumerate().collect();
    check_chain(&positioned).map_err(|(position, index, predecessor)| LifecycleError::Chain {
        position,
        index,
        predecessor,
    })?;
    Ok(VerifiedLifecycle {
        checkpoint: opened,
        token: bundle.token,
        head: Some(head),
        entries,
        details_erased: bundle.details_erased,
    })
}

/// One line of a lifecycle's timeline: when, which system, what happened, which categories, to
/// whom, on what legal basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// The entry's index in the log.
    pub index: u64,
    /// When it happened (the event's `occurred_at`, RFC 3339), or when the log received it.
    pub when: String,
    /// The system that reported it.
    pub system: String,
    /// What happened (the event kind, lower case).
    pub what: String,
    /// The data categories concerned.
    pub categories: Vec<String>,
    /// The purposes.
    pub purposes: Vec<String>,
    /// The legal bases relied on.
    pub legal_bases: Vec<String>,
    /// To whom (name, role, country), for shares.
    pub recipient: Option<String>,
    /// Anything else worth a reader's eye (the correction target, the deletion method, ...).
    pub note: Option<String>,
}

impl TimelineRow {
    /// The rows of a verified lifecycle, oldest first; entries with details say whether the
    /// details are sealed or, by the server's statement, erased.
    pub fn all(lifecycle: &VerifiedLifecycle) -> Vec<Self> {
        lifecycle
            .entries
            .iter()
            .map(|entry| {
                let mut row = Self::of(entry);
                if lifecycle.details_erased {
                    row.note = row
                        .note
                        .map(|note| note.replace("details sealed", "details erased"));
                }
                row
            })
            .collect()
    }

    /// The row of one verified entry.
    pub fn of(entry: &VerifiedEntry) -> Self {
        let sequenced = &entry.entry;
        let event = sequenced.entry().event.clone().unwrap_or_default();
        let when = event
            .occurred_at
            .as_ref()
            .or(sequenced.received_at())
            .map_or_else(|| "unknown time".to_owned(), ToString::to_string);
        let what = sequenced.event_kind().map_or_else(
            || "unknown".to_owned(),
            |kind| {
                kind.as_str_name()
                    .trim_start_matches("EVENT_KIND_")
                    .to_ascii_lowercase()
                    .replace('_', " ")
            },
        );
        let recipient = event.recipient.as_ref().map(|r| {
            let role = r.role().as_str_name().trim_start_matches("RECIPIENT_ROLE_");
            let mut text = format!(
                "{} ({})",
                r.name,
                role.to_ascii_lowercase().replace('_', " ")
            );
            if !r.country.is_empty() {
                text.push_str(&format!(", {}", r.country));
            }
            text
        });
        let note = if let Some(correction) = &event.correction {
            Some(format!(
                "{} entry {}: {}",
                correction
                    .action()
                    .as_str_name()
                    .trim_start_matches("CORRECTION_ACTION_")
                    .to_ascii_lowercase(),
                correction.target_index,
                correction.reason
            ))
        } else if event.deletion_method != 0 {
            Some(format!(
                "method {}",
                event
                    .deletion_method()
                    .as_str_name()
                    .trim_start_matches("DELETION_METHOD_")
                    .to_ascii_lowercase()
            ))
        } else if !event.linked_identifier_kind.is_empty() {
            Some(format!(
                "linked a {} identifier",
                event.linked_identifier_kind
            ))
        } else if let Some(exemption) = &event.exemption {
            let until = exemption.until.as_ref().map_or_else(
                || "until further notice".to_owned(),
                |t| format!("until {t}"),
            );
            Some(format!(
                "kept on {} {until}: {}",
                exemption.legal_ground, exemption.reason
            ))
        } else {
            None
        };
        let note = match (note, event.details_digest.is_empty()) {
            (note, true) => note,
            // The details themselves are sealed outside the log (and gone once the subject is
            // erased); the entry commits to them by this digest.
            (None, false) => Some("details sealed".to_owned()),
            (Some(note), false) => Some(format!("{note}; details sealed")),
        };
        Self {
            index: sequenced.index(),
            when,
            system: event.system,
            what,
            categories: event.data_categories,
            purposes: event.purposes,
            legal_bases: event.legal_bases,
            recipient,
            note,
        }
    }
}

impl fmt::Display for TimelineRow {
    /// `when  #index  system  what  [categories]  for purposes  on bases  to recipient  (note)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  #{}  {}  {}",
            self.when, self.index, self.system, self.what
        )?;
        if !self.categories.is_empty() {
            write!(f, "  [{}]", self.categories.join(", "))?;
        }
        if !self.purposes.is_empty() {
            write!(f, "  for {}", self.purposes.join(", "))?;
        }
        if !self.legal_bases.is_empty() {
            write!(f, "  on {}", self.legal_bases.join(", "))?;
        }
        if let Some(recipient) = &self.recipient {
            write!(f, "  to {recipient}")?;
        }
        if let Some(note) = &self.note {
            write!(f, "  ({note})")?;
        }
        Ok(())
    }
}
