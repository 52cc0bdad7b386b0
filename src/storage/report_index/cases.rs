//! The breach case rows (`docs/breach-cases.md`): one row per entry of a breach case, keyed by
//! the case's `breach_ref`, so that a case's entries are one short range read and the cases
//! themselves one skip-scan, whatever the size of the log.
//!
//! | tag | key | value |
//! |---|---|---|
//! | `0x0a` | `breach_ref 0x00 index` | empty |
//! | `0x0b` | `index` | empty: a `controller_declared` entry |
//! | `0x0c` | `request_ref 0x00 index` | empty: an entry of a data subject request case |
//! | `0x0d` | `index` | empty: a `request_policy_declared` entry |
//! | `0x0e` | `index` | empty: a `consent_policy_declared` entry |
//! | `0x0f` | `index` | empty: a `retention_policy_declared` entry |
//! | `0x10` | `index` | empty: a `system_declared` entry |
//!
//! Rows are written for the entries of the kinds that make a case (`breach`, `breach_notified`,
//! `subjects_notified`) under their `breach_ref`, and for a correction that amends an entry's
//! `breach_ref` under the amended reference (at the target's index), so a case finds an entry
//! moved into it; readers re-check each entry's effective event (`crate::reports::breach_case`).
//! The controller's declarations (`controller_declared`, which drafts read for the DPO's
//! contact) have a row each too, under the same mark, and so do the entries of data subject
//! request cases (`request_received`, `request_extended`, `request_answered`, `request_refused`,
//! under their `request_ref`; a correction cannot move an entry between request cases) and the
//! request policy declarations (`docs/requests.md`), the opt-in policy declarations
//! (`docs/erasure.md` section 6), the retention policy declarations (`docs/retention.md`) and
//! the declared systems (`docs/data-map.md`). The kinds are newer than the mark: a data dir whose mark is past holds none of them before it, so no backfill is owed.
//! Like the breach count rows, they have a mark of their own in `meta`, `breach_cases_next`,
//! written with them in the commit's batch, and a data dir made before them gets them by a
//! backfill at start (`crate::backfill`).

use rocksdb::{ReadOptions, WriteBatch};

use super::named_prefix;
use crate::proto::v1::{CorrectionAction, Entry, EventKind};
use crate::storage::{LedgerStore, StorageError, columns};

/// Tag of the breach case rows.
pub const TAG_BREACH_CASE: u8 = 0x0a;

/// Tag of the controller declaration rows.
pub const TAG_CONTROLLER_DECLARED: u8 = 0x0b;

/// Tag of the data subject request case rows.
pub const TAG_REQUEST_CASE: u8 = 0x0c;

/// Tag of the request policy declaration rows.
pub const TAG_REQUEST_POLICY: u8 = 0x0d;

/// Tag of the opt-in (consent) policy declaration rows.
pub const TAG_CONSENT_POLICY: u8 = 0x0e;

/// Tag of the retention policy declaration rows.
pub const TAG_RETENTION_POLICY: u8 = 0x0f;

/// Tag of the system declaration rows.
pub const TAG_SYSTEM_DECLARED: u8 = 0x10;

/// Key in `meta` of the next index the breach case rows have not covered yet.
pub const META_BREACH_CASES: &[u8] = b"breach_cases_next";

/// The kinds whose entries make a breach case.
pub fn is_case_kind(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Breach | EventKind::BreachNotified | EventKind::SubjectsNotified
    )
}

/// The kinds whose entries make a data subject request case.
pub fn is_request_case_kind(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::RequestReceived
            | EventKind::RequestExtended
            | EventKind::RequestAnswered
            | EventKind::RequestRefused
    )
}

/// The key of the row of entry `index` in the case `name` of the rows tagged `tag`.
fn case_row(tag: u8, name: &str, index: u64) -> Vec<u8> {
    let mut key = named_prefix(tag, name);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The key of the row of entry `index` among the declarations tagged `tag`.
fn declaration_row(tag: u8, index: u64) -> Vec<u8> {
    let mut key = vec![tag];
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The keys of every row `entry` adds (its case row, its controller declaration row): the one
/// rule the commit, the backfill and `audit --data-dir` follow.
pub fn case_row_keys(entry: &Entry) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    if let Some((breach_ref, index)) = case_rows_of(entry) {
        keys.push(case_row(TAG_BREACH_CASE, &breach_ref, index));
    }
    let Some(event) = entry.event.as_ref() else {
        return keys;
    };
    match event.kind() {
        EventKind::ControllerDeclared => {
            keys.push(declaration_row(TAG_CONTROLLER_DECLARED, entry.index));
        }
        EventKind::RequestPolicyDeclared => {
            keys.push(declaration_row(TAG_REQUEST_POLICY, entry.index));
        }
        EventKind::ConsentPolicyDeclared => {
            keys.push(declaration_row(TAG_CONSENT_POLICY, entry.index));
        }
        EventKind::RetentionPolicyDeclared => {
            keys.push(declaration_row(TAG_RETENTION_POLICY, entry.index));
        }
        EventKind::SystemDeclared => {
            keys.push(declaration_row(TAG_SYSTEM_DECLARED, entry.index));
        }
        kind if is_request_case_kind(kind) && !event.request_ref.is_empty() => {
            keys.push(case_row(TAG_REQUEST_CASE, &event.request_ref, entry.index));
        }
        _ => {}
    }
    keys
}

/// What a case or declaration row names, in words (for `audit --data-dir`).
pub fn describe_case_row(key: &[u8]) -> String {
    let index = |bytes: &[u8]| {
        bytes
            .len()
            .checked_sub(8)
            .and_then(|at| columns::decode_u64(&bytes[at..]))
    };
    match key.split_first() {
        Some((&TAG_REQUEST_CASE, body)) => {
            let name = body
                .iter()
                .position(|b| *b == 0)
                .map(|end| String::from_utf8_lossy(&body[..end]).into_owned());
            match (name, index(body)) {
                (Some(name), Some(index)) => {
                    format!("the request case row of ({name}, entry {index})")
                }
                _ => format!("the row {}", hex::encode(key)),
            }
        }
        Some((&TAG_REQUEST_POLICY, body)) if body.len() == 8 => match index(body) {
            Some(index) => format!("the request policy row of entry {index}"),
            None => format!("the row {}", hex::encode(key)),
        },
        Some((&TAG_CONSENT_POLICY, body)) if body.len() == 8 => match index(body) {
            Some(index) => format!("the opt-in policy row of entry {index}"),
            None => format!("the row {}", hex::encode(key)),
        },
        Some((&TAG_RETENTION_POLICY, body)) if body.len() == 8 => match index(body) {
            Some(index) => format!("the retention policy row of entry {index}"),
            None => format!("the row {}", hex::encode(key)),
        },
        Some((&TAG_SYSTEM_DECLARED, body)) if body.len() == 8 => match index(body) {
            Some(index) => format!("the system declaration row of entry {index}"),
            None => format!("the row {}", hex::encode(key)),
        },
        Some((&TAG_BREACH_CASE, body)) => {
            let name = body
                .iter()
                .position(|b| *b == 0)
                .map(|end| String::from_utf8_lossy(&body[..end]).into_owned());
            match (name, index(body)) {
                (Some(name), Some(index)) => format!("the case row of ({name}, entry {index})"),
                _ => format!("the row {}", hex::encode(key)),
            }
        }
        Some((&TAG_CONTROLLER_DECLARED, body)) if body.len() == 8 => match index(body) {
            Some(index) => format!("the controller declaration row of entry {index}"),
            None => format!("the row {}", hex::encode(key)),
        },
        _ => format!("the row {}", hex::encode(key)),
    }
}

/// The case rows `entry` adds: `(breach_ref, index)`.
pub fn case_rows_of(entry: &Entry) -> Option<(String, u64)> {
    let event = entry.event.as_ref()?;
    if is_case_kind(event.kind()) && !event.breach_ref.is_empty() {
        return Some((event.breach_ref.clone(), entry.index));
    }
    let correction = event.correction.as_ref()?;
    if event.kind() == EventKind::Correction
        && correction.action == CorrectionAction::Amend as i32
        && !event.breach_ref.is_empty()
    {
        return Some((event.breach_ref.clone(), correction.target_index));
    }
    None
}

impl LedgerStore {
    /// The next index the breach case rows have not covered (0 for a store that never had them).
    pub fn breach_cases_next(&self) -> Result<u64, StorageError> {
        self.derived_rows_next(META_BREACH_CASES)
    }

    /// Adds the case and declaration rows of `entries` (decoded) to `batch`; returns the
    /// indexes of the `consent_policy_declared` entries among them.
    pub(super) fn add_breach_case_rows(
        &self,
        batch: &mut WriteBatch,
        entries: &[Entry],
    ) -> Result<Vec<u64>, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut consent_declared = Vec::new();
        for entry in entries {
            for key in case_row_keys(entry) {
                if key.first() == Some(&TAG_CONSENT_POLICY) {
                    consent_declared.push(entry.index);
                }
                batch.put_cf(cf, key, []);
            }
        }
        Ok(consent_declared)
    }

    /// Builds the case rows of every entry not covered yet (resumable, like the other derived
    /// rows). Must run before the sequencer starts.
    pub fn backfill_breach_cases(
        &self,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        let backfilled = self.backfill_derived_rows(
            META_BREACH_CASES,
            |batch, entries| {
                let decoded = super::decode_new_entries(entries)?;
                self.add_breach_case_rows(batch, &decoded).map(|_| ())
            },
            progress,
        );
        // Read again when next asked, with the rows written here.
        *self.known_consent_declarations() = None;
        backfilled
    }

    /// The indexes of the rows of case `breach_ref`, in index order (duplicates impossible: one
    /// row per index), read lazily.
    pub fn breach_case_rows(
        &self,
        breach_ref: &str,
    ) -> Result<impl Iterator<Item = Result<u64, StorageError>> + '_, StorageError> {
        self.named_case_rows(TAG_BREACH_CASE, breach_ref)
    }

    /// The indexes of the rows of request case `request_ref`, in index order, read lazily.
    pub fn request_case_rows(
        &self,
        request_ref: &str,
    ) -> Result<impl Iterator<Item = Result<u64, StorageError>> + '_, StorageError> {
        self.named_case_rows(TAG_REQUEST_CASE, request_ref)
    }

    /// The indexes of the rows of the case `name` tagged `tag`.
    fn named_case_rows(
        &self,
        tag: u8,
        name: &str,
    ) -> Result<impl Iterator<Item = Result<u64, StorageError>> + '_, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let prefix = named_prefix(tag, name);
        let mut end = prefix.clone();
        // The prefix ends in the NUL separator: 0x01 bounds it.
        if let Some(last) = end.last_mut() {
            *last = 1;
        }
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(prefix);
        read.set_iterate_upper_bound(end);
        Ok(self
            .db
            .iterator_cf_opt(cf, read, rocksdb::IteratorMode::Start)
            .map(|row| {
                let (key, _) = row?;
                key.len()
                    .checked_sub(8)
                    .and_then(|at| columns::decode_u64(&key[at..]))
                    .ok_or_else(|| {
                        StorageError::undecodable(columns::REPORTS, "a case row", "is too short")
                    })
            }))
    }

    /// The indexes of every `controller_declared` entry, in log order (there are few: one per
    /// change of the controller's details).
    pub fn controller_declarations(&self) -> Result<Vec<u64>, StorageError> {
        self.declarations(TAG_CONTROLLER_DECLARED)
    }

    /// The indexes of every `request_policy_declared` entry, in log order (few: one per change
    /// of the policy).
    pub fn request_policy_declarations(&self) -> Result<Vec<u64>, StorageError> {
        self.declarations(TAG_REQUEST_POLICY)
    }

    /// The indexes of every `consent_policy_declared` entry, in log order (few: one per change
    /// of the opt-in policy).
    /// Every receipt's consent warning asks, so the list is read once and then kept in memory,
    /// extended by each commit that adds a declaration's row (under the lock, so that a first
    /// read racing a commit neither misses nor repeats one).
    pub fn consent_policy_declarations(&self) -> Result<Vec<u64>, StorageError> {
        let mut known = self.known_consent_declarations();
        if let Some(indexes) = known.as_ref() {
            return Ok(indexes.clone());
        }
        let indexes = self.declarations(TAG_CONSENT_POLICY)?;
        *known = Some(indexes.clone());
        Ok(indexes)
    }

    /// Whether the log is known (from [`Self::consent_policy_declarations`], read before) to
    /// declare no opt-in policy: `false` when it declares one or was not read yet. A question
    /// that costs no read, for the receipts' consent warnings.
    pub fn known_to_declare_no_consent_policy(&self) -> bool {
        self.known_consent_declarations()
            .as_ref()
            .is_some_and(Vec::is_empty)
    }

    /// The in-memory list of the declarations (`None`: not read yet), locked. A panic while it
    /// was held cannot leave it half-updated (each update is one assignment or `extend`).
    fn known_consent_declarations(&self) -> std::sync::MutexGuard<'_, Option<Vec<u64>>> {
        self.consent_declarations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Adds the declarations a commit has just written (`indexes`, in log order) to the list,
    /// if it was read: those it holds already (read after the write) are not added again.
    pub(in crate::storage) fn consent_policies_written(&self, indexes: &[u64]) {
        if indexes.is_empty() {
            return;
        }
        let mut known = self.known_consent_declarations();
        if let Some(list) = known.as_mut() {
            let last = list.last().copied();
            list.extend(indexes.iter().filter(|i| last.is_none_or(|l| **i > l)));
        }
    }

    /// The indexes of every `retention_policy_declared` entry, in log order (few: one per change
    /// of the retention schedule).
    pub fn retention_policy_declarations(&self) -> Result<Vec<u64>, StorageError> {
        self.declarations(TAG_RETENTION_POLICY)
    }

    /// The indexes of every `system_declared` entry, in log order (one per change of a declared
    /// system: tens to thousands).
    pub fn system_declarations(&self) -> Result<Vec<u64>, StorageError> {
        self.declarations(TAG_SYSTEM_DECLARED)
    }

    /// The indexes of the declaration rows tagged `tag`, in log order.
    fn declarations(&self, tag: u8) -> Result<Vec<u64>, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(vec![tag]);
        read.set_iterate_upper_bound(vec![tag + 1]);
        self.db
            .iterator_cf_opt(cf, read, rocksdb::IteratorMode::Start)
            .map(|row| {
                let (key, _) = row?;
                key.get(1..).and_then(columns::decode_u64).ok_or_else(|| {
                    StorageError::undecodable(columns::REPORTS, "a declaration row", "is malformed")
                })
            })
            .collect()
    }

    /// Whether case `breach_ref` has a row (some entry names it).
    pub fn breach_case_known(&self, breach_ref: &str) -> Result<bool, StorageError> {
        Ok(self
            .breach_case_rows(breach_ref)?
            .next()
            .transpose()?
            .is_some())
    }

    /// Who opened case `breach_ref`: `None` when the log holds no such case, else the `system`
    /// of the case's first original report (a `breach` entry naming the case itself, as
    /// stored, corrections not applied: a retraction does not change who opened a case, and an
    /// amendment that moves an entry into a case does not make its system the opener), or
    /// `Some(None)` when no entry of the case is one (a case made only by amendments).
    pub fn breach_case_opener(
        &self,
        breach_ref: &str,
    ) -> Result<Option<Option<String>>, StorageError> {
        let mut known = false;
        for index in self.breach_case_rows(breach_ref)? {
            let index = index?;
            known = true;
            let Some(bytes) = self.entry(index)? else {
                continue;
            };
            let entry = crate::core::entry::decode_entry(&bytes)
                .map_err(|e| StorageError::undecodable_entry(index, e))?;
            if let Some(event) = entry.event.as_ref()
                && event.kind() == EventKind::Breach
                && event.breach_ref == breach_ref
            {
                return Ok(Some(Some(event.system.clone())));
            }
        }
        Ok(known.then_some(None))
    }

    /// Who opened request case `request_ref`: the `system` of its first `request_received`
    /// entry, as stored (a retraction does not change who opened a case); `None` when the log
    /// holds no receipt of it.
    pub fn request_case_opener(&self, request_ref: &str) -> Result<Option<String>, StorageError> {
        for index in self.request_case_rows(request_ref)? {
            let index = index?;
            let Some(bytes) = self.entry(index)? else {
                continue;
            };
            let entry = crate::core::entry::decode_entry(&bytes)
                .map_err(|e| StorageError::undecodable_entry(index, e))?;
            if let Some(event) = entry.event.as_ref()
                && event.kind() == EventKind::RequestReceived
                && event.request_ref == request_ref
            {
                return Ok(Some(event.system.clone()));
            }
        }
        Ok(None)
    }

    /// Every `breach_ref` that has rows, in byte order, from `after` (exclusive) on, at most
    /// `limit`: one seek per case (a skip-scan), however many entries each case has.
    pub fn breach_case_refs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        self.case_refs(TAG_BREACH_CASE, after, limit)
    }

    /// Every `request_ref` that has rows, like [`Self::breach_case_refs`].
    pub fn request_case_refs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        self.case_refs(TAG_REQUEST_CASE, after, limit)
    }

    /// Every case name of the rows tagged `tag`, one seek per case.
    fn case_refs(
        &self,
        tag: u8,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(vec![tag]);
        read.set_iterate_upper_bound(vec![tag + 1]);
        let mut rows = self.db.raw_iterator_cf_opt(cf, read);
        let seek_past = |name: &str| {
            // `tag name 0x01` sorts after every row of `name` and before the next name's.
            let mut key = vec![tag];
            key.extend_from_slice(name.as_bytes());
            key.push(1);
            key
        };
        match after {
            Some(name) => rows.seek(seek_past(name)),
            None => rows.seek([tag]),
        }
        let mut out = Vec::new();
        while out.len() < limit && rows.valid() {
            let name = rows
                .key()
                .and_then(|key| key.get(1..))
                .and_then(|body| body.iter().position(|b| *b == 0).map(|end| &body[..end]))
                .and_then(|name| String::from_utf8(name.to_vec()).ok())
                .ok_or_else(|| {
                    StorageError::undecodable(columns::REPORTS, "a case row", "is malformed")
                })?;
            rows.seek(seek_past(&name));
            out.push(name);
        }
        rows.status()?;
        Ok(out)
    }
}
