//! Every integration test of gdpr-ledger, in one binary.
//!
//! One binary, not one per file: each test binary links the whole server (RocksDB included), and
//! forty-odd link steps were most of a fresh clone's first test build (issue 16). Each file is a
//! module; run one with its path as the filter, e.g. `cargo test --release --test integration
//! retention::`. The pure core's tests build in both feature modes; the rest need the server
//! feature.

// Shared by the core's tests and `fuzz/`.
mod fuzz_support;

// The server's helpers.
#[cfg(feature = "server")]
mod common;
#[cfg(feature = "server")]
mod nats_cluster;

// The pure core and the offline verifier: built with and without the server feature.
mod bundle_verification;
mod event_validation;
mod fuzz_decoders;
mod merkle_properties;
mod merkle_vectors;
mod signing_vectors;
mod subject_index_properties;
mod subject_index_vectors;
mod verify_cli;

// The server, storage, gRPC, replication and crash tests.
#[cfg(feature = "server")]
mod backup;
#[cfg(feature = "server")]
mod breach_cases;
#[cfg(feature = "server")]
mod config;
#[cfg(feature = "server")]
mod consent;
#[cfg(feature = "server")]
mod crash_recovery;
#[cfg(feature = "server")]
mod data_map;
#[cfg(feature = "server")]
mod deploy_files;
#[cfg(feature = "server")]
mod dpo_cli;
#[cfg(feature = "server")]
mod erasure;
#[cfg(feature = "server")]
mod hostile;
#[cfg(feature = "server")]
mod http_ingest;
#[cfg(feature = "server")]
mod http_pages;
#[cfg(feature = "server")]
mod key_rotation;
#[cfg(feature = "server")]
mod lifecycle;
#[cfg(feature = "server")]
mod metrics;
#[cfg(feature = "server")]
mod min_tree_size;
#[cfg(feature = "server")]
mod monitor;
#[cfg(feature = "server")]
mod nats_permissions;
#[cfg(feature = "server")]
mod node_client;
#[cfg(feature = "server")]
mod page_documents;
#[cfg(feature = "server")]
mod proto_tooling;
#[cfg(feature = "server")]
mod python_client;
#[cfg(feature = "server")]
mod replication_kill;
#[cfg(feature = "server")]
mod replication_nats;
#[cfg(feature = "server")]
mod replication_serve;
#[cfg(feature = "server")]
mod reports;
#[cfg(feature = "server")]
mod request_cases;
#[cfg(feature = "server")]
mod retention;
#[cfg(feature = "server")]
mod server_api;
#[cfg(feature = "server")]
mod server_concurrency;
#[cfg(feature = "server")]
mod server_restart;
#[cfg(feature = "server")]
mod shared_cases;
#[cfg(feature = "server")]
mod store_audit;
#[cfg(feature = "server")]
mod tls;
#[cfg(feature = "server")]
mod tree_storage;
#[cfg(feature = "server")]
mod vocabulary;
