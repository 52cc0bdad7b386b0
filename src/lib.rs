//! gdpr-ledger: a tamper-evident audit ledger for personal data.
//!
//! [`core`] is the pure part (formats, Merkle tree and proofs, signatures, checkpoints,
//! verification): it never touches a disk, a socket or a clock, and builds without the `server`
//! feature so that auditors and clients need no server. Everything else depends on it, never the
//! other way round:
//!
//! - `storage`: RocksDB column families, one atomic synced write per commit group; `backfill`:
//!   the rows a data dir made by an older version lacks, derived at start;
//! - `sequencer`: the single owner of the log's tail, group commit;
//! - `proofs`: assembles proofs and bundles from the store;
//! - `service`: the gRPC service, authentication, validation, status codes;
//! - `server`: wiring and lifecycle; `config` and `secrets`: configuration and key files;
//! - `tls`: TLS and mutual TLS of the gRPC listener; `metrics`: Prometheus metrics and `/healthz`;
//! - `vault`: per-subject data keys (crypto-shredding); `erasure`: erasure cases, purge, journal;
//!   `consent`: processing that relied on consent without a valid one.
#![forbid(unsafe_code)]

pub mod core;
pub mod proto;
pub mod unix_time;
pub mod validation;

#[cfg(feature = "server")]
pub mod backfill;
#[cfg(feature = "server")]
pub mod caller;
#[cfg(feature = "server")]
pub mod client;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod consent;
#[cfg(feature = "server")]
pub mod erasure;
#[cfg(feature = "server")]
pub mod http_ingest;
#[cfg(feature = "server")]
pub mod http_pages;
#[cfg(feature = "server")]
pub mod identifier_lists;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod paths;
#[cfg(feature = "server")]
pub mod proofs;
#[cfg(feature = "server")]
pub mod replication;
#[cfg(feature = "server")]
pub mod reports;
#[cfg(feature = "server")]
pub mod secrets;
#[cfg(feature = "server")]
pub mod sequencer;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod stats;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(feature = "server")]
pub mod store_audit;
#[cfg(feature = "server")]
pub mod tls;
#[cfg(feature = "server")]
pub mod vault;
