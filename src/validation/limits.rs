//! The bounds validation enforces that a deployment may tune.

use std::time::Duration;

/// Tunable bounds on submitted events. The fixed formats (event id, system, references: 1 to 128
/// characters) are not tunable: they are part of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationLimits {
    /// How far `occurred_at` may be ahead of the ledger's clock (producers' clocks drift).
    pub max_clock_skew: Duration,
    /// At most this many terms in each of `data_categories`, `purposes`, `legal_bases`.
    pub max_terms_per_list: usize,
    /// At most this many characters in one term (`pd:EmailAddress`).
    pub max_term_len: usize,
    /// At most this many characters in free text that is stored (`recipient.name`,
    /// `correction.reason`).
    pub max_text_len: usize,
    /// At most this many bytes in a subject identifier's raw value, before normalisation.
    pub max_identifier_len: usize,
    /// Refuse `dpv:`, `pd:` and `eu-gdpr:` terms that DPV does not define (`validation::dpv`),
    /// instead of warning in the receipt.
    pub strict_vocabulary: bool,
}

impl Default for ValidationLimits {
    /// Five minutes of clock skew; 32 terms of at most 128 characters per list; 256 characters of
    /// text; identifiers of at most 512 bytes.
    fn default() -> Self {
        ValidationLimits {
            max_clock_skew: Duration::from_secs(5 * 60),
            max_terms_per_list: 32,
            max_term_len: 128,
            max_text_len: 256,
            max_identifier_len: 512,
            strict_vocabulary: false,
        }
    }
}
