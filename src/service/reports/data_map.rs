//! `DataMap` (`docs/data-map.md`): the declared systems against the observed ones, derived on
//! each call from the log as it held it at `as_of` (`reports::data_map`, `core::data_map`).
//! System names, categories, channels and recipients only: no subject's data is disclosed, so
//! nothing is logged.

use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::ReportsService;
use crate::proto::v1 as pb;
use crate::reports::breach_case::as_of_or;
use crate::reports::data_map::{MAX_SILENT_AFTER_DAYS, to_proto};
use crate::service::status::{ServiceError, blocking};
use crate::validation::FieldError;

impl ReportsService {
    /// `DataMap`.
    pub(super) async fn data_map(
        &self,
        request: Request<pb::DataMapRequest>,
    ) -> Result<Response<pb::DataMapResponse>, Status> {
        crate::service::admission::caller(&request)?;
        let request = request.into_inner();
        let now = Timestamp::from(std::time::SystemTime::now());
        let as_of = as_of_or("as_of", request.as_of, now).map_err(ServiceError::from)?;
        let days = match request.silent_after_days {
            0 => self.silent_after_days,
            n if n > MAX_SILENT_AFTER_DAYS => {
                return Err(ServiceError::from(FieldError::new(
                    "silent_after_days",
                    format!("at most {MAX_SILENT_AFTER_DAYS} days (0: the server's default)"),
                ))
                .into());
            }
            n => n,
        };
        let latest = self.sequencer.shared().latest_checkpoint().size;
        let store = self.store.clone();
        let (map, size) =
            blocking(move || crate::reports::data_map::data_map(&store, latest, as_of, days))
                .await?;
        Ok(Response::new(pb::DataMapResponse {
            tree_size: size,
            as_of: Some(as_of),
            silent_after_days: days,
            ..to_proto(map)
        }))
    }
}
