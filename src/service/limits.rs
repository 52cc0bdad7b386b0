//! The size, count and time limits of requests (`[limits]`), and the event rules' limits derived
//! from them.

use crate::validation::ValidationLimits;

/// Size and count limits of requests.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLimits {
    /// Largest encoded submission (event, identifiers, details), in bytes, as sent: checked on
    /// the wire before the request is decoded ([`admission`](super::admission)).
    pub max_event_bytes: usize,
    /// Largest request, in bytes: checked from the message's length prefix, before the body is
    /// received.
    pub max_request_bytes: usize,
    /// Most events in one AppendBatch, counted on the wire before the request is decoded.
    pub max_batch_events: usize,
    /// How far in the future an event's `occurred_at` may lie, in seconds (clock skew).
    pub max_clock_skew_secs: u64,
    /// Bytes of append requests being validated, queued or sequenced at once, in MiB. Beyond it,
    /// new appends wait (back-pressure): memory stays bounded when clients outrun the disk.
    pub max_inflight_mib: usize,
    /// Streamed answers (lifecycles, breach investigations, consent findings) open at once.
    pub max_streams: usize,
    /// Streamed answers open at once for one caller.
    pub max_streams_per_caller: usize,
    /// How long a streamed answer waits for a client that reads nothing before it ends the
    /// stream (`DEADLINE_EXCEEDED`), in seconds.
    pub stream_send_timeout_secs: u64,
    /// How long a request's body may take to arrive, in seconds (`DEADLINE_EXCEEDED` after):
    /// a client that sends slowly holds its buffer no longer.
    pub request_body_timeout_secs: u64,
    /// Concurrent HTTP/2 streams (calls) on one connection.
    pub max_streams_per_connection: u32,
    /// How long a request carrying the `gdpr-ledger-min-tree-size` header waits for this server's
    /// signed log to reach that size (a replica still applying), in milliseconds; then
    /// `UNAVAILABLE` naming both sizes.
    pub min_tree_size_wait_ms: u64,
    /// Refuse events with `dpv:`, `pd:` or `eu-gdpr:` terms that DPV does not define
    /// (`INVALID_ARGUMENT` naming the field) instead of warning in the receipt
    /// (`vocabulary_warning`).
    pub strict_vocabulary: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_event_bytes: 64 * 1024,
            max_request_bytes: 4 * 1024 * 1024,
            max_batch_events: 10_000,
            max_clock_skew_secs: 300,
            max_inflight_mib: 256,
            max_streams: 64,
            max_streams_per_caller: 8,
            stream_send_timeout_secs: 60,
            request_body_timeout_secs: 30,
            max_streams_per_connection: 128,
            min_tree_size_wait_ms: 2000,
            strict_vocabulary: false,
        }
    }
}

impl RequestLimits {
    /// The limits the event rules apply (`validation`): the allowed clock skew from here, the
    /// rest the rules' defaults.
    pub(crate) fn validation_limits(&self) -> ValidationLimits {
        ValidationLimits {
            max_clock_skew: std::time::Duration::from_secs(self.max_clock_skew_secs),
            strict_vocabulary: self.strict_vocabulary,
            ..ValidationLimits::default()
        }
    }
}
