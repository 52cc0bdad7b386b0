//! `gdpr-ledger requests case <ref>`, `requests list` and `requests overdue`: data subject
//! request cases and their article 12(3) clocks from a running server (`docs/requests.md`).

use std::fmt::Write as _;

use gdpr_ledger::proto::v1 as pb;

use super::breach::{as_of, connect};
use super::connect::{Connection, block_on, rpc_error};

/// Arguments of `gdpr-ledger requests`.
#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    #[command(subcommand)]
    pub command: RequestsCommand,
}

/// The request commands.
#[derive(Debug, clap::Subcommand)]
pub enum RequestsCommand {
    /// One case: its due dates, extension and outcome at `--as-of`.
    Case {
        #[command(flatten)]
        connection: Connection,
        /// The case's request_ref.
        request_ref: String,
        /// The time to answer for, RFC 3339; default now.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The open cases (overdue or not yet due) at `--as-of`.
    List {
        #[command(flatten)]
        connection: Connection,
        /// The time to answer for, RFC 3339; default now.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The overdue cases at `--as-of` (open, their due day ended in the policy's time zone).
    Overdue {
        #[command(flatten)]
        connection: Connection,
        /// The time to answer for, RFC 3339; default now.
        #[arg(long)]
        as_of: Option<String>,
    },
}

/// Runs a requests command.
pub fn run(args: &RequestsArgs) -> anyhow::Result<()> {
    block_on(run_async(&args.command))
}

/// A state in words.
fn state(case: &pb::RequestCase) -> &'static str {
    match case.state() {
        pb::RequestCaseState::Open => "open",
        pb::RequestCaseState::Overdue => "OVERDUE",
        pb::RequestCaseState::Answered => "answered",
        pb::RequestCaseState::Refused => "refused",
        pb::RequestCaseState::Unspecified => "unknown",
    }
}

/// One line per case: reference, right, received, due, state.
pub fn list_text(cases: &[pb::RequestCase]) -> String {
    let mut out = String::new();
    for case in cases {
        let right = case
            .right()
            .as_str_name()
            .trim_start_matches("DATA_SUBJECT_RIGHT_")
            .to_lowercase();
        let _ = writeln!(
            out,
            "{}\t{right}\treceived {}\tdue {} ({})\t{}",
            case.request_ref,
            case.received_on,
            case.due_on,
            case.time_zone,
            state(case)
        );
    }
    out
}

/// A case as text.
pub fn case_text(case: &pb::RequestCase) -> String {
    let mut out = list_text(std::slice::from_ref(case));
    let _ = writeln!(
        out,
        "channel {}, opened by system {}",
        case.channel, case.system
    );
    let _ = writeln!(out, "original due day {}", case.original_due_on);
    if case.extension_months > 0 {
        let _ = writeln!(
            out,
            "extended by {} month(s){}",
            case.extension_months,
            if case.extension_told_late {
                ", the subject told AFTER the original due day"
            } else {
                ""
            }
        );
    }
    if !case.refusal_ground.is_empty() {
        let _ = writeln!(out, "refused on {}", case.refusal_ground);
    }
    if case.responded_late {
        let _ = writeln!(out, "responded AFTER the due day");
    }
    let _ = writeln!(out, "entries {:?}", case.entry_indexes);
    out
}

async fn run_async(command: &RequestsCommand) -> anyhow::Result<()> {
    let (connection, at, include_open) = match command {
        RequestsCommand::Case {
            connection,
            request_ref,
            as_of: at,
        } => {
            let mut client = connect(connection).await?;
            let case = client
                .get_request_case(pb::GetRequestCaseRequest {
                    request_ref: request_ref.clone(),
                    as_of: as_of(at)?,
                })
                .await
                .map_err(|status| rpc_error("GetRequestCase", status))?
                .into_inner()
                .request_case
                .unwrap_or_default();
            print!("{}", case_text(&case));
            return Ok(());
        }
        RequestsCommand::List {
            connection,
            as_of: at,
        } => (connection, at, true),
        RequestsCommand::Overdue {
            connection,
            as_of: at,
        } => (connection, at, false),
    };
    let mut client = connect(connection).await?;
    let mut after = String::new();
    loop {
        let page = client
            .list_overdue_requests(pb::ListOverdueRequestsRequest {
                as_of: as_of(at)?,
                include_open,
                after: after.clone(),
                limit: 0,
            })
            .await
            .map_err(|status| rpc_error("ListOverdueRequests", status))?
            .into_inner();
        print!("{}", list_text(&page.cases));
        if page.next_after.is_empty() {
            return Ok(());
        }
        after = page.next_after;
    }
}
