//! The gRPC service `gdpr_ledger.v1.Ledger`: authenticates, validates, hands appends to the
//! sequencer and answers reads from the store. It holds no state of the log itself.

pub mod access_log;
pub mod admin;
pub mod admission;
pub mod auth;
pub mod consent;
pub mod erasure;
pub mod reports;
pub mod status;
pub mod streams;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tonic::{Request, Response, Status};

use status::{AppendLocation, ServiceError, blocking};

use crate::core::directory::{
    DirectorySecret, SubjectToken, directory_row_key, normalize_identifier,
};
use crate::core::signature::KeyId;
use crate::metrics::{LedgerMetrics, ProofKind};
use crate::proofs;
use crate::proto::v1 as pb;
use crate::proto::v1::ledger_server::Ledger;
use crate::sequencer::{PreparedEvent, Receipt, SequencerHandle, SignedCheckpoint};
use crate::storage::LedgerStore;
use crate::validation::{FieldError, ValidationLimits, validate_submission};
use streams::StreamGate;

/// Size and count limits of requests.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLimits {
    /// Largest encoded submission (event, identifiers, details), in bytes, as sent: checked on
    /// the wire before the request is decoded ([`admission`]).
    pub max_event_bytes: usize,
    /// Largest request, in bytes: checked from the message's length prefix, before the body is
    /// received.
    pub max_request_bytes: usize,
    /// Most events in one AppendBatch, counted on the wire before the request is decoded.
    pub max_batch_events: usize,
    /// How far in the future an event's `occurred_at` may lie, in seconds (clock skew).
    pub max_clock_skew_secs: u64,
    /// Bytes of append requests being validated, queued or sequenced at once, in MiB. Beyond it,
    /// new appends wait (back-pressure): memory stays bounded when clients outrun the disk.
    pub max_inflight_mib: usize,
    /// Streamed answers (lifecycles, breach investigations, consent findings) open at once.
    pub max_streams: usize,
    /// Streamed answers open at once for one caller.
    pub max_streams_per_caller: usize,
    /// How long a streamed answer waits for a client that reads nothing before it ends the
    /// stream (`DEADLINE_EXCEEDED`), in seconds.
    pub stream_send_timeout_secs: u64,
    /// How long a request's body may take to arrive, in seconds (`DEADLINE_EXCEEDED` after):
    /// a client that sends slowly holds its buffer no longer.
    pub request_body_timeout_secs: u64,
    /// Concurrent HTTP/2 streams (calls) on one connection.
    pub max_streams_per_connection: u32,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_event_bytes: 64 * 1024,
            max_request_bytes: 4 * 1024 * 1024,
            max_batch_events: 10_000,
            max_clock_skew_secs: 300,
            max_inflight_mib: 256,
            max_streams: 64,
            max_streams_per_caller: 8,
            stream_send_timeout_secs: 60,
            request_body_timeout_secs: 30,
            max_streams_per_connection: 128,
        }
    }
}

/// The service's dependencies.
pub struct LedgerService {
    store: Arc<LedgerStore>,
    sequencer: SequencerHandle,
    metrics: Arc<LedgerMetrics>,
    directory_secret: Arc<DirectorySecret>,
    digest_key: [u8; 32],
    limits: RequestLimits,
    verifier_key: String,
    streams: Arc<StreamGate>,
    /// Told of every confirmed deletion, to close erasure cases that are complete.
    erasure: Option<Arc<crate::erasure::ErasureManager>>,
}

impl LedgerService {
    /// Builds the service. `digest_key` keys the submission digests of the event-id index, so
    /// that the index holds nothing an attacker could test guessed identifiers against (see
    /// [`submission_digest_key`]). Callers are authenticated, and requests bounded, by the
    /// [`admission`] layer in front of the service; what they do is counted in `metrics`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<LedgerStore>,
        sequencer: SequencerHandle,
        metrics: Arc<LedgerMetrics>,
        directory_secret: Arc<DirectorySecret>,
        digest_key: [u8; 32],
        limits: RequestLimits,
        verifier_key: String,
        streams: Arc<StreamGate>,
    ) -> Self {
        Self {
            store,
            sequencer,
            metrics,
            directory_secret,
            digest_key,
            limits,
            verifier_key,
            streams,
            erasure: None,
        }
    }

    /// Tells `manager` of every `deletion_done` appended, so that it closes complete erasure cases.
    pub fn with_erasure(mut self, manager: Arc<crate::erasure::ErasureManager>) -> Self {
        self.erasure = Some(manager);
        self
    }

    /// The positions of the events that confirm a deletion.
    fn deletion_positions(&self, events: &[PreparedEvent]) -> Vec<usize> {
        if self.erasure.is_none() {
            return Vec::new();
        }
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.event.kind() == pb::EventKind::DeletionDone)
            .map(|(position, _)| position)
            .collect()
    }

    /// The events that rely on consent, by position: their receipts get a warning when no valid
    /// consent stands behind them.
    fn consent_checks(events: &[PreparedEvent]) -> Vec<(usize, pb::Event)> {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| crate::consent::relies_on_consent(&e.event))
            .map(|(position, e)| (position, e.event.clone()))
            .collect()
    }

    /// Checks consent-based events against their subject's consents as recorded now (the
    /// subject's token from its receipt), and writes the problems into the receipts.
    async fn warn_about_consent(
        &self,
        checks: Vec<(usize, pb::Event)>,
        tokens: &[Option<[u8; 32]>],
        receipts: &mut [pb::Receipt],
    ) -> Result<(), ServiceError> {
        let checks: Vec<([u8; 32], usize, pb::Event)> = checks
            .into_iter()
            .filter_map(|(position, event)| {
                tokens
                    .get(position)
                    .copied()
                    .flatten()
                    .map(|token| (token, position, event))
            })
            .collect();
        if checks.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        let warnings = blocking(move || {
            let mut warnings = Vec::new();
            for (token, position, event) in checks {
                let history = crate::consent::subject_history(&store, &token)?;
                if let Err(problem) = history.check(&event) {
                    warnings.push((position, problem.to_string()));
                }
            }
            Ok::<_, ServiceError>(warnings)
        })
        .await?;
        for (position, warning) in warnings {
            if let Some(receipt) = receipts.get_mut(position) {
                receipt.consent_warning = warning;
            }
        }
        Ok(())
    }

    /// Passes confirmed deletions (the events at `positions`) on to the erasure manager, with
    /// the tokens their receipts carry.
    fn deletions_appended(&self, positions: &[usize], tokens: &[Option<[u8; 32]>]) {
        let Some(manager) = &self.erasure else { return };
        let confirmed: Vec<[u8; 32]> = positions
            .iter()
            .filter_map(|position| tokens.get(*position).copied().flatten())
            .collect();
        if !confirmed.is_empty() {
            manager.deletions_confirmed(confirmed);
        }
    }

    fn validation_limits(&self) -> ValidationLimits {
        ValidationLimits {
            max_clock_skew: std::time::Duration::from_secs(self.limits.max_clock_skew_secs),
            ..ValidationLimits::default()
        }
    }

    /// Validates one submission and resolves what can be resolved outside the sequencer.
    fn prepare(
        &self,
        submission: pb::EventSubmission,
        limits: &ValidationLimits,
        now: SystemTime,
    ) -> Result<PreparedEvent, FieldError> {
        validate_submission(&submission, limits, now)?;
        let row = |identifier: &Option<pb::SubjectIdentifier>, field: &str| {
            identifier
                .as_ref()
                .map(|id| {
                    directory_row_key(&self.directory_secret, &id.kind, &id.value)
                        .map_err(|e| FieldError::new(field, e.to_string()))
                })
                .transpose()
        };
        let subject_row = row(&submission.subject, "subject.value")?;
        let linked_row = row(&submission.linked_subject, "linked_subject.value")?;
        let content_digest = submission_digest(&self.digest_key, &submission);
        let identifiers = [&submission.subject, &submission.linked_subject]
            .into_iter()
            .flatten()
            .map(|id| normalize_identifier(&id.kind, &id.value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FieldError::new("subject.value", e.to_string()))?;
        let details =
            (!submission.details.is_empty()).then(|| zeroize::Zeroizing::new(submission.details));
        Ok(PreparedEvent {
            event: submission.event.unwrap_or_default(),
            subject_row,
            linked_row,
            content_digest,
            details,
            identifiers,
            subject_token: None,
            opens_erasure: None,
        })
    }

    async fn receipts(
        &self,
        receipts: Vec<Receipt>,
        include_bundle: bool,
    ) -> Result<Vec<pb::Receipt>, ServiceError> {
        // Every bundle from one blocking task (each reads its entry and proof).
        let mut bundles = if include_bundle {
            let store = self.store.clone();
            let wanted: Vec<(u64, Arc<SignedCheckpoint>)> = receipts
                .iter()
                .map(|receipt| (receipt.index, receipt.checkpoint.clone()))
                .collect();
            blocking(move || {
                wanted
                    .iter()
                    .map(|(index, checkpoint)| {
                        proofs::inclusion_bundle(&store, *index, checkpoint, None)
                    })
                    .collect::<Result<Vec<String>, _>>()
            })
            .await?
            .into_iter()
        } else {
            Vec::new().into_iter()
        };
        let mut out = Vec::with_capacity(receipts.len());
        for receipt in receipts {
            let bundle_json = bundles.next().unwrap_or_default();
            out.push(pb::Receipt {
                index: receipt.index,
                leaf_hash: receipt.leaf_hash.as_bytes().to_vec(),
                signature: receipt.signature.signature.to_vec(),
                key_id: hex::encode(receipt.signature.key_id),
                checkpoint: receipt.checkpoint.note.clone(),
                duplicate: receipt.duplicate,
                bundle_json,
                consent_warning: String::new(),
            });
        }
        Ok(out)
    }

    /// The checkpoint at `size` (0: the latest), which the log must have signed.
    fn checkpoint(&self, size: u64) -> Result<Arc<SignedCheckpoint>, ServiceError> {
        let latest = self.sequencer.shared().latest_checkpoint();
        if size == 0 || size == latest.size {
            return Ok(latest);
        }
        if size > latest.size {
            return Err(ServiceError::OutOfRange(FieldError::new(
                "tree_size",
                format!("{size} is beyond the log's size {}", latest.size),
            )));
        }
        proofs::checkpoint_at(&self.store, size)?
            .map(Arc::new)
            .ok_or_else(|| {
                ServiceError::NotFound(FieldError::new(
                    "tree_size",
                    format!("the log signed no checkpoint at size {size}; ask for a size a checkpoint or receipt names"),
                ))
            })
    }
}

/// Lifecycle messages read ahead of a slow client.
const LIFECYCLE_CHUNKS_IN_FLIGHT: usize = 8;

/// Lifecycle entries read and proved together (one batched read of the entries and one of their
/// signatures, one of their chunks).
const LIFECYCLE_ENTRIES_PER_READ: usize = 128;

/// Lifecycle entries per message (about 45 KB).
const LIFECYCLE_ENTRIES_PER_MESSAGE: usize = 32;

/// Refuses a submission whose event names a system the caller may not report for
/// (`PERMISSION_DENIED`, naming `<prefix>.event.system`). A correction's amended `system` is
/// checked the same way: an amendment must not move an entry to another system.
fn check_systems(
    caller: &auth::Caller,
    submission: &pb::EventSubmission,
    prefix: &str,
) -> Result<(), ServiceError> {
    let Some(event) = &submission.event else {
        return Ok(());
    };
    Ok(caller.check_system(&format!("{prefix}.event.system"), &event.system)?)
}

/// The digest the event-id index keeps of a submission, to tell a retry from a reused event id:
/// BLAKE3-keyed over the event and the details, **not** the identifiers. The identifiers of a
/// retry are compared through the directory instead (`sequencer`), so that once an erasure has
/// destroyed the subject's directory rows, nothing in the index can be matched against a guessed
/// identifier (issue 13).
pub fn submission_digest(key: &[u8; 32], submission: &pb::EventSubmission) -> [u8; 32] {
    let event = submission
        .event
        .as_ref()
        .map(prost::Message::encode_to_vec)
        .unwrap_or_default();
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(b"gdpr-ledger submission digest v2\n");
    hasher.update(&(event.len() as u64).to_be_bytes());
    hasher.update(&event);
    hasher.update(&submission.details);
    *hasher.finalize().as_bytes()
}

/// The key of submission digests, derived from the deployment's directory secret.
pub fn submission_digest_key(directory_secret: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(
        "gdpr-ledger 2026 submission content digest v1",
        directory_secret,
    )
}

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

/// The append paths, wrapped by the trait's methods for their spans and metrics.
impl LedgerService {
    /// Counts an append request's outcome: its receipts or the status that refused it.
    fn count_append(&self, outcome: Result<usize, &ServiceError>, started: Instant) {
        match outcome {
            Ok(events) => {
                self.metrics.append_acknowledged(events, started.elapsed());
                tracing::debug!(events, "appended");
            }
            Err(error) => {
                self.metrics.append_rejected(error.code());
                tracing::debug!(code = ?error.code(), message = %error, "append refused");
            }
        }
    }

    /// `Append`: one submission.
    async fn append_one(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, ServiceError> {
        let caller = admission::caller(&request)?;
        tracing::Span::current().record("producer", caller.identity.as_str());
        self.metrics.append_received(1);
        let request = request.into_inner();
        let submission = request
            .submission
            .ok_or_else(|| FieldError::new("submission", "is required"))?;
        check_systems(&caller, &submission, "submission")?;
        let prepared = self
            .prepare(submission, &self.validation_limits(), SystemTime::now())
            .map_err(|e| e.prefixed("submission"))?;
        let deletions = self.deletion_positions(std::slice::from_ref(&prepared));
        let consent = Self::consent_checks(std::slice::from_ref(&prepared));
        let receipts = self
            .sequencer
            .append(
                caller.identity.clone(),
                caller.correction_rights(),
                vec![prepared],
            )
            .await
            .map_err(|e| ServiceError::append(e, AppendLocation::One("submission")))?;
        let tokens: Vec<Option<[u8; 32]>> = receipts.iter().map(|r| r.subject_token).collect();
        self.deletions_appended(&deletions, &tokens);
        let mut receipts = self.receipts(receipts, request.include_bundle).await?;
        self.warn_about_consent(consent, &tokens, &mut receipts)
            .await?;
        let receipt = receipts
            .pop()
            .ok_or_else(|| ServiceError::internal("no receipt for the appended event"))?;
        Ok(Response::new(pb::AppendResponse {
            receipt: Some(receipt),
        }))
    }

    /// `AppendBatch`: all of the submissions or none.
    async fn append_many(
        &self,
        request: Request<pb::AppendBatchRequest>,
    ) -> Result<Response<pb::AppendBatchResponse>, ServiceError> {
        let caller = admission::caller(&request)?;
        tracing::Span::current().record("producer", caller.identity.as_str());
        let request = request.into_inner();
        let count = request.submissions.len();
        self.metrics.append_received(count);
        if count == 0 {
            return Err(
                FieldError::new("submissions", "at least one submission is required").into(),
            );
        }
        for (position, submission) in request.submissions.iter().enumerate() {
            check_systems(&caller, submission, &format!("submissions[{position}]"))?;
        }
        let limits = self.validation_limits();
        let now = SystemTime::now();
        let mut seen = HashSet::with_capacity(count);
        let mut prepared = Vec::with_capacity(count);
        for (position, submission) in request.submissions.into_iter().enumerate() {
            let prefix = format!("submissions[{position}]");
            let event = self
                .prepare(submission, &limits, now)
                .map_err(|e| e.prefixed(&prefix))?;
            if !seen.insert(event.event.event_id.clone()) {
                return Err(FieldError::new(
                    format!("{prefix}.event.event_id"),
                    format!("{:?} appears twice in this batch", event.event.event_id),
                )
                .into());
            }
            prepared.push(event);
        }
        let deletions = self.deletion_positions(&prepared);
        let consent = Self::consent_checks(&prepared);
        let receipts = self
            .sequencer
            .append(
                caller.identity.clone(),
                caller.correction_rights(),
                prepared,
            )
            .await
            .map_err(|e| ServiceError::append(e, AppendLocation::Batch))?;
        let tokens: Vec<Option<[u8; 32]>> = receipts.iter().map(|r| r.subject_token).collect();
        self.deletions_appended(&deletions, &tokens);
        let mut receipts = self.receipts(receipts, request.include_bundle).await?;
        self.warn_about_consent(consent, &tokens, &mut receipts)
            .await?;
        Ok(Response::new(pb::AppendBatchResponse { receipts }))
    }
}

#[tonic::async_trait]
impl Ledger for LedgerService {
    type GetSubjectLifecycleStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::SubjectLifecycleChunk, Status>>;

    #[tracing::instrument(name = "append", skip_all, fields(producer = tracing::field::Empty))]
    async fn append(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, Status> {
        let started = Instant::now();
        let outcome = self.append_one(request).await;
        self.count_append(outcome.as_ref().map(|_| 1), started);
        Ok(outcome?)
    }

    #[tracing::instrument(
        name = "append_batch",
        skip_all,
        fields(
            producer = tracing::field::Empty,
            events = request.get_ref().submissions.len()
        )
    )]
    async fn append_batch(
        &self,
        request: Request<pb::AppendBatchRequest>,
    ) -> Result<Response<pb::AppendBatchResponse>, Status> {
        let started = Instant::now();
        let outcome = self.append_many(request).await;
        self.count_append(
            outcome
                .as_ref()
                .map(|response| response.get_ref().receipts.len()),
            started,
        );
        Ok(outcome?)
    }

    #[tracing::instrument(name = "get_entry", skip_all)]
    async fn get_entry(
        &self,
        request: Request<pb::GetEntryRequest>,
    ) -> Result<Response<pb::GetEntryResponse>, Status> {
        let caller = admission::caller(&request)?;
        self.metrics.proof_requested(ProofKind::Entry);
        let request = request.into_inner();
        let store = self.store.clone();
        let index = match request.selector {
            Some(pb::get_entry_request::Selector::Index(index)) => index,
            Some(pb::get_entry_request::Selector::EventId(event_id)) => {
                let producer = if request.producer.is_empty() {
                    caller.identity
                } else {
                    request.producer
                };
                let record = store
                    .event_id(&producer, &event_id)
                    .map_err(ServiceError::from)?
                    .ok_or_else(|| {
                        ServiceError::NotFound(FieldError::new(
                            "event_id",
                            format!("{producer} appended no event with id {event_id:?}"),
                        ))
                    })?;
                record.index
            }
            None => {
                return Err(ServiceError::from(FieldError::new(
                    "selector",
                    "give index or event_id",
                ))
                .into());
            }
        };
        let entry = blocking(move || proofs::stored_entry(&store, index)).await?;
        Ok(Response::new(pb::GetEntryResponse {
            index,
            leaf_hash: entry.leaf.as_bytes().to_vec(),
            entry: entry.bytes,
            signature: entry.signature.signature.to_vec(),
            key_id: hex::encode(entry.signature.key_id),
        }))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        admission::caller(&request)?;
        let checkpoint = self.checkpoint(request.into_inner().tree_size)?;
        Ok(Response::new(pb::GetCheckpointResponse {
            checkpoint: checkpoint.note.clone(),
            tree_size: checkpoint.size,
            root_hash: checkpoint.root.as_bytes().to_vec(),
            verifier_key: self.verifier_key.clone(),
        }))
    }

    #[tracing::instrument(
        name = "get_inclusion_proof",
        skip_all,
        fields(index = request.get_ref().index, tree_size = request.get_ref().tree_size)
    )]
    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::ProofBundle>, Status> {
        admission::caller(&request)?;
        self.metrics.proof_requested(ProofKind::Inclusion);
        let request = request.into_inner();
        let checkpoint = self.checkpoint(request.tree_size)?;
        if request.index >= checkpoint.size {
            return Err(ServiceError::OutOfRange(FieldError::new(
                "index",
                format!(
                    "{} is not in the tree of size {}",
                    request.index, checkpoint.size
                ),
            ))
            .into());
        }
        let from = if request.consistency_from == 0 {
            None
        } else if request.consistency_from > checkpoint.size {
            return Err(ServiceError::from(FieldError::new(
                "consistency_from",
                format!(
                    "{} is beyond tree_size {}",
                    request.consistency_from, checkpoint.size
                ),
            ))
            .into());
        } else {
            Some(self.checkpoint(request.consistency_from)?)
        };
        let store = self.store.clone();
        let index = request.index;
        let bundle_json =
            blocking(move || proofs::inclusion_bundle(&store, index, &checkpoint, from.as_deref()))
                .await?;
        Ok(Response::new(pb::ProofBundle { bundle_json }))
    }

    #[tracing::instrument(
        name = "get_consistency_proof",
        skip_all,
        fields(
            first_size = request.get_ref().first_size,
            second_size = request.get_ref().second_size
        )
    )]
    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        admission::caller(&request)?;
        self.metrics.proof_requested(ProofKind::Consistency);
        let request = request.into_inner();
        let second = self.checkpoint(request.second_size)?;
        if request.first_size > second.size {
            return Err(ServiceError::from(FieldError::new(
                "first_size",
                format!(
                    "{} is larger than second_size {}",
                    request.first_size, second.size
                ),
            ))
            .into());
        }
        let first = if request.first_size == 0 {
            None
        } else {
            Some(self.checkpoint(request.first_size)?)
        };
        let store = self.store.clone();
        let (first_size, second_size) = (request.first_size, second.size);
        let proof = blocking(move || proofs::consistency(&store, first_size, second_size)).await?;
        Ok(Response::new(pb::GetConsistencyProofResponse {
            first_size,
            second_size,
            proof: proof.iter().map(|h| h.as_bytes().to_vec()).collect(),
            first_checkpoint: first.map(|c| c.note.clone()).unwrap_or_default(),
            second_checkpoint: second.note.clone(),
        }))
    }

    #[tracing::instrument(
        name = "get_subject_lifecycle",
        skip_all,
        fields(tree_size = request.get_ref().tree_size)
    )]
    async fn get_subject_lifecycle(
        &self,
        request: Request<pb::GetSubjectLifecycleRequest>,
    ) -> Result<Response<Self::GetSubjectLifecycleStream>, Status> {
        let caller = admission::caller(&request)?;
        self.metrics.proof_requested(ProofKind::Lifecycle);
        let permit = self.streams.open(&caller).map_err(ServiceError::from)?;
        let request = request.into_inner();
        let token = resolve_subject(
            &self.store,
            &self.directory_secret,
            request.subject.map(SubjectChoice::from),
            "",
        )
        .await
        .map(SubjectToken::from_bytes)?;
        let checkpoint = self.checkpoint(request.tree_size)?;
        let store = self.store.clone();
        let size = checkpoint.size;
        let (proof, indexes, details_erased) = blocking(move || {
            let (proof, indexes) = proofs::subject_lifecycle(&store, &token, size)?;
            let erased = store.data_key(token.as_bytes())? == crate::storage::StoredKey::Shredded;
            Ok::<_, ServiceError>((proof, indexes, erased))
        })
        .await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(LIFECYCLE_CHUNKS_IN_FLIGHT);
        let header = pb::LifecycleHeader {
            checkpoint: checkpoint.note.clone(),
            tree_size: size,
            token: token.as_bytes().to_vec(),
            subject_proof: proof.to_bytes(),
            count: indexes.len() as u64,
            details_erased,
        };
        let store = self.store.clone();
        let timeout = self.streams.send_timeout();
        // Entries are read and proved on a blocking thread, 128 at a time, and handed to the
        // client from this task: a long lifecycle is never held in memory whole, a client that
        // goes away stops it, and one that stops reading holds no thread (`service::streams`).
        tokio::spawn(async move {
            let _permit = permit;
            let chunk = |part| Ok(pb::SubjectLifecycleChunk { part: Some(part) });
            let header = chunk(pb::subject_lifecycle_chunk::Part::Header(header));
            if !streams::send(&sender, header, timeout).await {
                return;
            }
            for chunk_indexes in indexes.chunks(LIFECYCLE_ENTRIES_PER_READ) {
                let (store, part_indexes) = (store.clone(), chunk_indexes.to_vec());
                let proved =
                    blocking(move || proofs::proved_entries(&store, &part_indexes, size)).await;
                let entries = match proved {
                    Ok(entries) => entries,
                    Err(error) => {
                        streams::send(&sender, Err(error.into()), timeout).await;
                        return;
                    }
                };
                // Several entries per message: per-message costs (a wake-up, a frame) are paid
                // once per `LIFECYCLE_ENTRIES_PER_MESSAGE` entries, not per entry.
                let mut entries =
                    chunk_indexes
                        .iter()
                        .zip(entries)
                        .map(|(index, (entry, proof))| pb::LifecycleEntry {
                            index: *index,
                            entry: entry.bytes,
                            signature: entry.signature.signature.to_vec(),
                            key_id: KeyId::from_bytes(entry.signature.key_id).to_string(),
                            inclusion_proof: proof.iter().map(|h| h.as_bytes().to_vec()).collect(),
                        });
                loop {
                    let batch: Vec<_> = entries
                        .by_ref()
                        .take(LIFECYCLE_ENTRIES_PER_MESSAGE)
                        .collect();
                    if batch.is_empty() {
                        break;
                    }
                    let part = pb::subject_lifecycle_chunk::Part::Entries(pb::LifecycleEntries {
                        entries: batch,
                    });
                    if !streams::send(&sender, chunk(part), timeout).await {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        )))
    }

    async fn get_stats(
        &self,
        request: Request<pb::GetStatsRequest>,
    ) -> Result<Response<pb::GetStatsResponse>, Status> {
        admission::caller(&request)?;
        let shared = self.sequencer.shared();
        let stats = &shared.stats;
        use std::sync::atomic::Ordering::Relaxed;
        Ok(Response::new(pb::GetStatsResponse {
            tree_size: shared.latest_checkpoint().size,
            groups_committed: stats.groups_committed.load(Relaxed),
            entries_appended: stats.entries_appended.load(Relaxed),
            jobs_acknowledged: stats.jobs_acknowledged.load(Relaxed),
            wal_syncs: self.store.wal_syncs(),
            failed: shared.has_failed(),
            rocksdb_statistics: self.store.statistics_summary(),
        }))
    }
}
