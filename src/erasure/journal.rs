//! The erasure journal: an append-only file, outside the data dir, with one JSON line each time an
//! erasure case opens or closes. A restore from a backup re-applies it, so that no erasure made
//! after the backup is undone. It names subjects by token only (no personal data).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::storage::ErasureRecord;

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("{path} line {line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
}

/// One line of the journal: a subject's erasure record as it stood after a change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalRecord {
    /// The subject token, hex.
    pub token: String,
    /// What changed: `opened` or `closed`.
    pub change: String,
    /// The record after the change.
    pub record: ErasureRecord,
}

impl JournalRecord {
    /// The line for a case just opened.
    pub fn opened(token: [u8; 32], record: &ErasureRecord) -> Self {
        Self {
            token: hex::encode(token),
            change: "opened".into(),
            record: record.clone(),
        }
    }

    /// The line for a case just closed.
    pub fn closed(token: [u8; 32], record: &ErasureRecord) -> Self {
        Self {
            token: hex::encode(token),
            change: "closed".into(),
            record: record.clone(),
        }
    }
}

/// The journal file. Appends are serialized and synced before they return.
#[derive(Debug)]
pub struct ErasureJournal {
    path: PathBuf,
    lock: Mutex<()>,
}

impl ErasureJournal {
    /// The journal at `path` (created by [`ErasureJournal::create_if_missing`] or the first
    /// append, mode 0600).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            lock: Mutex::new(()),
        }
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the journal, empty (mode 0600), if it does not exist yet; the server does at every
    /// start, so that a ledger's journal exists before its first erasure and a restore that finds
    /// no journal knows it was not given the right one (`gdpr-ledger restore` refuses then).
    pub fn create_if_missing(&self) -> Result<(), JournalError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(self.io())?;
        file.sync_all().map_err(self.io())?;
        Ok(())
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
        move |source| JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends a line and syncs the file. A torn last line (a crash in the middle of an append:
    /// no line feed after it) is cut off first, so that the new line starts a line of its own.
    pub fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut line = serde_json::to_string(record).unwrap_or_default();
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.path)
            .map_err(self.io())?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(self.io())?;
        let whole = text
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |at| at + 1);
        if whole < text.len() {
            tracing::warn!(
                path = %self.path.display(),
                bytes = text.len() - whole,
                "erasure journal: a torn last line is cut off before the next append"
            );
            file.set_len(whole as u64).map_err(self.io())?;
        }
        file.seek(std::io::SeekFrom::Start(whole as u64))
            .map_err(self.io())?;
        file.write_all(line.as_bytes()).map_err(self.io())?;
        file.sync_data().map_err(self.io())?;
        Ok(())
    }

    /// Every subject in the journal with its latest line. A missing file is an empty journal.
    pub fn latest(&self) -> Result<BTreeMap<[u8; 32], JournalRecord>, JournalError> {
        let mut latest = BTreeMap::new();
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(latest),
            Err(e) => return Err(self.io()(e)),
        };
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.split('\n').collect();
        for (number, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            // The last line without its line feed was torn by a crash during its append: it was
            // never acknowledged, and the start reconciles the journal with the store.
            let torn = number + 1 == lines.len();
            if torn && serde_json::from_str::<JournalRecord>(line).is_err() {
                tracing::warn!(path = %self.path.display(), "erasure journal: a torn last line is ignored");
                continue;
            }
            let malformed = |reason: String| JournalError::Malformed {
                path: self.path.clone(),
                line: number + 1,
                reason,
            };
            let record: JournalRecord =
                serde_json::from_str(line).map_err(|e| malformed(e.to_string()))?;
            let token: [u8; 32] = hex::decode(&record.token)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| malformed("token is not 64 hex digits".into()))?;
            latest.insert(token, record);
        }
        Ok(latest)
    }

    /// Appends what the store records but the journal lacks (an erasure committed just before a
    /// crash, before its journal line was written).
    pub fn reconcile(&self, records: &[crate::storage::ErasureRow]) -> Result<usize, JournalError> {
        let latest = self.latest()?;
        let mut added = 0;
        for (token, bytes) in records {
            let Ok(record) = ErasureRecord::from_bytes(bytes) else {
                continue;
            };
            let journaled = latest.get(token);
            let line = match (journaled, record.closed.is_some()) {
                (None, false) => JournalRecord::opened(*token, &record),
                (None, true) => JournalRecord::closed(*token, &record),
                (Some(line), true) if line.record.closed.is_none() => {
                    JournalRecord::closed(*token, &record)
                }
                _ => continue,
            };
            self.append(&line)?;
            added += 1;
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(requested_at: i64) -> ErasureRecord {
        ErasureRecord {
            request_index: 1,
            requested_at,
            requested_by: "ops".into(),
            closed: None,
            purged: false,
        }
    }

    #[test]
    fn a_torn_last_line_is_ignored_then_cut_off_by_the_next_append() -> Result<(), JournalError> {
        let dir = tempfile::tempdir().map_err(|source| JournalError::Io {
            path: PathBuf::new(),
            source,
        })?;
        let path = dir.path().join("journal");
        let journal = ErasureJournal::new(&path);
        journal.append(&JournalRecord::opened([1; 32], &record(10)))?;
        // A crash in the middle of the next append.
        let whole = std::fs::read(&path).map_err(|source| JournalError::Io {
            path: path.clone(),
            source,
        })?;
        let torn =
            serde_json::to_string(&JournalRecord::opened([2; 32], &record(20))).unwrap_or_default();
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(journal.io())?;
        file.write_all(&torn.as_bytes()[..torn.len() / 2])
            .map_err(journal.io())?;
        let latest = journal.latest()?;
        assert_eq!(latest.len(), 1, "the torn line is not an erasure");
        journal.append(&JournalRecord::opened([3; 32], &record(30)))?;
        let latest = journal.latest()?;
        assert_eq!(
            latest.keys().copied().collect::<Vec<_>>(),
            [[1; 32], [3; 32]]
        );
        let text = std::fs::read(&path).map_err(journal.io())?;
        assert!(text.starts_with(&whole), "whole lines are never cut");
        Ok(())
    }

    #[test]
    fn a_damaged_line_before_the_last_is_still_an_error() -> Result<(), JournalError> {
        let dir = tempfile::tempdir().map_err(|source| JournalError::Io {
            path: PathBuf::new(),
            source,
        })?;
        let path = dir.path().join("journal");
        std::fs::write(&path, "not json\n").map_err(|source| JournalError::Io {
            path: path.clone(),
            source,
        })?;
        let journal = ErasureJournal::new(&path);
        assert!(matches!(
            journal.latest(),
            Err(JournalError::Malformed { line: 1, .. })
        ));
        Ok(())
    }
}
