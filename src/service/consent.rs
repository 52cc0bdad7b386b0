//! The gRPC service `gdpr_ledger.v1.Consent`: processing that relied on consent without a valid
//! one, streamed as the log is read.

use std::sync::Arc;

use prost_types::Timestamp;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::status::ServiceError;
use crate::consent::{ConsentProblem, ConsentQuery, processing_without_consent};
use crate::proto::v1 as pb;
use crate::proto::v1::consent_server::Consent;
use crate::storage::LedgerStore;
use crate::validation::FieldError;

/// How many findings wait for the client before the scan pauses.
const FINDINGS_IN_FLIGHT: usize = 256;

/// The consent service's dependencies.
pub struct ConsentService {
    store: Arc<LedgerStore>,
    streams: Arc<super::streams::StreamGate>,
}

impl ConsentService {
    /// The service.
    pub fn new(store: Arc<LedgerStore>, streams: Arc<super::streams::StreamGate>) -> Self {
        Self { store, streams }
    }
}

fn consent_index(problem: &ConsentProblem) -> Option<u64> {
    match problem {
        ConsentProblem::NoReference | ConsentProblem::NoSuchConsent => None,
        ConsentProblem::NotYetGiven { consent_index }
        | ConsentProblem::Withdrawn { consent_index, .. }
        | ConsentProblem::PurposeNotCovered { consent_index, .. } => Some(*consent_index),
    }
}

/// The entries the report covers: those received by `as_of` (the whole log without it).
fn covered_size(store: &LedgerStore, as_of: Option<&Timestamp>) -> Result<u64, ServiceError> {
    let size = store.tree_size()?;
    let Some(as_of) = as_of else {
        return Ok(size);
    };
    crate::reports::check_indexed(store, size)?;
    Ok(store.entries_received_by(as_of, size)?)
}

#[tonic::async_trait]
impl Consent for ConsentService {
    type ListProcessingWithoutConsentStream =
        ReceiverStream<Result<pb::ProcessingWithoutConsent, Status>>;

    async fn list_processing_without_consent(
        &self,
        request: Request<pb::ListProcessingWithoutConsentRequest>,
    ) -> Result<Response<Self::ListProcessingWithoutConsentStream>, Status> {
        let caller = super::admission::caller(&request)?;
        let request = request.into_inner();
        if request.from_seconds < 0 || request.until_seconds < 0 {
            let field =
                FieldError::new("from_seconds, until_seconds", "Unix seconds, not negative");
            return Err(ServiceError::from(field).into());
        }
        if request.until_seconds != 0 && request.until_seconds <= request.from_seconds {
            let field = FieldError::new("until_seconds", "must be after from_seconds");
            return Err(ServiceError::from(field).into());
        }
        let as_of = request.as_of;
        if let Some(at) = &as_of {
            crate::reports::breach_case::as_of_or("as_of", Some(*at), *at)
                .map_err(ServiceError::from)?;
        }
        let query = ConsentQuery {
            from: (request.from_seconds != 0).then_some(request.from_seconds),
            until: (request.until_seconds != 0).then_some(request.until_seconds),
            system: (!request.system.is_empty()).then_some(request.system),
        };
        let permit = self.streams.open(&caller).map_err(ServiceError::from)?;
        let timeout = self.streams.send_timeout();
        let (sender, receiver) = tokio::sync::mpsc::channel(FINDINGS_IN_FLIGHT);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let outcome = covered_size(&store, as_of.as_ref()).and_then(|size| {
                processing_without_consent(&store, size, &query, |finding| {
                    let message = pb::ProcessingWithoutConsent {
                        index: finding.index,
                        token: finding.token.to_vec(),
                        consent_index: consent_index(&finding.problem),
                        problem: finding.describe(),
                        requires_consent: finding.reliance.to_string(),
                        policy_index: finding.reliance.policy_index(),
                        tree_size: size,
                        event: Some(finding.event),
                    };
                    // A client that went away, or stopped reading, stops the scan.
                    super::streams::send_blocking(&sender, Ok(message), timeout)
                })
                .map_err(ServiceError::from)
            });
            if let Err(error) = outcome {
                super::streams::send_blocking(&sender, Err(error.into()), timeout);
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
