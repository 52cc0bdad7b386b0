//! `gdpr-ledger consent gaps`: every processing that relied on consent without a valid one at the
//! time (`Consent.ListProcessingWithoutConsent`, docs/erasure.md section 6), printed as it
//! streams in.

use std::io::Write as _;

use anyhow::Context as _;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::validation::requirements::kind_name;
use serde_json::json;

use super::connect::{Connection, TextOrJson, rpc_error};
use super::report::timestamp;

/// Arguments of `gdpr-ledger consent`.
#[derive(Debug, clap::Args)]
pub struct ConsentArgs {
    #[command(subcommand)]
    pub command: ConsentCommand,
}

/// The consent commands.
#[derive(Debug, clap::Subcommand)]
pub enum ConsentCommand {
    /// Processing (collections, shares, accesses) that relied on consent without one that was
    /// given, not withdrawn and covering its purposes when it happened, in log order (auditor or
    /// admin), including collections that the opt-in policy by channel required consent for,
    /// whatever basis they state. Derived from the log (as received by --as-of, or now),
    /// corrections and late withdrawals honoured.
    Gaps {
        #[command(flatten)]
        connection: Connection,
        /// Only processing that happened at or after this time, RFC 3339 (whole seconds).
        #[arg(long)]
        from: Option<String>,
        /// Only processing that happened before this time, RFC 3339 (whole seconds).
        #[arg(long)]
        until: Option<String>,
        /// Only processing in this system.
        #[arg(long)]
        system: Option<String>,
        /// The log as it had received entries by this time, RFC 3339 (default: now).
        #[arg(long)]
        as_of: Option<String>,
        /// Output format: text, or json (one object per line, as they arrive).
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
}

/// A bound of the window in Unix seconds (0: none, as the request has it).
fn seconds(field: &str, text: &Option<String>) -> anyhow::Result<i64> {
    let Some(text) = text else { return Ok(0) };
    let time = timestamp(field, text)?;
    anyhow::ensure!(
        time.nanos == 0,
        "--{field} {text:?}: the window is in whole seconds"
    );
    Ok(time.seconds)
}

/// Runs a consent command.
pub fn run(args: &ConsentArgs) -> anyhow::Result<()> {
    let ConsentCommand::Gaps {
        connection,
        from,
        until,
        system,
        as_of,
        format,
    } = &args.command;
    let request = pb::ListProcessingWithoutConsentRequest {
        from_seconds: seconds("from", from)?,
        until_seconds: seconds("until", until)?,
        system: system.clone().unwrap_or_default(),
        as_of: as_of
            .as_ref()
            .map(|text| timestamp("as-of", text))
            .transpose()?,
    };
    super::connect::block_on(async {
        let (channel, bearer) = connection.open().await?;
        let mut client = pb::consent_client::ConsentClient::with_interceptor(channel, bearer);
        let method = "ListProcessingWithoutConsent";
        let mut stream = client
            .list_processing_without_consent(request)
            .await
            .map_err(|status| rpc_error(method, status))?
            .into_inner();
        let mut out = std::io::stdout().lock();
        let mut found = 0u64;
        while let Some(gap) = stream
            .message()
            .await
            .map_err(|status| rpc_error(method, status))?
        {
            found += 1;
            let event = gap.event.unwrap_or_default();
            let occurred_at = event.occurred_at.map(|t| t.to_string()).unwrap_or_default();
            let line = match format {
                TextOrJson::Json => json!({
                    "index": gap.index,
                    "token": hex::encode(&gap.token),
                    "kind": kind_name(event.kind()),
                    "occurred_at": occurred_at,
                    "system": event.system,
                    "purposes": event.purposes,
                    "collection_channel": event.collection_channel,
                    "legal_bases": event.legal_bases,
                    "requires_consent": gap.requires_consent,
                    "policy_index": gap.policy_index,
                    "consent_ref": event.consent_ref,
                    "consent_index": gap.consent_index,
                    "problem": gap.problem,
                })
                .to_string(),
                TextOrJson::Text => format!(
                    "entry {} ({}, {occurred_at}, system {}, subject {}): {}",
                    gap.index,
                    kind_name(event.kind()),
                    event.system,
                    hex::encode(&gap.token),
                    gap.problem
                ),
            };
            writeln!(out, "{line}").context("writing to standard output")?;
        }
        if *format == TextOrJson::Text {
            writeln!(
                out,
                "{found} processing entries without a valid consent at the time"
            )
            .context("writing to standard output")?;
        }
        Ok(())
    })
}
