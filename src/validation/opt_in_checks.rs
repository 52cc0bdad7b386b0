//! The opt-in policy's message (`docs/erasure.md` section 6): bounded rules, each naming its
//! channels as collections do and its purposes as DPV terms, and a valid `effective_at`.

use super::field_checks::check_effective_at;
use super::formats::{REFERENCE_CHARS, check_reference, check_terms};
use super::{FieldError, ValidationLimits};
use crate::core::opt_in::{MAX_CHANNELS_PER_RULE, MAX_RULES};
use crate::proto::v1::OptInPolicy;

/// The opt-in policy: at most [`MAX_RULES`] rules, each with 1 to [`MAX_CHANNELS_PER_RULE`]
/// channels (references, as `collection_channel`) and purposes as DPV terms (none: every
/// purpose); `effective_at` required, which may lie ahead.
pub(super) fn check_consent_policy(
    policy: &OptInPolicy,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    let rules = "event.consent_policy.rules";
    if policy.rules.len() > MAX_RULES {
        return Err(FieldError::new(
            rules,
            format!("at most {MAX_RULES} rules (has {})", policy.rules.len()),
        ));
    }
    for (i, rule) in policy.rules.iter().enumerate() {
        let channels = format!("{rules}[{i}].channels");
        if rule.channels.is_empty() {
            return Err(FieldError::new(channels, "required: at least one channel"));
        }
        if rule.channels.len() > MAX_CHANNELS_PER_RULE {
            return Err(FieldError::new(
                channels,
                format!(
                    "at most {MAX_CHANNELS_PER_RULE} channels (has {})",
                    rule.channels.len()
                ),
            ));
        }
        for (j, channel) in rule.channels.iter().enumerate() {
            check_reference(&format!("{channels}[{j}]"), channel, REFERENCE_CHARS)?;
        }
        if !rule.purposes.is_empty() {
            check_terms(&format!("{rules}[{i}].purposes"), &rule.purposes, limits)?;
        }
    }
    check_effective_at(
        "event.consent_policy.effective_at",
        policy.effective_at.as_ref(),
    )
}
