//! Ingest without gRPC: the HTTP listener `http_listen`, whose one endpoint, `POST /v1/events`,
//! takes CloudEvents in the structured JSON mode (one event, or a batch) and appends them
//! (`docs/http-ingest.md`).
//!
//! A thin adapter over the gRPC service, not a second way into the log. A request goes through
//! the same steps as an `Append` or `AppendBatch`, in the same code:
//! 1. the caller is authenticated and its role checked by the admission layer's rules
//!    ([`Admission::authorize_headers`]: the bearer token, the client certificate under mutual
//!    TLS, the rule of `Append`);
//! 2. a `Content-Length` over `limits.max_request_bytes` is refused (413) before the body is
//!    read; the body is read within `limits.request_body_timeout_secs` and cut off (413) as soon as
//!    it passes the limit (chunked bodies too); its bytes are taken from the in-flight budget of
//!    appends that gRPC requests draw from;
//! 3. the events become `EventSubmission`s ([`cloudevents`]), the request is encoded as the
//!    protobuf `AppendRequest` or `AppendBatchRequest` and its wire form checked against the same
//!    bounds (`limits.max_batch_events`, `limits.max_event_bytes`, list lengths);
//! 4. [`LedgerService::append_counted`] (or `append_batch_counted`) does the rest: the caller's
//!    systems, validation, idempotency, the sequencer, receipts, metrics.
//!
//! Every refusal is a [`ServiceError`]: its HTTP status is [`ServiceError::http_status`] (derived
//! from the one table of codes) and its field is written in CloudEvents terms
//! ([`cloudevents::attribute_path`]); the body is `{"code", "message", "field"}`.

pub mod cloudevents;
pub mod listener;
pub mod proto_json;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use prost::Message as _;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::proto::v1 as pb;
use crate::service::LedgerService;
use crate::service::admission::Admission;
use crate::service::status::{Refusal, ServiceError};
use crate::validation::FieldError;
use cloudevents::{CloudEvents, Mode};
use listener::{IngestListener, Peer};

/// The endpoint's path.
pub const EVENTS_PATH: &str = "/v1/events";

/// The gRPC methods whose rules (who may call) and bounds the endpoint applies.
const APPEND: &str = "/gdpr_ledger.v1.Ledger/Append";
const APPEND_BATCH: &str = "/gdpr_ledger.v1.Ledger/AppendBatch";

/// What the endpoint needs: the service, the admission rules and budget it shares with gRPC, and
/// the reader of CloudEvents.
#[derive(Clone)]
struct Ingest {
    service: Arc<LedgerService>,
    admission: Arc<Admission>,
    events: Arc<CloudEvents>,
}

/// The router of the ingest listener (`POST /v1/events`).
pub fn router(
    service: Arc<LedgerService>,
    admission: Arc<Admission>,
) -> Result<axum::Router, prost::DecodeError> {
    Ok(axum::Router::new()
        .route(EVENTS_PATH, axum::routing::post(post_events))
        .with_state(Ingest {
            service,
            admission,
            events: Arc::new(CloudEvents::new()?),
        }))
}

/// A running ingest listener.
#[derive(Debug)]
pub struct IngestServer {
    shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl IngestServer {
    /// Serves `router` on `listener` until [`IngestServer::stop`].
    pub fn serve(listener: IngestListener, router: axum::Router) -> Self {
        let (shutdown, stop) = oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<Peer>(),
            )
            .with_graceful_shutdown(async {
                let _ = stop.await;
            })
            .await
        });
        Self { shutdown, serving }
    }

    /// Stops accepting connections and finishes the requests in flight.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        match self.serving.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the HTTP ingest listener failed"),
            Err(error) => tracing::warn!(%error, "the HTTP ingest listener task failed"),
        }
    }
}

#[tracing::instrument(
    name = "http_ingest",
    skip_all,
    fields(peer = %peer.addr, producer = tracing::field::Empty)
)]
async fn post_events(
    State(ingest): State<Ingest>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    RawQuery(query): RawQuery,
    request: axum::http::Request<Body>,
) -> Response {
    match ingest.append(&peer, query.as_deref(), request).await {
        Ok(response) => response,
        Err(error) => refusal(error),
    }
}

impl Ingest {
    /// Steps 1 to 4 of the module's description.
    async fn append(
        &self,
        peer: &Peer,
        query: Option<&str>,
        request: axum::http::Request<Body>,
    ) -> Result<Response, ServiceError> {
        let (parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let mode = Mode::of_content_type(content_type).ok_or_else(|| {
            FieldError::new(
                "Content-Type",
                format!(
                    "must be {} (one event) or {} (a batch)",
                    cloudevents::EVENT_MEDIA_TYPE,
                    cloudevents::BATCH_MEDIA_TYPE
                ),
            )
        });
        let path = match mode {
            Ok(Mode::Batch) => APPEND_BATCH,
            _ => APPEND,
        };
        let refused = |error: ServiceError| {
            self.admission.append_refused(&error);
            error
        };
        // Who calls comes first: nothing of the request is looked at for a stranger.
        let caller = self
            .admission
            .authorize_headers(path, &parts.headers, peer.certificate.as_deref())
            .map_err(refused)?;
        tracing::Span::current().record("producer", caller.identity.as_str());
        self.admission
            .wait_min_tree_size(&parts.headers)
            .await
            .map_err(refused)?;
        let mode = mode.map_err(|e| refused(e.into()))?;
        let include_bundle = include_bundle(query).map_err(|e| refused(e.into()))?;
        let body = self.receive(&parts.headers, body).await.map_err(refused)?;
        let submissions = self
            .events
            .read(mode, &body.bytes)
            .map_err(|e| refused(e.into()))?;
        let (answer, receipts) = match mode {
            Mode::One => {
                let request = pb::AppendRequest {
                    submission: submissions.into_iter().next(),
                    include_bundle,
                };
                self.admission
                    .check_message(APPEND, &request.encode_to_vec())
                    .map_err(refused)?;
                let mut request = tonic::Request::new(request);
                request.extensions_mut().insert(caller);
                let response = self.service.append_counted(request).await?.into_inner();
                let receipt = response
                    .receipt
                    .ok_or_else(|| ServiceError::internal("no receipt for the appended event"))?;
                (json!({"receipt": receipt_json(&receipt)?}), vec![receipt])
            }
            Mode::Batch => {
                let request = pb::AppendBatchRequest {
                    submissions,
                    include_bundle,
                };
                self.admission
                    .check_message(APPEND_BATCH, &request.encode_to_vec())
                    .map_err(refused)?;
                let mut request = tonic::Request::new(request);
                request.extensions_mut().insert(caller);
                let response = self
                    .service
                    .append_batch_counted(request)
                    .await?
                    .into_inner();
                let receipts = response
                    .receipts
                    .iter()
                    .map(receipt_json)
                    .collect::<Result<Vec<_>, _>>()?;
                (json!({"receipts": receipts}), response.receipts)
            }
        };
        drop(body);
        // 201 when something was appended; 200 when every event was a retry of one appended before.
        let status = if receipts.iter().all(|r| r.duplicate) {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok(json_response(status, &answer))
    }

    /// The body, refused (413) from its `Content-Length` before it is read, or as soon as it
    /// passes `limits.max_request_bytes`; within `limits.request_body_timeout_secs`. Its bytes are
    /// held from the in-flight budget of appends while the request lasts.
    async fn receive(
        &self,
        headers: &axum::http::HeaderMap,
        body: Body,
    ) -> Result<Received, ServiceError> {
        let limit = self.admission.max_request_bytes();
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .map(|value| {
                value
                    .to_str()
                    .ok()
                    .and_then(|text| text.parse::<usize>().ok())
                    .ok_or_else(|| FieldError::new("Content-Length", "not a length"))
            })
            .transpose()?;
        if let Some(declared) = declared {
            self.admission.bound(declared)?;
        }
        // A chunked body is charged the limit: its length is known only once it is received.
        let permit = self.admission.reserve(declared.unwrap_or(limit)).await?;
        let timeout = self.admission.body_timeout();
        let collected =
            tokio::time::timeout(timeout, http_body_util::Limited::new(body, limit).collect())
                .await
                .map_err(|_| Refusal::BodyTimeout {
                    seconds: timeout.as_secs(),
                })?;
        let bytes = match collected {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(Refusal::TooLarge {
                    declared: limit.saturating_add(1),
                    limit,
                }
                .into());
            }
            Err(error) => {
                return Err(FieldError::new("body", format!("not received: {error}")).into());
            }
        };
        Ok(Received {
            bytes,
            _permit: permit,
        })
    }
}

/// A received body and its share of the in-flight budget, given back when it is dropped.
struct Received {
    bytes: bytes::Bytes,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// `include_bundle=true|false`, the only query parameter.
fn include_bundle(query: Option<&str>) -> Result<bool, FieldError> {
    let mut include = false;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("include_bundle", "true") => include = true,
            ("include_bundle", "false") => include = false,
            ("include_bundle", _) => {
                return Err(FieldError::new("include_bundle", "must be true or false"));
            }
            (name, _) => {
                return Err(FieldError::new(
                    name,
                    "no such query parameter (only include_bundle)",
                ));
            }
        }
    }
    Ok(include)
}

/// A receipt as JSON: the gRPC receipt's fields, hashes and signature in base64, the key id in
/// hex, the checkpoint's note as text, and the proof bundle (SPEC.md section 7) as a JSON object
/// when asked for.
fn receipt_json(receipt: &pb::Receipt) -> Result<Value, ServiceError> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = json!({
        "index": receipt.index,
        "leaf_hash": b64(&receipt.leaf_hash),
        "signature": b64(&receipt.signature),
        "key_id": receipt.key_id,
        "checkpoint": receipt.checkpoint,
        "duplicate": receipt.duplicate,
    });
    if !receipt.bundle_json.is_empty() {
        let bundle: Value = serde_json::from_str(&receipt.bundle_json)
            .map_err(|e| ServiceError::internal(format!("the proof bundle is not JSON: {e}")))?;
        out["bundle"] = bundle;
    }
    if !receipt.vocabulary_warning.is_empty() {
        out["vocabulary_warning"] = Value::String(receipt.vocabulary_warning.clone());
    }
    if !receipt.consent_warning.is_empty() {
        out["consent_warning"] = Value::String(receipt.consent_warning.clone());
    }
    Ok(out)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// A refusal as HTTP: the status from [`ServiceError::http_status`], the body
/// `{"code": "INVALID_ARGUMENT", "message", "field"}` with the field in CloudEvents terms.
fn refusal(error: ServiceError) -> Response {
    let status = error.http_status();
    let code = error.code();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(%error, "internal failure while serving an HTTP ingest request");
    }
    let mut message = error.to_string();
    let field = error.field().map(|path| {
        let attribute = cloudevents::attribute_path(&path);
        if let Some(reason) = message.strip_prefix(&format!("{path}: ")) {
            message = format!("{attribute}: {reason}");
        }
        attribute
    });
    let body = json!({
        "code": crate::metrics::status_code_label(code).to_ascii_uppercase(),
        "message": message,
        "field": field,
    });
    let mut response = json_response(status, &body);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_takes_include_bundle_only() {
        assert_eq!(include_bundle(None), Ok(false));
        assert_eq!(include_bundle(Some("include_bundle=true")), Ok(true));
        assert_eq!(
            include_bundle(Some("include_bundle=yes")).map_err(|e| e.field),
            Err("include_bundle".into())
        );
        assert_eq!(
            include_bundle(Some("bundle=true")).map_err(|e| e.field),
            Err("bundle".into())
        );
    }
}
