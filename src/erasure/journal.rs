//! The erasure journal: an append-only file, outside the data dir, with one JSON line each time an
//! erasure case opens or closes. A restore from a backup re-applies it, so that no erasure made
//! after the backup is undone. It names subjects by token only (no personal data).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead as _, BufReader, Write as _};
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
    /// The journal at `path` (created on first append, mode 0600).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            lock: Mutex::new(()),
        }
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
        move |source| JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends a line and syncs the file.
    pub fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut line = serde_json::to_string(record).unwrap_or_default();
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(self.io())?;
        file.write_all(line.as_bytes()).map_err(self.io())?;
        file.sync_data().map_err(self.io())?;
        Ok(())
    }

    /// Every subject in the journal with its latest line. A missing file is an empty journal.
    pub fn latest(&self) -> Result<BTreeMap<[u8; 32], JournalRecord>, JournalError> {
        let mut latest = BTreeMap::new();
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(latest),
            Err(e) => return Err(self.io()(e)),
        };
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(self.io())?;
            if line.trim().is_empty() {
                continue;
            }
            let malformed = |reason: String| JournalError::Malformed {
                path: self.path.clone(),
                line: number + 1,
                reason,
            };
            let record: JournalRecord =
                serde_json::from_str(&line).map_err(|e| malformed(e.to_string()))?;
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
