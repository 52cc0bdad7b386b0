//! Read-only pages for auditors and monitors, served on the metrics listener beside `/metrics`
//! and `/healthz`: the auditor's page (`web/page/index.html`, built in), the latest signed
//! checkpoint and consistency proofs between tree sizes, as JSON. Nothing here needs a token:
//! checkpoints and consistency proofs hold hashes and signatures only, no log content.
//!
//! - `GET /verify`: the page (one self-contained HTML file; `/` redirects to it);
//! - `GET /checkpoint`: `{"origin", "size", "root" (base64), "note" (the signed note text)}`;
//! - `GET /consistency?from=N&to=M`: `{"origin", "from", "to", "proof": [base64 hashes]}`, the
//!   RFC 9162 proof that the tree of size N is a prefix of the tree of size M (SPEC.md section 2;
//!   empty for N = 0 or N = M). A missing, repeated or non-decimal parameter, or N > M, is 400
//!   naming the parameter; M beyond the latest signed checkpoint's size is 404.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde_json::json;

use crate::proofs::{self, ProofError};
use crate::sequencer::SequencerShared;
use crate::storage::LedgerStore;

/// The auditor's page, as committed (`web/page/index.html`, built by `npm run build:page`).
pub const VERIFY_PAGE: &str = include_str!("../web/page/index.html");

/// The page's own policy, sent as a header too: no request may leave it.
const PAGE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'";

#[derive(Clone)]
struct Pages {
    sequencer: Arc<SequencerShared>,
    store: Arc<LedgerStore>,
}

/// The routes: `/`, `/verify`, `/checkpoint`, `/consistency`.
pub fn router(sequencer: Arc<SequencerShared>, store: Arc<LedgerStore>) -> axum::Router {
    axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { Redirect::to("/verify") }),
        )
        .route("/verify", axum::routing::get(verify_page))
        .route("/checkpoint", axum::routing::get(checkpoint))
        .route("/consistency", axum::routing::get(consistency))
        .with_state(Pages { sequencer, store })
}

async fn verify_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
        ],
        VERIFY_PAGE,
    )
        .into_response()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The origin: the note's first line (SPEC.md section 5).
fn origin(note: &str) -> &str {
    note.split('\n').next().unwrap_or_default()
}

fn json_response(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{value}\n"),
    )
        .into_response()
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, format!("{message}\n")).into_response()
}

async fn checkpoint(State(pages): State<Pages>) -> Response {
    let cp = pages.sequencer.latest_checkpoint();
    json_response(json!({
        "origin": origin(&cp.note),
        "size": cp.size,
        "root": b64(cp.root.as_bytes()),
        "note": cp.note,
    }))
}

/// The decimal value of the query parameter `name`, which must appear exactly once.
fn size_parameter(query: &str, name: &str) -> Result<u64, String> {
    let mut values = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value);
    let value = values
        .next()
        .ok_or_else(|| format!("{name}: missing (a tree size)"))?;
    if values.next().is_some() {
        return Err(format!("{name}: given more than once"));
    }
    let decimal = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    if !decimal {
        return Err(format!(
            "{name}: not a tree size (a decimal number without sign or leading zero)"
        ));
    }
    value
        .parse()
        .map_err(|_| format!("{name}: larger than 2^64 - 1"))
}

async fn consistency(State(pages): State<Pages>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let (from, to) = match (size_parameter(&query, "from"), size_parameter(&query, "to")) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(why), _) | (_, Err(why)) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    if from > to {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("from: {from} is larger than to ({to})"),
        );
    }
    let latest = pages.sequencer.latest_checkpoint();
    if to > latest.size {
        return refuse(
            StatusCode::NOT_FOUND,
            format!(
                "to: {to} is beyond the log's latest signed checkpoint (size {})",
                latest.size
            ),
        );
    }
    let store = pages.store.clone();
    let proof =
        match tokio::task::spawn_blocking(move || proofs::consistency(&store, from, to)).await {
            Ok(Ok(proof)) => proof,
            Ok(Err(ProofError::Request(why))) => return refuse(StatusCode::BAD_REQUEST, why),
            Ok(Err(error)) => {
                tracing::warn!(%error, "a consistency proof for /consistency failed");
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the proof could not be made".into(),
                );
            }
            Err(_) => {
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the proof could not be made".into(),
                );
            }
        };
    json_response(json!({
        "origin": origin(&latest.note),
        "from": from,
        "to": to,
        "proof": proof.iter().map(|h| b64(h.as_bytes())).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::size_parameter;

    #[test]
    fn size_parameters_are_plain_decimals_given_once() {
        assert_eq!(size_parameter("from=0&to=12", "from"), Ok(0));
        assert_eq!(size_parameter("from=0&to=12", "to"), Ok(12));
        assert_eq!(
            size_parameter("to=18446744073709551615", "to"),
            Ok(u64::MAX)
        );
        for bad in [
            "to=",
            "to=-1",
            "to=+1",
            "to=012",
            "to=1e3",
            "to=18446744073709551616",
            "to=1&to=2",
            "from=1",
            "to",
        ] {
            let why = size_parameter(bad, "to").expect_err(bad);
            assert!(why.starts_with("to: "), "{bad}: {why}");
        }
    }
}
