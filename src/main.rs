//! The `gdpr-ledger` binary: the server (with the `server` feature) and the offline tools.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

/// jemalloc for the whole process (Rust, and RocksDB through the unprefixed `malloc`): with
/// glibc's allocator, freed memory stayed in per-thread arenas, 100-250 MB above jemalloc's
/// resident size under appends to a large log (README, "Memory").
#[cfg(feature = "server")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// gdpr-ledger: a tamper-evident audit ledger for personal data.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a proof bundle or a signed checkpoint offline, against the log's verifier key.
    Verify(cli::verify::VerifyArgs),
    /// Run the ledger server.
    #[cfg(feature = "server")]
    Serve(cli::serve::ServeArgs),
    /// Generate a log signing key and print its verifier key.
    #[cfg(feature = "server")]
    Keygen(cli::serve::KeygenArgs),
    /// Replay a whole log from its data dir and report the first divergence.
    #[cfg(feature = "server")]
    Audit(cli::audit::AuditArgs),
    /// What a data dir's bytes are made of: rows and bytes per column family and per entry.
    #[cfg(feature = "server")]
    Footprint(cli::footprint::FootprintArgs),
    /// Take a consistent online backup of a running server's log.
    #[cfg(feature = "server")]
    Backup(cli::backup::BackupArgs),
    /// Restore a backup as a new data dir (server stopped).
    #[cfg(feature = "server")]
    Restore(cli::backup::RestoreArgs),
    /// Fetch a data subject's lifecycle, proved complete, as a bundle for `verify`.
    #[cfg(feature = "server")]
    Lifecycle(cli::lifecycle::LifecycleArgs),
    /// Load generator: durable appends per second and acknowledgement latency of a running server.
    #[cfg(feature = "server")]
    Bench(cli::bench::BenchArgs),
    /// Reports from a running server: breach investigation, record of processing, retention,
    /// data map, subject access.
    #[cfg(feature = "server")]
    Report(cli::report::ReportArgs),
    /// A replicated deployment's set-up (`docs/replication.md`).
    #[cfg(feature = "server")]
    Replication(cli::replication::ReplicationArgs),
    /// Append one event given by flags and print its receipt (and its proof bundle).
    #[cfg(feature = "server")]
    Append(Box<cli::append::AppendArgs>),
    /// Erasure cases (articles 17 and 19): open, status, list, close.
    #[cfg(feature = "server")]
    Erasure(cli::erasure::ErasureArgs),
    /// Consent (articles 6(1)(a), 7): processing without a valid consent.
    #[cfg(feature = "server")]
    Consent(cli::consent::ConsentArgs),
    /// The identifiers behind a subject token, to notify the person (article 34; admin).
    #[cfg(feature = "server")]
    Identifiers(cli::erasure::IdentifiersArgs),
    /// Print a shell completion script, e.g. `gdpr-ledger completions bash > /etc/bash_completion.d/gdpr-ledger`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Breach cases (article 33): their 72-hour clocks and draft notifications.
    #[cfg(feature = "server")]
    Breach(cli::breach::BreachArgs),
    /// Data subject requests (article 12(3)): their due dates, open and overdue cases.
    #[cfg(feature = "server")]
    Requests(cli::requests::RequestsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Verify(args) => cli::verify::run(args),
        #[cfg(feature = "server")]
        Command::Serve(args) => cli::serve::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Keygen(args) => cli::serve::keygen(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Audit(args) => cli::audit::run(args),
        #[cfg(feature = "server")]
        Command::Footprint(args) => cli::footprint::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Backup(args) => cli::backup::backup(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Restore(args) => cli::backup::restore(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Lifecycle(args) => cli::lifecycle::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Bench(args) => cli::bench::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Report(args) => cli::report::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Replication(args) => cli::replication::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Append(args) => cli::append::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Erasure(args) => cli::erasure::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Consent(args) => cli::consent::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Identifiers(args) => cli::erasure::identifiers(args).map(|()| ExitCode::SUCCESS),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "gdpr-ledger", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)
                .map(|()| ExitCode::SUCCESS)
                .map_err(|e| anyhow::anyhow!("writing the completion script: {e}"))
        }
        #[cfg(feature = "server")]
        Command::Breach(args) => cli::breach::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "server")]
        Command::Requests(args) => cli::requests::run(args).map(|()| ExitCode::SUCCESS),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
