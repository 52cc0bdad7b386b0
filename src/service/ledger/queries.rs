//! The reads of `Ledger`: `GetEntry`, `GetCheckpoint`, `GetInclusionProof`,
//! `GetConsistencyProof`, `GetStats`, and the one choice of a signed checkpoint by size.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::LedgerService;
use crate::metrics::ProofKind;
use crate::proofs;
use crate::proto::v1 as pb;
use crate::sequencer::SignedCheckpoint;
use crate::service::admission;
use crate::service::status::{ServiceError, blocking};
use crate::validation::FieldError;

impl LedgerService {
    /// The checkpoint at `size` (0: the latest), which the log must have signed.
    pub(super) fn checkpoint(&self, size: u64) -> Result<Arc<SignedCheckpoint>, ServiceError> {
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

    /// `GetEntry`: an entry by index, or by its producer's event id.
    pub(super) async fn entry(
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

    /// `GetCheckpoint`: the latest checkpoint, or the one the log signed at a size.
    pub(super) fn signed_checkpoint(
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

    /// `GetInclusionProof`: an entry's inclusion bundle, with a consistency proof when asked.
    pub(super) async fn inclusion_proof(
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

    /// `GetConsistencyProof`: between two signed tree sizes.
    pub(super) async fn consistency_proof(
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

    /// `GetStats`: the sequencer's counters and the store's.
    pub(super) fn stats(
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
