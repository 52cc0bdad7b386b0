//! Reports derived from the ledger (`docs/reports.md`): breach investigations (article 33),
//! the record of processing activities (article 30) and subject access reports (article 15).
//!
//! They read the report indexes of [`crate::storage::report_index`] and the entries, and honour
//! corrections through [`Corrections`]: a retracted entry is left out (a retraction is final), an
//! amended one counts with the replacement fields of its amendments, applied in log order. The
//! service (`crate::service::reports`) checks roles, logs access entries and maps errors.

pub mod breach;
pub mod breach_case;
pub mod breach_draft;
pub mod data_map;
pub mod distinct;
pub mod export;
pub mod html;
pub mod pages;
pub mod processing;
pub mod request_case;
pub mod retention;
pub mod subject;

use std::collections::{BTreeMap, HashMap};

use crate::proto::v1::{CorrectionAction, Entry, Event};
use crate::storage::report_index::{CorrectionRow, apply_amendment};
use crate::storage::{LedgerStore, StorageError};

/// What went wrong while making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A field of the request is wrong; the message names it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's path, e.g. `from`.
        field: String,
        /// Why.
        reason: String,
    },
    /// The report indexes do not cover the log yet (a backfill is under way).
    #[error("the report indexes cover {indexed} of {size} entries; try again after the backfill")]
    NotIndexed {
        /// Entries indexed.
        indexed: u64,
        /// Entries in the log.
        size: u64,
    },
    /// The client went away (or stopped reading) before the report was made.
    #[error("the client stopped reading; the report was abandoned")]
    Abandoned,
    /// Spilling to (or reading back from) a run file failed (`reports::distinct`).
    #[error("spill file ([reports] spill_dir): {0}")]
    Spill(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ReportError {
    /// An invalid field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Refuses to report while the indexes lag the log (only possible during a backfill).
pub fn check_indexed(store: &LedgerStore, size: u64) -> Result<(), ReportError> {
    let indexed = store.report_index_next()?;
    if indexed < size {
        return Err(ReportError::NotIndexed { indexed, size });
    }
    Ok(())
}

/// An entry's event as reports see it.
#[derive(Debug, Clone)]
pub enum Effective {
    /// Retracted by a correction: reports leave it out.
    Retracted,
    /// The event, amended if `amended_by` is not empty.
    Live {
        /// The effective event.
        event: Box<Event>,
        /// Indexes of the amendments applied, in log order.
        amended_by: Vec<u64>,
    },
}

/// Every correction of the log, with the amendments' events, loaded once per report.
#[derive(Debug, Default)]
pub struct Corrections {
    rows: BTreeMap<u64, Vec<CorrectionRow>>,
    amendments: HashMap<u64, Event>,
}

impl Corrections {
    /// Loads the correction rows below `size` and the events of the amendments.
    pub fn load(store: &LedgerStore, size: u64) -> Result<Self, StorageError> {
        Self::from_rows(store, store.report_corrections()?, size)
    }

    /// The corrections below `size` of the entries `targets` only: enough to read those entries
    /// as corrected (a few declarations, say) without reading every correction of the log.
    pub fn load_of(store: &LedgerStore, size: u64, targets: &[u64]) -> Result<Self, StorageError> {
        Self::from_rows(store, store.report_corrections_of(targets)?, size)
    }

    fn from_rows(
        store: &LedgerStore,
        mut rows: BTreeMap<u64, Vec<CorrectionRow>>,
        size: u64,
    ) -> Result<Self, StorageError> {
        for list in rows.values_mut() {
            list.retain(|row| row.correction < size);
            list.sort_by_key(|row| row.correction);
        }
        rows.retain(|_, list| !list.is_empty());
        let amend_indexes: Vec<u64> = rows
            .values()
            .flatten()
            .filter(|row| row.action == CorrectionAction::Amend)
            .map(|row| row.correction)
            .collect();
        let amendments = store
            .decoded_entries(&amend_indexes)?
            .into_iter()
            .filter_map(|entry| entry.event.map(|event| (entry.index, event)))
            .collect();
        Ok(Self { rows, amendments })
    }

    /// Whether no entry was corrected.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The indexes of every corrected entry.
    pub fn targets(&self) -> impl Iterator<Item = u64> + '_ {
        self.rows.keys().copied()
    }

    /// The corrections of `index`, in log order.
    pub fn of(&self, index: u64) -> &[CorrectionRow] {
        self.rows.get(&index).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The entry's event after its corrections.
    pub fn effective(&self, entry: &Entry) -> Effective {
        self.effective_event(entry.index, entry.event.clone().unwrap_or_default())
    }

    /// The event of the entry at `index` after its corrections, from the entry's own event
    /// (taken rather than copied, for the readers that go through millions of entries).
    pub fn effective_event(&self, index: u64, event: Event) -> Effective {
        let mut event = Box::new(event);
        let mut amended_by = Vec::new();
        for row in self.of(index) {
            match row.action {
                CorrectionAction::Retract => return Effective::Retracted,
                CorrectionAction::Amend => {
                    if let Some(amendment) = self.amendments.get(&row.correction) {
                        apply_amendment(&mut event, amendment);
                        amended_by.push(row.correction);
                    }
                }
                CorrectionAction::Unspecified => {}
            }
        }
        Effective::Live { event, amended_by }
    }
}
