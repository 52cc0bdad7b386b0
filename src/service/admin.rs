//! The gRPC service `gdpr_ledger.v1.Admin`: operations on the ledger itself (backups), for the
//! admin role only.

use std::path::PathBuf;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status::{ServiceError, blocking};
use crate::proto::v1 as pb;
use crate::proto::v1::admin_server::Admin;
use crate::storage::LedgerStore;
use crate::validation::FieldError;

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
        let field = |reason: String| FieldError::new("destination", reason);
        if !destination.is_absolute() {
            let reason = "an absolute path on the server's machine";
            return Err(ServiceError::from(field(reason.into())).into());
        }
        let inside = crate::paths::is_within(&destination, &self.data_dir)
            .map_err(|e| ServiceError::from(field(e.to_string())))?;
        if inside {
            let reason = "a backup must not be inside the data dir";
            return Err(ServiceError::from(field(reason.into())).into());
        }
        if !destination.parent().is_some_and(std::path::Path::is_dir) {
            let reason = "its parent directory does not exist";
            return Err(ServiceError::Precondition(field(reason.into())).into());
        }
        let store = self.store.clone();
        let target = destination.clone();
        let summary = blocking(move || store.create_backup(&target)).await?;
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
