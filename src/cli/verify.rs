//! `gdpr-ledger verify`: offline verification of a proof bundle or a signed checkpoint.
//!
//! The input is a JSON proof bundle (SPEC.md section 7) when its first non-blank character is
//! `{` (a lifecycle bundle, `docs/subject-index.md` section 10, when it has a `subject_proof`),
//! and a signed checkpoint note (section 5) otherwise. The verdict goes to standard output in
//! plain words. Exit status: 0 when everything verifies, 1 when a check fails, 2 when the command
//! cannot run (bad arguments, unreadable files, malformed keys).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use gdpr_ledger::core::bundle::{VerifiedBundle, VerifiedEntry, verify_bundle_json};
use gdpr_ledger::core::checkpoint::{Checkpoint, VerifiedCheckpoint};
use gdpr_ledger::core::checks::Check;
use gdpr_ledger::core::lifecycle::{TimelineRow, VerifiedLifecycle, verify_lifecycle_json};
use gdpr_ledger::core::signature::VerifierKey;

/// Exit status when a verification check fails.
const EXIT_NOT_VERIFIED: u8 = 1;

/// Arguments of `gdpr-ledger verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Verifier key (`<origin>+<key id>+<key>`), or a file holding one per line. Repeat for
    /// several keys (key rotation).
    #[arg(long = "key", required = true)]
    pub keys: Vec<String>,
    /// A JSON proof bundle (SPEC.md section 7) or a signed checkpoint note; `-` for standard input.
    pub input: String,
}

/// Runs the verification and reports in plain words; exit status 0 only when everything verifies.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let keys = load_keys(&args.keys)?;
    let input = read_input(&args.input)?;
    let verdict = if looks_like_json(&input) {
        std::str::from_utf8(&input)
            .map_err(|e| Failure {
                message: format!("the bundle is not UTF-8 (at byte {})", e.valid_up_to()),
                code: Check::JsonSyntax.code(),
            })
            .and_then(|text| {
                if is_lifecycle_bundle(text) {
                    verify_lifecycle_json(text, &keys)
                        .map(|verified| describe_lifecycle(&verified))
                        .map_err(|e| Failure::new(&e, e.code()))
                } else {
                    verify_bundle_json(text, &keys)
                        .map(|verified| describe_bundle(&verified))
                        .map_err(|e| Failure::new(&e, e.code()))
                }
            })
    } else {
        Checkpoint::open(&input, &keys)
            .map(|verified| {
                let mut report = String::from("VERIFIED: the checkpoint is signed by the log.\n");
                describe_checkpoint(&mut report, &verified, "  ");
                report
            })
            .map_err(|e| Failure::new(&e, e.code()))
    };
    match verdict {
        Ok(report) => {
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            // The code names the check of docs/SPEC.md section 9 (or docs/subject-index.md
            // section 11), the one the independent verifier in web/ reports too.
            println!("NOT VERIFIED: {} [{}]", failure.message, failure.code);
            Ok(ExitCode::from(EXIT_NOT_VERIFIED))
        }
    }
}

/// A failed check: what failed, in words, and the check's stable code.
struct Failure {
    message: String,
    code: &'static str,
}

impl Failure {
    fn new(error: &dyn std::fmt::Display, code: &'static str) -> Self {
        Self {
            message: error.to_string(),
            code,
        }
    }
}

/// Each `--key` is a verifier key, or else a file of keys, one per line (blank lines and lines
/// starting with `#` are skipped).
pub(crate) fn load_keys(arguments: &[String]) -> anyhow::Result<Vec<VerifierKey>> {
    let mut keys = Vec::new();
    for argument in arguments {
        let as_key_error = match VerifierKey::parse(argument) {
            Ok(key) => {
                keys.push(key);
                continue;
            }
            Err(e) => e,
        };
        if !Path::new(argument).is_file() {
            bail!("--key {argument:?} is neither a verifier key ({as_key_error}) nor a file");
        }
        let text = std::fs::read_to_string(argument)
            .with_context(|| format!("reading key file {argument}"))?;
        let before = keys.len();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = VerifierKey::parse(line)
                .with_context(|| format!("{argument}, line {}: not a verifier key", number + 1))?;
            keys.push(key);
        }
        if keys.len() == before {
            bail!("key file {argument} holds no verifier key");
        }
    }
    Ok(keys)
}

/// The bytes of the input file, or of standard input for `-`.
fn read_input(input: &str) -> anyhow::Result<Vec<u8>> {
    if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(input).with_context(|| format!("reading {input}"))
    }
}

/// A bundle is a JSON object; a note starts with its origin, which holds no white space.
fn looks_like_json(input: &[u8]) -> bool {
    input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A lifecycle bundle is the JSON object with a top-level `subject_proof`.
fn is_lifecycle_bundle(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|value| value.get("subject_proof").is_some())
}

fn describe_lifecycle(verified: &VerifiedLifecycle) -> String {
    let size = verified.checkpoint.checkpoint.size;
    let mut report = String::new();
    match &verified.head {
        None => {
            let _ = writeln!(
                report,
                "VERIFIED: subject token {} has no entry in the log's tree of size {size} (proof of absence).",
                verified.token
            );
        }
        Some(head) => {
            let _ = writeln!(
                report,
                "VERIFIED: the complete lifecycle of subject token {}: all {} of its entries in the log's tree of size {size},                  the latest at index {}; each is signed by the log and included in the tree, and none was left out.",
                verified.token, head.count, head.last_index
            );
        }
    }
    report.push_str("Checkpoint:\n");
    describe_checkpoint(&mut report, &verified.checkpoint, "  ");
    if !verified.entries.is_empty() {
        report.push_str("Timeline (oldest first):\n");
        for row in TimelineRow::all(verified) {
            let _ = writeln!(report, "  {row}");
        }
    }
    if verified.details_erased {
        report.push_str(
            "Erased: the server states that this subject was erased: its details and identifiers \
             were destroyed (crypto-shredding). The entries above are unchanged and still prove \
             what happened; they commit to the details only by digest.\n",
        );
    }
    report.push_str(
        "Note: completeness is proved for the token; which person a token stands for comes from the \
         server's subject directory, which is not authenticated (it must stay deletable).\n",
    );
    report
}

fn describe_bundle(verified: &VerifiedBundle) -> String {
    let mut report = String::from("VERIFIED: every check of the proof bundle passed.\n");
    report.push_str("Checkpoint:\n");
    describe_checkpoint(&mut report, &verified.checkpoint, "  ");
    let size = verified.checkpoint.checkpoint.size;
    let _ = writeln!(
        report,
        "Entries: {} proved to be in this tree of {size}, each signed by the log:",
        verified.entries.len()
    );
    for entry in &verified.entries {
        describe_entry(&mut report, entry);
    }
    if let Some(earlier) = &verified.consistent_with {
        let _ = writeln!(
            report,
            "Consistency: the earlier tree of size {} (root {}) is a prefix of this tree of size {size}: nothing in it was changed or removed.",
            earlier.checkpoint.size, earlier.checkpoint.root
        );
        report.push_str("Earlier checkpoint:\n");
        describe_checkpoint(&mut report, earlier, "  ");
    }
    report
}

fn describe_checkpoint(report: &mut String, verified: &VerifiedCheckpoint, indent: &str) {
    let checkpoint = &verified.checkpoint;
    let _ = writeln!(report, "{indent}origin:    {}", checkpoint.origin);
    let _ = writeln!(report, "{indent}tree size: {}", checkpoint.size);
    let _ = writeln!(report, "{indent}root hash: {}", checkpoint.root);
    for key in &verified.log_keys {
        let _ = writeln!(
            report,
            "{indent}signed by: {} (key ID {})",
            key.name(),
            key.key_id()
        );
    }
    for key in &verified.cosigners {
        let _ = writeln!(
            report,
            "{indent}cosigned by known key: {} (key ID {})",
            key.name(),
            key.key_id()
        );
    }
    for unknown in &verified.unknown {
        let _ = writeln!(
            report,
            "{indent}ignored signature by unknown key: {} (key ID {})",
            unknown.name, unknown.key_id
        );
    }
    for line in &checkpoint.extensions {
        let _ = writeln!(report, "{indent}extension: {line}");
    }
}

fn describe_entry(report: &mut String, verified: &VerifiedEntry) {
    let entry = &verified.entry;
    let received = entry
        .received_at()
        .map_or_else(|| "unknown".to_owned(), ToString::to_string);
    let kind = entry
        .event_kind()
        .map_or_else(|| "unknown kind".to_owned(), |k| k.as_str_name().to_owned());
    let event_id = entry
        .entry()
        .event
        .as_ref()
        .map_or("", |event| event.event_id.as_str());
    let subject = entry
        .subject_token()
        .map_or_else(|| "none".to_owned(), |token| token.to_hex());
    let _ = writeln!(
        report,
        "  index {}: {kind}, event id {event_id:?}, producer {:?}, received {received}, subject {subject}, signed by key ID {}",
        entry.index(),
        entry.producer(),
        verified.signed_by
    );
}
