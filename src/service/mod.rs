//! The gRPC services of `gdpr_ledger.v1`. `Ledger` (`ledger`: appends, reads, proofs,
//! lifecycles) authenticates, validates, hands appends to the sequencer and answers reads from
//! the store; it holds no state of the log itself. `limits` holds the request limits and
//! `subject` the one resolution of a subject a request names.

pub mod access_log;
pub mod admin;
pub mod admission;
pub mod auth;
pub mod consent;
pub mod erasure;
mod ledger;
mod limits;
pub mod reports;
pub mod status;
pub mod streams;
pub(crate) mod subject;

pub use ledger::{LedgerService, submission_digest, submission_digest_key};
pub use limits::RequestLimits;
pub use status::MIN_TREE_SIZE_HEADER;
