//! Rules that relate several fields of one submission, checked once every field on its own is
//! known to be well-formed. The table's header comment lists them.

use super::fields::Field;
use super::legal_bases::{CONSENT_BASES, is_article_9_condition};
use super::special_categories::is_special_category;
use super::subjects::check_identifier;
use super::{FieldError, ValidationLimits};
use crate::proto::v1::{CorrectionAction, Event, EventKind, EventSubmission};

/// Applies every cross-field rule to a submission of `kind` whose fields are individually valid.
pub fn check_cross_field_rules(
    sub: &EventSubmission,
    event: &Event,
    kind: EventKind,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    check_special_categories(event)?;
    match kind {
        EventKind::ConsentGiven | EventKind::ConsentWithdrawn => check_consent_bases(event),
        EventKind::IdentityLink => check_identity_link(sub, event, limits),
        EventKind::Correction => check_retraction(sub, event),
        _ => Ok(()),
    }
}

/// An event that names legal bases for an article 9 special category names an article 9(2)
/// condition among them.
fn check_special_categories(event: &Event) -> Result<(), FieldError> {
    if event.legal_bases.is_empty() {
        return Ok(());
    }
    let Some((index, term)) = event
        .data_categories
        .iter()
        .enumerate()
        .find(|(_, term)| is_special_category(term))
    else {
        return Ok(());
    };
    if event
        .legal_bases
        .iter()
        .any(|basis| is_article_9_condition(basis))
    {
        return Ok(());
    }
    Err(FieldError::new(
        "event.legal_bases",
        format!(
            "must include an article 9(2) condition (eu-gdpr:A9-2-a .. A9-2-j): \
             event.data_categories[{index}] is the article 9 special category {term}"
        ),
    ))
}

/// Consent events name consent bases only.
fn check_consent_bases(event: &Event) -> Result<(), FieldError> {
    match event
        .legal_bases
        .iter()
        .position(|basis| !CONSENT_BASES.contains(&basis.as_str()))
    {
        Some(index) => Err(FieldError::new(
            format!("event.legal_bases[{index}]"),
            "a consent event names consent bases only: eu-gdpr:A6-1-a, eu-gdpr:A9-2-a",
        )),
        None => Ok(()),
    }
}

/// An identity link states the linked identifier's kind, and links two different identifiers.
fn check_identity_link(
    sub: &EventSubmission,
    event: &Event,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    let (Some(subject), Some(linked)) = (&sub.subject, &sub.linked_subject) else {
        return Ok(());
    };
    if event.linked_identifier_kind != linked.kind {
        return Err(FieldError::new(
            "event.linked_identifier_kind",
            "must equal linked_subject.kind",
        ));
    }
    if subject.kind == linked.kind
        && check_identifier("subject", subject, limits)?
            == check_identifier("linked_subject", linked, limits)?
    {
        return Err(FieldError::new(
            "linked_subject",
            "names the same identifier as subject (after normalisation)",
        ));
    }
    Ok(())
}

/// The fields an amendment may carry to replace the target's, and a retraction may not.
pub const REPLACEMENT_FIELDS: [Field; 8] = [
    Field::DataCategories,
    Field::Purposes,
    Field::LegalBases,
    Field::Recipient,
    Field::ConsentRef,
    Field::DeletionMethod,
    Field::CollectionChannel,
    Field::BreachRef,
];

/// A retraction carries no replacement fields.
fn check_retraction(sub: &EventSubmission, event: &Event) -> Result<(), FieldError> {
    let retracts = event
        .correction
        .as_ref()
        .is_some_and(|c| c.action == CorrectionAction::Retract as i32);
    match REPLACEMENT_FIELDS
        .into_iter()
        .find(|field| retracts && field.is_present(sub))
    {
        Some(field) => Err(FieldError::new(
            field.path(),
            "a retraction carries no replacement fields; only an amendment does",
        )),
        None => Ok(()),
    }
}
