//! `gdpr-ledger append`: appends one event given by flags (`Ledger.Append`) and prints its
//! receipt, optionally writing the receipt's proof bundle for `gdpr-ledger verify`. For trying the
//! ledger out and for the odd manual event (a DPO recording a request received by post); systems
//! report through the API.

use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::validation::requirements::{all_kinds, kind_from_name, kind_name};
use serde_json::{Value, json};

use super::connect::{Connection, SubjectIdentifierArg, TextOrJson, rpc_error};
use super::report::timestamp;

/// Arguments of `gdpr-ledger append`: the event's fields (docs/events.md).
#[derive(Debug, clap::Args)]
pub struct AppendArgs {
    /// The server, and a producer's or admin's credential.
    #[command(flatten)]
    pub connection: Connection,
    /// The event kind, as docs/events.md names it: collection, share, access, consent_given,
    /// erasure_requested, deletion_done...
    #[arg(long, value_parser = parse_kind)]
    pub kind: pb::EventKind,
    /// The producer's id of the event (no personal data: it is kept in clear).
    #[arg(long)]
    pub event_id: String,
    /// When it happened, RFC 3339 (default: now).
    #[arg(long)]
    pub occurred_at: Option<String>,
    /// The system where it happened (one of the credential's systems).
    #[arg(long)]
    pub system: String,
    /// The data subject as `kind:value`, e.g. `email:jane.doe@example.com`.
    #[arg(long)]
    pub subject: Option<SubjectIdentifierArg>,
    /// A data category, e.g. `pd:EmailAddress` (repeatable).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// A purpose, e.g. `dpv:CustomerRelationshipManagement` (repeatable).
    #[arg(long = "purpose")]
    pub purposes: Vec<String>,
    /// A legal basis, e.g. `eu-gdpr:A6-1-b` (repeatable).
    #[arg(long = "legal-basis")]
    pub legal_bases: Vec<String>,
    /// How the data was collected, e.g. `web-form` (collections).
    #[arg(long)]
    pub collection_channel: Option<String>,
    /// The consent the processing relies on (its event id), or that a withdrawal withdraws.
    #[arg(long)]
    pub consent_ref: Option<String>,
    /// Who acted (a reference, no personal data).
    #[arg(long)]
    pub actor: Option<String>,
    /// The recipient's name (shares; an erasure request's notified recipient).
    #[arg(long)]
    pub recipient: Option<String>,
    /// The recipient's role: processor, sub_processor, controller, joint_controller,
    /// channel_partner, third_party.
    #[arg(long, requires = "recipient")]
    pub recipient_role: Option<String>,
    /// The recipient's country, ISO 3166-1 alpha-2.
    #[arg(long, requires = "recipient")]
    pub recipient_country: Option<String>,
    /// The transfer basis of a recipient outside the EEA: adequacy_decision,
    /// standard_contractual_clauses, binding_corporate_rules, code_of_conduct, certification,
    /// derogation.
    #[arg(long, requires = "recipient")]
    pub transfer_basis: Option<String>,
    /// Free-form details (may be personal data: sealed with the subject's key, outside the log).
    #[arg(long)]
    pub details: Option<String>,
    /// Write the receipt's proof bundle to this file (check it with `gdpr-ledger verify`).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Output format of the receipt.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

fn parse_kind(name: &str) -> Result<pb::EventKind, String> {
    kind_from_name(name).ok_or_else(|| {
        let kinds: Vec<String> = all_kinds().map(kind_name).collect();
        format!("{name:?} is no event kind; one of {}", kinds.join(", "))
    })
}

/// A proto enum value named without its prefix, in lower case: `processor` is
/// `RECIPIENT_ROLE_PROCESSOR`.
fn enum_value(
    flag: &str,
    name: &str,
    prefix: &str,
    from_str_name: impl Fn(&str) -> Option<i32>,
) -> anyhow::Result<i32> {
    from_str_name(&format!("{prefix}{}", name.to_ascii_uppercase()))
        .filter(|value| *value != 0)
        .with_context(|| format!("--{flag} {name:?}: see --help for the values"))
}

impl AppendArgs {
    fn submission(&self) -> anyhow::Result<pb::EventSubmission> {
        let occurred_at = match &self.occurred_at {
            Some(text) => timestamp("occurred-at", text)?,
            None => prost_types::Timestamp::from(std::time::SystemTime::now()),
        };
        let recipient = match &self.recipient {
            None => None,
            Some(name) => Some(pb::Recipient {
                name: name.clone(),
                role: match &self.recipient_role {
                    Some(role) => enum_value("recipient-role", role, "RECIPIENT_ROLE_", |n| {
                        pb::RecipientRole::from_str_name(n).map(|v| v as i32)
                    })?,
                    None => 0,
                },
                country: self.recipient_country.clone().unwrap_or_default(),
                transfer_basis: match &self.transfer_basis {
                    Some(basis) => enum_value("transfer-basis", basis, "TRANSFER_BASIS_", |n| {
                        pb::TransferBasis::from_str_name(n).map(|v| v as i32)
                    })?,
                    None => 0,
                },
            }),
        };
        Ok(pb::EventSubmission {
            event: Some(pb::Event {
                event_id: self.event_id.clone(),
                kind: self.kind as i32,
                occurred_at: Some(occurred_at),
                system: self.system.clone(),
                data_categories: self.categories.clone(),
                purposes: self.purposes.clone(),
                legal_bases: self.legal_bases.clone(),
                recipient,
                consent_ref: self.consent_ref.clone().unwrap_or_default(),
                actor: self.actor.clone().unwrap_or_default(),
                collection_channel: self.collection_channel.clone().unwrap_or_default(),
                ..pb::Event::default()
            }),
            subject: self.subject.as_ref().map(|s| s.0.clone()),
            linked_subject: None,
            details: self
                .details
                .as_ref()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
        })
    }
}

/// The receipt as JSON: its fields, bytes in hex, the bundle parsed.
fn receipt_json(receipt: &pb::Receipt) -> anyhow::Result<Value> {
    let bundle = if receipt.bundle_json.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&receipt.bundle_json).context("the receipt's bundle is not JSON")?
    };
    Ok(json!({
        "index": receipt.index,
        "leaf_hash": hex::encode(&receipt.leaf_hash),
        "signature": hex::encode(&receipt.signature),
        "key_id": receipt.key_id,
        "checkpoint": receipt.checkpoint,
        "duplicate": receipt.duplicate,
        "consent_warning": receipt.consent_warning,
        "vocabulary_warning": receipt.vocabulary_warning,
        "bundle": bundle,
    }))
}

/// Appends the event and prints its receipt.
pub fn run(args: &AppendArgs) -> anyhow::Result<()> {
    let submission = args.submission()?;
    let receipt = super::connect::block_on(async {
        let (channel, bearer) = args.connection.open().await?;
        let mut client = pb::ledger_client::LedgerClient::with_interceptor(channel, bearer);
        let response = client
            .append(pb::AppendRequest {
                submission: Some(submission),
                include_bundle: args.bundle.is_some(),
            })
            .await
            .map_err(|status| rpc_error("Append", status))?
            .into_inner();
        response
            .receipt
            .context("Append: the server's answer holds no receipt")
    })?;
    if let Some(path) = &args.bundle {
        std::fs::write(path, format!("{}\n", receipt.bundle_json))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    match args.format {
        TextOrJson::Json => println!("{:#}", receipt_json(&receipt)?),
        TextOrJson::Text => {
            if receipt.duplicate {
                println!(
                    "already appended with the same content: entry {} (nothing appended)",
                    receipt.index
                );
            } else {
                println!("appended: entry {}", receipt.index);
            }
            println!("leaf hash: {}", hex::encode(&receipt.leaf_hash));
            println!("signed by key {}", receipt.key_id);
            if !receipt.vocabulary_warning.is_empty() {
                println!("vocabulary warning: {}", receipt.vocabulary_warning);
            }
            if !receipt.consent_warning.is_empty() {
                println!("consent warning: {}", receipt.consent_warning);
            }
            if let Some(path) = &args.bundle {
                println!(
                    "proof bundle written to {} (check it with gdpr-ledger verify)",
                    path.display()
                );
            }
        }
    }
    Ok(())
}
