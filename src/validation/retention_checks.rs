//! The retention policy's message (`docs/retention.md`): bounded rules, each naming a holder, a
//! data category and a purpose (exact or `*`), one period and its trigger, and a valid
//! `effective_at`.

use super::field_checks::{check_effective_at, check_enum};
use super::formats::{check_text, is_curie};
use super::{FieldError, ValidationLimits};
use crate::core::retention::{MAX_DAYS, MAX_MONTHS, MAX_RULES, WILDCARD};
use crate::proto::v1::{RetentionPolicy, RetentionTrigger};

/// The retention policy: at most [`MAX_RULES`] rules, each with a `system` (short text, as a
/// collection's system or a recipient's name, or `*`), a `data_category` and a `purpose` (a
/// vocabulary term, or `*`), exactly one of `days` (1 to [`MAX_DAYS`]) and `months` (1 to
/// [`MAX_MONTHS`]) and a `trigger`; `effective_at` required, which may lie ahead.
pub(super) fn check_retention_policy(
    policy: &RetentionPolicy,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    let rules = "event.retention_policy.rules";
    if policy.rules.len() > MAX_RULES {
        return Err(FieldError::new(
            rules,
            format!("at most {MAX_RULES} rules (has {})", policy.rules.len()),
        ));
    }
    for (i, rule) in policy.rules.iter().enumerate() {
        let at = |part: &str| format!("{rules}[{i}].{part}");
        if rule.system.is_empty() {
            return Err(FieldError::new(
                at("system"),
                "required: a holder's name, or `*`",
            ));
        }
        if rule.system != WILDCARD {
            check_text(&at("system"), &rule.system, limits)?;
        }
        for (part, term) in [
            ("data_category", &rule.data_category),
            ("purpose", &rule.purpose),
        ] {
            check_rule_term(&at(part), term, limits)?;
        }
        match (rule.days, rule.months) {
            (0, 0) => {
                return Err(FieldError::new(
                    at("days"),
                    "required: a period in days or in months",
                ));
            }
            (days, 0) if days > MAX_DAYS => {
                return Err(FieldError::new(
                    at("days"),
                    format!("at most {MAX_DAYS} days (has {days})"),
                ));
            }
            (0, months) if months > MAX_MONTHS => {
                return Err(FieldError::new(
                    at("months"),
                    format!("at most {MAX_MONTHS} months (has {months})"),
                ));
            }
            (0, _) | (_, 0) => {}
            (_, _) => {
                return Err(FieldError::new(
                    at("months"),
                    "a period is in days or in months, not both",
                ));
            }
        }
        check_enum::<RetentionTrigger>(&at("trigger"), rule.trigger)?;
    }
    check_effective_at(
        "event.retention_policy.effective_at",
        policy.effective_at.as_ref(),
    )
}

/// A rule's category or purpose: `*`, or one vocabulary term.
fn check_rule_term(path: &str, term: &str, limits: &ValidationLimits) -> Result<(), FieldError> {
    if term == WILDCARD {
        return Ok(());
    }
    if term.is_empty() {
        return Err(FieldError::new(path, "required: a vocabulary term, or `*`"));
    }
    if term.len() > limits.max_term_len || !is_curie(term) {
        return Err(FieldError::new(
            path,
            format!(
                "must be `*` or a vocabulary term `prefix:Name` of at most {} characters",
                limits.max_term_len
            ),
        ));
    }
    Ok(())
}
