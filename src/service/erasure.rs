//! The gRPC service `gdpr_ledger.v1.Erasure`: erasure cases (admin opens and closes them; auditors
//! read their status) and the sealed details of entries (auditors read them opened).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::access_log::{AccessLog, AccessSubject};
use super::status::{ServiceError, blocking};
use super::subject::{SubjectChoice, resolve_subject, subject_of_identifier, token_field};
use crate::core::directory::DirectorySecret;
use crate::core::entry::decode_entry;
use crate::erasure::{ErasureError, ErasureManager, ErasureStatus, HolderConfirmation};
use crate::proto::v1 as pb;
use crate::proto::v1::erasure_server::Erasure;
use crate::storage::{LedgerStore, StorageError, StoredKey};
use crate::validation::FieldError;
use crate::vault::MasterKey;

/// The erasure service's dependencies.
pub struct ErasureService {
    store: Arc<LedgerStore>,
    manager: Arc<ErasureManager>,
    directory_secret: Arc<DirectorySecret>,
    master_key: Arc<MasterKey>,
    access_log: AccessLog,
}

impl ErasureService {
    /// The service.
    pub fn new(
        store: Arc<LedgerStore>,
        manager: Arc<ErasureManager>,
        directory_secret: Arc<DirectorySecret>,
        master_key: Arc<MasterKey>,
        access_log: AccessLog,
    ) -> Self {
        Self {
            store,
            manager,
            directory_secret,
            master_key,
            access_log,
        }
    }

    /// The token a request names.
    async fn token(&self, subject: Option<pb::SubjectRef>) -> Result<[u8; 32], ServiceError> {
        let subject = subject.and_then(|s| s.subject).map(SubjectChoice::from);
        resolve_subject(&self.store, &self.directory_secret, subject, "subject.").await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&ErasureManager) -> Result<T, ErasureError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let manager = self.manager.clone();
        blocking(move || work(&manager)).await
    }
}

fn timestamp(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn confirmation(
    stamp: Option<HolderConfirmation>,
) -> (Option<u64>, Option<prost_types::Timestamp>) {
    match stamp {
        Some(stamp) => (Some(stamp.index), timestamp(stamp.at)),
        None => (None, None),
    }
}

/// The status as the API shows it, at `now` (Unix seconds).
pub fn status_message(status: &ErasureStatus, now: i64) -> pb::ErasureStatus {
    use pb::erasure_status::State;
    let holders: Vec<pb::Holder> = status
        .holders
        .iter()
        .map(|holder| {
            let (notified_index, notified_at) = confirmation(holder.notified);
            let (confirmed_index, confirmed_at) = confirmation(holder.answer.confirmed);
            let exemption = holder.answer.exempted.as_ref();
            pb::Holder {
                exemption_index: exemption.map(|e| e.stamp.index),
                exemption_ground: exemption
                    .map(|e| e.legal_ground.clone())
                    .unwrap_or_default(),
                exempt_until: exemption.and_then(|e| e.until).and_then(timestamp),
                exemption_reason: exemption.map(|e| e.reason.clone()).unwrap_or_default(),
                pending: holder.pending(now),
                name: holder.name.clone(),
                recipient: holder.recipient,
                role: holder.role as i32,
                country: holder.country.clone(),
                first_index: holder.first_index,
                last_index: holder.last_index,
                notified_index,
                notified_at,
                confirmed_index,
                confirmed_at,
            }
        })
        .collect();
    let pending = u32::try_from(status.pending(now)).unwrap_or(u32::MAX);
    let mut message = pb::ErasureStatus {
        token: status.token.to_vec(),
        state: State::None as i32,
        holders,
        pending,
        ..Default::default()
    };
    if let Some(record) = &status.record {
        message.state = if record.closed.is_some() {
            State::Closed
        } else {
            State::Open
        } as i32;
        message.request_index = record.request_index;
        message.requested_at = timestamp(record.requested_at);
        message.requested_by.clone_from(&record.requested_by);
        message.purged = record.purged;
        if let Some(closed) = &record.closed {
            message.closed_at = timestamp(closed.at);
            message.closed_by.clone_from(&closed.by);
            message.close_reason.clone_from(&closed.reason);
        }
    }
    message
}

#[tonic::async_trait]
impl Erasure for ErasureService {
    async fn erase_subject(
        &self,
        request: Request<pb::EraseSubjectRequest>,
    ) -> Result<Response<pb::ErasureStatus>, Status> {
        let caller = super::admission::caller(&request)?;
        let request = request.into_inner();
        let identifier = request.subject.ok_or_else(|| {
            ServiceError::from(FieldError::new(
                "subject",
                "the identifier of the subject to erase is required",
            ))
        })?;
        let system = if request.system.is_empty() {
            crate::erasure::LEDGER_IDENTITY.to_owned()
        } else {
            request.system
        };
        let event_id = if request.event_id.is_empty() {
            let nanos = crate::unix_time::nanos(std::time::SystemTime::now());
            format!("erasure-{nanos}")
        } else {
            request.event_id
        };
        let now = std::time::SystemTime::now();
        let event = pb::Event {
            event_id,
            kind: pb::EventKind::ErasureRequested as i32,
            occurred_at: Some(prost_types::Timestamp::from(now)),
            system,
            ..Default::default()
        };
        // The entry is validated like any producer's event (system and event id formats).
        let submission = pb::EventSubmission {
            event: Some(event),
            subject: Some(identifier.clone()),
            ..Default::default()
        };
        crate::validation::validate_submission(
            &submission,
            &crate::validation::ValidationLimits::default(),
            now,
        )
        .map_err(ServiceError::from)?;
        let event = submission.event.unwrap_or_default();
        let (row, token) =
            subject_of_identifier(&self.store, &self.directory_secret, &identifier, "subject")
                .await?;
        let status = self
            .manager
            .erase(token, row, &caller.identity, event)
            .await
            .map_err(ServiceError::from)?;
        tracing::info!(token = %hex::encode(token), by = %caller.identity, "erasure requested");
        Ok(Response::new(status_message(
            &status,
            crate::unix_time::now_seconds(),
        )))
    }

    async fn close_erasure(
        &self,
        request: Request<pb::CloseErasureRequest>,
    ) -> Result<Response<pb::ErasureStatus>, Status> {
        let caller = super::admission::caller(&request)?;
        let request = request.into_inner();
        if request.reason.trim().is_empty() {
            return Err(ServiceError::from(FieldError::new(
                "reason",
                "say why the case is closed before every system confirmed",
            ))
            .into());
        }
        let token = self.token(request.subject).await?;
        let by = caller.identity.clone();
        self.manager
            .close(token, &by, &request.reason)
            .await
            .map_err(ServiceError::from)?;
        let status = self.run(move |manager| manager.status(token)).await?;
        Ok(Response::new(status_message(
            &status,
            crate::unix_time::now_seconds(),
        )))
    }

    async fn get_erasure_status(
        &self,
        request: Request<pb::GetErasureStatusRequest>,
    ) -> Result<Response<pb::ErasureStatus>, Status> {
        super::admission::caller(&request)?;
        let token = self.token(request.into_inner().subject).await?;
        let status = self.run(move |manager| manager.status(token)).await?;
        Ok(Response::new(status_message(
            &status,
            crate::unix_time::now_seconds(),
        )))
    }

    async fn list_open_erasures(
        &self,
        request: Request<pb::ListOpenErasuresRequest>,
    ) -> Result<Response<pb::ListOpenErasuresResponse>, Status> {
        super::admission::caller(&request)?;
        let days = i64::from(request.into_inner().older_than_days);
        let now = crate::unix_time::now_seconds();
        let before = now.saturating_sub(days.saturating_mul(86_400));
        let cases = self.run(move |manager| manager.open_cases(before)).await?;
        Ok(Response::new(pb::ListOpenErasuresResponse {
            cases: cases.iter().map(|case| status_message(case, now)).collect(),
        }))
    }

    async fn get_details(
        &self,
        request: Request<pb::GetDetailsRequest>,
    ) -> Result<Response<pb::GetDetailsResponse>, Status> {
        let caller = super::admission::caller(&request)?;
        let index = request.into_inner().index;
        let store = self.store.clone();
        let master_key = self.master_key.clone();
        let (response, opened) = blocking(move || read_details(&store, &master_key, index)).await?;
        // Opened details are personal data: the read is logged in the ledger before it is served.
        if let Some((token, categories)) = opened {
            self.access_log
                .append(
                    &caller,
                    &format!("details.{index}"),
                    AccessSubject::Token(token),
                    categories.into_iter().collect(),
                )
                .await?;
        }
        tracing::info!(index, by = %caller.identity, "details read");
        Ok(Response::new(response))
    }

    async fn get_identifiers(
        &self,
        request: Request<pb::GetIdentifiersRequest>,
    ) -> Result<Response<pb::GetIdentifiersResponse>, Status> {
        let caller = super::admission::caller(&request)?;
        let bytes = request.into_inner().token;
        let token = token_field(&bytes, "token")?;
        let store = self.store.clone();
        let master_key = self.master_key.clone();
        let response = blocking(move || read_identifiers(&store, &master_key, &token)).await?;
        // Re-identification is logged in the ledger before it is served.
        if !response.identifiers.is_empty() {
            self.access_log
                .append(
                    &caller,
                    "identifiers",
                    AccessSubject::Token(token),
                    std::collections::BTreeSet::from(["pd:Identifying".to_owned()]),
                )
                .await?;
        }
        tracing::info!(token = %hex::encode(token), by = %caller.identity, "identifiers read");
        Ok(Response::new(response))
    }
}

/// The identifiers of the subject `token`, opened, or that they were erased.
fn read_identifiers(
    store: &LedgerStore,
    master_key: &MasterKey,
    token: &[u8; 32],
) -> Result<pb::GetIdentifiersResponse, ServiceError> {
    let erased = pb::GetIdentifiersResponse {
        identifiers: Vec::new(),
        erased: true,
    };
    let key = match store.data_key(token)? {
        StoredKey::Shredded => return Ok(erased),
        StoredKey::Wrapped(row) => {
            master_key
                .unwrap_key(token, &row)
                .map_err(|error| ServiceError::Vault {
                    what: "subject key".into(),
                    error,
                })?
        }
        StoredKey::Absent => {
            // No key yet: a subject the ledger knows only from before identifiers were kept, or
            // none at all.
            return if store.subject_head(token)?.is_some() {
                Ok(pb::GetIdentifiersResponse::default())
            } else {
                Err(ServiceError::NotFound(FieldError::new(
                    "token",
                    "no data subject has this token",
                )))
            };
        }
    };
    let Some(sealed) = store.sealed_identifiers(token)? else {
        return Ok(pb::GetIdentifiersResponse::default());
    };
    let identifiers = key
        .open_identifiers(token, &sealed)
        .map_err(|error| ServiceError::Vault {
            what: "identifiers".into(),
            error,
        })?
        .into_iter()
        .filter_map(|line| {
            line.split_once(':')
                .map(|(kind, value)| pb::SubjectIdentifier {
                    kind: kind.to_owned(),
                    value: value.to_owned(),
                })
        })
        .collect();
    Ok(pb::GetIdentifiersResponse {
        identifiers,
        erased: false,
    })
}

/// The details of the entry at `index`, opened; or that it has none, or that they were erased.
/// What a read of details opened: the subject and the entry's categories, for the access entry.
type OpenedDetails = Option<([u8; 32], Vec<String>)>;

fn read_details(
    store: &LedgerStore,
    master_key: &MasterKey,
    index: u64,
) -> Result<(pb::GetDetailsResponse, OpenedDetails), ServiceError> {
    let bytes = store.entry(index)?.ok_or_else(|| {
        ServiceError::NotFound(FieldError::new(
            "index",
            format!("the log has no entry {index}"),
        ))
    })?;
    let entry = decode_entry(&bytes).map_err(|e| StorageError::undecodable_entry(index, e))?;
    let event = entry.event.unwrap_or_default();
    let digest = event.details_digest;
    let none = pb::GetDetailsResponse {
        none: true,
        ..Default::default()
    };
    if digest.is_empty() {
        return Ok((none, None));
    }
    let erased = pb::GetDetailsResponse {
        erased: true,
        ..Default::default()
    };
    let token: [u8; 32] = entry.subject_token.as_slice().try_into().map_err(|_| {
        StorageError::inconsistent(format!("entry {index}: details without subject"))
    })?;
    let key = match store.data_key(&token)? {
        StoredKey::Wrapped(row) => {
            master_key
                .unwrap_key(&token, &row)
                .map_err(|error| ServiceError::Vault {
                    what: "subject key".into(),
                    error,
                })?
        }
        _ => return Ok((erased, None)),
    };
    let Some(sealed) = store.sealed_details(&token, index)? else {
        return Ok((erased, None));
    };
    let Some(row) = crate::vault::DetailsRow::recognise(&sealed, &digest) else {
        return Err(StorageError::inconsistent(format!(
            "entry {index}: the stored details do not match the entry's details_digest"
        ))
        .into());
    };
    let details =
        key.open_details_row(&token, index, row)
            .map_err(|error| ServiceError::Vault {
                what: format!("details of entry {index}"),
                error,
            })?;
    Ok((
        pb::GetDetailsResponse {
            details: details.to_vec(),
            ..Default::default()
        },
        Some((token, event.data_categories)),
    ))
}
