//! Erasure cases (GDPR articles 17 and 19): opening one (which shreds the subject's data key in the
//! same write as the erasure-request entry), tracking which systems and recipients have confirmed
//! their deletion, closing (which destroys the subject's directory rows), purging the destroyed
//! rows from the files, and the journal that lets a restore re-apply erasures. See
//! `docs/erasure.md`.
//!
//! The sequencer does the shredding itself (it is the only writer of keys and details, so an
//! erasure and an append of new details for the same subject are ordered). This module owns what
//! happens around it: the request entry, the status, closing, the background purge worker.

mod journal;
mod status;

pub use journal::{ErasureJournal, JournalError, JournalRecord};
pub use status::{
    ErasureStatus, Holder, HolderConfirmation, HolderExemption, answered_request, compute_status,
    holders_below,
};

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::proto::v1::Event;
use crate::sequencer::{AppendError, PreparedEvent, SequencerHandle};
use crate::storage::{ErasureClosing, ErasureRecord, LedgerStore, PurgeScope, StorageError};

/// Erasure settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErasureConfig {
    /// The erasure journal: one line per erasure opened or closed, so that `gdpr-ledger restore`
    /// re-applies erasures made after a backup was taken. Never inside the data dir (a restore
    /// replaces it). `None` (the default): `secrets_dir/erasure-journal`.
    pub journal_file: Option<PathBuf>,
    /// How long the purge worker gathers erasures before one purge (flush and compaction) covers
    /// them all, in milliseconds.
    pub purge_batch_ms: u64,
}

impl Default for ErasureConfig {
    fn default() -> Self {
        Self {
            journal_file: None,
            purge_batch_ms: 1000,
        }
    }
}

/// Why an erasure operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// The subject has no erasure case.
    #[error("the subject has no erasure case")]
    NoCase,
    /// The case is already closed.
    #[error("the subject's erasure case is already closed")]
    AlreadyClosed,
    /// Appending the erasure-request entry failed.
    #[error("{0}")]
    Append(#[from] AppendError),
    /// The store failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The journal could not be written.
    #[error("erasure journal: {0}")]
    Journal(#[from] JournalError),
    /// The purge worker has stopped.
    #[error("the erasure worker has stopped")]
    WorkerStopped,
}

/// What [`ErasureManager::apply_close`] does with a case that is closed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfClosed {
    /// Refuse the whole closing ([`ErasureError::AlreadyClosed`]): an admin's close.
    Refuse,
    /// Leave it as it is and close the others: the worker's close of completed cases.
    Skip,
}

/// Work for the background worker.
enum Work {
    /// These subjects' rows were destroyed (shredded, or their directory rows at closing).
    Purge(PurgeScope),
    /// A deletion was confirmed for these subjects: close their cases if nothing is pending.
    Check(Vec<[u8; 32]>),
}

/// Where closings go when the server is a replica (`docs/replication.md` section 10): through the
/// input log, so that every replica closes the same cases at the same point of the log, stamped
/// with the stream's time. The replica applies them with [`ErasureManager::apply_close`].
pub trait CloseRoute: Send + Sync {
    /// Closes `tokens`' cases, by `by`, for `reason` (cases closed already refused, or skipped
    /// with [`IfClosed::Skip`]); answered once this replica has applied it.
    fn close(
        &self,
        by: String,
        reason: String,
        tokens: Vec<[u8; 32]>,
        if_closed: IfClosed,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ErasureError>> + Send + '_>>;
}

/// Opens, closes and reports erasure cases; owns the purge worker.
pub struct ErasureManager {
    store: Arc<LedgerStore>,
    sequencer: SequencerHandle,
    /// With `[replication]`, where closings go; `None`: closed here, at once.
    route: Option<Arc<dyn CloseRoute>>,
    journal: Arc<ErasureJournal>,
    work: mpsc::UnboundedSender<Work>,
    /// Held across every read-modify-write of erasure records (closing by an admin, closing by
    /// the worker, marking purged), so that none overwrites another's change.
    records: std::sync::Mutex<()>,
}

impl std::fmt::Debug for ErasureManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErasureManager").finish_non_exhaustive()
    }
}

/// The identity that closes a case when the last holder has confirmed.
pub const LEDGER_IDENTITY: &str = crate::validation::LEDGER_SYSTEM;

impl ErasureManager {
    /// Starts the manager and its worker. First creates the journal if it does not exist (empty,
    /// so that a restore can tell a ledger without erasures from a journal it was not given) and
    /// makes it hold every erasure the store records (an erasure committed just before a crash may
    /// not have reached it), then resumes what a stop interrupted: purges not yet done, and cases
    /// whose last confirmation arrived.
    pub fn start(
        store: Arc<LedgerStore>,
        sequencer: SequencerHandle,
        route: Option<Arc<dyn CloseRoute>>,
        journal: ErasureJournal,
        config: &ErasureConfig,
    ) -> Result<(Arc<Self>, tokio::task::JoinHandle<()>), ErasureError> {
        let journal = Arc::new(journal);
        journal.create_if_missing()?;
        let records = store.erasure_records()?;
        journal.reconcile(&records)?;
        let (work, queue) = mpsc::unbounded_channel();
        let manager = Arc::new(Self {
            store,
            sequencer,
            route,
            journal,
            work,
            records: std::sync::Mutex::new(()),
        });
        let mut unpurged = PurgeScope {
            tokens: Vec::new(),
            directory_rows: Some(Vec::new()),
        };
        let mut open = Vec::new();
        for (token, bytes) in &records {
            let record = ErasureRecord::from_bytes(bytes)?;
            if !record.purged {
                unpurged.tokens.push(*token);
                if record.closed.is_some() {
                    // The rows deleted at closing are not known any more: purge the whole
                    // directory.
                    unpurged.directory_rows = None;
                }
            }
            if record.closed.is_none() {
                open.push(*token);
            }
        }
        if !unpurged.tokens.is_empty() {
            tracing::info!(
                subjects = unpurged.tokens.len(),
                "resuming the purge of erased subjects"
            );
            let _ = manager.work.send(Work::Purge(unpurged));
        }
        if !open.is_empty() {
            let _ = manager.work.send(Work::Check(open));
        }
        let worker = tokio::spawn(run_worker(
            manager.clone(),
            queue,
            Duration::from_millis(config.purge_batch_ms),
        ));
        Ok((manager, worker))
    }

    /// Opens the erasure case of the subject at `subject_row` (a directory row key), by `caller`:
    /// appends `event` (a validated erasure request) as the erasure-request entry, which shreds the subject's key in the same write,
    /// journals it, and schedules the purge. A subject whose case exists is left as it is.
    pub async fn erase(
        self: &Arc<Self>,
        token: [u8; 32],
        subject_row: [u8; 32],
        caller: &str,
        event: Event,
    ) -> Result<ErasureStatus, ErasureError> {
        // Store reads, the journal's fsync and the status run on the blocking pool; only the
        // append waits on the async side.
        let manager = self.clone();
        let exists = blocking(move || Ok(manager.store.erasure_record(&token)?.is_some())).await?;
        if !exists {
            let content_digest = *blake3::hash(&prost::Message::encode_to_vec(&event)).as_bytes();
            let prepared = PreparedEvent {
                event,
                subject_row: Some(subject_row),
                linked_row: None,
                content_digest,
                details: None,
                identifiers: Vec::new(),
                subject_token: None,
                opens_erasure: Some(caller.to_owned()),
            };
            match self
                .sequencer
                .append(
                    caller.to_owned(),
                    crate::sequencer::CorrectionRights::OwnEntries,
                    vec![prepared],
                )
                .await
            {
                Ok(_) => {}
                // Another request opened it meanwhile: report that case.
                Err(AppendError::SubjectErased { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let manager = self.clone();
        blocking(move || manager.after_opening(token)).await
    }

    /// Whether `erase` opened the case or an earlier call did (and failed before the end): the
    /// purge is scheduled while it is not done, then the journal holds the case. The purge first,
    /// so that a journal that cannot be written never leaves shredded rows in the files; a retry,
    /// or the next start, writes the journal line.
    fn after_opening(&self, token: [u8; 32]) -> Result<ErasureStatus, ErasureError> {
        if let Some(bytes) = self.store.erasure_record(&token)? {
            if !ErasureRecord::from_bytes(&bytes)?.purged {
                self.send(Work::Purge(PurgeScope {
                    tokens: vec![token],
                    directory_rows: Some(Vec::new()),
                }))?;
            }
            self.journal.reconcile(&[(token, bytes)])?;
        }
        self.status(token)
    }

    /// Closes an open case (an admin, with a reason; or the ledger when every holder confirmed):
    /// destroys the subject's directory rows and schedules their purge.
    /// With `[replication]`, the closing goes through the input log and this returns once this
    /// replica has applied it.
    pub async fn close(
        self: &Arc<Self>,
        token: [u8; 32],
        by: &str,
        reason: &str,
    ) -> Result<(), ErasureError> {
        if let Some(route) = &self.route {
            return route
                .close(
                    by.to_owned(),
                    reason.to_owned(),
                    vec![token],
                    IfClosed::Refuse,
                )
                .await;
        }
        let (manager, by, reason) = (self.clone(), by.to_owned(), reason.to_owned());
        blocking(move || {
            manager.apply_close(
                &[token],
                &by,
                &reason,
                crate::unix_time::now_seconds(),
                IfClosed::Refuse,
            )
        })
        .await
    }

    /// Whether the subject's case is closed (`None`: it has no case).
    pub fn is_closed(&self, token: &[u8; 32]) -> Result<Option<bool>, ErasureError> {
        self.store
            .erasure_record(token)?
            .map(|bytes| Ok(ErasureRecord::from_bytes(&bytes)?.closed.is_some()))
            .transpose()
    }

    /// Closes `tokens`' cases here, at `at` (Unix seconds): the one rule of closing, for an admin's
    /// close, the worker's, and a replica's apply of a closing from the input log. Refused
    /// (changing nothing) when a token has no case, or, with [`IfClosed::Refuse`], when one is
    /// closed already; with [`IfClosed::Skip`] those are left as they are.
    pub fn apply_close(
        &self,
        tokens: &[[u8; 32]],
        by: &str,
        reason: &str,
        at: i64,
        if_closed: IfClosed,
    ) -> Result<(), ErasureError> {
        let _records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = Vec::with_capacity(tokens.len());
        for token in tokens {
            let bytes = self
                .store
                .erasure_record(token)?
                .ok_or(ErasureError::NoCase)?;
            let mut record = ErasureRecord::from_bytes(&bytes)?;
            if record.closed.is_some() {
                match if_closed {
                    IfClosed::Refuse => return Err(ErasureError::AlreadyClosed),
                    IfClosed::Skip => continue,
                }
            }
            record.closed = Some(ErasureClosing {
                at,
                by: by.to_owned(),
                reason: reason.to_owned(),
            });
            record.purged = false;
            records.push((*token, record));
        }
        if records.is_empty() {
            return Ok(());
        }
        let tokens: Vec<[u8; 32]> = records.iter().map(|(token, _)| *token).collect();
        let rows: Vec<crate::storage::ErasureRow> = records
            .iter()
            .map(|(token, record)| (*token, record.to_bytes()))
            .collect();
        let deleted = self.store.close_erasures(&rows)?;
        let directory_rows = deleted.len();
        // The purge first (see `erase`); the start reconciles a journal line that failed.
        self.send(Work::Purge(PurgeScope {
            tokens,
            directory_rows: Some(deleted),
        }))?;
        for (token, record) in &records {
            self.journal
                .append(&JournalRecord::closed(*token, record))?;
        }
        tracing::info!(
            cases = records.len(),
            directory_rows,
            "erasure cases closed"
        );
        Ok(())
    }

    /// The subject's erasure status: its case (if any) and every holder of its data.
    pub fn status(&self, token: [u8; 32]) -> Result<ErasureStatus, ErasureError> {
        Ok(compute_status(&self.store, token, &self.corrections()?)?)
    }

    /// Every open case opened before `before` (Unix seconds), oldest first.
    pub fn open_cases(&self, before: i64) -> Result<Vec<ErasureStatus>, ErasureError> {
        let corrections = self.corrections()?;
        let mut cases = Vec::new();
        for (token, bytes) in self.store.erasure_records()? {
            let record = ErasureRecord::from_bytes(&bytes)?;
            if record.closed.is_none() && record.requested_at <= before {
                cases.push(compute_status(&self.store, token, &corrections)?);
            }
        }
        cases.sort_by_key(|case| {
            case.record
                .as_ref()
                .map(|r| (r.requested_at, r.request_index))
        });
        Ok(cases)
    }

    /// The log's corrections, loaded once for every status a request or a worker pass derives.
    fn corrections(&self) -> Result<status::Corrections, ErasureError> {
        Ok(status::Corrections::load(
            &self.store,
            self.store.tree_size()?,
        )?)
    }

    /// Tells the worker that deletions were confirmed for these subjects.
    pub fn deletions_confirmed(&self, tokens: Vec<[u8; 32]>) {
        if !tokens.is_empty() {
            let _ = self.work.send(Work::Check(tokens));
        }
    }

    fn send(&self, work: Work) -> Result<(), ErasureError> {
        self.work
            .send(work)
            .map_err(|_| ErasureError::WorkerStopped)
    }
}

/// The worker: gathers work for `batch`, then closes the cases whose holders have all confirmed
/// and purges everything destroyed, in one flush and compaction.
async fn run_worker(
    manager: Arc<ErasureManager>,
    mut queue: mpsc::UnboundedReceiver<Work>,
    batch: Duration,
) {
    while let Some(first) = queue.recv().await {
        tokio::time::sleep(batch).await;
        let mut work = vec![first];
        while let Ok(more) = queue.try_recv() {
            work.push(more);
        }
        let manager = manager.clone();
        let outcome = tokio::task::spawn_blocking(move || process(&manager, work)).await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "erasure worker: will retry at next start"),
            Err(error) => tracing::error!(%error, "erasure worker panicked"),
        }
    }
}

fn process(manager: &ErasureManager, work: Vec<Work>) -> Result<(), ErasureError> {
    let mut checks: Vec<[u8; 32]> = Vec::new();
    let mut scope = PurgeScope {
        tokens: Vec::new(),
        directory_rows: Some(Vec::new()),
    };
    let merge = |more: PurgeScope, scope: &mut PurgeScope| {
        scope.tokens.extend(more.tokens);
        scope.directory_rows = match (scope.directory_rows.take(), more.directory_rows) {
            (Some(mut rows), Some(more)) => {
                rows.extend(more);
                Some(rows)
            }
            _ => None,
        };
    };
    for item in work {
        match item {
            Work::Purge(more) => merge(more, &mut scope),
            Work::Check(tokens) => checks.extend(tokens),
        }
    }
    scope.tokens.sort_unstable();
    scope.tokens.dedup();
    // The records as the purge finds them, read before this pass closes any case: one that
    // changes before the purge is done (a closing here or elsewhere destroyed more rows, which
    // this purge's scope does not name) is not marked purged; the closing's own purge follows
    // and marks it.
    let mut before = Vec::new();
    for token in &scope.tokens {
        before.push(manager.store.erasure_record(token)?);
    }
    // Cases whose every holder has confirmed close now, in one directory scan.
    let mut seen = HashSet::new();
    let mut complete = Vec::new();
    let corrections = if checks.is_empty() {
        status::Corrections::default()
    } else {
        manager.corrections()?
    };
    for token in checks {
        if !seen.insert(token) {
            continue;
        }
        let status = compute_status(&manager.store, token, &corrections)?;
        let open = status.record.as_ref().is_some_and(|r| r.closed.is_none());
        if open && status.all_deleted() {
            complete.push(token);
        }
    }
    if !complete.is_empty() {
        let reason = "every system and recipient confirmed the deletion";
        match &manager.route {
            // Through the input log: every replica closes them at the same point, and schedules
            // its own purge as it applies the closing.
            Some(route) => {
                let closing = route.close(
                    LEDGER_IDENTITY.into(),
                    reason.into(),
                    complete.clone(),
                    IfClosed::Skip,
                );
                match tokio::runtime::Handle::current().block_on(closing) {
                    Ok(()) | Err(ErasureError::AlreadyClosed) => {}
                    Err(error) => return Err(error),
                }
            }
            None => manager.apply_close(
                &complete,
                LEDGER_IDENTITY,
                reason,
                crate::unix_time::now_seconds(),
                IfClosed::Skip,
            )?,
        }
        tracing::info!(cases = complete.len(), "erasure cases complete and closed");
    }
    if scope.tokens.is_empty() {
        return Ok(());
    }
    manager.store.purge_erased(&scope)?;
    let _records = manager.records.lock().unwrap_or_else(|p| p.into_inner());
    let mut purged = Vec::new();
    for (token, seen) in scope.tokens.iter().zip(before) {
        let Some(bytes) = manager.store.erasure_record(token)? else {
            continue;
        };
        if seen.as_deref() != Some(bytes.as_slice()) {
            continue;
        }
        let mut record = ErasureRecord::from_bytes(&bytes)?;
        if !record.purged {
            record.purged = true;
            purged.push((*token, record.to_bytes()));
        }
    }
    manager.store.put_erasure_records(&purged)?;
    tracing::info!(
        subjects = scope.tokens.len(),
        "erased rows purged from the files"
    );
    Ok(())
}

/// Re-applies the journal's erasures to a store restored from a backup: every subject erased
/// after the backup was taken is shredded again, and closed cases lose their directory rows, then
/// everything is purged. Returns how many subjects were re-erased.
pub fn reapply_journal(
    store: &LedgerStore,
    journal: &ErasureJournal,
) -> Result<usize, ErasureError> {
    let latest = journal.latest()?;
    let mut shred = Vec::new();
    let mut close = Vec::new();
    for (token, entry) in &latest {
        let current = store
            .erasure_record(token)?
            .map(|bytes| ErasureRecord::from_bytes(&bytes))
            .transpose()?;
        let mut record = entry.record.clone();
        record.purged = false;
        let shredded = store.data_key(token)? == crate::storage::StoredKey::Shredded;
        if current.is_none() || !shredded {
            shred.push((*token, record.to_bytes()));
        }
        if record.closed.is_some() && current.as_ref().is_none_or(|c| c.closed.is_none()) {
            close.push((*token, record.to_bytes()));
        }
    }
    store.shred_subjects(&shred)?;
    let deleted = store.close_erasures(&close)?;
    let mut tokens: Vec<[u8; 32]> = shred.iter().chain(&close).map(|(t, _)| *t).collect();
    tokens.sort_unstable();
    tokens.dedup();
    if !tokens.is_empty() {
        store.purge_erased(&PurgeScope {
            tokens: tokens.clone(),
            directory_rows: Some(deleted),
        })?;
        let purged: Vec<crate::storage::ErasureRow> = tokens
            .iter()
            .filter_map(|token| latest.get(token).map(|entry| (*token, entry)))
            .map(|(token, entry)| {
                let mut record = entry.record.clone();
                record.purged = true;
                (token, record.to_bytes())
            })
            .collect();
        store.put_erasure_records(&purged)?;
    }
    Ok(tokens.len())
}

/// Runs store and journal work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ErasureError> + Send + 'static,
) -> Result<T, ErasureError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ErasureError::WorkerStopped)?
}
