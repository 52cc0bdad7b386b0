//! Access entries the ledger writes about its own reads of personal data (issue: "reads of
//! personal data through the ledger are themselves logged"): breach findings, subject access
//! reports, opened details, re-identification. Each is an `access` event appended through the
//! sequencer before anything is served: who (the caller is the entry's producer and actor), what
//! (the event id names the read), when (`occurred_at`), which categories. If the append fails,
//! nothing is served.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use super::auth::Caller;
use super::status::{AppendLocation, ServiceError};
use crate::core::directory::{DirectorySecret, directory_row_key};
use crate::proto::v1 as pb;
use crate::sequencer::{PreparedEvent, SequencerHandle};
use crate::validation::{FieldError, ValidationLimits, is_special_category, validate_submission};

/// The system named by the access entries the ledger writes about itself.
pub const ACCESS_SYSTEM: &str = crate::validation::LEDGER_SYSTEM;
/// The purpose of those access entries (DPV): compliance with a legal obligation.
pub const ACCESS_PURPOSE: &str = "dpv:LegalCompliance";
/// Their article 6 basis: legal obligation (articles 15, 33 and 34).
pub const ACCESS_BASIS: &str = "eu-gdpr:A6-1-c";
/// Their article 9 condition when special categories are read: legal claims.
pub const ACCESS_SPECIAL_CONDITION: &str = "eu-gdpr:A9-2-f";
/// The category named when a read concerns no categorised data.
pub const ACCESS_FALLBACK_CATEGORY: &str = "dpv:PersonalData";

/// Whose data a read concerns.
#[derive(Debug, Clone, Copy)]
pub enum AccessSubject<'a> {
    /// Many subjects (a breach investigation): the entry joins no subject's chain.
    Many,
    /// One subject, by identifier (a subject access report): validated like a producer's event.
    Identifier(&'a pb::SubjectIdentifier),
    /// One subject known by its token (opened details, re-identification).
    Token([u8; 32]),
}

/// Appends access entries through the sequencer.
#[derive(Debug, Clone)]
pub struct AccessLog {
    sequencer: SequencerHandle,
    directory_secret: Arc<DirectorySecret>,
    digest_key: [u8; 32],
}

impl AccessLog {
    /// The log appending through `sequencer`; `digest_key` keys the submission digests as the
    /// Ledger service's do.
    pub fn new(
        sequencer: SequencerHandle,
        directory_secret: Arc<DirectorySecret>,
        digest_key: [u8; 32],
    ) -> Self {
        Self {
            sequencer,
            directory_secret,
            digest_key,
        }
    }

    /// Appends the access entry of a read named `what` (e.g. `report.breach`, `details`) by
    /// `caller`, of `categories`. Returns its index.
    pub async fn append(
        &self,
        caller: &Caller,
        what: &str,
        subject: AccessSubject<'_>,
        categories: BTreeSet<String>,
    ) -> Result<u64, ServiceError> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| ServiceError::internal(format!("randomness: {e}")))?;
        let now = SystemTime::now();
        let special = categories.iter().any(|c| is_special_category(c));
        let mut data_categories: Vec<String> = categories.into_iter().collect();
        if data_categories.is_empty() {
            data_categories.push(ACCESS_FALLBACK_CATEGORY.into());
        }
        let mut legal_bases = vec![ACCESS_BASIS.to_owned()];
        if special {
            legal_bases.push(ACCESS_SPECIAL_CONDITION.to_owned());
        }
        let event = pb::Event {
            event_id: format!(
                "{what}.{}.{}",
                crate::unix_time::nanos(now),
                hex::encode(nonce)
            ),
            kind: pb::EventKind::Access as i32,
            occurred_at: Some(prost_types::Timestamp::from(now)),
            system: ACCESS_SYSTEM.into(),
            data_categories,
            purposes: vec![ACCESS_PURPOSE.into()],
            legal_bases,
            actor: format!("auditor:{}", caller.identity),
            ..pb::Event::default()
        };
        let identifier = match subject {
            AccessSubject::Identifier(identifier) => Some(identifier),
            AccessSubject::Many | AccessSubject::Token(_) => None,
        };
        let submission = pb::EventSubmission {
            event: Some(event.clone()),
            subject: identifier.cloned(),
            linked_subject: None,
            details: Vec::new(),
        };
        // An access entry about a subject named by identifier is a regular access event; one about
        // many subjects, or a subject known only by token, names no identifier (docs/reports.md
        // explains this exception to the table) and is the ledger's own, built from constants.
        if identifier.is_some() {
            validate_submission(&submission, &ValidationLimits::default(), now)
                .map_err(|e| ServiceError::internal(format!("access entry: {e}")))?;
        }
        let subject_row = identifier
            .map(|id| {
                directory_row_key(&self.directory_secret, &id.kind, &id.value)
                    .map_err(|e| FieldError::new("subject.value", e.to_string()))
            })
            .transpose()?;
        let prepared = PreparedEvent {
            event,
            subject_row,
            linked_row: None,
            content_digest: super::submission_digest(&self.digest_key, &submission),
            details: None,
            identifiers: Vec::new(),
            subject_token: match subject {
                AccessSubject::Token(token) => Some(token),
                _ => None,
            },
            opens_erasure: None,
        };
        let receipts = self
            .sequencer
            .append(
                caller.identity.clone(),
                crate::sequencer::CorrectionRights::OwnEntries,
                vec![prepared],
            )
            .await
            .map_err(|e| ServiceError::append(e, AppendLocation::One("access entry")))?;
        receipts
            .first()
            .map(|r| r.index)
            .ok_or_else(|| ServiceError::internal("no receipt for the access entry"))
    }
}
