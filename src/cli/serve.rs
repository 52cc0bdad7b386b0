//! `gdpr-ledger serve` and `gdpr-ledger keygen`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::config::{Config, LogFormat, MetricsListen};
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::secrets;
use tracing_subscriber::EnvFilter;

/// Arguments of `gdpr-ledger serve`. Flags override the environment, which overrides the file.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (see deploy/config.example.toml). Optional: defaults work.
    #[arg(long, short = 'c', env = "GDPR_LEDGER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where RocksDB keeps the log.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where the keys and secrets live (never inside the data dir).
    #[arg(long)]
    pub secrets_dir: Option<PathBuf>,
    /// gRPC listen address.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// HTTP listen address of /metrics and /healthz, or `off`.
    #[arg(long)]
    pub metrics_listen: Option<MetricsListen>,
    /// The log's origin (its name in checkpoints).
    #[arg(long)]
    pub origin: Option<String>,
    /// Log as JSON lines.
    #[arg(long)]
    pub log_json: bool,
    /// Drop the report indexes first (`docs/reports.md`); the start then rebuilds them from the
    /// entries, logging its progress, before it serves.
    #[arg(long)]
    pub rebuild_report_index: bool,
}

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    // Checked once the flags are applied (`check` below).
    let mut config = Config::read(args.config.as_deref())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(dir) = &args.secrets_dir {
        config.secrets_dir = dir.clone();
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(metrics_listen) = args.metrics_listen {
        config.metrics_listen = metrics_listen;
    }
    if let Some(origin) = &args.origin {
        config.origin = origin.clone();
    }
    if args.log_json {
        config.log.format = LogFormat::Json;
    }
    config.check()?;
    init_logging(&config);
    if args.rebuild_report_index {
        let store = gdpr_ledger::storage::LedgerStore::open(
            &config.data_dir,
            &config.origin,
            &config.storage,
        )?;
        store.reset_report_index()?;
        tracing::info!("report indexes dropped; the start rebuilds them");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gdpr-ledger")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut server = gdpr_ledger::server::start(config.clone()).await?;
        // Printed (not only logged) so that a newcomer sees them at once.
        println!("gdpr-ledger listening on {}", server.local_addr);
        println!("verifier key: {}", server.verifier_key);
        if let Some(metrics_addr) = server.metrics_addr {
            println!(
                "metrics on http://{metrics_addr}/metrics, health on http://{metrics_addr}/healthz"
            );
        }
        if server.first_run.created_log_key {
            println!(
                "created a new log signing key in {}",
                config.secrets_dir.join(secrets::LOG_KEY_FILE).display()
            );
        }
        if let Some(token) = &server.first_run.dev_token {
            println!(
                "no tokens configured: development admin token (also in {}): {token}",
                config.secrets_dir.join(secrets::DEV_TOKEN_FILE).display()
            );
        }
        let shutdown = server.take_shutdown();
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot watch SIGTERM")?;
        tokio::select! {
            outcome = server.wait() => outcome?,
            _ = tokio::signal::ctrl_c() => {
                if let Some(shutdown) = shutdown { let _ = shutdown.send(()); }
                server.wait().await?;
            }
            _ = terminate.recv() => {
                if let Some(shutdown) = shutdown { let _ = shutdown.send(()); }
                server.wait().await?;
            }
        }
        anyhow::Ok(())
    })
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Arguments of `gdpr-ledger keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// The log's origin: the key's name.
    #[arg(long)]
    pub origin: String,
    /// Where to write the new key (mode 0600; must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes a new log signing key and prints its verifier key.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let seed = secrets::random_bytes()?;
    let signer = LogSigner::from_seed(&args.origin, &seed).context("origin")?;
    secrets::write_private_file(&args.out, &format!("{}\n", hex::encode(seed)))?;
    println!("{}", signer.verifier_key());
    Ok(())
}
