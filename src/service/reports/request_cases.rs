//! `GetRequestCase` and `ListOverdueRequests` (`docs/requests.md`): a data subject request
//! case's article 12(3) clock, derived on each call from the case's entries and the request
//! policy in force (`reports::request_case`, `core::request_cases`). Nothing is counted or
//! disclosed beyond the case's own fields, so nothing is logged.

use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::ReportsService;
use crate::proto::v1 as pb;
use crate::reports::ReportError;
use crate::reports::breach_case::as_of_or;
use crate::reports::request_case::{RegisterAt, check_request_ref};
use crate::service::status::{ServiceError, blocking};
use crate::validation::FieldError;

/// Most cases on one page of `ListOverdueRequests`.
pub const MAX_REQUESTS_PER_PAGE: usize = 1000;

/// The server's clock as a timestamp, to the nanosecond.
fn now() -> Timestamp {
    Timestamp::from(std::time::SystemTime::now())
}

impl ReportsService {
    /// `GetRequestCase`.
    pub(super) async fn request_case(
        &self,
        request: Request<pb::GetRequestCaseRequest>,
    ) -> Result<Response<pb::GetRequestCaseResponse>, Status> {
        crate::service::admission::caller(&request)?;
        let request = request.into_inner();
        check_request_ref("request_ref", &request.request_ref).map_err(ServiceError::from)?;
        let as_of = as_of_or("as_of", request.as_of, now()).map_err(ServiceError::from)?;
        let latest = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let request_ref = request.request_ref.clone();
        let found = blocking(move || -> Result<_, ReportError> {
            let register = RegisterAt::read(&store, latest, as_of)?;
            let case = register.case(&store, &request_ref)?;
            Ok(case.map(|case| (case, register.size)))
        })
        .await?;
        let Some((case, size)) = found else {
            return Err(ServiceError::NotFound(FieldError::new(
                "request_ref",
                format!(
                    "no entry of the log received by as_of opens request case {:?}",
                    request.request_ref
                ),
            ))
            .into());
        };
        Ok(Response::new(pb::GetRequestCaseResponse {
            request_case: Some(case),
            tree_size: size,
        }))
    }

    /// `ListOverdueRequests`.
    pub(super) async fn overdue_requests(
        &self,
        request: Request<pb::ListOverdueRequestsRequest>,
    ) -> Result<Response<pb::ListOverdueRequestsResponse>, Status> {
        crate::service::admission::caller(&request)?;
        let request = request.into_inner();
        let as_of = as_of_or("as_of", request.as_of, now()).map_err(ServiceError::from)?;
        if !request.after.is_empty() {
            check_request_ref("after", &request.after).map_err(ServiceError::from)?;
        }
        let limit = super::page_limit(request.limit, MAX_REQUESTS_PER_PAGE);
        let latest = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let response = blocking(move || -> Result<_, ReportError> {
            let register = RegisterAt::read(&store, latest, as_of)?;
            let (cases, next_after) = super::case_page(
                &request.after,
                limit,
                |after, limit| register.refs(&store, after, limit),
                |request_ref| {
                    let case = register.case(&store, request_ref)?;
                    Ok(case.filter(|case| match case.state() {
                        pb::RequestCaseState::Overdue => true,
                        pb::RequestCaseState::Open => request.include_open,
                        _ => false,
                    }))
                },
            )?;
            Ok(pb::ListOverdueRequestsResponse {
                cases,
                next_after,
                tree_size: register.size,
            })
        })
        .await?;
        Ok(Response::new(response))
    }
}
