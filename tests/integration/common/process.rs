//! The server binary as a child process (`gdpr-ledger serve --config`), for the tests that kill
//! it with SIGKILL: it is started, and its announced address and verifier key read from its
//! standard output.

use std::process::Stdio;
use std::time::Duration;

use gdpr_ledger::core::signature::VerifierKey;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    pub child: Child,
    pub addr: std::net::SocketAddr,
    pub verifier_key: VerifierKey,
}

/// Starts `gdpr-ledger serve --config <config_path>` and waits (at most `wait`) until it has
/// printed its address and verifier key. Panics with its exit status if it ends first.
pub async fn start_server_within(config_path: &std::path::Path, wait: Duration) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"));
    command.arg("serve").arg("--config").arg(config_path);
    start_within(command, wait).await
}

/// [`start_server_within`] for a command of the caller's that ends in running the server.
pub async fn start_within(mut command: Command, wait: Duration) -> ServerProcess {
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    let mut key = None;
    let deadline = tokio::time::Instant::now() + wait;
    while addr.is_none() || key.is_none() {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the server did not announce itself within {wait:?}"))
            .expect("stdout readable");
        let Some(line) = line else {
            let status = child.wait().await.expect("the child exits");
            panic!("the server ended before announcing itself: {status}");
        };
        if let Some(rest) = line.strip_prefix("gdpr-ledger listening on ") {
            addr = Some(rest.trim().parse().expect("socket address"));
        } else if let Some(rest) = line.strip_prefix("verifier key: ") {
            key = Some(VerifierKey::parse(rest.trim()).expect("verifier key"));
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServerProcess {
        child,
        addr: addr.expect("address"),
        verifier_key: key.expect("key"),
    }
}

/// [`start_server_within`] a minute.
pub async fn start_server(config_path: &std::path::Path) -> ServerProcess {
    start_server_within(config_path, Duration::from_secs(60)).await
}

/// The configuration as the TOML file `serve --config` reads.
pub fn toml_of(config: &gdpr_ledger::config::Config) -> String {
    toml::to_string(config).expect("config serialises")
}

/// The environment variable that marks the process [`in_own_process`] starts.
const OWN_PROCESS: &str = "GDPR_LEDGER_TEST_OWN_PROCESS";

/// For a test whose measure is its process's own (peak memory): the integration tests share one
/// binary, so tests beside it would count too. Called first in the test with the test's path in
/// this binary (`module::name`); returns true in the process where the body is to run. In the
/// harness's process it runs this binary again with that one test, waits for it and panics with
/// its output if it failed, then returns false.
pub fn in_own_process(test: &str) -> bool {
    if std::env::var_os(OWN_PROCESS).is_some() {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS, "1")
        .output()
        .expect("the test binary runs again");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Indented, so that its summary line is never read as this binary's.
    let indented: String = text.lines().map(|line| format!("    {line}\n")).collect();
    assert!(
        output.status.success(),
        "{test} in a process of its own: {}\n{indented}",
        output.status
    );
    // The harness ran exactly this test (a filter that names no test passes too).
    assert!(
        text.contains("test result: ok. 1 passed;"),
        "{test} did not run in a process of its own:\n{indented}"
    );
    println!("{test} in a process of its own:\n{indented}");
    false
}
