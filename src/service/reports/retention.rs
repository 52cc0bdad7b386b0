//! `ListRetentionOverdue` (`docs/retention.md`): the data kept past its retention period at
//! `as_of`, derived on each call from each subject's entries and the retention policy in force
//! (`reports::retention`, `core::retention`). It shows pseudonyms, never identifiers, and counts
//! nothing, so nothing is logged, like the request register.

use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::ReportsService;
use crate::proto::v1 as pb;
use crate::reports::ReportError;
use crate::reports::breach_case::as_of_or;
use crate::reports::retention::{RetentionAt, RetentionCursor};
use crate::service::status::{ServiceError, blocking};
use crate::validation::FieldError;

/// Most items on one page of `ListRetentionOverdue`.
pub const MAX_RETENTION_ITEMS_PER_PAGE: usize = 1000;

impl ReportsService {
    /// `ListRetentionOverdue`.
    pub(super) async fn retention_overdue(
        &self,
        request: Request<pb::ListRetentionOverdueRequest>,
    ) -> Result<Response<pb::ListRetentionOverdueResponse>, Status> {
        crate::service::admission::caller(&request)?;
        let request = request.into_inner();
        let now = Timestamp::from(std::time::SystemTime::now());
        let as_of = as_of_or("as_of", request.as_of, now).map_err(ServiceError::from)?;
        let after = match request.after.as_str() {
            "" => None,
            text => Some(RetentionCursor::parse(text).ok_or_else(|| {
                ServiceError::from(FieldError::new(
                    "after",
                    "must be a next_after of an earlier page: <64 hex digits>/<count>",
                ))
            })?),
        };
        let limit = super::page_limit(request.limit, MAX_RETENTION_ITEMS_PER_PAGE);
        let latest = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let response = blocking(move || -> Result<_, ReportError> {
            let answer = RetentionAt::read(&store, latest, as_of)?;
            let (items, next) = answer.page(&store, after, limit)?;
            let policy = answer.policy_index();
            Ok(pb::ListRetentionOverdueResponse {
                items,
                next_after: next.map(RetentionCursor::to_text).unwrap_or_default(),
                tree_size: answer.size,
                policy_index: policy.unwrap_or_default(),
                has_policy: policy.is_some(),
            })
        })
        .await?;
        Ok(Response::new(response))
    }
}
