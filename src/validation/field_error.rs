//! The one error validation returns: which field of the submission is wrong, and why.

/// A submission field that failed validation. `field` is its proto path from `EventSubmission`
/// (`event.recipient.country`, `subject.value`, `event.purposes[2]`); `reason` says what rule it
/// broke, without repeating the field's value (which could be personal data). The server maps it
/// to gRPC `INVALID_ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The proto path of the offending field.
    pub field: String,
    /// The rule it broke.
    pub reason: String,
}

impl FieldError {
    /// An error naming `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error with its path placed under `prefix`: `prefixed("request")` turns
    /// `event.system` into `request.event.system`.
    #[must_use]
    pub fn prefixed(self, prefix: &str) -> Self {
        FieldError {
            field: format!("{prefix}.{}", self.field),
            reason: self.reason,
        }
    }

    /// The same error located in submission `index` of an `AppendBatchRequest`:
    /// `submissions[3].event.system`.
    #[must_use]
    pub fn in_batch(self, index: usize) -> Self {
        self.prefixed(&format!("submissions[{index}]"))
    }
}
