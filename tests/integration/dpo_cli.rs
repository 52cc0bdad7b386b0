//! The README's worked example, as a newcomer runs it: `gdpr-ledger serve` started as a process
//! (configured through `GDPR_LEDGER_CONFIG`, with `GDPR_LEDGER_TOKEN` exported as a client's shell
//! has it), then the command line against it by host name, with the development admin token read
//! from `secrets/dev-admin-token`: append, verify, lifecycle, breach report, subject access,
//! identifiers, consent gaps, erasure open, status, list, close. The commands here are the
//! README's (section "A worked example"), so that it cannot rot unnoticed.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gdpr-ledger");

/// A `gdpr-ledger serve` process, killed when dropped.
struct Serve {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// Starts `serve` in a fresh directory with its configuration file named by
    /// `GDPR_LEDGER_CONFIG` and a client token exported, as issue 16 found them.
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("ledger.toml"),
            "data_dir = \"data\"\nsecrets_dir = \"secrets\"\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n",
        )
        .expect("config written");
        let mut child = Command::new(BIN)
            .arg("serve")
            .current_dir(dir.path())
            .env("GDPR_LEDGER_CONFIG", "ledger.toml")
            .env("GDPR_LEDGER_TOKEN", "a-token-exported-for-the-clients")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut port = None;
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("gdpr-ledger listening on ") {
                let addr: std::net::SocketAddr = addr.parse().expect("a socket address");
                port = Some(addr.port());
            }
            let done = line.starts_with("no tokens configured");
            seen.push(line);
            if done {
                break;
            }
        }
        let Some(port) = port else {
            let _ = child.kill();
            let output = child.wait_with_output().expect("serve's output");
            panic!(
                "serve did not start: {seen:?}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        // Keep reading its standard output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve { child, port, dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `--server localhost:PORT`: a host name, resolved.
    fn server(&self) -> String {
        format!("localhost:{}", self.port)
    }

    fn dev_token(&self) -> String {
        std::fs::read_to_string(self.path().join("secrets/dev-admin-token"))
            .expect("the development admin token")
            .trim()
            .to_owned()
    }
}

struct Output {
    ok: bool,
    /// The exit code (`None`: ended by a signal).
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir`, with `token` as `GDPR_LEDGER_TOKEN` (as the README exports it) or
/// none.
fn gl_as(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir);
    match token {
        Some(token) => command.env("GDPR_LEDGER_TOKEN", token),
        None => command.env_remove("GDPR_LEDGER_TOKEN"),
    };
    let output = command.output().expect("the binary runs");
    Output {
        ok: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the binary in `dir` with no token in its environment.
fn gl(dir: &Path, args: &[&str]) -> Output {
    gl_as(dir, None, args)
}

fn ok_as(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let output = gl_as(dir, token, args);
    assert!(
        output.ok,
        "{args:?} failed:\n{}\n{}",
        output.stdout, output.stderr
    );
    output
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    ok_as(dir, None, args)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn the_readme_worked_example_runs_through_the_command_line() {
    let serve = Serve::start();
    let dir = serve.path().to_path_buf();
    let server = serve.server();
    let token = serve.dev_token();
    // The README exports the development admin token as GDPR_LEDGER_TOKEN.
    let connection = ["--server", server.as_str()];
    let with = |command: &[&str], rest: &[&str]| -> Vec<String> {
        command
            .iter()
            .chain(connection.iter())
            .chain(rest.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok_as(&dir, Some(&token), &args)
    };

    // Append (README), asking for the proof bundle.
    let appended = run(with(
        &["append"],
        &[
            "--kind",
            "collection",
            "--event-id",
            "crm-2026-000001",
            "--occurred-at",
            "2026-11-23T09:00:00Z",
            "--system",
            "crm",
            "--subject",
            "email:jane.doe@example.com",
            "--category",
            "pd:EmailAddress",
            "--category",
            "pd:Name",
            "--purpose",
            "dpv:CustomerRelationshipManagement",
            "--legal-basis",
            "eu-gdpr:A6-1-b",
            "--collection-channel",
            "web-form",
            "--bundle",
            "bundle.json",
        ],
    ));
    assert!(
        appended.stdout.starts_with("appended: entry 0\n"),
        "{}",
        appended.stdout
    );

    // Verify offline against the key file the server wrote.
    let verified = ok(
        &dir,
        &["verify", "--key", "secrets/verifier-key", "bundle.json"],
    );
    assert!(verified.stdout.contains("VERIFIED"), "{}", verified.stdout);

    // The subject's lifecycle, by the same identifier, verified.
    run(with(
        &["lifecycle"],
        &["--subject", "email:jane.doe@example.com", "-o", "jane.json"],
    ));
    let lifecycle = ok(
        &dir,
        &["verify", "--key", "secrets/verifier-key", "jane.json"],
    );
    assert!(
        lifecycle.stdout.contains("VERIFIED"),
        "{}",
        lifecycle.stdout
    );

    // A breach investigation over a window that holds the event: one record, one subject.
    let breach = run(with(
        &["report", "breach"],
        &[
            "--system",
            "crm",
            "--from",
            "2026-11-01T00:00:00Z",
            "--to",
            "2026-12-01T00:00:00Z",
            "--format",
            "json",
        ],
    ));
    let finding = json(&breach.stdout);
    assert_eq!(finding["summary"]["records"], 1, "{finding:#}");
    assert_eq!(finding["summary"]["subjects"], 1, "{finding:#}");
    let token_hex = finding["entries"][0]["subject_token"]
        .as_str()
        .expect("the entry names its subject token")
        .to_owned();
    assert_eq!(token_hex.len(), 64);
    let text = run(with(
        &["report", "breach"],
        &[
            "--system",
            "crm",
            "--from",
            "2026-11-01T00:00:00Z",
            "--to",
            "2026-12-01T00:00:00Z",
        ],
    ));
    assert!(
        text.stderr.contains("1 records of 1 subjects"),
        "{}",
        text.stderr
    );

    let csv = run(with(
        &["report", "breach"],
        &[
            "--system",
            "crm",
            "--from",
            "2026-11-01T00:00:00Z",
            "--to",
            "2026-12-01T00:00:00Z",
            "--format",
            "csv",
        ],
    ));
    let rows: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", csv.stdout);
    assert!(
        rows[1].starts_with(&format!("0,{token_hex},collection,")),
        "{}",
        csv.stdout
    );
    let processing = run(with(&["report", "processing"], &[]));
    assert!(processing.stdout.contains("crm"), "{}", processing.stdout);
    // The replay of the data dir the server is writing.
    let audited = ok(
        &dir,
        &[
            "audit",
            "--data-dir",
            "data",
            "--key",
            "secrets/verifier-key",
        ],
    );
    assert!(audited.stdout.starts_with("AUDITED"), "{}", audited.stdout);

    // Subject access, by the same identifier.
    let access = run(with(
        &["report", "subject"],
        &[
            "--subject",
            "email:jane.doe@example.com",
            "--format",
            "json",
        ],
    ));
    assert!(access.stdout.contains("crm-2026-000001") || access.stdout.contains("crm"));

    // Article 34: the person behind the token.
    let identifiers = run(with(&["identifiers"], &["--subject-token", &token_hex]));
    assert!(
        identifiers
            .stdout
            .contains("  email:jane.doe@example.com\n"),
        "{}",
        identifiers.stdout
    );

    // Consent: a collection on consent with no consent is a gap.
    let warned = run(with(
        &["append"],
        &[
            "--kind",
            "collection",
            "--event-id",
            "crm-2026-000002",
            "--occurred-at",
            "2026-11-24T09:00:00Z",
            "--system",
            "crm",
            "--subject",
            "email:jane.doe@example.com",
            "--category",
            "pd:EmailAddress",
            "--purpose",
            "dpv:DirectMarketing",
            "--legal-basis",
            "eu-gdpr:A6-1-a",
            "--collection-channel",
            "web-form",
        ],
    ));
    assert!(
        warned.stdout.contains("consent warning: "),
        "{}",
        warned.stdout
    );
    // The reads above were logged as access entries: the index is the receipt's.
    let second: u64 = warned
        .stdout
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("appended: entry "))
        .and_then(|index| index.parse().ok())
        .unwrap_or_else(|| panic!("no index in {}", warned.stdout));
    let gaps = run(with(&["consent", "gaps"], &[]));
    assert!(
        gaps.stdout.starts_with(&format!(
            "entry {second} (collection, 2026-11-24T09:00:00Z, system crm, subject {token_hex}): "
        )),
        "{}",
        gaps.stdout
    );
    assert!(
        gaps.stdout
            .ends_with("1 processing entries without a valid consent at the time\n"),
        "{}",
        gaps.stdout
    );
    let gaps = run(with(&["consent", "gaps"], &["--system", "billing"]));
    assert!(
        gaps.stdout.starts_with("0 processing entries"),
        "{}",
        gaps.stdout
    );
    // For the log as received by a time: nothing then; everything by a time still to come.
    let gaps = run(with(
        &["consent", "gaps"],
        &["--as-of", "2000-01-01T00:00:00Z"],
    ));
    assert!(
        gaps.stdout.starts_with("0 processing entries"),
        "{}",
        gaps.stdout
    );
    let gaps = run(with(
        &["consent", "gaps"],
        &["--as-of", "2100-01-01T00:00:00Z"],
    ));
    assert!(
        gaps.stdout.starts_with(&format!("entry {second} ")),
        "{}",
        gaps.stdout
    );

    // Erasure (article 17): open, status, list, close.
    let opened = run(with(
        &["erasure", "open"],
        &[
            "--subject",
            "email:jane.doe@example.com",
            "--system",
            "privacy-portal",
        ],
    ));
    assert!(
        opened
            .stdout
            .contains(&format!("subject {token_hex}\n  state: open; ")),
        "{}",
        opened.stdout
    );
    assert!(
        opened.stdout.contains("holders: 1 (1 pending)"),
        "{}",
        opened.stdout
    );
    assert!(
        opened.stdout.contains(&format!(
            "    crm (system): entries 0 to {second}; no answer - PENDING"
        )),
        "{}",
        opened.stdout
    );
    let status = run(with(
        &["erasure", "status"],
        &[
            "--subject",
            "email:jane.doe@example.com",
            "--format",
            "json",
        ],
    ));
    let status = json(&status.stdout);
    assert_eq!(status["state"], "open", "{status:#}");
    assert_eq!(status["token"], token_hex.as_str());
    assert_eq!(status["pending"], 1);
    assert_eq!(status["holders"][0]["name"], "crm");
    assert_eq!(status["holders"][0]["pending"], true);
    let list = run(with(&["erasure", "list"], &["--format", "json"]));
    let list = json(&list.stdout);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(list[0]["token"], token_hex.as_str());
    let list = run(with(&["erasure", "list"], &[]));
    assert!(
        list.stdout
            .starts_with("1 open erasure cases, oldest first\n"),
        "{}",
        list.stdout
    );
    // The identifiers went with the key.
    let identifiers = run(with(&["identifiers"], &["--subject-token", &token_hex]));
    assert!(
        identifiers.stdout.contains("erased"),
        "{}",
        identifiers.stdout
    );
    let closed = run(with(
        &["erasure", "close"],
        &[
            "--subject-token",
            &token_hex,
            "--reason",
            "crm confirmed by letter",
            "--format",
            "json",
        ],
    ));
    let closed = json(&closed.stdout);
    assert_eq!(closed["state"], "closed", "{closed:#}");
    assert_eq!(closed["close_reason"], "crm confirmed by letter");
    let list = run(with(&["erasure", "list"], &[]));
    assert_eq!(list.stdout, "no open erasure cases\n");
}

#[test]
fn refusals_show_the_status_code_the_message_and_the_field() {
    let serve = Serve::start();
    let dir = serve.path().to_path_buf();
    let server = serve.server();
    let token = serve.dev_token();
    let refused = gl(
        &dir,
        &[
            "append",
            "--server",
            &server,
            "--token",
            &token,
            "--kind",
            "collection",
            "--event-id",
            "crm-1",
            "--system",
            "crm",
            "--subject",
            "email:jane.doe@example.com",
            "--category",
            "not a curie",
            "--purpose",
            "dpv:CustomerRelationshipManagement",
            "--legal-basis",
            "eu-gdpr:A6-1-b",
            "--collection-channel",
            "web-form",
        ],
    );
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .starts_with("error: Append: InvalidArgument: submission.event.data_categories[0]: "),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("\n  field submission.event.data_categories[0]: "),
        "{}",
        refused.stderr
    );

    // No case to close: FAILED_PRECONDITION, with the server's message.
    let no_case = gl(
        &dir,
        &[
            "erasure",
            "close",
            "--server",
            &server,
            "--token",
            &token,
            "--subject-token",
            &"ab".repeat(32),
            "--reason",
            "test",
        ],
    );
    assert!(!no_case.ok);
    assert!(
        no_case.stderr.starts_with("error: CloseErasure: "),
        "{}",
        no_case.stderr
    );

    // A wrong token: UNAUTHENTICATED, named.
    let stranger = gl(
        &dir,
        &[
            "erasure",
            "list",
            "--server",
            &server,
            "--token",
            "not-a-token",
        ],
    );
    assert!(!stranger.ok);
    assert!(
        stranger
            .stderr
            .starts_with("error: ListOpenErasures: Unauthenticated: "),
        "{}",
        stranger.stderr
    );

    // --server as a URL, plaintext: the same server.
    let url = format!("http://localhost:{}/", serve.port);
    let listed = gl(
        &dir,
        &["erasure", "list", "--server", &url, "--token", &token],
    );
    assert!(listed.ok, "{}", listed.stderr);
    assert_eq!(listed.stdout, "no open erasure cases\n");
    // Anything else is refused naming the flag.
    let bad = gl(
        &dir,
        &[
            "erasure",
            "list",
            "--server",
            "grpc://localhost:1",
            "--token",
            &token,
        ],
    );
    assert!(!bad.ok);
    assert!(bad.stderr.contains("--server"), "{}", bad.stderr);
    assert!(bad.stderr.contains("https://host[:port]"), "{}", bad.stderr);
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = std::env::temp_dir();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = ok(&dir, &["completions", shell]);
        for command in ["erasure", "consent", "identifiers", "append", "report"] {
            assert!(
                output.stdout.contains(command),
                "{shell}: {command} missing"
            );
        }
    }
    let unknown = gl(&dir, &["completions", "tcsh"]);
    assert!(!unknown.ok);
}

/// The `gdpr-ledger` commands of the README's worked example (its indented code blocks, from
/// "## A worked example" to the next top-level section), continuation lines joined, in order.
/// Commands with a placeholder (`<...>` or an optional `[...]`) are left out.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## A worked example")
        .expect("the worked example");
    let section = &readme[start..];
    let end = section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3);
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in section[..end].lines() {
        let Some(code) = line.strip_prefix("    ") else {
            continue;
        };
        let code = code.trim();
        let (part, continued) = match code.strip_suffix('\\') {
            Some(part) => (part.trim(), true),
            None => (code, false),
        };
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(part);
        if !continued {
            let command = std::mem::take(&mut current);
            if command.starts_with("gdpr-ledger ")
                && !command.contains('<')
                && !command.contains('[')
            {
                commands.push(command);
            }
        }
    }
    commands
}

#[test]
fn the_readme_commands_run_as_written() {
    let commands = readme_commands();
    // The worked example's steps are all there (a renamed command would drop out here).
    for step in [
        "gdpr-ledger append ",
        "gdpr-ledger verify ",
        "gdpr-ledger lifecycle ",
        "gdpr-ledger report breach ",
        "gdpr-ledger report subject ",
        "gdpr-ledger erasure open ",
        "gdpr-ledger erasure status ",
        "gdpr-ledger erasure close ",
    ] {
        assert!(
            commands.iter().any(|c| c.starts_with(step)),
            "the README has no `{step}...`: {commands:#?}"
        );
    }
    eprintln!("the README's commands:\n{}", commands.join("\n"));
    let serve = Serve::start();
    // As the README has it: the binary under its name, the development admin token exported.
    let mut script = format!(
        "set -euo pipefail\ngdpr-ledger() {{ '{BIN}' \"$@\"; }}\nexport GDPR_LEDGER_TOKEN=\"$(cat secrets/dev-admin-token)\"\n"
    );
    for command in &commands {
        let command = command.replace("localhost:50051", &serve.server());
        script.push_str(&format!(
            "echo '$ {}'\n{command}\n",
            command.replace('\'', "")
        ));
    }
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(serve.path())
        .env_remove("GDPR_LEDGER_TOKEN")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("appended: entry 0\n"), "{stdout}");
    assert_eq!(stdout.matches("VERIFIED").count(), 2, "{stdout}");
    assert_eq!(
        stderr.matches("1 records of 1 subjects").count(),
        2,
        "both breach reports find the event: {stderr}"
    );
    // The CSV of the windowed one holds the entry.
    assert!(stdout.contains("\n0,"), "{stdout}");
    assert!(stdout.contains("  state: open; "), "{stdout}");
    assert!(stdout.contains("  state: closed; "), "{stdout}");
}

/// `gdpr-ledger` with `args`, against a port where nothing listens, with no token exported.
fn offline(args: &[&str]) -> Output {
    let mut args = args.to_vec();
    args.extend(["--server", "127.0.0.1:1", "--token", "t"]);
    gl(&std::env::temp_dir(), &args)
}

/// Subjects are `kind:value` (the value may hold colons) and tokens 64 hex digits; anything else
/// is refused by the argument parser with the form to use, before any connection.
#[test]
fn subjects_are_kind_colon_value_and_tokens_64_hex_digits() {
    for bad in ["jane.doe@example.com", ":x", "email:"] {
        let refused = offline(&["erasure", "open", "--subject", bad]);
        assert_eq!(refused.code, Some(2), "{bad}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("invalid value"),
            "{bad}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("write it as kind:value"),
            "{}",
            refused.stderr
        );
    }
    // Parsed, so the command goes on to connect, and fails there instead.
    for good in ["email:jane.doe@example.com", "urn:x:y"] {
        let stderr = offline(&["erasure", "open", "--subject", good]).stderr;
        assert!(
            stderr.contains("cannot connect to 127.0.0.1:1"),
            "{good}: {stderr}"
        );
    }
    for bad in ["ab".repeat(31), "zz".repeat(32), "ab".repeat(33)] {
        let refused = offline(&["identifiers", "--subject-token", &bad]);
        assert_eq!(refused.code, Some(2), "{bad}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("a subject token is 64 hex digits"),
            "{}",
            refused.stderr
        );
    }
    let stderr = offline(&["identifiers", "--subject-token", &"ab".repeat(32)]).stderr;
    assert!(stderr.contains("cannot connect to 127.0.0.1:1"), "{stderr}");
}

/// `gdpr-ledger bench` runs each cell of its matrix on a runtime of its own (one client on a
/// current-thread runtime, several on a multi-threaded one), reports a row per cell without
/// errors, and the server's own count of what it appended.
#[test]
fn the_load_generator_runs_its_matrix_and_reports_the_servers_count() {
    let serve = Serve::start();
    let addr = format!("127.0.0.1:{}", serve.port);
    let output = ok_as(
        serve.path(),
        Some(&serve.dev_token()),
        &[
            "bench",
            "--addr",
            &addr,
            "--seconds",
            "1",
            "--clients",
            "1,3",
            "--batch",
            "1,4",
        ],
    );
    let rows: Vec<Vec<&str>> = output
        .stdout
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().collect())
        .collect();
    let cells: Vec<(&str, &str)> = rows.iter().map(|row| (row[0], row[1])).collect();
    assert_eq!(
        cells,
        [("1", "1"), ("3", "1"), ("1", "4"), ("3", "4")],
        "{}",
        output.stdout
    );
    for row in &rows {
        let rate: f64 = row[2].parse().expect("appends/s");
        assert!(rate > 0.0, "{}", output.stdout);
        assert_eq!(row[6], "0", "errors: {}", output.stdout);
    }
    let counted = output
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("server: tree size "))
        .and_then(|rest| rest.split(',').next())
        .and_then(|size| size.parse::<u64>().ok())
        .expect("the server's count");
    assert!(counted > 0, "{}", output.stdout);
}
