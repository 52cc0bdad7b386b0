//! `GetBreachCase` and `ListBreachCases` (`docs/breach-cases.md`): a breach case's clock and its
//! article 33(3) draft, derived on each call from the case's entries (`reports::breach_case`)
//! and, for the draft's counts, from `reports::breach::summarize`, InvestigateBreach's own code.
//! A read that counts is logged as an access entry (the same path as InvestigateBreach's) before
//! anything of it is returned.

use std::collections::BTreeSet;

use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::ReportsService;
use crate::proto::v1 as pb;
use crate::reports::breach::{MAX_BUNDLE_ENTRIES, SummaryOptions};
use crate::reports::breach_case::{
    CaseFacts, as_of_or, check_breach_ref, check_cases_indexed, declared_controller,
};
use crate::reports::{Corrections, ReportError};
use crate::service::status::{ServiceError, blocking};
use crate::validation::FieldError;

/// Most cases on one page of `ListBreachCases`.
pub const MAX_CASES_PER_PAGE: usize = 1000;

/// The server's clock as a timestamp, to the nanosecond: an entry received a fraction of a
/// second ago is in the log "now".
fn now() -> Timestamp {
    Timestamp::from(std::time::SystemTime::now())
}

/// What the blocking part of `GetBreachCase` found.
struct Found {
    facts: CaseFacts,
    controller: Option<pb::ControllerDeclaration>,
    size: u64,
    summary: Option<pb::BreachSummary>,
    relied_on: Vec<u64>,
}

impl ReportsService {
    /// `GetBreachCase`.
    pub(super) async fn breach_case(
        &self,
        request: Request<pb::GetBreachCaseRequest>,
    ) -> Result<Response<pb::GetBreachCaseResponse>, Status> {
        let caller = crate::service::admission::caller(&request)?;
        let request = request.into_inner();
        check_breach_ref("breach_ref", &request.breach_ref).map_err(ServiceError::from)?;
        let as_of = as_of_or("as_of", request.as_of, now()).map_err(ServiceError::from)?;
        let checkpoint = self.sequencer.shared().latest_checkpoint();
        let store = self.store.clone();
        let spill = self.spill.clone();
        let breach_ref = request.breach_ref.clone();
        let include_bundle = request.include_bundle;
        let latest = checkpoint.size;
        let found = blocking(move || -> Result<Option<Found>, ReportError> {
            check_cases_indexed(&store, latest)?;
            let size = store.entries_received_by(&as_of, latest)?;
            let corrections = Corrections::load(&store, size)?;
            let Some(facts) = CaseFacts::read(&store, &breach_ref, size, &corrections)? else {
                return Ok(None);
            };
            let mut relied: BTreeSet<u64> = facts.indexes.iter().copied().collect();
            relied.extend(facts.amendments.iter().copied());
            let controller = declared_controller(&store, size, &corrections, &as_of)?;
            relied.extend(controller.as_ref().map(|(index, _)| *index));
            let summary = match facts.query() {
                None => None,
                Some(query) => {
                    let options = SummaryOptions {
                        bundle: include_bundle,
                        spill: &spill,
                    };
                    // The count rows answer for the whole log only; the log as of an earlier
                    // time is counted from its entries.
                    let summarized = if size == latest {
                        crate::reports::breach::summarize(&store, &query, size, options, |_| true)?
                    } else {
                        crate::reports::breach::summarize_by_entries(
                            &store,
                            &query,
                            size,
                            options,
                            |_| true,
                        )?
                    };
                    relied.extend(summarized.relied_on.iter().copied());
                    Some(summarized.summary)
                }
            };
            if include_bundle && relied.len() > MAX_BUNDLE_ENTRIES {
                return Err(ReportError::invalid(
                    "include_bundle",
                    format!(
                        "the case relies on more than {MAX_BUNDLE_ENTRIES} entries; a bundle holds at most {MAX_BUNDLE_ENTRIES}"
                    ),
                ));
            }
            Ok(Some(Found {
                facts,
                controller: controller.map(|(_, declaration)| declaration),
                size,
                summary,
                relied_on: relied.into_iter().collect(),
            }))
        })
        .await?;
        let Some(found) = found else {
            return Err(ServiceError::NotFound(FieldError::new(
                "breach_ref",
                format!(
                    "no entry of the log received by as_of names breach case {:?}",
                    request.breach_ref
                ),
            ))
            .into());
        };
        let mut response = pb::GetBreachCaseResponse {
            breach_case: Some(found.facts.clock(&as_of)),
            draft: Some(
                found
                    .facts
                    .draft(found.summary.clone(), found.controller.as_ref()),
            ),
            tree_size: found.size,
            relied_on: found.relied_on,
            ..Default::default()
        };
        if include_bundle {
            let store = self.store.clone();
            let relied = response.relied_on.clone();
            let checkpoint = checkpoint.clone();
            response.bundle_json =
                blocking(move || super::bundle_of(&store, &relied, &checkpoint)).await?;
        }
        // The counts disclose personal data (how many, which categories): logged before they
        // are returned, as InvestigateBreach logs its findings.
        if let Some(summary) = &found.summary {
            let mut categories: BTreeSet<String> = summary
                .per_category
                .iter()
                .map(|c| c.name.clone())
                .collect();
            categories.extend(found.facts.data_categories.iter().cloned());
            response.access_entry_index = self
                .log_access(&caller, "breach-case", None, categories)
                .await?;
        }
        Ok(Response::new(response))
    }

    /// `ListBreachCases`.
    pub(super) async fn breach_cases(
        &self,
        request: Request<pb::ListBreachCasesRequest>,
    ) -> Result<Response<pb::ListBreachCasesResponse>, Status> {
        crate::service::admission::caller(&request)?;
        let request = request.into_inner();
        let as_of = as_of_or("as_of", request.as_of, now()).map_err(ServiceError::from)?;
        if !request.after.is_empty() {
            check_breach_ref("after", &request.after).map_err(ServiceError::from)?;
        }
        let limit = super::page_limit(request.limit, MAX_CASES_PER_PAGE);
        let latest = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let response = blocking(move || -> Result<_, ReportError> {
            check_cases_indexed(&store, latest)?;
            let size = store.entries_received_by(&as_of, latest)?;
            let corrections = Corrections::load(&store, size)?;
            let (cases, next_after) = super::case_page(
                &request.after,
                limit,
                |after, limit| Ok(store.breach_case_refs(after, limit)?),
                |breach_ref| {
                    let Some(facts) = CaseFacts::read(&store, breach_ref, size, &corrections)?
                    else {
                        return Ok(None);
                    };
                    let case = facts.clock(&as_of);
                    Ok((!request.open_only || case.notified_at.is_none()).then_some(case))
                },
            )?;
            Ok(pb::ListBreachCasesResponse {
                cases,
                next_after,
                tree_size: size,
            })
        })
        .await?;
        Ok(Response::new(response))
    }
}
