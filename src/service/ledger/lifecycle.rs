//! `GetSubjectLifecycle`: a subject's entries with the proof of its head, streamed in chunks
//! read and proved on a blocking thread.

use tonic::{Request, Response, Status};

use super::LedgerService;
use crate::core::directory::SubjectToken;
use crate::core::signature::KeyId;
use crate::metrics::ProofKind;
use crate::proofs;
use crate::proto::v1 as pb;
use crate::proto::v1::ledger_server::Ledger;
use crate::service::admission;
use crate::service::status::{ServiceError, blocking};
use crate::service::streams;
use crate::service::subject::{SubjectChoice, resolve_subject};

/// Lifecycle messages read ahead of a slow client.
const LIFECYCLE_CHUNKS_IN_FLIGHT: usize = 8;

/// Lifecycle entries read and proved together (one batched read of the entries and one of their
/// signatures, one of their chunks).
const LIFECYCLE_ENTRIES_PER_READ: usize = 128;

/// Lifecycle entries per message (about 45 KB).
const LIFECYCLE_ENTRIES_PER_MESSAGE: usize = 32;

impl LedgerService {
    /// `GetSubjectLifecycle`: the header (checkpoint, token, subject proof), then the entries
    /// with their inclusion proofs, several per message.
    pub(super) async fn subject_lifecycle(
        &self,
        request: Request<pb::GetSubjectLifecycleRequest>,
    ) -> Result<Response<<Self as Ledger>::GetSubjectLifecycleStream>, Status> {
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
}
