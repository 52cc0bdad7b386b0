//! `web/bin/monitor.js` (the JavaScript log monitor) against a real server: RocksDB in a temp
//! dir, gRPC and the metrics listener (with /checkpoint and /consistency) on 127.0.0.1. The
//! monitor runs as a cron job would, `node web/bin/monitor.js --url --key --state`, and must
//! accept a growing log and refuse a bad signature, an origin change, a rollback and a state
//! whose root the log never had, leaving the state as it was.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{TestLedger, append_collections, repository_root};
use gdpr_ledger::core::signature::LogSigner;
use serde_json::Value;

/// Runs the monitor: its exit code, stdout and stderr.
fn monitor(url: &str, key: &str, state: &Path) -> (i32, String, String) {
    let web = repository_root().join("web");
    assert!(
        web.join("node_modules/@noble").is_dir(),
        "web/node_modules is missing: run (cd web && npm ci)"
    );
    let out = Command::new("node")
        .arg(web.join("bin/monitor.js"))
        .args(["--url", url, "--key", key, "--state"])
        .arg(state)
        .output()
        .expect("node runs (Node 18 or later is needed for web/)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("state")).expect("JSON")
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, value.to_string()).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_follows_a_growing_log_and_refuses_what_it_must() {
    let ledger = TestLedger::start().await;
    let url = format!("http://{}", ledger.metrics_addr());
    let key = ledger.verifier_key();
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("verifier-key");
    std::fs::write(&key_file, format!("{key}\n")).expect("write");
    let key_file = key_file.to_str().expect("UTF-8 path").to_owned();
    let state = dir.path().join("state.json");

    append_collections(&ledger, "m", 0..3).await;
    let (code, out, err) = monitor(&url, &key_file, &state);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("first checkpoint of"), "{out}");
    let first = read(&state);
    assert_eq!(first["size"], ledger.tree_size().await);
    assert_eq!(first["origin"], key.name());

    append_collections(&ledger, "m", 3..8).await;
    // the key given as text this time
    let (code, out, err) = monitor(&url, &key.to_string(), &state);
    assert_eq!(code, 0, "{out}{err}");
    let size = ledger.tree_size().await;
    assert_eq!(
        out.trim(),
        format!(
            "consistent: {} grew from size {} to {size}",
            key.name(),
            first["size"]
        )
    );
    assert_eq!(read(&state)["size"], size);
    let (code, out, err) = monitor(&url, &key_file, &state);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("unchanged"), "{out}");

    // Each refusal: its exit code and message, and the state left as it was.
    let refused = |state_value: &Value, key: &str, status: i32, says: &str| {
        write(&state, state_value);
        let before = std::fs::read(&state).expect("state");
        let (code, out, err) = monitor(&url, key, &state);
        assert_eq!(code, status, "{says}: {out}{err}");
        assert!(err.contains(says), "{says}: {err}");
        assert_eq!(
            std::fs::read(&state).expect("state"),
            before,
            "{says}: state kept"
        );
    };
    // an earlier state whose root the log never had: the proof does not lead to it
    let mut altered = first.clone();
    let root = altered["root"].as_str().expect("root").to_owned();
    let flipped = if root.starts_with('A') { "B" } else { "A" };
    altered["root"] = Value::String(format!("{flipped}{}", &root[1..]));
    refused(&altered, &key_file, 5, "inconsistent: the tree of size");
    // a saved checkpoint larger than the log's: a rollback
    let mut ahead = first.clone();
    ahead["size"] = Value::from(size + 10);
    refused(&ahead, &key_file, 4, "rollback:");
    // another origin saved
    let mut other = first.clone();
    other["origin"] = Value::String("other.example/log".into());
    refused(&other, &key_file, 3, "origin changed:");
    // a key of the same name that did not sign: the checkpoint does not open
    let stranger = LogSigner::from_seed(key.name(), &[4; 32])
        .expect("a key")
        .verifier_key()
        .to_string();
    refused(&first, &stranger, 2, "does not open with the verifier key");
}
