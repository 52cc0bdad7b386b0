//! The gRPC service `gdpr_ledger.v1.Admin`: operations on the ledger itself (backups), for the
//! admin role only.

use std::path::PathBuf;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::proto::v1 as pb;
use crate::proto::v1::admin_server::Admin;
use crate::storage::{BackupError, LedgerStore};

/// The admin service's dependencies.
pub struct AdminService {
    store: Arc<LedgerStore>,
    data_dir: PathBuf,
}

impl AdminService {
    /// The service over the store in `data_dir`.
    pub fn new(store: Arc<LedgerStore>, data_dir: PathBuf) -> Self {
        Self { store, data_dir }
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn create_backup(
        &self,
        request: Request<pb::CreateBackupRequest>,
    ) -> Result<Response<pb::CreateBackupResponse>, Status> {
        let caller = super::admission::caller(&request)?;
        let destination = PathBuf::from(request.into_inner().destination);
        if !destination.is_absolute() {
            return Err(Status::invalid_argument(
                "destination: an absolute path on the server's machine",
            ));
        }
        let inside = crate::paths::is_within(&destination, &self.data_dir)
            .map_err(|e| Status::invalid_argument(format!("destination: {e}")))?;
        if inside {
            return Err(Status::invalid_argument(
                "destination: a backup must not be inside the data dir",
            ));
        }
        if !destination.parent().is_some_and(std::path::Path::is_dir) {
            return Err(Status::failed_precondition(
                "destination: its parent directory does not exist",
            ));
        }
        let store = self.store.clone();
        let target = destination.clone();
        let summary = tokio::task::spawn_blocking(move || store.create_backup(&target))
            .await
            .map_err(|e| Status::internal(format!("backup worker failed: {e}")))?
            .map_err(|error| match error {
                BackupError::DestinationExists(_) => {
                    Status::already_exists(format!("destination: {error}"))
                }
                BackupError::Nested(_) => Status::invalid_argument(format!("destination: {error}")),
                BackupError::Io { .. } => {
                    Status::failed_precondition(format!("destination: {error}"))
                }
                BackupError::Storage(error) => super::status::storage(error),
            })?;
        tracing::info!(
            identity = %caller.identity,
            destination = %destination.display(),
            tree_size = summary.tree_size,
            "backup taken"
        );
        Ok(Response::new(pb::CreateBackupResponse {
            destination: destination.display().to_string(),
            tree_size: summary.tree_size,
            bytes: summary.bytes,
        }))
    }
}
