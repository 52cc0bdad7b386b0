//! `gdpr-ledger erasure open|status|list|close` (articles 17 and 19: erasure cases, who still
//! holds the data, who was told) and `gdpr-ledger identifiers` (article 34: the way back from a
//! subject token to the person, to notify them), over the `gdpr_ledger.v1.Erasure` service.

use std::fmt::Write as _;

use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::erasure_client::ErasureClient;
use serde_json::{Value, json};

use super::connect::{
    Connection, SubjectArgs, SubjectIdentifierArg, SubjectTokenArg, TextOrJson, rpc_error,
};

/// Arguments of `gdpr-ledger erasure`.
#[derive(Debug, clap::Args)]
pub struct ErasureArgs {
    #[command(subcommand)]
    pub command: ErasureCommand,
}

/// The erasure commands.
#[derive(Debug, clap::Subcommand)]
pub enum ErasureCommand {
    /// Open a subject's erasure case (admin): appends the erasure request and destroys the
    /// subject's data key, details and identifiers in the same write. Asking again changes
    /// nothing and shows the case.
    Open {
        #[command(flatten)]
        connection: Connection,
        /// The subject's identifier as `kind:value` (the request names the person).
        #[arg(long)]
        subject: SubjectIdentifierArg,
        /// Where the request was received, e.g. `privacy-portal` (the entry's system; default
        /// `gdpr-ledger`).
        #[arg(long)]
        system: Option<String>,
        /// The entry's event id (default: `erasure-<unix nanoseconds>`).
        #[arg(long)]
        event_id: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// A subject's erasure case: every system and recipient that held the data, and whether each
    /// has confirmed its deletion (auditor or admin).
    Status {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Erasure cases still open, oldest first, with the holders that have not confirmed (auditor
    /// or admin).
    List {
        #[command(flatten)]
        connection: Connection,
        /// Only cases opened at least this many days ago (0: every open case).
        #[arg(long, default_value_t = 0)]
        older_than_days: u32,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Close an open case before every holder confirmed (admin): the subject's directory rows are
    /// destroyed.
    Close {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Why the case is closed now (no personal data: it is kept in the log).
        #[arg(long)]
        reason: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
}

/// Arguments of `gdpr-ledger identifiers`.
#[derive(Debug, clap::Args)]
pub struct IdentifiersArgs {
    /// The server, and an admin's credential.
    #[command(flatten)]
    pub connection: Connection,
    /// The subject token, 64 hex digits (e.g. from `report breach --format json`).
    #[arg(long)]
    pub subject_token: SubjectTokenArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

async fn client(
    connection: &Connection,
) -> anyhow::Result<ErasureClient<gdpr_ledger::client::Intercepted>> {
    let (channel, bearer) = connection.open().await?;
    Ok(ErasureClient::with_interceptor(channel, bearer))
}

/// Runs an erasure command.
pub fn run(args: &ErasureArgs) -> anyhow::Result<()> {
    super::connect::block_on(async {
        match &args.command {
            ErasureCommand::Open {
                connection,
                subject,
                system,
                event_id,
                format,
            } => {
                let status = client(connection)
                    .await?
                    .erase_subject(pb::EraseSubjectRequest {
                        subject: Some(subject.0.clone()),
                        system: system.clone().unwrap_or_default(),
                        event_id: event_id.clone().unwrap_or_default(),
                    })
                    .await
                    .map_err(|status| rpc_error("EraseSubject", status))?
                    .into_inner();
                print_status(&status, *format);
            }
            ErasureCommand::Status {
                connection,
                subject,
                format,
            } => {
                let status = client(connection)
                    .await?
                    .get_erasure_status(pb::GetErasureStatusRequest {
                        subject: Some(subject.subject()?.into()),
                    })
                    .await
                    .map_err(|status| rpc_error("GetErasureStatus", status))?
                    .into_inner();
                print_status(&status, *format);
            }
            ErasureCommand::List {
                connection,
                older_than_days,
                format,
            } => {
                let cases = client(connection)
                    .await?
                    .list_open_erasures(pb::ListOpenErasuresRequest {
                        older_than_days: *older_than_days,
                    })
                    .await
                    .map_err(|status| rpc_error("ListOpenErasures", status))?
                    .into_inner()
                    .cases;
                match format {
                    TextOrJson::Json => {
                        let cases: Vec<Value> = cases.iter().map(status_json).collect();
                        println!("{:#}", Value::Array(cases));
                    }
                    TextOrJson::Text if cases.is_empty() => println!("no open erasure cases"),
                    TextOrJson::Text => {
                        println!("{} open erasure cases, oldest first", cases.len());
                        for case in &cases {
                            print!("\n{}", status_text(case));
                        }
                    }
                }
            }
            ErasureCommand::Close {
                connection,
                subject,
                reason,
                format,
            } => {
                let status = client(connection)
                    .await?
                    .close_erasure(pb::CloseErasureRequest {
                        subject: Some(subject.subject()?.into()),
                        reason: reason.clone(),
                    })
                    .await
                    .map_err(|status| rpc_error("CloseErasure", status))?
                    .into_inner();
                print_status(&status, *format);
            }
        }
        Ok(())
    })
}

/// Runs `gdpr-ledger identifiers`.
pub fn identifiers(args: &IdentifiersArgs) -> anyhow::Result<()> {
    super::connect::block_on(async {
        let response = client(&args.connection)
            .await?
            .get_identifiers(pb::GetIdentifiersRequest {
                token: args.subject_token.0.clone(),
            })
            .await
            .map_err(|status| rpc_error("GetIdentifiers", status))?
            .into_inner();
        let token = hex::encode(&args.subject_token.0);
        match args.format {
            TextOrJson::Json => println!(
                "{:#}",
                json!({
                    "token": token,
                    "erased": response.erased,
                    "identifiers": response
                        .identifiers
                        .iter()
                        .map(|i| json!({"kind": i.kind, "value": i.value}))
                        .collect::<Vec<_>>(),
                })
            ),
            TextOrJson::Text if response.erased => {
                println!("subject {token}: erased; its identifiers were destroyed with its key")
            }
            TextOrJson::Text => {
                println!(
                    "subject {token}: {} identifiers",
                    response.identifiers.len()
                );
                for identifier in &response.identifiers {
                    println!("  {}:{}", identifier.kind, identifier.value);
                }
            }
        }
        Ok(())
    })
}

fn print_status(status: &pb::ErasureStatus, format: TextOrJson) {
    match format {
        TextOrJson::Json => println!("{:#}", status_json(status)),
        TextOrJson::Text => print!("{}", status_text(status)),
    }
}

fn time(t: &Option<prost_types::Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn state_name(status: &pb::ErasureStatus) -> String {
    let state = status.state();
    state
        .as_str_name()
        .trim_start_matches("STATE_")
        .to_ascii_lowercase()
}

fn role_name(role: pb::RecipientRole) -> String {
    role.as_str_name()
        .trim_start_matches("RECIPIENT_ROLE_")
        .to_ascii_lowercase()
}

/// An erasure case as JSON: the proto's fields, the token in hex, times in RFC 3339.
pub fn status_json(status: &pb::ErasureStatus) -> Value {
    let holders: Vec<Value> = status
        .holders
        .iter()
        .map(|h| {
            json!({
                "name": h.name,
                "recipient": h.recipient,
                "role": if h.recipient { Value::String(role_name(h.role())) } else { Value::Null },
                "country": h.country,
                "first_index": h.first_index,
                "last_index": h.last_index,
                "notified_index": h.notified_index,
                "notified_at": time(&h.notified_at),
                "confirmed_index": h.confirmed_index,
                "confirmed_at": time(&h.confirmed_at),
                "exemption_index": h.exemption_index,
                "exemption_ground": h.exemption_ground,
                "exempt_until": time(&h.exempt_until),
                "exemption_reason": h.exemption_reason,
                "pending": h.pending,
            })
        })
        .collect();
    json!({
        "token": hex::encode(&status.token),
        "state": state_name(status),
        "request_index": status.request_index,
        "requested_at": time(&status.requested_at),
        "requested_by": status.requested_by,
        "closed_at": time(&status.closed_at),
        "closed_by": status.closed_by,
        "close_reason": status.close_reason,
        "purged": status.purged,
        "pending": status.pending,
        "holders": holders,
    })
}

/// An erasure case as readable text.
pub fn status_text(status: &pb::ErasureStatus) -> String {
    let mut out = String::new();
    let at = |t: &Option<prost_types::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    let _ = writeln!(out, "subject {}", hex::encode(&status.token));
    let state = state_name(status);
    if status.state() == pb::erasure_status::State::None {
        let _ = writeln!(out, "  state: none (no erasure case)");
        return out;
    }
    let _ = writeln!(
        out,
        "  state: {state}; requested at {} by {} (entry {})",
        at(&status.requested_at),
        status.requested_by,
        status.request_index
    );
    if status.state() == pb::erasure_status::State::Closed {
        let _ = writeln!(
            out,
            "  closed at {} by {}{}",
            at(&status.closed_at),
            status.closed_by,
            if status.close_reason.is_empty() {
                String::new()
            } else {
                format!(": {}", status.close_reason)
            }
        );
    }
    let _ = writeln!(
        out,
        "  purged from the files: {}",
        if status.purged { "yes" } else { "not yet" }
    );
    let _ = writeln!(
        out,
        "  holders: {} ({} pending)",
        status.holders.len(),
        status.pending
    );
    for h in &status.holders {
        let what = if h.recipient {
            let mut what = format!("recipient, {}", role_name(h.role()));
            if !h.country.is_empty() {
                let _ = write!(what, ", {}", h.country);
            }
            what
        } else {
            "system".to_owned()
        };
        let mut answer = match (h.confirmed_index, h.exemption_index) {
            (Some(index), _) => format!(
                "deletion confirmed (entry {index}, {})",
                at(&h.confirmed_at)
            ),
            (None, Some(index)) => format!(
                "exempted (entry {index}, {}{}){}",
                h.exemption_ground,
                h.exempt_until
                    .map(|t| format!(" until {t}"))
                    .unwrap_or_default(),
                if h.exemption_reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", h.exemption_reason)
                }
            ),
            (None, None) => "no answer".to_owned(),
        };
        if h.pending {
            answer.push_str(" - PENDING");
        }
        let notified = h
            .notified_index
            .map(|index| format!("; notified (entry {index})"))
            .unwrap_or_default();
        let entries = if h.first_index == h.last_index {
            format!("entry {}", h.first_index)
        } else {
            format!("entries {} to {}", h.first_index, h.last_index)
        };
        let _ = writeln!(
            out,
            "    {} ({what}): {entries}{notified}; {answer}",
            h.name
        );
    }
    out
}
