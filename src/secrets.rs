//! Key material on disk: the log signing key and the deployment's secrets, one file each, in a
//! secrets directory that is never inside the data dir.
//!
//! Files are created with mode 0600 (the directory 0700) and refused when group or others can read
//! them. Secrets are 32 bytes written as 64 lowercase hex digits and a newline.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// File name of the log's Ed25519 signing key seed.
pub const LOG_KEY_FILE: &str = "log-signing-key";
/// File name of the subject directory's keyed-hash secret (SPEC.md section 6).
pub const DIRECTORY_SECRET_FILE: &str = "directory-secret";
/// File name of the secret that derives pseudonyms (SPEC.md section 6).
pub const PSEUDONYM_SECRET_FILE: &str = "pseudonym-secret";
/// File name of the master key that wraps the subjects' data keys (crypto-shredding).
pub const MASTER_KEY_FILE: &str = "master-key";
/// File name of the erasure journal (erasures to re-apply after a restore; no secret, but kept
/// outside the data dir so that a restore cannot lose it).
pub const ERASURE_JOURNAL_FILE: &str = "erasure-journal";
/// File name of the log's verifier key (public; written for local tools such as `verify`).
pub const VERIFIER_KEY_FILE: &str = "verifier-key";
/// File name of the development admin token created on a first run without tokens.
pub const DEV_TOKEN_FILE: &str = "dev-admin-token";

/// A secret file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error("{path}: mode {mode:o} lets group or others read it; chmod 600 it")]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// The content is not 64 hex digits.
    #[error("{path}: expected 64 hex digits (32 bytes)")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates the secrets directory (mode 0700) if it does not exist.
pub fn ensure_dir(dir: &Path) -> Result<(), SecretError> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
    }
    Ok(())
}

/// Reads a secret text file, refusing one that group or others can read.
pub fn read_private_file(path: &Path) -> Result<String, SecretError> {
    let metadata = fs::metadata(path).map_err(io_error(path))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    fs::read_to_string(path).map_err(io_error(path))
}

/// Writes a new private file (mode 0600); fails if it exists. Synced, so a key that was printed
/// is a key that survives.
pub fn write_private_file(path: &Path, content: &str) -> Result<(), SecretError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(content.as_bytes()).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(parent))?;
    }
    Ok(())
}

/// Replaces the private file at `path` with `content` (mode 0600), atomically: a temporary file
/// beside it is written and synced, renamed over it, and the directory synced, so that a crash
/// leaves the old content or the new, never a mix. The old content's blocks are freed, not
/// overwritten: a filesystem may keep them until reused (keep secrets dirs on encrypted storage).
pub fn replace_private_file(path: &Path, content: &str) -> Result<(), SecretError> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".new");
    let temporary = path.with_file_name(name);
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(&temporary)(error)),
    }
    write_private_file(&temporary, content)?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(parent))?;
    }
    Ok(())
}

/// 32 random bytes from the operating system.
pub fn random_bytes() -> Result<[u8; 32], SecretError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Reads a 32-byte secret from `path`.
pub fn read_secret(path: &Path) -> Result<[u8; 32], SecretError> {
    let text = read_private_file(path)?;
    let malformed = || SecretError::Malformed {
        path: path.to_owned(),
    };
    let bytes = hex::decode(text.trim()).map_err(|_| malformed())?;
    bytes.try_into().map_err(|_| malformed())
}

/// Reads a 32-byte secret, creating it with fresh randomness first if it does not exist.
/// Returns the secret and whether it was created now.
pub fn load_or_create_secret(path: &Path) -> Result<([u8; 32], bool), SecretError> {
    if path.exists() {
        return Ok((read_secret(path)?, false));
    }
    let secret = random_bytes()?;
    write_private_file(path, &format!("{}\n", hex::encode(secret)))?;
    Ok((secret, true))
}
