//! Subject identifiers in a submission (`subject`, `linked_subject`): checked and normalised as
//! SPEC.md section 6 says, so that a request that names a subject is refused before anything is
//! written if its identifier could not get a directory row.

use super::formats::check_identifier_kind;
use super::{FieldError, ValidationLimits};
use crate::core::directory::normalize_identifier;
use crate::proto::v1::SubjectIdentifier;

/// Checks the identifier at `path` (`subject` or `linked_subject`) and returns its normalised
/// form. Errors name `<path>.kind` or `<path>.value` and never repeat the value.
pub fn check_identifier(
    path: &str,
    identifier: &SubjectIdentifier,
    limits: &ValidationLimits,
) -> Result<String, FieldError> {
    // The paths are made only for an error: every accepted event passes here.
    let at = |error: FieldError| error.prefixed(path);
    if identifier.kind.is_empty() {
        return Err(at(FieldError::new("kind", "required")));
    }
    check_identifier_kind("kind", &identifier.kind).map_err(at)?;
    if identifier.value.is_empty() {
        return Err(at(FieldError::new("value", "required")));
    }
    if identifier.value.len() > limits.max_identifier_len {
        return Err(at(FieldError::new(
            "value",
            format!("at most {} bytes", limits.max_identifier_len),
        )));
    }
    // IdentifierError's messages name the kind and the rule, never the value.
    normalize_identifier(&identifier.kind, &identifier.value).map_err(|error| {
        at(FieldError::new(
            "value",
            format!("does not normalise (SPEC.md section 6): {error}"),
        ))
    })
}
