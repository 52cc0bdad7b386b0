//! Every error a `gdpr_ledger.v1` call can end with, and the one table that maps each kind to its
//! gRPC status.
//!
//! Handlers, the admission layer and the streams return [`ServiceError`]; the domain errors
//! (sequencer, proofs, reports, erasure, backups, storage, vault, wire walk, authentication) come
//! in through the `From` impls below, which also flatten a domain error that only wraps a storage
//! failure into [`ServiceError::Storage`]. [`ServiceError::code`] is the table; `From<ServiceError>
//! for Status` is the only place a status is made (internal failures are logged there).

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

use super::admission::wire::WireError;
use super::auth::AuthError;
use crate::caller::SystemRefused;
use crate::erasure::ErasureError;
use crate::proofs::ProofError;
use crate::reports::ReportError;
use crate::sequencer::AppendError;
use crate::storage::{BackupError, StorageError};
use crate::validation::FieldError;
use crate::vault::VaultError;

/// Why a call failed. `Display` is the status message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field of the request is missing or malformed (`INVALID_ARGUMENT`, naming the field).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A field names a size or an index beyond the log (`OUT_OF_RANGE`).
    #[error(transparent)]
    OutOfRange(FieldError),
    /// A field names what the log, its checkpoints or the directory do not hold (`NOT_FOUND`).
    #[error(transparent)]
    NotFound(FieldError),
    /// A field names something whose state does not allow the call (`FAILED_PRECONDITION`).
    #[error(transparent)]
    Precondition(FieldError),
    /// The caller is not authenticated, or may not do this.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An event names a system its caller may not report for (`PERMISSION_DENIED`).
    #[error(transparent)]
    System(#[from] SystemRefused),
    /// The admission layer refused the request before its body was decoded.
    #[error(transparent)]
    Admission(#[from] Refusal),
    /// The message's wire form breaks a bound or does not parse.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A streamed answer could not be opened or went on too long without a reader.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The sequencer refused an append; `at` locates the events in the request.
    #[error("{}", append_message(error, at))]
    Append {
        /// Why.
        error: AppendError,
        /// Where the refused events sit in the request.
        at: AppendLocation,
    },
    /// A proof could not be made.
    #[error(transparent)]
    Proof(ProofError),
    /// A report could not be made.
    #[error(transparent)]
    Report(ReportError),
    /// An erasure case could not be opened, closed or read.
    #[error(transparent)]
    Erasure(ErasureError),
    /// A backup could not be taken.
    #[error("destination: {0}")]
    Backup(BackupError),
    /// The store failed or is damaged.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// A subject's data key, or what it sealed, does not open (`what` says which).
    #[error("{what}: {error}")]
    Vault {
        /// What was being opened: `subject key`, `identifiers`, `details of entry 12`.
        what: String,
        /// Why it did not open.
        error: VaultError,
    },
    /// A blocking worker panicked or was cancelled.
    #[error("worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
    /// The server broke one of its own rules (a missing receipt, a request that skipped the
    /// admission layer, no randomness): a bug or a broken machine.
    #[error("{0}")]
    Internal(String),
}

/// Why the layer refused a request before its body reached the service.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The path names no method of the services.
    #[error("{0}: no such method")]
    NoSuchMethod(String),
    /// The message is compressed.
    #[error("request: compressed messages are not accepted")]
    Compressed,
    /// The length prefix declares more than `limits.max_request_bytes`.
    #[error("request: {declared} bytes; the limit is {limit} bytes per request")]
    TooLarge {
        /// Bytes declared.
        declared: usize,
        /// The limit.
        limit: usize,
    },
    /// The in-flight budget closed: the server is stopping.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// More than one message, or bytes after it.
    #[error("request: one message per request, and nothing after it")]
    TrailingData,
    /// The body did not arrive within `limits.request_body_timeout_secs`.
    #[error(
        "request: the body did not arrive within {seconds} s (limits.request_body_timeout_secs)"
    )]
    BodyTimeout {
        /// The timeout, in seconds.
        seconds: u64,
    },
    /// Receiving the body failed; its status is passed on.
    #[error("{}", .0.message())]
    Body(Status),
    /// A handler found no caller in its request: the layer was not in front of it.
    #[error("the request did not pass the admission layer")]
    NotAdmitted,
    /// The `gdpr-ledger-min-tree-size` header is not a decimal size.
    #[error("{MIN_TREE_SIZE_HEADER}: {0:?} is not a tree size (a decimal number of entries)")]
    BadMinTreeSize(String),
    /// The log here did not reach the size the request asked for in time.
    #[error(
        "this server's signed log has {size} entries, not yet the {wanted} the request asked for \
         ({MIN_TREE_SIZE_HEADER}; waited {waited_ms} ms, limits.min_tree_size_wait_ms): retry later or \
         on another replica"
    )]
    BelowMinTreeSize {
        /// The size here.
        size: u64,
        /// The size asked for.
        wanted: u64,
        /// How long the request waited.
        waited_ms: u64,
    },
}

/// The request header that asks a server to answer only once its signed log has at least that
/// many entries (a read after a write that another replica acknowledged).
pub const MIN_TREE_SIZE_HEADER: &str = "gdpr-ledger-min-tree-size";

/// Why a stream could not be opened, or was ended.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The caller has its share of streams open.
    #[error(
        "{identity} has {open} streams open; the limit is {limit} per caller (limits.max_streams_per_caller)"
    )]
    PerCaller {
        /// Who.
        identity: String,
        /// Its streams open.
        open: usize,
        /// The limit.
        limit: usize,
    },
    /// The server has its streams open.
    #[error("{open} streams are open; the limit is {limit} (limits.max_streams)")]
    Total {
        /// Streams open.
        open: usize,
        /// The limit.
        limit: usize,
    },
    /// The client read nothing for the send timeout.
    #[error(
        "the client read nothing for {seconds} s; the stream was ended (limits.stream_send_timeout_secs)"
    )]
    Stalled {
        /// The timeout, in seconds.
        seconds: u64,
    },
    /// A thread panicked holding the gate.
    #[error("stream gate poisoned")]
    Poisoned,
}

/// Where the events of a refused append sit in their request, for the message's field path.
#[derive(Debug, Clone)]
pub enum AppendLocation {
    /// One event, named so (`submission`, `request`, `access entry`).
    One(&'static str),
    /// The events of an `AppendBatchRequest`: `submissions[3]`.
    Batch,
}

impl AppendLocation {
    fn at(&self, position: usize) -> String {
        match self {
            AppendLocation::One(name) => (*name).to_owned(),
            AppendLocation::Batch => format!("submissions[{position}]"),
        }
    }
}

impl ServiceError {
    /// A refused append, its events located by `at`.
    pub fn append(error: AppendError, at: AppendLocation) -> Self {
        match error {
            AppendError::Storage(error) => ServiceError::Storage(error),
            AppendError::Vault(error) => ServiceError::Vault {
                what: "subject key".into(),
                error,
            },
            error => ServiceError::Append { error, at },
        }
    }

    /// An internal failure described by `what`.
    pub fn internal(what: impl Into<String>) -> Self {
        ServiceError::Internal(what.into())
    }

    /// The table: every kind of error and its gRPC status code.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::Invalid(_) => Code::InvalidArgument,
            ServiceError::OutOfRange(_) => Code::OutOfRange,
            ServiceError::NotFound(_) => Code::NotFound,
            ServiceError::Precondition(_) => Code::FailedPrecondition,
            ServiceError::Auth(error) => match error {
                AuthError::NotAllowed { .. } => Code::PermissionDenied,
                AuthError::MissingCredential { .. }
                | AuthError::MalformedHeader
                | AuthError::UnknownToken
                | AuthError::Certificate(_)
                | AuthError::Disagree { .. } => Code::Unauthenticated,
            },
            ServiceError::System(_) => Code::PermissionDenied,
            ServiceError::Admission(error) => match error {
                Refusal::NoSuchMethod(_) | Refusal::Compressed => Code::Unimplemented,
                Refusal::TooLarge { .. } => Code::ResourceExhausted,
                Refusal::ShuttingDown => Code::Unavailable,
                Refusal::TrailingData => Code::InvalidArgument,
                Refusal::BodyTimeout { .. } => Code::DeadlineExceeded,
                Refusal::NotAdmitted => Code::Internal,
                Refusal::Body(status) => status.code(),
                Refusal::BadMinTreeSize(_) => Code::InvalidArgument,
                Refusal::BelowMinTreeSize { .. } => Code::Unavailable,
            },
            ServiceError::Wire(error) => match error {
                WireError::Malformed { .. } => Code::InvalidArgument,
                WireError::TooManyElements { .. }
                | WireError::ElementTooLarge { .. }
                | WireError::TooDeep { .. } => Code::ResourceExhausted,
            },
            ServiceError::Stream(error) => match error {
                StreamError::PerCaller { .. } | StreamError::Total { .. } => {
                    Code::ResourceExhausted
                }
                StreamError::Stalled { .. } => Code::DeadlineExceeded,
                StreamError::Poisoned => Code::Internal,
            },
            ServiceError::Append { error, .. } => match error {
                AppendError::EventIdConflict { .. } => Code::AlreadyExists,
                AppendError::IdentityConflict { .. }
                | AppendError::UnknownSubject { .. }
                | AppendError::SubjectErased { .. } => Code::FailedPrecondition,
                AppendError::BadCorrectionTarget { .. } | AppendError::InvalidAmendment { .. } => {
                    Code::InvalidArgument
                }
                AppendError::CorrectionDenied { .. } => Code::PermissionDenied,
                // The request was deduplicated against one that did not append it: a retry
                // after the duplicate window is published anew.
                AppendError::Unavailable(_) | AppendError::NotApplied { .. } => Code::Unavailable,
                // Taken apart by `ServiceError::append`.
                AppendError::Vault(_) | AppendError::Storage(_) => Code::Internal,
            },
            ServiceError::Proof(error) => match error {
                ProofError::NoEntry(_) => Code::NotFound,
                ProofError::Request(_) => Code::InvalidArgument,
                ProofError::Pruned { .. } => Code::FailedPrecondition,
                ProofError::Storage(_) => Code::Internal,
            },
            ServiceError::Report(error) => match error {
                ReportError::Invalid { .. } => Code::InvalidArgument,
                ReportError::NotIndexed { .. } => Code::Unavailable,
                ReportError::Abandoned => Code::Cancelled,
                ReportError::Spill(_) | ReportError::Storage(_) => Code::Internal,
            },
            ServiceError::Erasure(error) => match error {
                ErasureError::NoCase | ErasureError::AlreadyClosed => Code::FailedPrecondition,
                ErasureError::Append(_)
                | ErasureError::Storage(_)
                | ErasureError::Journal(_)
                | ErasureError::WorkerStopped => Code::Internal,
            },
            ServiceError::Backup(error) => match error {
                BackupError::DestinationExists(_) => Code::AlreadyExists,
                BackupError::Nested(_) => Code::InvalidArgument,
                BackupError::Io { .. } => Code::FailedPrecondition,
                BackupError::Storage(_) => Code::Internal,
            },
            ServiceError::Storage(_)
            | ServiceError::Vault { .. }
            | ServiceError::Worker(_)
            | ServiceError::Internal(_) => Code::Internal,
        }
    }

    /// The status as an HTTP response, for the admission layer.
    pub fn into_http(self) -> http::Response<tonic::body::Body> {
        Status::from(self).into_http()
    }
}

impl ServiceError {
    /// The field of the request an `INVALID_ARGUMENT` error names, and what is wrong with it:
    /// sent beside the message as a `google.rpc.BadRequest` field violation, so that a client
    /// can point at the field without parsing the message.
    pub fn field_violation(&self) -> Option<(String, String)> {
        if self.code() != Code::InvalidArgument {
            return None;
        }
        match self {
            ServiceError::Invalid(error) => Some((error.field.clone(), error.reason.clone())),
            ServiceError::Report(ReportError::Invalid { field, reason }) => {
                Some((field.clone(), reason.clone()))
            }
            ServiceError::Wire(WireError::Malformed { path, why }) => {
                Some((path.clone(), (*why).to_owned()))
            }
            ServiceError::Append { error, at } => match append_parts(error, at) {
                (Some(field), reason) => Some((field, reason)),
                (None, _) => None,
            },
            ServiceError::Backup(error @ BackupError::Nested(_)) => {
                Some(("destination".to_owned(), error.to_string()))
            }
            _ => None,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        if code == Code::Internal {
            tracing::error!(%error, "internal failure while serving a request");
        }
        match error.field_violation() {
            Some((field, description)) => Status::with_error_details(
                code,
                error.to_string(),
                ErrorDetails::with_bad_request_violation(field, description),
            ),
            None => Status::new(code, error.to_string()),
        }
    }
}

fn append_message(error: &AppendError, at: &AppendLocation) -> String {
    match append_parts(error, at) {
        (Some(field), reason) => format!("{field}: {reason}"),
        (None, reason) => reason,
    }
}

/// The field a refused append names (its path in the request), if any, and why it was refused.
fn append_parts(error: &AppendError, at: &AppendLocation) -> (Option<String>, String) {
    let field = |position: &usize, path: &str| Some(format!("{}{path}", at.at(*position)));
    match error {
        AppendError::NotApplied { position, event_id } => (
            field(position, ".event.event_id"),
            format!(
                "{event_id:?}: the same request was sent moments ago and did not append it; retry later"
            ),
        ),
        AppendError::EventIdConflict { position, event_id } => (
            field(position, ".event.event_id"),
            format!("{event_id:?} was already appended by this producer with different content"),
        ),
        AppendError::IdentityConflict { position } => (
            field(position, ".linked_subject"),
            "the identifier already belongs to another data subject".into(),
        ),
        AppendError::UnknownSubject { position } => (
            field(position, ".subject"),
            "no data subject with this identifier is known; an identity link needs a known subject"
                .into(),
        ),
        AppendError::BadCorrectionTarget {
            position,
            target,
            reason,
        } => (
            field(position, ".event.correction.target_index"),
            format!("{target}: {reason}"),
        ),
        AppendError::CorrectionDenied {
            position,
            target,
            reason,
        } => (
            field(position, ".event.correction.target_index"),
            format!("{target}: {reason}"),
        ),
        AppendError::InvalidAmendment { position, error } => {
            let error = error.clone().prefixed(&at.at(*position));
            (
                Some(error.field),
                format!("{} (in the target's event as amended)", error.reason),
            )
        }
        AppendError::SubjectErased { position, what } => (
            field(position, ".subject"),
            format!(
                "the subject's erasure is under way or done and its data key is destroyed: {what} refused"
            ),
        ),
        AppendError::Unavailable(why) => (None, why.clone()),
        AppendError::Vault(error) => (None, format!("subject key: {error}")),
        AppendError::Storage(error) => (None, format!("storage: {error}")),
    }
}

/// What an error says to a client that is not a gRPC client (the HTTP ingest listener): the
/// field it names and the HTTP status, both derived from the error and from [`ServiceError::code`].
impl ServiceError {
    /// The field the error names, as its path in the request (`submissions[3].event.system`),
    /// when it names one.
    pub fn field(&self) -> Option<String> {
        match self {
            ServiceError::Invalid(error)
            | ServiceError::OutOfRange(error)
            | ServiceError::NotFound(error)
            | ServiceError::Precondition(error) => Some(error.field.clone()),
            ServiceError::System(refused) => Some(refused.field().to_owned()),
            ServiceError::Wire(
                WireError::Malformed { path, .. }
                | WireError::TooManyElements { path, .. }
                | WireError::ElementTooLarge { path, .. }
                | WireError::TooDeep { path, .. },
            ) => Some(path.clone()),
            ServiceError::Append { error, at } => append_parts(error, at).0,
            ServiceError::Admission(Refusal::BadMinTreeSize(_)) => {
                Some(MIN_TREE_SIZE_HEADER.to_owned())
            }
            _ => None,
        }
    }

    /// The HTTP status: the usual one of the gRPC code (as in `google.rpc.Code`), except that a
    /// request too large is 413 (the other RESOURCE_EXHAUSTED, too many at once, stay 429) and a
    /// body that did not arrive in time is 408.
    pub fn http_status(&self) -> http::StatusCode {
        use http::StatusCode as Http;
        match self {
            ServiceError::Admission(Refusal::TooLarge { .. })
            | ServiceError::Wire(
                WireError::TooManyElements { .. }
                | WireError::ElementTooLarge { .. }
                | WireError::TooDeep { .. },
            ) => return Http::PAYLOAD_TOO_LARGE,
            ServiceError::Admission(Refusal::BodyTimeout { .. }) => return Http::REQUEST_TIMEOUT,
            _ => {}
        }
        match self.code() {
            Code::Ok => Http::OK,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
                Http::BAD_REQUEST
            }
            Code::Unauthenticated => Http::UNAUTHORIZED,
            Code::PermissionDenied => Http::FORBIDDEN,
            Code::NotFound => Http::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => Http::CONFLICT,
            Code::ResourceExhausted => Http::TOO_MANY_REQUESTS,
            // 499, "client closed request", as google.rpc.Code has it.
            Code::Cancelled => Http::from_u16(499).unwrap_or(Http::BAD_REQUEST),
            Code::Unimplemented => Http::NOT_IMPLEMENTED,
            Code::Unavailable => Http::SERVICE_UNAVAILABLE,
            Code::DeadlineExceeded => Http::GATEWAY_TIMEOUT,
            Code::Unknown | Code::Internal | Code::DataLoss => Http::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ProofError> for ServiceError {
    fn from(error: ProofError) -> Self {
        match error {
            ProofError::Storage(error) => ServiceError::Storage(error),
            error => ServiceError::Proof(error),
        }
    }
}

impl From<ReportError> for ServiceError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::Storage(error) => ServiceError::Storage(error),
            error => ServiceError::Report(error),
        }
    }
}

impl From<ErasureError> for ServiceError {
    fn from(error: ErasureError) -> Self {
        match error {
            ErasureError::NoCase => ServiceError::Precondition(FieldError::new(
                "subject",
                "the subject has no erasure case",
            )),
            ErasureError::AlreadyClosed => ServiceError::Precondition(FieldError::new(
                "subject",
                "the subject's erasure case is already closed",
            )),
            ErasureError::Append(error) => {
                ServiceError::append(error, AppendLocation::One("request"))
            }
            ErasureError::Storage(error) => ServiceError::Storage(error),
            error => ServiceError::Erasure(error),
        }
    }
}

impl From<BackupError> for ServiceError {
    fn from(error: BackupError) -> Self {
        match error {
            BackupError::Storage(error) => ServiceError::Storage(error),
            error => ServiceError::Backup(error),
        }
    }
}

/// Runs blocking store work off the async workers; its error becomes a [`ServiceError`].
pub async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ServiceError>
where
    T: Send + 'static,
    E: Into<ServiceError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?.map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_are_invalid_arguments_naming_the_field() {
        let status = Status::from(ServiceError::from(FieldError::new(
            "submission",
            "is required",
        )));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "submission: is required");
        let violations = status
            .get_details_bad_request()
            .expect("a BadRequest detail")
            .field_violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "submission");
        assert_eq!(violations[0].description, "is required");
    }

    #[test]
    fn refused_corrections_carry_their_field_beside_the_message() {
        let error = ServiceError::append(
            AppendError::BadCorrectionTarget {
                position: 2,
                target: 7,
                reason: "no such entry",
            },
            AppendLocation::Batch,
        );
        let status = Status::from(error);
        assert_eq!(
            status.message(),
            "submissions[2].event.correction.target_index: 7: no such entry"
        );
        let violations = status
            .get_details_bad_request()
            .expect("a BadRequest detail")
            .field_violations;
        assert_eq!(
            violations[0].field,
            "submissions[2].event.correction.target_index"
        );
        // Other codes carry no field violation.
        let status = Status::from(ServiceError::NotFound(FieldError::new("index", "beyond")));
        assert!(status.get_details_bad_request().is_none());
    }

    #[test]
    fn a_domain_error_wrapping_storage_is_a_storage_failure() {
        let damaged = || StorageError::inconsistent("x");
        for error in [
            ServiceError::from(ProofError::Storage(damaged())),
            ServiceError::from(ReportError::Storage(damaged())),
            ServiceError::from(ErasureError::Storage(damaged())),
            ServiceError::from(BackupError::Storage(damaged())),
            ServiceError::append(AppendError::Storage(damaged()), AppendLocation::Batch),
        ] {
            assert!(matches!(error, ServiceError::Storage(_)), "{error:?}");
            assert_eq!(error.code(), Code::Internal);
            assert_eq!(error.to_string(), "storage: damaged store: x");
        }
    }

    #[test]
    fn refused_appends_name_the_event_in_its_request() {
        let error = ServiceError::append(
            AppendError::UnknownSubject { position: 3 },
            AppendLocation::Batch,
        );
        assert_eq!(error.code(), Code::FailedPrecondition);
        assert!(error.to_string().starts_with("submissions[3].subject: "));
        assert_eq!(error.field().as_deref(), Some("submissions[3].subject"));
        assert_eq!(error.http_status(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn http_statuses_follow_the_codes_with_sizes_apart() {
        let conflict = ServiceError::append(
            AppendError::EventIdConflict {
                position: 0,
                event_id: "e-1".into(),
            },
            AppendLocation::One("submission"),
        );
        assert_eq!(conflict.http_status(), http::StatusCode::CONFLICT);
        assert_eq!(
            conflict.field().as_deref(),
            Some("submission.event.event_id")
        );
        let large = ServiceError::from(Refusal::TooLarge {
            declared: 10,
            limit: 5,
        });
        assert_eq!(large.code(), Code::ResourceExhausted);
        assert_eq!(large.http_status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        let streams = ServiceError::from(StreamError::Total { open: 1, limit: 1 });
        assert_eq!(streams.http_status(), http::StatusCode::TOO_MANY_REQUESTS);
        let unknown = ServiceError::from(AuthError::UnknownToken);
        assert_eq!(unknown.http_status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.field(), None);
    }
}
