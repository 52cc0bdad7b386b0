//! Backups of the store: a RocksDB checkpoint, taken while the server runs, and its restore.
//!
//! A checkpoint is consistent by construction: RocksDB flushes the memtables and hard-links (or
//! copies, across file systems) the SST files of one point in its history, so the copy holds
//! every commit group up to some group and nothing of a later one. The backup holds the log, not
//! the secrets: restoring needs the same secrets dir (signing key, directory and pseudonym
//! secrets), which by design never lives in a data dir.

use std::path::{Path, PathBuf};

use rocksdb::checkpoint::Checkpoint;

use super::{LedgerStore, StorageConfig, StorageError};

/// What a backup or a restore holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Where it is.
    pub path: PathBuf,
    /// The log's origin.
    pub origin: String,
    /// Entries in it.
    pub tree_size: u64,
    /// Bytes of its files.
    pub bytes: u64,
}

/// Why a backup or restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists: a backup never overwrites anything.
    #[error("{0} already exists; a backup or restore goes to a new directory")]
    DestinationExists(PathBuf),
    /// The destination is inside the data dir, or the reverse.
    #[error("{0}: a backup must not be inside the data dir it copies, nor the reverse")]
    Nested(PathBuf),
    /// File system trouble.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The store failed, or the copy does not open as a ledger.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Makes a directory readable by its owner only (mode 0700): data dirs and backups hold the
/// ledger's secret families until erasure destroys their rows.
pub fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

impl LedgerStore {
    /// Takes a consistent online backup into `destination`, a directory that must not exist.
    pub fn create_backup(&self, destination: &Path) -> Result<BackupSummary, BackupError> {
        if destination.exists() {
            return Err(BackupError::DestinationExists(destination.to_path_buf()));
        }
        Checkpoint::new(&self.db)
            .and_then(|checkpoint| checkpoint.create_checkpoint(destination))
            .map_err(StorageError::from)?;
        // A backup holds what the data dir holds: only the ledger's user may read it.
        make_private(destination).map_err(|source| BackupError::Io {
            path: destination.to_path_buf(),
            source,
        })?;
        summarize(destination)
    }
}

/// Restores the backup at `backup` as the data dir `data_dir`, which must not exist (or be an
/// empty directory): copies every file, then opens the copy to check that it is a ledger of this
/// schema. The server then starts on it as after a crash: it re-signs the checkpoint of the
/// restored size if the backup was taken between a commit and its checkpoint.
pub fn restore_backup(backup: &Path, data_dir: &Path) -> Result<BackupSummary, BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    let occupied = match std::fs::read_dir(data_dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => return Err(io(data_dir)(error)),
    };
    if occupied {
        return Err(BackupError::DestinationExists(data_dir.to_path_buf()));
    }
    let resolved = |path: &Path| crate::paths::resolve(path).map_err(io(path));
    let (from, to) = (resolved(backup)?, resolved(data_dir)?);
    if to.starts_with(&from) || from.starts_with(&to) {
        return Err(BackupError::Nested(data_dir.to_path_buf()));
    }
    // The backup must be a ledger before anything is copied.
    summarize(backup)?;
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    make_private(data_dir).map_err(io(data_dir))?;
    for entry in std::fs::read_dir(backup).map_err(io(backup))? {
        let entry = entry.map_err(io(backup))?;
        let target = data_dir.join(entry.file_name());
        std::fs::copy(entry.path(), &target).map_err(io(&target))?;
    }
    // Durable before it is reported restored.
    for entry in std::fs::read_dir(data_dir).map_err(io(data_dir))? {
        let path = entry.map_err(io(data_dir))?.path();
        std::fs::File::open(&path)
            .and_then(|file| file.sync_all())
            .map_err(io(&path))?;
    }
    std::fs::File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io(data_dir))?;
    summarize(data_dir)
}

/// Opens the copy read-only: origin, size and bytes.
fn summarize(path: &Path) -> Result<BackupSummary, BackupError> {
    let store = LedgerStore::open_read_only(path, &StorageConfig::default())?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(path).map_err(|source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    })? {
        if let Ok(metadata) = entry.and_then(|e| e.metadata()) {
            bytes += metadata.len();
        }
    }
    Ok(BackupSummary {
        path: path.to_path_buf(),
        origin: store.origin()?,
        tree_size: store.tree_size()?,
        bytes,
    })
}
