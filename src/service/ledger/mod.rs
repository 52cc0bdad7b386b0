//! The service `gdpr_ledger.v1.Ledger`: the trait's methods (their spans) over the handlers of
//! `append` (and `prepare`, the checks and preparation of a submission), `queries` (entries,
//! checkpoints, proofs, statistics) and `lifecycle`.

mod append;
mod breach_cases;
mod lifecycle;
mod prepare;
mod queries;
mod request_cases;

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::core::directory::DirectorySecret;
use crate::metrics::LedgerMetrics;
use crate::proto::v1 as pb;
use crate::proto::v1::ledger_server::Ledger;
use crate::sequencer::SequencerHandle;
use crate::service::RequestLimits;
use crate::service::status::ServiceError;
use crate::service::streams::StreamGate;
use crate::storage::LedgerStore;

pub use prepare::{submission_digest, submission_digest_key};

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
    /// [`admission`](crate::service::admission) layer in front of the service; what they do is counted in `metrics`.
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
}

/// The appends as every way in calls them (the gRPC methods below, the HTTP ingest listener):
/// the caller in the request's extensions, the outcome counted in the metrics.
impl LedgerService {
    /// `Append`.
    pub async fn append_counted(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, ServiceError> {
        let started = Instant::now();
        let outcome = self.append_one(request).await;
        self.count_append(outcome.as_ref().map(|_| 1), started);
        outcome
    }

    /// `AppendBatch`.
    pub async fn append_batch_counted(
        &self,
        request: Request<pb::AppendBatchRequest>,
    ) -> Result<Response<pb::AppendBatchResponse>, ServiceError> {
        let started = Instant::now();
        let outcome = self.append_many(request).await;
        self.count_append(
            outcome
                .as_ref()
                .map(|response| response.get_ref().receipts.len()),
            started,
        );
        outcome
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
        Ok(self.append_counted(request).await?)
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
        Ok(self.append_batch_counted(request).await?)
    }

    #[tracing::instrument(name = "get_entry", skip_all)]
    async fn get_entry(
        &self,
        request: Request<pb::GetEntryRequest>,
    ) -> Result<Response<pb::GetEntryResponse>, Status> {
        self.entry(request).await
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        self.signed_checkpoint(request)
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
        self.inclusion_proof(request).await
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
        self.consistency_proof(request).await
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
        self.subject_lifecycle(request).await
    }

    async fn get_stats(
        &self,
        request: Request<pb::GetStatsRequest>,
    ) -> Result<Response<pb::GetStatsResponse>, Status> {
        self.stats(request)
    }
}
