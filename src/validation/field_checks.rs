//! The format rule of each field, applied when the field is present, whatever the kind.

use std::time::SystemTime;

use super::countries::{is_country_code, is_eea_country};
use super::fields::Field;
use super::formats::{
    EVENT_ID_CHARS, REFERENCE_CHARS, SYSTEM_CHARS, check_identifier_kind, check_occurred_at,
    check_reference, check_terms, check_text,
};
use super::legal_bases::{is_article_6_basis, is_legal_basis};
use super::opt_in_checks::check_consent_policy;
use super::request_checks::{
    check_request, check_request_extension, check_request_policy, check_request_ref,
    check_request_response,
};
use super::retention_checks::check_retention_policy;
use super::subjects::check_identifier;
use super::system_checks::check_system_declaration;
use super::{FieldError, ValidationLimits};
use crate::proto::v1::{
    BreachDetails, BreachNotification, ControllerDeclaration, Correction, CorrectionAction,
    DeletionMethod, EventKind, EventSubmission, Exemption, Recipient, RecipientRole,
    SubjectsNotification, TransferBasis,
};

/// What a present field is checked against.
pub struct Context<'a> {
    /// The bounds in force.
    pub limits: &'a ValidationLimits,
    /// The ledger's clock.
    pub now: SystemTime,
}

/// Checks the format of `field`, known to be present in `sub`.
pub fn check_present_field(
    field: Field,
    sub: &EventSubmission,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    let path = field.path();
    let limits = context.limits;
    match field {
        Field::Subject | Field::LinkedSubject => {
            let identifier = if field == Field::Subject {
                sub.subject.as_ref()
            } else {
                sub.linked_subject.as_ref()
            };
            match identifier {
                Some(identifier) => check_identifier(path, identifier, limits).map(drop),
                None => Ok(()),
            }
        }
        // Any bytes: the server seals them; the submission's size limit bounds them.
        Field::Details => Ok(()),
        _ => {
            let Some(event) = sub.event.as_ref() else {
                return Ok(());
            };
            match field {
                Field::EventId => check_reference(path, &event.event_id, EVENT_ID_CHARS),
                Field::Kind => check_enum::<EventKind>(path, event.kind),
                Field::OccurredAt => match &event.occurred_at {
                    Some(at) => check_occurred_at(path, at, limits, context.now),
                    None => Ok(()),
                },
                Field::System => check_reference(path, &event.system, SYSTEM_CHARS),
                Field::DataCategories => check_terms(path, &event.data_categories, limits),
                Field::Purposes => check_terms(path, &event.purposes, limits),
                Field::LegalBases => check_legal_bases(path, &event.legal_bases, limits),
                Field::Recipient => match &event.recipient {
                    Some(recipient) => check_recipient(recipient, limits),
                    None => Ok(()),
                },
                Field::ConsentRef => check_reference(path, &event.consent_ref, REFERENCE_CHARS),
                Field::Actor => check_reference(path, &event.actor, REFERENCE_CHARS),
                Field::DeletionMethod => check_enum::<DeletionMethod>(path, event.deletion_method),
                Field::Correction => match &event.correction {
                    Some(correction) => check_correction(correction, limits),
                    None => Ok(()),
                },
                Field::LinkedIdentifierKind => {
                    check_identifier_kind(path, &event.linked_identifier_kind)
                }
                Field::BreachRef => check_reference(path, &event.breach_ref, REFERENCE_CHARS),
                Field::CollectionChannel => {
                    check_reference(path, &event.collection_channel, REFERENCE_CHARS)
                }
                // Refused by the table for every kind (the server sets it).
                Field::DetailsDigest => Ok(()),
                Field::Exemption => match &event.exemption {
                    Some(exemption) => check_exemption(exemption, event, limits),
                    None => Ok(()),
                },
                Field::BreachDetails => match &event.breach_details {
                    Some(details) => check_breach_details(details, context),
                    None => Ok(()),
                },
                Field::BreachNotification => match &event.breach_notification {
                    Some(notification) => check_breach_notification(notification, context),
                    None => Ok(()),
                },
                Field::SubjectsNotification => match &event.subjects_notification {
                    Some(notification) => check_subjects_notification(notification, context),
                    None => Ok(()),
                },
                Field::ControllerDeclaration => match &event.controller_declaration {
                    Some(declaration) => check_controller_declaration(declaration, limits),
                    None => Ok(()),
                },
                Field::RequestRef => check_request_ref(path, &event.request_ref),
                Field::Request => match &event.request {
                    Some(request) => check_request(request, context),
                    None => Ok(()),
                },
                Field::RequestExtension => match &event.request_extension {
                    Some(extension) => check_request_extension(extension, context),
                    None => Ok(()),
                },
                Field::RequestResponse => match &event.request_response {
                    Some(response) => check_request_response(response, event.kind, context),
                    None => Ok(()),
                },
                Field::RequestPolicy => match &event.request_policy {
                    Some(policy) => check_request_policy(policy, limits),
                    None => Ok(()),
                },
                Field::ConsentPolicy => match &event.consent_policy {
                    Some(policy) => check_consent_policy(policy, limits),
                    None => Ok(()),
                },
                Field::RetentionPolicy => match &event.retention_policy {
                    Some(policy) => check_retention_policy(policy, limits),
                    None => Ok(()),
                },
                Field::SystemDeclaration => match &event.system_declaration {
                    Some(declared) => check_system_declaration(declared, limits),
                    None => Ok(()),
                },
                Field::Subject | Field::LinkedSubject | Field::Details => Ok(()),
            }
        }
    }
}

/// Checks that an enum field holds a value its proto defines, other than UNSPECIFIED.
pub fn check_enum<E: TryFrom<i32>>(path: &str, value: i32) -> Result<(), FieldError> {
    if value == 0 {
        return Err(FieldError::new(path, "required"));
    }
    match E::try_from(value) {
        Ok(_) => Ok(()),
        Err(_) => Err(FieldError::new(path, format!("unknown value {value}"))),
    }
}

/// Legal bases: terms from the fixed list, at least one of them an article 6(1) basis (article
/// 9(2) conditions come in addition, never instead).
fn check_legal_bases(
    path: &str,
    bases: &[String],
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    check_terms(path, bases, limits)?;
    if let Some(index) = bases.iter().position(|basis| !is_legal_basis(basis)) {
        return Err(FieldError::new(
            format!("{path}[{index}]"),
            "must be a GDPR legal basis: eu-gdpr:A6-1-a .. A6-1-f or eu-gdpr:A9-2-a .. \
             A9-2-j",
        ));
    }
    if !bases.iter().any(|basis| is_article_6_basis(basis)) {
        return Err(FieldError::new(
            path,
            "must include an article 6(1) basis (eu-gdpr:A6-1-a .. A6-1-f); article 9(2) \
             conditions come in addition",
        ));
    }
    Ok(())
}

/// A recipient: name, role and country always; a transfer basis exactly when the country is
/// outside the EEA (GDPR chapter V).
fn check_recipient(recipient: &Recipient, limits: &ValidationLimits) -> Result<(), FieldError> {
    if recipient.name.is_empty() {
        return Err(FieldError::new("event.recipient.name", "required"));
    }
    check_text("event.recipient.name", &recipient.name, limits)?;
    check_enum::<RecipientRole>("event.recipient.role", recipient.role)?;
    let country = &recipient.country;
    if country.is_empty() {
        return Err(FieldError::new("event.recipient.country", "required"));
    }
    if !is_country_code(country) {
        return Err(FieldError::new(
            "event.recipient.country",
            "must be an ISO 3166-1 alpha-2 code: two capital letters, e.g. DE, US",
        ));
    }
    let basis_path = "event.recipient.transfer_basis";
    if is_eea_country(country) {
        if recipient.transfer_basis != 0 {
            return Err(FieldError::new(
                basis_path,
                format!(
                    "must be absent: {country} is in the EEA, so this is no transfer to a third country"
                ),
            ));
        }
        return Ok(());
    }
    check_enum::<TransferBasis>(basis_path, recipient.transfer_basis).map_err(|error| {
        if recipient.transfer_basis == 0 {
            FieldError::new(
                basis_path,
                format!(
                    "required: {country} is outside the EEA, so the transfer needs an instrument \
                     of GDPR chapter V"
                ),
            )
        } else {
            error
        }
    })
}

/// A correction: a known action; the reason, if any, is short text. `target_index` is any
/// index; whether it names an existing, non-correction entry is for the server to check.
/// The grounds of article 17(3) on which a system may keep data despite an erasure request, as
/// DPV names them: (a) freedom of expression; (b) a legal obligation, a task in the public
/// interest or official authority; (c) public health; (d) archiving, research or statistics;
/// (e) legal claims. The ledger's earlier spellings (`eu-gdpr:A17-3-a` .. `e`) are accepted too
/// and warned with these (`dpv::SUPERSEDED`).
pub const EXEMPTION_GROUNDS: [&str; 7] = [
    "eu-gdpr:JustificationA17FreedomOfExpression",
    "eu-gdpr:JustificationA17LegallyRequired",
    "eu-gdpr:JustificationA17PublicInterest",
    "eu-gdpr:JustificationA17OfficialAuthority",
    "eu-gdpr:JustificationA17PublicHealth",
    "eu-gdpr:JustificationA17Archiving",
    "eu-gdpr:JustificationA17LegalClaims",
];

/// Whether `ground` is a ground of article 17(3): one of [`EXEMPTION_GROUNDS`] or an earlier
/// spelling that DPV's term replaces.
pub fn is_exemption_ground(ground: &str) -> bool {
    EXEMPTION_GROUNDS.contains(&ground)
        || super::dpv::replacement(ground).is_some_and(|new| EXEMPTION_GROUNDS.contains(&new))
}

fn check_exemption(
    exemption: &Exemption,
    event: &crate::proto::v1::Event,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    if exemption.legal_ground.is_empty() {
        return Err(FieldError::new("event.exemption.legal_ground", "required"));
    }
    if !is_exemption_ground(&exemption.legal_ground) {
        return Err(FieldError::new(
            "event.exemption.legal_ground",
            format!(
                "{:?} is not a ground of article 17(3): one of {}",
                exemption.legal_ground,
                EXEMPTION_GROUNDS.join(", ")
            ),
        ));
    }
    if let Some(until) = &exemption.until {
        if !(0..1_000_000_000).contains(&until.nanos) {
            return Err(FieldError::new(
                "event.exemption.until",
                "nanos outside 0..1e9",
            ));
        }
        let occurred = event.occurred_at.as_ref().map_or(0, |t| t.seconds);
        if until.seconds <= occurred {
            return Err(FieldError::new(
                "event.exemption.until",
                "must be after occurred_at (an exemption that has ended is a deletion to confirm)",
            ));
        }
    }
    if !exemption.reason.is_empty() {
        check_text("event.exemption.reason", &exemption.reason, limits)?;
    }
    Ok(())
}

fn check_correction(correction: &Correction, limits: &ValidationLimits) -> Result<(), FieldError> {
    check_enum::<CorrectionAction>("event.correction.action", correction.action)?;
    if !correction.reason.is_empty() {
        check_text("event.correction.reason", &correction.reason, limits)?;
    }
    Ok(())
}

/// The grounds of article 34(3) on which the data subjects of a breach need not be told.
pub const NOT_NOTIFIED_GROUNDS: [&str; 3] =
    ["eu-gdpr:A34-3-a", "eu-gdpr:A34-3-b", "eu-gdpr:A34-3-c"];

/// A time of a breach case (`aware_at`, a window bound, a notification's time): like
/// `occurred_at`, valid and not ahead of the ledger's clock by more than the skew.
pub(super) fn check_case_time(
    path: &str,
    time: Option<&prost_types::Timestamp>,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    match time {
        Some(time) => check_occurred_at(path, time, context.limits, context.now),
        None => Ok(()),
    }
}

/// Optional short text of a breach case: when present, [`check_text`]'s rule.
pub(super) fn check_optional_text(
    path: &str,
    text: &str,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    if text.is_empty() {
        return Ok(());
    }
    check_text(path, text, limits)
}

/// What a breach report says of its case: valid times, a window of both bounds (from before to)
/// or none, short texts, DPV terms.
fn check_breach_details(details: &BreachDetails, context: &Context<'_>) -> Result<(), FieldError> {
    let limits = context.limits;
    check_case_time(
        "event.breach_details.aware_at",
        details.aware_at.as_ref(),
        context,
    )?;
    check_optional_text("event.breach_details.nature", &details.nature, limits)?;
    check_optional_text(
        "event.breach_details.likely_consequences",
        &details.likely_consequences,
        limits,
    )?;
    check_optional_text("event.breach_details.measures", &details.measures, limits)?;
    check_case_time(
        "event.breach_details.window_from",
        details.window_from.as_ref(),
        context,
    )?;
    check_case_time(
        "event.breach_details.window_to",
        details.window_to.as_ref(),
        context,
    )?;
    match (&details.window_from, &details.window_to) {
        (Some(from), Some(to)) => {
            if (from.seconds, from.nanos) >= (to.seconds, to.nanos) {
                return Err(FieldError::new(
                    "event.breach_details.window_to",
                    "must be later than window_from",
                ));
            }
        }
        (Some(_), None) => {
            return Err(FieldError::new(
                "event.breach_details.window_to",
                "required with window_from: a window has both bounds or neither",
            ));
        }
        (None, Some(_)) => {
            return Err(FieldError::new(
                "event.breach_details.window_from",
                "required with window_to: a window has both bounds or neither",
            ));
        }
        (None, None) => {}
    }
    check_terms(
        "event.breach_details.subject_categories",
        &details.subject_categories,
        limits,
    )
}

/// A notification to the supervisory authority: who and when, required; the authority's
/// reference and the reasons for delay, short text if given.
fn check_breach_notification(
    notification: &BreachNotification,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    let limits = context.limits;
    if notification.authority.is_empty() {
        return Err(FieldError::new(
            "event.breach_notification.authority",
            "required",
        ));
    }
    check_text(
        "event.breach_notification.authority",
        &notification.authority,
        limits,
    )?;
    if notification.notified_at.is_none() {
        return Err(FieldError::new(
            "event.breach_notification.notified_at",
            "required",
        ));
    }
    check_case_time(
        "event.breach_notification.notified_at",
        notification.notified_at.as_ref(),
        context,
    )?;
    check_optional_text(
        "event.breach_notification.reference",
        &notification.reference,
        limits,
    )?;
    check_optional_text(
        "event.breach_notification.reasons_for_delay",
        &notification.reasons_for_delay,
        limits,
    )
}

/// The communication to the data subjects: exactly one of when they were told and the article
/// 34(3) ground for not telling them.
fn check_subjects_notification(
    notification: &SubjectsNotification,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    let ground = &notification.not_notified_ground;
    match (&notification.notified_at, ground.is_empty()) {
        (Some(_), false) => {
            return Err(FieldError::new(
                "event.subjects_notification.not_notified_ground",
                "must be absent when notified_at is given: the subjects were told or they were not",
            ));
        }
        (None, true) => {
            return Err(FieldError::new(
                "event.subjects_notification.notified_at",
                "required, or not_notified_ground (article 34(3)) when the subjects were not told",
            ));
        }
        _ => {}
    }
    check_case_time(
        "event.subjects_notification.notified_at",
        notification.notified_at.as_ref(),
        context,
    )?;
    if !ground.is_empty() && !NOT_NOTIFIED_GROUNDS.contains(&ground.as_str()) {
        return Err(FieldError::new(
            "event.subjects_notification.not_notified_ground",
            format!(
                "{ground:?} is not a ground of article 34(3): one of {}",
                NOT_NOTIFIED_GROUNDS.join(", ")
            ),
        ));
    }
    check_optional_text(
        "event.subjects_notification.reason",
        &notification.reason,
        context.limits,
    )
}

/// The controller's details: name and DPO contact (short text) and a valid `effective_at`, which
/// may lie ahead (a declaration can be made before it takes effect).
fn check_controller_declaration(
    declaration: &ControllerDeclaration,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    for (path, text) in [
        ("event.controller_declaration.name", &declaration.name),
        (
            "event.controller_declaration.dpo_contact",
            &declaration.dpo_contact,
        ),
    ] {
        if text.is_empty() {
            return Err(FieldError::new(path, "required"));
        }
        check_text(path, text, limits)?;
    }
    check_effective_at(
        "event.controller_declaration.effective_at",
        declaration.effective_at.as_ref(),
    )
}

/// When a declaration (of the controller, of the request policy) takes effect: required, a valid
/// time, which may lie ahead (a declaration can be made before it takes effect).
pub(super) fn check_effective_at(
    path: &str,
    at: Option<&prost_types::Timestamp>,
) -> Result<(), FieldError> {
    let Some(at) = at else {
        return Err(FieldError::new(path, "required"));
    };
    if !(0..1_000_000_000).contains(&at.nanos) {
        return Err(FieldError::new(path, "nanos must be 0 to 999,999,999"));
    }
    if at.seconds < 0 {
        return Err(FieldError::new(
            path,
            "must not be before 1970-01-01T00:00:00Z",
        ));
    }
    Ok(())
}
