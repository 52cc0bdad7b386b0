//! Every error the service can return, mapped to a gRPC status in this one place.

use tonic::Status;

use crate::sequencer::AppendError;
use crate::storage::StorageError;
use crate::validation::FieldError;

/// A field of the request is missing or malformed: `INVALID_ARGUMENT` naming the field.
pub fn invalid_field(error: &FieldError) -> Status {
    Status::invalid_argument(error.to_string())
}

/// A refused append, with `prefix` locating the event in its request (e.g. `submissions[3]`).
pub fn append_refused(error: AppendError, prefix: impl Fn(usize) -> String) -> Status {
    match error {
        AppendError::EventIdConflict { position, event_id } => Status::already_exists(format!(
            "{}.event.event_id: {event_id:?} was already appended by this producer with different content",
            prefix(position)
        )),
        AppendError::IdentityConflict { position } => Status::failed_precondition(format!(
            "{}.linked_subject: the identifier already belongs to another data subject",
            prefix(position)
        )),
        AppendError::UnknownSubject { position } => Status::failed_precondition(format!(
            "{}.subject: no data subject with this identifier is known; an identity link needs a known subject",
            prefix(position)
        )),
        AppendError::BadCorrectionTarget {
            position,
            target,
            reason,
        } => Status::invalid_argument(format!(
            "{}.event.correction.target_index: {target}: {reason}",
            prefix(position)
        )),
        AppendError::CorrectionDenied {
            position,
            target,
            reason,
        } => Status::permission_denied(format!(
            "{}.event.correction.target_index: {target}: {reason}",
            prefix(position)
        )),
        AppendError::InvalidAmendment { position, error } => Status::invalid_argument(format!(
            "{} (in the target's event as amended)",
            error.prefixed(&prefix(position))
        )),
        AppendError::SubjectErased { position, what } => Status::failed_precondition(format!(
            "{}.subject: the subject's erasure is under way or done and its data key is destroyed: {what} refused",
            prefix(position)
        )),
        AppendError::Vault(error) => {
            tracing::error!(%error, "a subject's data key does not open");
            Status::internal(format!("subject key: {error}"))
        }
        AppendError::Unavailable(why) => Status::unavailable(why),
        AppendError::Storage(error) => storage(error),
    }
}

/// A storage failure: `INTERNAL`, logged.
pub fn storage(error: StorageError) -> Status {
    tracing::error!(%error, "storage failure while serving a request");
    Status::internal(format!("storage: {error}"))
}
