//! The gRPC service `gdpr_ledger.v1.Reports` (auditor or admin role): breach investigations,
//! the article 30 record and subject access reports (`crate::reports`). Serving personal data
//! (an investigation's findings, a subject access report) is first logged as an access entry
//! through the sequencer: if that append fails, nothing is served. A breach investigation is
//! summarized first (`reports::breach::summarize`), logged, then its entries are read again and
//! streamed as they are read: neither side holds the findings. Breach cases and their drafts:
//! `breach_cases` (logged the same way when they count).

mod breach_cases;
mod data_map;
mod request_cases;
mod retention;

use std::collections::BTreeSet;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::Caller;
use super::status::{ServiceError, blocking};
use super::streams::StreamGate;
use crate::core::bundle::{Bundle, BundleEntry};
use crate::core::directory::DirectorySecret;
use crate::core::signature::{EntrySignature, KeyId};
use crate::proofs;
use crate::proto::v1 as pb;
use crate::proto::v1::reports_server::Reports;
use crate::reports;
use crate::reports::breach::{BreachQuery, SummaryOptions};
use crate::reports::distinct::SpillConfig;
use crate::sequencer::SequencerHandle;
use crate::storage::LedgerStore;
use crate::validation::FieldError;

pub use super::access_log::{
    ACCESS_BASIS, ACCESS_FALLBACK_CATEGORY, ACCESS_PURPOSE, ACCESS_SPECIAL_CONDITION, ACCESS_SYSTEM,
};
use super::access_log::{AccessLog, AccessSubject};
pub use crate::reports::breach::MAX_BUNDLE_ENTRIES;
/// Affected entries per streamed message.
const ENTRIES_PER_CHUNK: usize = 1000;

/// The reports service's dependencies.
pub struct ReportsService {
    store: Arc<LedgerStore>,
    sequencer: SequencerHandle,
    directory_secret: Arc<DirectorySecret>,
    access_log: AccessLog,
    streams: Arc<StreamGate>,
    spill: SpillConfig,
    silent_after_days: u32,
}

impl ReportsService {
    /// The service over `store`, appending its access entries through `sequencer`; breach
    /// investigations count distinct subjects in the memory `spill` allows.
    pub fn new(
        store: Arc<LedgerStore>,
        sequencer: SequencerHandle,
        directory_secret: Arc<DirectorySecret>,
        digest_key: [u8; 32],
        streams: Arc<StreamGate>,
        spill: SpillConfig,
    ) -> Self {
        let access_log = AccessLog::new(sequencer.clone(), directory_secret.clone(), digest_key);
        Self {
            store,
            sequencer,
            directory_secret,
            access_log,
            streams,
            spill,
            silent_after_days: crate::reports::data_map::DEFAULT_SILENT_AFTER_DAYS,
        }
    }

    /// `DataMap`'s default of `silent_after_days` (`[data_map] silent_after_days`).
    pub fn with_silent_after_days(mut self, days: u32) -> Self {
        self.silent_after_days = days;
        self
    }

    /// Appends the access entry that logs a report (`service::access_log`). Returns its index.
    async fn log_access(
        &self,
        caller: &Caller,
        report: &str,
        subject: Option<&pb::SubjectIdentifier>,
        categories: BTreeSet<String>,
    ) -> Result<u64, ServiceError> {
        let subject = match subject {
            Some(identifier) => AccessSubject::Identifier(identifier),
            None => AccessSubject::Many,
        };
        self.access_log
            .append(caller, &format!("report.{report}"), subject, categories)
            .await
    }
}

/// The page limit a list request asks for: its `limit`, at most (and by default) `max`.
fn page_limit(limit: u32, max: usize) -> usize {
    match limit {
        0 => max,
        n => usize::try_from(n).map_or(max, |n| n.min(max)),
    }
}

/// One page of a list of cases: the names `refs` gives from `after` (exclusive) on, a skip-scan
/// of at most `limit` names at a time, each turned by `read` into the case to list (`None`:
/// not listed), until `limit` cases; with the last name when the page is full (the next page's
/// `after`), empty otherwise.
fn case_page<T>(
    after: &str,
    limit: usize,
    mut refs: impl FnMut(Option<&str>, usize) -> Result<Vec<String>, reports::ReportError>,
    mut read: impl FnMut(&str) -> Result<Option<T>, reports::ReportError>,
) -> Result<(Vec<T>, String), reports::ReportError> {
    let mut cases = Vec::new();
    let mut after = (!after.is_empty()).then(|| after.to_owned());
    loop {
        let names = refs(after.as_deref(), limit)?;
        let exhausted = names.len() < limit;
        for name in names {
            after = Some(name.clone());
            let Some(case) = read(&name)? else {
                continue;
            };
            cases.push(case);
            if cases.len() >= limit {
                return Ok((cases, name));
            }
        }
        if exhausted {
            return Ok((cases, String::new()));
        }
    }
}

/// The SPEC.md section 7 bundle of `indexes` at the checkpoint.
fn bundle_of(
    store: &LedgerStore,
    indexes: &[u64],
    checkpoint: &crate::sequencer::SignedCheckpoint,
) -> Result<String, proofs::ProofError> {
    let proved = proofs::proved_entries(store, indexes, checkpoint.size)?;
    let entries = indexes
        .iter()
        .zip(proved)
        .map(|(index, (entry, proof))| BundleEntry {
            index: *index,
            entry: entry.bytes,
            signature: EntrySignature::from_bytes(entry.signature.signature),
            inclusion_proof: proof,
            key_id: Some(KeyId::from_bytes(entry.signature.key_id)),
        })
        .collect();
    Ok(Bundle {
        checkpoint: checkpoint.note.clone(),
        entries,
        consistency: None,
    }
    .to_json())
}

type ChunkSender = tokio::sync::mpsc::Sender<Result<pb::InvestigateBreachChunk, Status>>;

async fn send(
    sender: &ChunkSender,
    part: pb::investigate_breach_chunk::Part,
    timeout: std::time::Duration,
) -> bool {
    super::streams::send(
        sender,
        Ok(pb::InvestigateBreachChunk { part: Some(part) }),
        timeout,
    )
    .await
}

#[tonic::async_trait]
impl Reports for Arc<ReportsService> {
    type InvestigateBreachStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::InvestigateBreachChunk, Status>>;

    #[tracing::instrument(name = "investigate_breach", skip_all)]
    async fn investigate_breach(
        &self,
        request: Request<pb::InvestigateBreachRequest>,
    ) -> Result<Response<Self::InvestigateBreachStream>, Status> {
        let caller = super::admission::caller(&request)?;
        let request = request.into_inner();
        let query = BreachQuery::from_request(&request).map_err(ServiceError::from)?;
        let checkpoint = self.sequencer.shared().latest_checkpoint();
        reports::check_indexed(&self.store, checkpoint.size).map_err(ServiceError::from)?;
        let permit = self.streams.open(&caller).map_err(ServiceError::from)?;
        let timeout = self.streams.send_timeout();
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        let service = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            use pb::investigate_breach_chunk::Part;
            // 1. The summary: from the count rows, or one read of the candidates (with progress,
            // which stops at the first message the client does not take in time).
            let store = service.store.clone();
            let spill = service.spill.clone();
            let progress = sender.clone();
            let summary_query = query.clone();
            let include_bundle = request.include_bundle;
            let size = checkpoint.size;
            let found = blocking(move || {
                let options = SummaryOptions {
                    bundle: include_bundle,
                    spill: &spill,
                };
                reports::breach::summarize(&store, &summary_query, size, options, |examined| {
                    let part = Part::Progress(pb::BreachProgress {
                        examined,
                        candidates: 0,
                    });
                    super::streams::send_blocking(
                        &progress,
                        Ok(pb::InvestigateBreachChunk { part: Some(part) }),
                        timeout,
                    )
                })
            })
            .await;
            let summarized = match found {
                Ok(summarized) => summarized,
                Err(error) => {
                    super::streams::send(&sender, Err(error.into()), timeout).await;
                    return;
                }
            };
            tracing::info!(
                from_counts = summarized.from_counts,
                spilled_runs = summarized.spilled_runs,
                size = summarized.size,
                records = summarized.summary.records,
                "breach investigation summarized"
            );
            let mut summary = summarized.summary;
            if request.include_bundle {
                let store = service.store.clone();
                let relied = summarized.relied_on;
                let checkpoint = checkpoint.clone();
                let bundle = blocking(move || bundle_of(&store, &relied, &checkpoint)).await;
                match bundle {
                    Ok(json) => summary.bundle_json = json,
                    Err(error) => {
                        super::streams::send(&sender, Err(error.into()), timeout).await;
                        return;
                    }
                }
            }
            // 2. The read is logged, naming the categories the summary discloses, before anything
            // of the findings is sent.
            let categories = summary
                .per_category
                .iter()
                .map(|c| c.name.clone())
                .collect();
            match service
                .log_access(&caller, "breach", None, categories)
                .await
            {
                Ok(index) => summary.access_entry_index = index,
                Err(error) => {
                    super::streams::send(&sender, Err(error.into()), timeout).await;
                    return;
                }
            }
            // 3. The entries, read again and sent page by page as they are read (a client that
            // does not read ends the stream after the send timeout), then the summary.
            if !request.summary_only {
                let store = service.store.clone();
                let pages = sender.clone();
                let (size, corrections) = (summarized.size, summarized.corrections);
                let sent = blocking(move || {
                    reports::breach::affected_entries(
                        &store,
                        &query,
                        size,
                        &corrections,
                        ENTRIES_PER_CHUNK,
                        |entries| {
                            let part = Part::Entries(pb::BreachEntries { entries });
                            super::streams::send_blocking(
                                &pages,
                                Ok(pb::InvestigateBreachChunk { part: Some(part) }),
                                timeout,
                            )
                        },
                    )
                })
                .await;
                match sent {
                    Ok(true) => {}
                    // The client went away or stopped reading: the stream has ended.
                    Ok(false) => return,
                    Err(error) => {
                        super::streams::send(&sender, Err(error.into()), timeout).await;
                        return;
                    }
                }
            }
            send(&sender, Part::Summary(summary), timeout).await;
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        )))
    }

    #[tracing::instrument(name = "get_breach_case", skip_all)]
    async fn get_breach_case(
        &self,
        request: Request<pb::GetBreachCaseRequest>,
    ) -> Result<Response<pb::GetBreachCaseResponse>, Status> {
        self.breach_case(request).await
    }

    #[tracing::instrument(name = "list_breach_cases", skip_all)]
    async fn list_breach_cases(
        &self,
        request: Request<pb::ListBreachCasesRequest>,
    ) -> Result<Response<pb::ListBreachCasesResponse>, Status> {
        self.breach_cases(request).await
    }

    #[tracing::instrument(name = "get_request_case", skip_all)]
    async fn get_request_case(
        &self,
        request: Request<pb::GetRequestCaseRequest>,
    ) -> Result<Response<pb::GetRequestCaseResponse>, Status> {
        self.request_case(request).await
    }

    #[tracing::instrument(name = "list_overdue_requests", skip_all)]
    async fn list_overdue_requests(
        &self,
        request: Request<pb::ListOverdueRequestsRequest>,
    ) -> Result<Response<pb::ListOverdueRequestsResponse>, Status> {
        self.overdue_requests(request).await
    }

    #[tracing::instrument(name = "list_retention_overdue", skip_all)]
    async fn list_retention_overdue(
        &self,
        request: Request<pb::ListRetentionOverdueRequest>,
    ) -> Result<Response<pb::ListRetentionOverdueResponse>, Status> {
        self.retention_overdue(request).await
    }

    #[tracing::instrument(name = "data_map", skip_all)]
    async fn data_map(
        &self,
        request: Request<pb::DataMapRequest>,
    ) -> Result<Response<pb::DataMapResponse>, Status> {
        ReportsService::data_map(self, request).await
    }

    #[tracing::instrument(name = "records_of_processing", skip_all)]
    async fn records_of_processing(
        &self,
        request: Request<pb::RecordsOfProcessingRequest>,
    ) -> Result<Response<pb::RecordsOfProcessingResponse>, Status> {
        super::admission::caller(&request)?;
        let request = request.into_inner();
        for (i, system) in request.systems.iter().enumerate() {
            if system.is_empty() || system.contains('\0') {
                return Err(ServiceError::from(FieldError::new(
                    format!("systems[{i}]"),
                    "must be a non-empty name without NUL",
                ))
                .into());
            }
        }
        let systems: BTreeSet<String> = request.systems.into_iter().collect();
        let size = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let now = prost_types::Timestamp::from(std::time::SystemTime::now());
        let (records, declared_systems) = blocking(move || {
            let records = reports::processing::records_of_processing(&store, &systems, size)?;
            let mut declared = reports::data_map::declared_systems(&store, size, &now)?;
            if !systems.is_empty() {
                declared.retain(|system| {
                    system
                        .declaration
                        .as_ref()
                        .is_some_and(|d| systems.contains(&d.name))
                });
            }
            Ok::<_, reports::ReportError>((records, declared))
        })
        .await?;
        Ok(Response::new(pb::RecordsOfProcessingResponse {
            records,
            tree_size: size,
            declared_systems,
        }))
    }

    #[tracing::instrument(name = "subject_access_report", skip_all)]
    async fn subject_access_report(
        &self,
        request: Request<pb::SubjectAccessReportRequest>,
    ) -> Result<Response<pb::SubjectAccessReportResponse>, Status> {
        let caller = super::admission::caller(&request)?;
        let identifier = request
            .into_inner()
            .subject
            .ok_or_else(|| ServiceError::from(FieldError::new("subject", "is required")))?;
        // The directory is read off the async workers, by the one resolution every service uses.
        let (_, token) = super::subject::subject_of_identifier(
            &self.store,
            &self.directory_secret,
            &identifier,
            "subject",
        )
        .await?;
        let size = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let report =
            blocking(move || reports::subject::subject_access(&store, &token, size)).await?;
        let index = self
            .log_access(
                &caller,
                "subject-access",
                Some(&identifier),
                report.categories(),
            )
            .await?;
        Ok(Response::new(pb::SubjectAccessReportResponse {
            subject_token: token.to_vec(),
            report_json: report.to_json(),
            report_text: report.to_text(),
            access_entry_index: index,
        }))
    }
}
