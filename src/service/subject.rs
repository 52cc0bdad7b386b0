//! The one resolution of a subject named in a request, by identifier (through the directory) or
//! by token: used by lifecycles, erasure cases and subject access reports.

use std::sync::Arc;

use super::status::{ServiceError, blocking};
use crate::core::directory::{DirectorySecret, directory_row_key};
use crate::proto::v1 as pb;
use crate::storage::LedgerStore;
use crate::validation::FieldError;

/// A subject as a request names it: by identifier, or by the token the directory gave it.
pub(crate) enum SubjectChoice {
    /// By identifier, looked up in the directory.
    Identifier(pb::SubjectIdentifier),
    /// By token, as given (32 bytes).
    Token(Vec<u8>),
}

impl From<pb::get_subject_lifecycle_request::Subject> for SubjectChoice {
    fn from(subject: pb::get_subject_lifecycle_request::Subject) -> Self {
        use pb::get_subject_lifecycle_request::Subject;
        match subject {
            Subject::Identifier(identifier) => SubjectChoice::Identifier(identifier),
            Subject::Token(token) => SubjectChoice::Token(token),
        }
    }
}

impl From<pb::subject_ref::Subject> for SubjectChoice {
    fn from(subject: pb::subject_ref::Subject) -> Self {
        use pb::subject_ref::Subject;
        match subject {
            Subject::Identifier(identifier) => SubjectChoice::Identifier(identifier),
            Subject::Token(token) => SubjectChoice::Token(token),
        }
    }
}

/// The token of the subject a request names, by identifier (through the directory) or by token;
/// `prefix` places the request's fields in error messages (`""`, `"subject."`).
pub(crate) async fn resolve_subject(
    store: &Arc<LedgerStore>,
    secret: &DirectorySecret,
    subject: Option<SubjectChoice>,
    prefix: &str,
) -> Result<[u8; 32], ServiceError> {
    match subject {
        None => {
            Err(FieldError::new("subject", "give the subject's identifier or its token").into())
        }
        Some(SubjectChoice::Token(bytes)) => token_field(&bytes, &format!("{prefix}token")),
        Some(SubjectChoice::Identifier(identifier)) => {
            let field = format!("{prefix}identifier");
            Ok(subject_of_identifier(store, secret, &identifier, &field)
                .await?
                .1)
        }
    }
}

/// A token given in the request's `field`: 32 bytes.
pub(crate) fn token_field(bytes: &[u8], field: &str) -> Result<[u8; 32], ServiceError> {
    bytes
        .try_into()
        .map_err(|_| FieldError::new(field, format!("{} bytes; a token is 32", bytes.len())).into())
}

/// The directory row key and token of a subject identifier (`field` names it in errors):
/// `INVALID_ARGUMENT` for an identifier that does not normalise, `NOT_FOUND` when the directory
/// does not hold it.
pub(crate) async fn subject_of_identifier(
    store: &Arc<LedgerStore>,
    secret: &DirectorySecret,
    identifier: &pb::SubjectIdentifier,
    field: &str,
) -> Result<([u8; 32], [u8; 32]), ServiceError> {
    let row = directory_row_key(secret, &identifier.kind, &identifier.value)
        .map_err(|e| FieldError::new(format!("{field}.value"), e.to_string()))?;
    let store = store.clone();
    let token = blocking(move || store.directory_token(&row)).await?;
    token.map(|token| (row, token)).ok_or_else(|| {
        ServiceError::NotFound(FieldError::new(
            field,
            "no data subject with this identifier is in the subject directory",
        ))
    })
}
