//! The command line of `gdpr-ledger`: one module per subcommand. Only the binary uses `anyhow`.

#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod backup;
#[cfg(feature = "server")]
pub mod bench;
#[cfg(feature = "server")]
pub mod breach;
#[cfg(feature = "server")]
pub mod connect;
#[cfg(feature = "server")]
pub mod footprint;
#[cfg(feature = "server")]
pub mod lifecycle;
#[cfg(feature = "server")]
pub mod report;
#[cfg(feature = "server")]
pub mod serve;
pub mod verify;
