//! The pure core: everything an auditor relies on, and nothing that does I/O.
//!
//! Formats are those of `docs/SPEC.md`, byte for byte. The core never touches a disk, a socket or
//! a clock: time and randomness are passed in, storage is reached through small traits.

pub mod audit;
pub mod bundle;
pub mod checkpoint;
pub mod checks;
pub mod correction;
pub mod data_map;
pub mod deadline;
pub mod declarations;
pub mod directory;
pub mod entry;
pub mod hash;
pub mod holding;
pub mod lifecycle;
pub mod merkle;
pub mod note;
pub mod opt_in;
pub mod request_cases;
pub mod retention;
pub mod signature;
pub mod subject_index;
#[cfg(test)]
pub mod test_calendar;
#[doc(hidden)]
pub mod test_rng;
