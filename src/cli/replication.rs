//! `gdpr-ledger replication init`: makes a replicated deployment's transit ratchet
//! (`docs/replication.md` section 3) in a secrets dir, to be copied to every replica.

use std::path::PathBuf;

/// Arguments of `gdpr-ledger replication`.
#[derive(Debug, clap::Args)]
pub struct ReplicationArgs {
    #[command(subcommand)]
    pub command: ReplicationCommand,
}

/// What to do.
#[derive(Debug, clap::Subcommand)]
pub enum ReplicationCommand {
    /// Make the deployment's transit ratchet in the secrets dir (once, on one machine), then copy
    /// the whole secrets dir (log key, directory and pseudonym secrets, master key, ratchet) to
    /// every replica, out of band.
    Init {
        /// The secrets dir (the server's `secrets_dir`).
        #[arg(long, default_value = "./secrets")]
        secrets_dir: PathBuf,
        /// Length of a transit epoch (`replication.transit_epoch_secs`).
        #[arg(long, default_value_t = 600)]
        transit_epoch_secs: u64,
    },
}

/// Runs `gdpr-ledger replication ...`.
pub fn run(args: &ReplicationArgs) -> anyhow::Result<()> {
    match &args.command {
        ReplicationCommand::Init {
            secrets_dir,
            transit_epoch_secs,
        } => {
            let path = gdpr_ledger::replication::init_ratchet(secrets_dir, *transit_epoch_secs)?;
            println!(
                "wrote {}: copy {} to every replica (mode 0600), then destroy copies no replica uses",
                path.display(),
                secrets_dir.display()
            );
            Ok(())
        }
    }
}
