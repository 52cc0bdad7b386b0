//! The data map (`docs/data-map.md`): the systems the controller declares (`system_declared`
//! events) against what the log shows of them.

/// Most recipients one system declaration names.
pub const MAX_DECLARED_RECIPIENTS: usize = 64;
