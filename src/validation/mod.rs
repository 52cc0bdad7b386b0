//! Validation of the audit events producers submit (`EventSubmission`), before anything is
//! written: which fields each kind requires, allows or forbids comes from
//! `proto/gdpr_ledger/v1/event_requirements.toml` ([`requirements`]); the format of each field and
//! the rules across fields are here. Pure: no I/O, the clock is passed in, so a client library can
//! validate before sending exactly as the server does. docs/events.md describes the rules.

mod countries;
mod cross_rules;
pub mod dpv;
mod examples;
mod field_checks;
mod field_error;
mod fields;
mod formats;
mod legal_bases;
mod limits;
mod opt_in_checks;
mod request_checks;
pub mod requirements;
mod retention_checks;
mod special_categories;
mod subjects;
mod system_checks;
mod vocabulary;

use std::time::SystemTime;

pub use countries::{EEA_COUNTRIES, is_country_code, is_eea_country, is_third_country};
pub use cross_rules::REPLACEMENT_FIELDS;
pub use examples::{EXAMPLE_OCCURRED_AT_SECONDS, example_submission};
pub use field_error::FieldError;
pub use fields::{Field, clear_field};
pub use formats::is_curie;
pub use legal_bases::{CONSENT_BASES, is_article_6_basis, is_article_9_condition, is_legal_basis};
pub use limits::ValidationLimits;
pub use requirements::{Presence, required_field_paths, requirement_table};
pub use special_categories::{is_special_category, special_category_terms};
pub use vocabulary::{TERMS, Term, TermClass, known_term, term_label, terms_of};

use crate::proto::v1::{EventKind, EventSubmission};
use field_checks::{Context, check_enum, check_present_field};

/// Validates a submission against the requirement table, the format rules and the cross-field
/// rules, in that order and field by field in proto order; the first failure is returned.
/// `now` is the ledger's clock, against which `occurred_at` may be ahead by at most
/// `limits.max_clock_skew`.
///
/// For a correction, only the correction itself is checked: whether its target exists, is not a
/// correction, and (for an amendment) whether the amended event still satisfies the target kind's
/// rules needs the log, and is the server's to check.
pub fn validate_submission(
    sub: &EventSubmission,
    limits: &ValidationLimits,
    now: SystemTime,
) -> Result<(), FieldError> {
    let event = sub
        .event
        .as_ref()
        .ok_or_else(|| FieldError::new("event", "required"))?;
    check_enum::<EventKind>(Field::Kind.path(), event.kind)?;
    let (kind, rules) = kind_rules(event)?;
    let context = Context { limits, now };
    check_fields(rules, sub, &context, Field::ALL.into_iter())?;
    cross_rules::check_cross_field_rules(sub, event, kind, limits)?;
    check_vocabulary(event, limits)
}

/// With `limits.strict_vocabulary`: the first `dpv:`, `pd:` or `eu-gdpr:` term DPV does not
/// define is refused, naming its field (without it, the receipt only warns: [`dpv`]).
fn check_vocabulary(
    event: &crate::proto::v1::Event,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    if !limits.strict_vocabulary {
        return Ok(());
    }
    match dpv::unknown_dpv_terms(event).into_iter().next() {
        Some((path, term)) => Err(FieldError::new(
            path,
            format!("{} (limits.strict_vocabulary)", dpv::not_a_dpv_term(&term)),
        )),
        None => Ok(()),
    }
}

/// The kind of an event and its row of the requirement table.
fn kind_rules(
    event: &crate::proto::v1::Event,
) -> Result<(EventKind, &'static requirements::KindRequirements), FieldError> {
    let kind = EventKind::try_from(event.kind)
        .map_err(|_| FieldError::new(Field::Kind.path(), "unknown value"))?;
    let rules = requirement_table().for_kind(kind).ok_or_else(|| {
        FieldError::new(
            Field::Kind.path(),
            "no requirements are defined for this kind",
        )
    })?;
    Ok((kind, rules))
}

/// Checks `fields` of `sub` against `rules`: required ones present, forbidden ones absent, present
/// ones well formed; the first failure in the order given.
fn check_fields(
    rules: &requirements::KindRequirements,
    sub: &EventSubmission,
    context: &Context<'_>,
    fields: impl Iterator<Item = Field>,
) -> Result<(), FieldError> {
    for field in fields {
        match (rules.presence(field), field.is_present(sub)) {
            (Presence::Required, false) => {
                return Err(FieldError::new(
                    field.path(),
                    format!("required in `{}` events", rules.name()),
                ));
            }
            (Presence::Forbidden, true) => return Err(forbidden(field, rules.name())),
            (_, true) => check_present_field(field, sub, context)?,
            (_, false) => {}
        }
    }
    Ok(())
}

/// Checks a breach case reference as `event.breach_ref` is checked (for requests that name a
/// case: `GetBreachCase`).
pub fn check_breach_ref(path: &str, breach_ref: &str) -> Result<(), FieldError> {
    formats::check_reference(path, breach_ref, formats::REFERENCE_CHARS)
}

/// The system of the entries the ledger writes itself (access records, erasure requests made
/// through `EraseSubject` without a system): reserved, so that no producer can write, and nobody
/// can correct, what looks like the ledger's own record.
pub const LEDGER_SYSTEM: &str = "gdpr-ledger";

/// Checks an amended event (a correction's AMEND applied to its target,
/// `core::correction::apply_amendment`) against its kind's rules, with the same field-naming
/// errors as a submission. Only the event's own fields: the subject, linked subject and details
/// cannot be amended, and `occurred_at` never changes (it was checked when the target came).
pub fn validate_amended_event(
    amended: &crate::proto::v1::Event,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    let (kind, rules) = kind_rules(amended)?;
    let sub = EventSubmission {
        event: Some(amended.clone()),
        ..EventSubmission::default()
    };
    let context = Context {
        limits,
        now: SystemTime::UNIX_EPOCH,
    };
    let unamendable = [
        Field::Subject,
        Field::LinkedSubject,
        Field::Details,
        Field::DetailsDigest,
        Field::OccurredAt,
        // Checked when the target came, and never replaced (a correction may not carry them);
        // their times are checked against the clock of then.
        Field::BreachDetails,
        Field::BreachNotification,
        Field::SubjectsNotification,
        Field::ControllerDeclaration,
        Field::RequestRef,
        Field::Request,
        Field::RequestExtension,
        Field::RequestResponse,
        Field::RequestPolicy,
        Field::ConsentPolicy,
        Field::RetentionPolicy,
        Field::SystemDeclaration,
    ];
    let amendable = Field::ALL
        .into_iter()
        .filter(|field| !unamendable.contains(field));
    check_fields(rules, &sub, &context, amendable)?;
    if kind == EventKind::IdentityLink {
        // Nothing of an identity link can be amended: any amended field is forbidden above.
        return Ok(());
    }
    cross_rules::check_cross_field_rules(&sub, amended, kind, limits)?;
    check_vocabulary(amended, limits)
}

/// The error for a forbidden field that is present.
fn forbidden(field: Field, kind_name: &str) -> FieldError {
    let reason = match field {
        Field::DetailsDigest => "is set by the server; producers leave it empty".to_owned(),
        _ => format!("not allowed in `{kind_name}` events"),
    };
    FieldError::new(field.path(), reason)
}
