//! Preparing submissions for the sequencer: the caller's systems, the event rules, directory row
//! keys, normalised identifiers and the submission digest of the event-id index (which leaves
//! identifiers out).

use std::time::SystemTime;

use super::LedgerService;
use crate::core::directory::{directory_row_key, normalize_identifier};
use crate::proto::v1 as pb;
use crate::sequencer::{Details, PreparedEvent};
use crate::service::auth;
use crate::service::status::ServiceError;
use crate::validation::{FieldError, ValidationLimits, validate_submission};

/// Refuses a submission whose event names a system the caller may not report for
/// (`PERMISSION_DENIED`, naming `<prefix>.event.system`). A correction's amended `system` is
/// checked the same way: an amendment must not move an entry to another system.
pub(super) fn check_systems(
    caller: &auth::Caller,
    submission: &pb::EventSubmission,
    prefix: &str,
) -> Result<(), ServiceError> {
    let Some(event) = &submission.event else {
        return Ok(());
    };
    caller.check_system(&format!("{prefix}.event.system"), &event.system)?;
    // The controller's details, the request policy, the opt-in policy, the retention schedule and
    // the declared systems are policy: an admin declares them (or the server, from its configuration:
    // `server::controller`), never a producer.
    let policy = match pb::EventKind::try_from(event.kind) {
        Ok(pb::EventKind::ControllerDeclared) => Some(("controller_declared", "breach-cases")),
        Ok(pb::EventKind::RequestPolicyDeclared) => Some(("request_policy_declared", "requests")),
        Ok(pb::EventKind::ConsentPolicyDeclared) => Some(("consent_policy_declared", "erasure")),
        Ok(pb::EventKind::RetentionPolicyDeclared) => {
            Some(("retention_policy_declared", "retention"))
        }
        Ok(pb::EventKind::SystemDeclared) => Some(("system_declared", "data-map")),
        _ => None,
    };
    if let Some((kind, doc)) = policy
        && caller.role != auth::Role::Admin
    {
        return Err(auth::AuthError::NotAllowed {
            identity: caller.identity.clone(),
            role: caller.role,
            what: format!("append {prefix}: a {kind} event is an admin's (docs/{doc}.md)"),
        }
        .into());
    }
    Ok(())
}

/// The digest the event-id index keeps of a submission, to tell a retry from a reused event id:
/// BLAKE3-keyed over the event and the details, **not** the identifiers. The identifiers of a
/// retry are compared through the directory instead (`sequencer`), so that once an erasure has
/// destroyed the subject's directory rows, nothing in the index can be matched against a guessed
/// identifier (issue 13).
pub fn submission_digest(key: &[u8; 32], submission: &pb::EventSubmission) -> [u8; 32] {
    let event = submission
        .event
        .as_ref()
        .map(prost::Message::encode_to_vec)
        .unwrap_or_default();
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(b"gdpr-ledger submission digest v2\n");
    hasher.update(&(event.len() as u64).to_be_bytes());
    hasher.update(&event);
    hasher.update(&submission.details);
    *hasher.finalize().as_bytes()
}

/// The key of submission digests, derived from the deployment's directory secret.
pub fn submission_digest_key(directory_secret: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(
        "gdpr-ledger 2026 submission content digest v1",
        directory_secret,
    )
}

impl LedgerService {
    /// Validates one submission and resolves what can be resolved outside the sequencer.
    pub(super) fn prepare(
        &self,
        submission: pb::EventSubmission,
        limits: &ValidationLimits,
        now: SystemTime,
    ) -> Result<PreparedEvent, FieldError> {
        validate_submission(&submission, limits, now)?;
        let row = |identifier: &Option<pb::SubjectIdentifier>, field: &str| {
            identifier
                .as_ref()
                .map(|id| {
                    directory_row_key(&self.directory_secret, &id.kind, &id.value)
                        .map_err(|e| FieldError::new(field, e.to_string()))
                })
                .transpose()
        };
        let subject_row = row(&submission.subject, "subject.value")?;
        let linked_row = row(&submission.linked_subject, "linked_subject.value")?;
        let content_digest = submission_digest(&self.digest_key, &submission);
        let identifiers = [&submission.subject, &submission.linked_subject]
            .into_iter()
            .flatten()
            .map(|id| normalize_identifier(&id.kind, &id.value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FieldError::new("subject.value", e.to_string()))?;
        let details = (!submission.details.is_empty())
            .then(|| Details::Plain(zeroize::Zeroizing::new(submission.details)));
        Ok(PreparedEvent {
            event: submission.event.unwrap_or_default(),
            subject_row,
            linked_row,
            content_digest,
            details,
            identifiers,
            subject_token: None,
            opens_erasure: None,
        })
    }
}
