//! The server's keys and secrets: the log key (and the next one during a rotation), the
//! directory and pseudonym secrets, the master key, and the published verifier keys.

use std::sync::Arc;

use super::{ServerError, inside_data_dir};
use crate::config::Config;
use crate::core::signature::LogSigner;
use crate::secrets::{self, SecretError};

/// The keys and secrets the server runs with.
pub(super) struct Keys {
    /// The key that signs entries and checkpoints.
    pub signer: Arc<LogSigner>,
    /// The next key during a rotation, which co-signs every checkpoint.
    pub cosigners: Vec<Arc<LogSigner>>,
    /// The log key was generated now.
    pub created_log_key: bool,
    /// Keys the subject directory's row keys.
    pub directory_secret: [u8; 32],
    /// Keys the subjects' pseudonyms.
    pub pseudonym_secret: [u8; 32],
    /// Wraps the subjects' data keys.
    pub master_key: Arc<crate::vault::MasterKey>,
    /// The verifier key of `signer`.
    pub verifier_key: String,
    /// The verifier keys of `signer` and the `cosigners`.
    pub verifier_keys: Vec<String>,
}

/// Loads the secrets (creating them on a first start): the log key, the next log key during a
/// rotation (never inside the data dir, never the current key), the directory and pseudonym
/// secrets and the master key; and writes the verifier keys beside the secrets.
pub(super) fn load_keys(config: &Config) -> Result<Keys, ServerError> {
    secrets::ensure_dir(&config.secrets_dir)?;
    let (seed, created_log_key) =
        secrets::load_or_create_secret(&config.secrets_dir.join(secrets::LOG_KEY_FILE))?;
    let current =
        LogSigner::from_seed(&config.origin, &seed).map_err(|e| ServerError::Key(e.to_string()))?;
    // During a key rotation the next key co-signs every checkpoint; entries stay signed by the
    // current key until the rotation is finished, so no verifier breaks during the overlap.
    let (signer, cosigners) = match &config.next_log_key_file {
        None => (Arc::new(current), Vec::new()),
        Some(path) => {
            if inside_data_dir(path, &config.data_dir)? {
                return Err(ServerError::Key(format!(
                    "next_log_key_file {} is inside the data dir",
                    path.display()
                )));
            }
            let seed = secrets::read_secret(path)?;
            let next = LogSigner::from_seed(&config.origin, &seed)
                .map_err(|e| ServerError::Key(e.to_string()))?;
            if next.key_id() == current.key_id() {
                return Err(ServerError::Key(format!(
                    "next_log_key_file {} holds the current key",
                    path.display()
                )));
            }
            (Arc::new(current), vec![Arc::new(next)])
        }
    };
    let (directory_secret, _) =
        secrets::load_or_create_secret(&config.secrets_dir.join(secrets::DIRECTORY_SECRET_FILE))?;
    let (pseudonym_secret, _) =
        secrets::load_or_create_secret(&config.secrets_dir.join(secrets::PSEUDONYM_SECRET_FILE))?;
    let master_key = Arc::new(load_master_key(config)?);
    let verifier_key = signer.verifier_key().to_string();
    let verifier_keys: Vec<String> = std::iter::once(&signer)
        .chain(&cosigners)
        .map(|key| key.verifier_key().to_string())
        .collect();
    publish_verifier_key(&config.secrets_dir, &verifier_keys.join("\n"))?;
    Ok(Keys {
        signer,
        cosigners,
        created_log_key,
        directory_secret,
        pseudonym_secret,
        master_key,
        verifier_key,
        verifier_keys,
    })
}

/// Writes the (public) verifier key beside the secrets, as `verifier-key`, for local tools.
fn publish_verifier_key(dir: &std::path::Path, key: &str) -> Result<(), ServerError> {
    let path = dir.join(secrets::VERIFIER_KEY_FILE);
    let current = std::fs::read_to_string(&path).ok();
    if current.as_deref().map(str::trim) != Some(key) {
        std::fs::write(&path, format!("{key}\n")).map_err(|source| {
            ServerError::Secret(SecretError::Io {
                path: path.clone(),
                source,
            })
        })?;
    }
    Ok(())
}

/// The environment variable that may carry the master key (64 hex digits) instead of a file.
pub const MASTER_KEY_ENV: &str = "GDPR_LEDGER_MASTER_KEY";

/// The master key that wraps the subjects' data keys: from `GDPR_LEDGER_MASTER_KEY`, else from
/// `master_key_file`, else from `secrets_dir/master-key` (created on a first start). Never from
/// inside the data dir: a copy of the data dir alone must not undo shredding.
fn load_master_key(config: &Config) -> Result<crate::vault::MasterKey, ServerError> {
    if let Ok(text) = std::env::var(MASTER_KEY_ENV) {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                ServerError::Key(format!(
                    "{MASTER_KEY_ENV}: expected 64 hex digits (32 bytes)"
                ))
            })?;
        return Ok(crate::vault::MasterKey::from_bytes(bytes));
    }
    let path = config
        .master_key_file
        .clone()
        .unwrap_or_else(|| config.secrets_dir.join(secrets::MASTER_KEY_FILE));
    if inside_data_dir(&path, &config.data_dir)? {
        return Err(ServerError::Key(format!(
            "the master key file {} is inside the data dir",
            path.display()
        )));
    }
    let bytes = if config.master_key_file.is_some() {
        secrets::read_secret(&path)?
    } else {
        secrets::load_or_create_secret(&path)?.0
    };
    Ok(crate::vault::MasterKey::from_bytes(bytes))
}
