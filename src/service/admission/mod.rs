//! What every request of the `gdpr_ledger.v1` services passes before tonic decodes its body.
//!
//! A tower layer in front of all the services:
//! 1. looks the method up in [`METHODS`], the one table of who may call what (a method missing
//!    from it is refused: nothing is served unauthenticated by being forgotten);
//! 2. authenticates the caller from the metadata and the client certificate
//!    ([`Authenticator`]) and checks the role, answering `UNAUTHENTICATED` or
//!    `PERMISSION_DENIED` before a byte of the body is read;
//! 3. reads the message's length prefix and refuses a message over `limits.max_request_bytes`
//!    with `RESOURCE_EXHAUSTED` before receiving it; takes the request's bytes from the in-flight
//!    budget (appends);
//! 4. receives the message and walks its wire form ([`wire`]): repeated fields and elements
//!    beyond their bounds are refused, naming the field, before prost allocates anything for them.
//!
//! The handler finds the [`Caller`] in the request's extensions ([`caller`]).

pub mod wire;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use tonic::Request;
use tonic::body::Body;

use super::status::{MIN_TREE_SIZE_HEADER, Refusal, ServiceError};

use super::auth::{Authenticator, Caller, Role};
use super::limits::RequestLimits;
use crate::metrics::LedgerMetrics;
use crate::sequencer::SequencerShared;
use wire::{FieldBound, WireLimits, WireSchema};

/// Who may call a method.
#[derive(Debug, Clone, Copy)]
pub struct MethodRule {
    /// The method's path, `/package.Service/Method`.
    pub path: &'static str,
    /// Whether a role may call it.
    pub allowed: fn(Role) -> bool,
    /// What the caller is refused, in `PERMISSION_DENIED` (`crm (Producer) may not ...`).
    pub what: &'static str,
    /// An append: its bytes count against the in-flight budget, and its refusals in the append
    /// metrics.
    pub append: bool,
}

fn admin(role: Role) -> bool {
    role == Role::Admin
}

const fn rule(path: &'static str, allowed: fn(Role) -> bool, what: &'static str) -> MethodRule {
    MethodRule {
        path,
        allowed,
        what,
        append: false,
    }
}

/// Every method of the `gdpr_ledger.v1` services and who may call it.
pub const METHODS: &[MethodRule] = &[
    MethodRule {
        append: true,
        ..rule(
            "/gdpr_ledger.v1.Ledger/Append",
            Role::may_append,
            "append events",
        )
    },
    MethodRule {
        append: true,
        ..rule(
            "/gdpr_ledger.v1.Ledger/AppendBatch",
            Role::may_append,
            "append events",
        )
    },
    rule(
        "/gdpr_ledger.v1.Ledger/GetEntry",
        Role::may_read,
        "read entries",
    ),
    rule(
        "/gdpr_ledger.v1.Ledger/GetCheckpoint",
        Role::may_read,
        "read checkpoints",
    ),
    rule(
        "/gdpr_ledger.v1.Ledger/GetInclusionProof",
        Role::may_read,
        "read proofs",
    ),
    rule(
        "/gdpr_ledger.v1.Ledger/GetConsistencyProof",
        Role::may_read,
        "read proofs",
    ),
    rule(
        "/gdpr_ledger.v1.Ledger/GetSubjectLifecycle",
        Role::may_read,
        "read lifecycles",
    ),
    rule(
        "/gdpr_ledger.v1.Ledger/GetStats",
        Role::may_read,
        "read statistics",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/InvestigateBreach",
        Role::may_read,
        "run breach investigations",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/GetBreachCase",
        Role::may_read,
        "read breach cases",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/ListBreachCases",
        Role::may_read,
        "list breach cases",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/GetRequestCase",
        Role::may_read,
        "read request cases",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/ListOverdueRequests",
        Role::may_read,
        "list overdue requests",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/ListRetentionOverdue",
        Role::may_read,
        "list data kept past its retention period",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/DataMap",
        Role::may_read,
        "read the data map",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/RecordsOfProcessing",
        Role::may_read,
        "read the record of processing",
    ),
    rule(
        "/gdpr_ledger.v1.Reports/SubjectAccessReport",
        Role::may_read,
        "make subject access reports",
    ),
    rule(
        "/gdpr_ledger.v1.Erasure/EraseSubject",
        admin,
        "erase subjects",
    ),
    rule(
        "/gdpr_ledger.v1.Erasure/CloseErasure",
        admin,
        "close erasure cases",
    ),
    rule(
        "/gdpr_ledger.v1.Erasure/GetErasureStatus",
        Role::may_read,
        "read erasure status",
    ),
    rule(
        "/gdpr_ledger.v1.Erasure/ListOpenErasures",
        Role::may_read,
        "read erasure status",
    ),
    rule(
        "/gdpr_ledger.v1.Erasure/GetDetails",
        Role::may_read,
        "read details",
    ),
    rule(
        "/gdpr_ledger.v1.Erasure/GetIdentifiers",
        admin,
        "re-identify data subjects",
    ),
    rule(
        "/gdpr_ledger.v1.Consent/ListProcessingWithoutConsent",
        Role::may_read,
        "read consent reports",
    ),
    rule("/gdpr_ledger.v1.Admin/CreateBackup", admin, "take backups"),
];

/// The package whose methods [`METHODS`] must cover.
const PACKAGE_PREFIX: &str = "/gdpr_ledger.v1.";

/// Deepest nesting of messages in a request (the requests nest four deep at most).
const MAX_DEPTH: usize = 16;

/// Most elements of a repeated field other than a batch's submissions (an event's lists are
/// limited further by validation, to `max_terms_per_list`).
pub const MAX_LIST_ELEMENTS: usize = 1024;

/// The caller the admission layer authenticated, for a handler.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, ServiceError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(ServiceError::Admission(Refusal::NotAdmitted))
}

/// The rules and state the layer shares between connections.
#[derive(Debug)]
pub struct Admission {
    authenticator: Arc<Authenticator>,
    schema: WireSchema,
    /// Method path -> its rule and its request message's full name.
    methods: HashMap<&'static str, (MethodRule, String)>,
    wire_limits: WireLimits,
    max_request_bytes: usize,
    /// One permit per KiB of append requests in flight.
    inflight: Arc<tokio::sync::Semaphore>,
    inflight_budget_kib: usize,
    body_timeout: std::time::Duration,
    /// Counts the appends refused here.
    metrics: Arc<LedgerMetrics>,
    /// The log's signed size, which a request's `gdpr-ledger-min-tree-size` waits for.
    sequencer: Arc<SequencerShared>,
    min_tree_size_wait: std::time::Duration,
}

/// The descriptor set and the method table disagree.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// The descriptor set does not decode.
    #[error("the compiled descriptor set does not decode: {0}")]
    Descriptor(#[from] prost::DecodeError),
    /// A method of the services has no rule, or a rule names no method.
    #[error("method {0} has no admission rule, or its rule names no method of the services")]
    Uncovered(String),
}

impl Admission {
    /// Builds the rules from the services' descriptor set, checking that [`METHODS`] covers every
    /// method of `gdpr_ledger.v1` and nothing else.
    pub fn new(
        authenticator: Arc<Authenticator>,
        descriptor_set: &[u8],
        limits: &RequestLimits,
        metrics: Arc<LedgerMetrics>,
        sequencer: Arc<SequencerShared>,
    ) -> Result<Self, AdmissionError> {
        let schema = WireSchema::from_descriptor_set(descriptor_set)?;
        let methods = method_table(descriptor_set, &schema)?;
        let element = |max_elements| FieldBound {
            max_elements,
            max_element_bytes: limits.max_event_bytes,
        };
        let wire_limits = WireLimits {
            fields: HashMap::from([
                (
                    "gdpr_ledger.v1.AppendBatchRequest.submissions".to_owned(),
                    element(limits.max_batch_events),
                ),
                (
                    "gdpr_ledger.v1.AppendRequest.submission".to_owned(),
                    element(1),
                ),
            ]),
            max_elements: MAX_LIST_ELEMENTS,
            max_depth: MAX_DEPTH,
        };
        let inflight_budget_kib = limits.max_inflight_mib.max(1).saturating_mul(1024);
        Ok(Self {
            authenticator,
            schema,
            methods,
            wire_limits,
            max_request_bytes: limits.max_request_bytes,
            inflight: Arc::new(tokio::sync::Semaphore::new(inflight_budget_kib)),
            inflight_budget_kib,
            body_timeout: std::time::Duration::from_secs(limits.request_body_timeout_secs),
            metrics,
            sequencer,
            min_tree_size_wait: std::time::Duration::from_millis(limits.min_tree_size_wait_ms),
        })
    }

    /// The layer to put in front of the services (sharing the rules and the in-flight budget
    /// with the other users of `self`, such as the HTTP ingest listener).
    pub fn layer(self: &Arc<Self>) -> AdmissionLayer {
        AdmissionLayer {
            admission: self.clone(),
        }
    }

    /// Authenticates the caller of a request from its head and checks the rule.
    fn authorize(
        &self,
        rule: &MethodRule,
        request: &http::request::Parts,
    ) -> Result<Caller, ServiceError> {
        let head = Request::from_parts(
            tonic::metadata::MetadataMap::from_headers(request.headers.clone()),
            request.extensions.clone(),
            (),
        );
        let caller = self.authenticator.authenticate(&head)?;
        Self::permit(rule, caller)
    }

    /// The caller, if `rule` lets its role call the method.
    fn permit(rule: &MethodRule, caller: Caller) -> Result<Caller, ServiceError> {
        super::auth::require(&caller, (rule.allowed)(caller.role), rule.what)?;
        Ok(caller)
    }

    /// For a request that reaches the method `path` by another way than gRPC (the HTTP ingest
    /// listener): authenticates its caller from `headers` (the bearer token) and `leaf` (the
    /// client certificate its TLS handshake verified) and checks the method's rule, as for gRPC.
    pub fn authorize_headers(
        &self,
        path: &str,
        headers: &http::HeaderMap,
        leaf: Option<&[u8]>,
    ) -> Result<Caller, ServiceError> {
        let (rule, _) = self
            .methods
            .get(path)
            .ok_or_else(|| Refusal::NoSuchMethod(path.to_owned()))?;
        let metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
        let caller = self.authenticator.identify(&metadata, leaf)?;
        Self::permit(rule, caller)
    }

    /// Honours the request's `gdpr-ledger-min-tree-size` header, if any: waits up to
    /// `limits.min_tree_size_wait_ms` until this server's signed log has at least that many
    /// entries (a replica still applying what another acknowledged), else `UNAVAILABLE` naming
    /// both sizes; a value that is not a decimal size is `INVALID_ARGUMENT` naming the header.
    /// Checked after the caller is authenticated and before the body is received.
    pub async fn wait_min_tree_size(&self, headers: &http::HeaderMap) -> Result<(), ServiceError> {
        let Some(value) = headers.get(MIN_TREE_SIZE_HEADER) else {
            return Ok(());
        };
        let shown = || {
            let text = String::from_utf8_lossy(value.as_bytes());
            text.chars().take(40).collect::<String>()
        };
        let wanted = value
            .to_str()
            .ok()
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| Refusal::BadMinTreeSize(shown()))?;
        let started = std::time::Instant::now();
        self.sequencer
            .wait_for_size(wanted, self.min_tree_size_wait)
            .await
            .map_err(|size| Refusal::BelowMinTreeSize {
                size,
                wanted,
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            })?;
        Ok(())
    }

    /// Refuses a request of `declared` bytes over `limits.max_request_bytes`.
    pub fn bound(&self, declared: usize) -> Result<(), ServiceError> {
        if declared > self.max_request_bytes {
            return Err(Refusal::TooLarge {
                declared,
                limit: self.max_request_bytes,
            }
            .into());
        }
        Ok(())
    }

    /// Takes `bytes` (in KiB) from the in-flight budget of appends, waiting while it is spent
    /// (back-pressure).
    pub async fn reserve(
        &self,
        bytes: usize,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ServiceError> {
        let kib = bytes.div_ceil(1024).clamp(1, self.inflight_budget_kib);
        let kib = u32::try_from(kib).unwrap_or(u32::MAX);
        Ok(self
            .inflight
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| Refusal::ShuttingDown)?)
    }

    /// Checks the encoded request `message` of the method `path` against the bounds of its wire
    /// form (batch size, submission size, list lengths), as for a gRPC request.
    pub fn check_message(&self, path: &str, message: &[u8]) -> Result<(), ServiceError> {
        let (_, input) = self
            .methods
            .get(path)
            .ok_or_else(|| Refusal::NoSuchMethod(path.to_owned()))?;
        Ok(self.schema.check(input, message, &self.wire_limits)?)
    }

    /// `limits.max_request_bytes`.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// `limits.request_body_timeout_secs`.
    pub fn body_timeout(&self) -> std::time::Duration {
        self.body_timeout
    }

    /// Counts an append refused before it reached the service.
    pub fn append_refused(&self, error: &ServiceError) {
        self.metrics.append_rejected(error.code());
    }

    /// Receives the request's message within `limits.request_body_timeout_secs`.
    async fn receive(
        &self,
        rule: &MethodRule,
        input: &str,
        body: Body,
    ) -> Result<(Bytes, Option<tokio::sync::OwnedSemaphorePermit>), ServiceError> {
        tokio::time::timeout(self.body_timeout, self.receive_now(rule, input, body))
            .await
            .map_err(|_| Refusal::BodyTimeout {
                seconds: self.body_timeout.as_secs(),
            })?
    }

    /// Receives the request's message, refusing it before reading the rest when its length
    /// prefix is over the limit, and checks its wire form. Holds `permit` bytes from the budget.
    async fn receive_now(
        &self,
        rule: &MethodRule,
        input: &str,
        mut body: Body,
    ) -> Result<(Bytes, Option<tokio::sync::OwnedSemaphorePermit>), ServiceError> {
        let mut received = BytesMut::new();
        let mut expected: Option<usize> = None;
        let mut permit = None;
        loop {
            if expected.is_none() && received.len() >= 5 {
                if received[0] != 0 {
                    return Err(Refusal::Compressed.into());
                }
                let declared =
                    u32::from_be_bytes([received[1], received[2], received[3], received[4]]);
                let declared = usize::try_from(declared).unwrap_or(usize::MAX);
                self.bound(declared)?;
                if rule.append {
                    permit = Some(self.reserve(declared).await?);
                }
                expected = Some(5 + declared);
            }
            if let Some(expected) = expected
                && received.len() > expected
            {
                return Err(Refusal::TrailingData.into());
            }
            match body.frame().await {
                None => break,
                Some(Err(status)) => return Err(Refusal::Body(status).into()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        received.extend_from_slice(&data);
                    }
                }
            }
        }
        match expected {
            Some(expected) if received.len() == expected => {
                self.schema
                    .check(input, &received[5..], &self.wire_limits)?;
            }
            // No message, or a message cut short: tonic answers these as it does.
            _ => {}
        }
        Ok((received.freeze(), permit))
    }
}

/// Every rule of [`METHODS`] with its method's request message; an error if a method of the
/// descriptor set has no rule or a rule names no method.
fn method_table(
    descriptor_set: &[u8],
    schema: &WireSchema,
) -> Result<HashMap<&'static str, (MethodRule, String)>, AdmissionError> {
    let inputs = method_inputs(descriptor_set)?;
    let mut methods = HashMap::new();
    for rule in METHODS {
        let input = inputs
            .get(rule.path)
            .filter(|input| schema.knows(input))
            .ok_or_else(|| AdmissionError::Uncovered(rule.path.to_owned()))?;
        if methods.insert(rule.path, (*rule, input.clone())).is_some() {
            return Err(AdmissionError::Uncovered(rule.path.to_owned()));
        }
    }
    if let Some(path) = inputs
        .keys()
        .find(|path| !methods.contains_key(path.as_str()))
    {
        return Err(AdmissionError::Uncovered(path.clone()));
    }
    Ok(methods)
}

/// Method path -> the full name of its request message, for every method in the descriptor set.
fn method_inputs(descriptor_set: &[u8]) -> Result<HashMap<String, String>, prost::DecodeError> {
    use prost::Message as _;
    let set = prost_types::FileDescriptorSet::decode(descriptor_set)?;
    let mut inputs = HashMap::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                inputs.insert(
                    format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    method.input_type().trim_start_matches('.').to_owned(),
                );
            }
        }
    }
    Ok(inputs)
}

/// The tower layer of [`Admission`].
#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    admission: Arc<Admission>,
}

impl<S> tower_layer::Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdmissionService {
            inner,
            admission: self.admission.clone(),
        }
    }
}

/// The service of [`AdmissionLayer`].
#[derive(Debug, Clone)]
pub struct AdmissionService<S> {
    inner: S,
    admission: Arc<Admission>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> tower_service::Service<http::Request<Body>> for AdmissionService<S>
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The ready service answers this request; a clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if !path.starts_with(PACKAGE_PREFIX) {
            // Health and reflection: public, and their requests are tiny.
            return Box::pin(inner.call(request));
        }
        let Some((rule, input)) = self.admission.methods.get(path).cloned() else {
            let refused = ServiceError::from(Refusal::NoSuchMethod(path.to_owned()));
            return Box::pin(async move { Ok(refused.into_http()) });
        };
        let admission = self.admission.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let refuse = |error: ServiceError| {
                if rule.append {
                    admission.metrics.append_rejected(error.code());
                }
                Ok(error.into_http())
            };
            let caller = match admission.authorize(&rule, &parts) {
                Ok(caller) => caller,
                Err(error) => return refuse(error),
            };
            if let Err(error) = admission.wait_min_tree_size(&parts.headers).await {
                return refuse(error);
            }
            let (message, _permit) = match admission.receive(&rule, &input, body).await {
                Ok(received) => received,
                Err(error) => return refuse(error),
            };
            parts.extensions.insert(caller);
            let body = Body::new(http_body_util::Full::new(message));
            inner.call(http::Request::from_parts(parts, body)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_of_the_services_has_exactly_one_rule() {
        let set = crate::proto::v1::FILE_DESCRIPTOR_SET;
        let schema = WireSchema::from_descriptor_set(set).expect("descriptor set");
        let methods = method_table(set, &schema).expect("the table covers the services");
        assert_eq!(methods.len(), METHODS.len());
        assert_eq!(
            methods["/gdpr_ledger.v1.Ledger/AppendBatch"].1,
            "gdpr_ledger.v1.AppendBatchRequest"
        );
        // Only admins erase, re-identify and take backups; only producers and admins append.
        for (path, (rule, _)) in &methods {
            let admin_only = [
                "EraseSubject",
                "CloseErasure",
                "GetIdentifiers",
                "CreateBackup",
            ]
            .iter()
            .any(|m| path.ends_with(m));
            assert!((rule.allowed)(Role::Admin), "{path}");
            assert_eq!((rule.allowed)(Role::Producer), rule.append, "{path}");
            assert_eq!(
                (rule.allowed)(Role::Auditor),
                !admin_only && !rule.append,
                "{path}"
            );
        }
    }
}
