//! The parts of a data subject request case's messages (`docs/requests.md`): the request as
//! received, an extension, an answer or refusal, and the policy the deadlines are counted under.

use super::field_checks::{Context, check_case_time, check_effective_at, check_optional_text};
use super::formats::{REFERENCE_CHARS, check_reference, check_text};
use super::{FieldError, ValidationLimits};
use crate::core::deadline::{DeadlineError, DeadlinePolicy, MAX_EXTENSION_MONTHS, MAX_HOLIDAYS};
use crate::core::request_cases::ERASURE_REF_PREFIX;
use crate::proto::v1::{
    DataSubjectRequest, DataSubjectRight, EventKind, RequestExtension, RequestPolicy,
    RequestResponse,
};

/// The grounds on which a request may be refused: the controller cannot identify the subject
/// (article 11(2)); the request is manifestly unfounded or excessive (12(5)(b)); compelling
/// legitimate grounds override an objection (21(1)); a restriction by law (23(1)).
pub const REFUSAL_GROUNDS: [&str; 4] = [
    "eu-gdpr:A11-2",
    "eu-gdpr:A12-5-b",
    "eu-gdpr:A21-1",
    "eu-gdpr:A23-1",
];

/// Checks a request case's reference: a reference (`[A-Za-z0-9._:/@-]`) that does not begin
/// with `erasure:`, which names the register's erasure cases (`core::request_cases`).
pub(super) fn check_request_ref(path: &str, request_ref: &str) -> Result<(), FieldError> {
    check_reference(path, request_ref, REFERENCE_CHARS)?;
    if request_ref.starts_with(ERASURE_REF_PREFIX) {
        return Err(FieldError::new(
            path,
            format!(
                "begins with {ERASURE_REF_PREFIX:?}, which names the erasure cases of the register \
                 (docs/requests.md)"
            ),
        ));
    }
    Ok(())
}

/// Checks a time that a message requires: present, then [`check_case_time`]'s rule.
fn check_required_time(
    path: &str,
    time: Option<&prost_types::Timestamp>,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    if time.is_none() {
        return Err(FieldError::new(path, "required"));
    }
    check_case_time(path, time, context)
}

/// The request as received: a right other than erasure, a channel, the time of receipt.
pub(super) fn check_request(
    request: &DataSubjectRequest,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    let path = "event.request.right";
    match DataSubjectRight::try_from(request.right) {
        Ok(DataSubjectRight::Unspecified) => return Err(FieldError::new(path, "required")),
        Ok(DataSubjectRight::Erasure) => {
            return Err(FieldError::new(
                path,
                "an erasure request is an erasure_requested event (its case joins the register)",
            ));
        }
        Ok(_) => {}
        Err(_) => {
            return Err(FieldError::new(
                path,
                format!("unknown value {}", request.right),
            ));
        }
    }
    check_reference("event.request.channel", &request.channel, REFERENCE_CHARS)?;
    check_required_time(
        "event.request.received_at",
        request.received_at.as_ref(),
        context,
    )
}

/// An extension: 1 or 2 months, a reason, when the subject was told.
pub(super) fn check_request_extension(
    extension: &RequestExtension,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    let path = "event.request_extension.months";
    if extension.months == 0 {
        return Err(FieldError::new(path, "required"));
    }
    if extension.months > MAX_EXTENSION_MONTHS {
        return Err(FieldError::new(
            path,
            format!(
                "article 12(3) allows 1 or 2 further months, not {}",
                extension.months
            ),
        ));
    }
    let path = "event.request_extension.reason";
    if extension.reason.is_empty() {
        return Err(FieldError::new(path, "required"));
    }
    check_text(path, &extension.reason, context.limits)?;
    check_required_time(
        "event.request_extension.subject_told_at",
        extension.subject_told_at.as_ref(),
        context,
    )
}

/// An answer or a refusal: when; a refusal's ground, which an answer does not carry.
pub(super) fn check_request_response(
    response: &RequestResponse,
    kind: i32,
    context: &Context<'_>,
) -> Result<(), FieldError> {
    check_required_time(
        "event.request_response.responded_at",
        response.responded_at.as_ref(),
        context,
    )?;
    let path = "event.request_response.refusal_ground";
    let ground = response.refusal_ground.as_str();
    if kind == EventKind::RequestRefused as i32 {
        if ground.is_empty() {
            return Err(FieldError::new(
                path,
                format!("required: one of {}", REFUSAL_GROUNDS.join(", ")),
            ));
        }
        if !REFUSAL_GROUNDS.contains(&ground) {
            return Err(FieldError::new(
                path,
                format!(
                    "{ground:?} is not a ground of refusal: one of {}",
                    REFUSAL_GROUNDS.join(", ")
                ),
            ));
        }
    } else if !ground.is_empty() {
        return Err(FieldError::new(
            path,
            "only a request_refused event has a refusal ground",
        ));
    }
    check_optional_text(
        "event.request_response.reason",
        &response.reason,
        context.limits,
    )
}

/// The request policy: an IANA time zone, public holidays as dates, a valid `effective_at`.
pub(super) fn check_request_policy(
    policy: &RequestPolicy,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    let path = "event.request_policy.time_zone";
    if policy.time_zone.is_empty() {
        return Err(FieldError::new(path, "required"));
    }
    check_text(path, &policy.time_zone, limits)?;
    let holidays = "event.request_policy.public_holidays";
    if policy.public_holidays.len() > MAX_HOLIDAYS {
        return Err(FieldError::new(
            holidays,
            format!("at most {MAX_HOLIDAYS} dates"),
        ));
    }
    match DeadlinePolicy::new(&policy.time_zone, &policy.public_holidays) {
        Ok(_) => {}
        Err(error @ DeadlineError::UnknownTimeZone { .. }) => {
            return Err(FieldError::new(path, error.to_string()));
        }
        Err(DeadlineError::BadHoliday { text }) => {
            let index = policy
                .public_holidays
                .iter()
                .position(|day| *day == text)
                .unwrap_or(0);
            return Err(FieldError::new(
                format!("{holidays}[{index}]"),
                DeadlineError::BadHoliday { text }.to_string(),
            ));
        }
        Err(error) => return Err(FieldError::new(holidays, error.to_string())),
    }
    check_effective_at(
        "event.request_policy.effective_at",
        policy.effective_at.as_ref(),
    )
}
