//! The server's peak resident memory per hostile request (issue 13): the largest bodies an
//! attacker may send, built to blow up when decoded, with and without a token.
//!
//!     cargo bench --bench hostile_bodies
//!
//! The ledger runs in this process on 127.0.0.1 (RocksDB in a temp dir). Before each request its
//! body is built, then the peak resident memory is reset (`/proc/self/clear_refs`, 5) and the
//! request sent; the table shows how far the peak rose over the resident memory at the reset,
//! against the body's size.

use std::time::{Duration, Instant};

use gdpr_ledger::config::{Config, MetricsListen};
use gdpr_ledger::service::auth::{Role, TokenConfig, token_digest};

const TOKEN: &str = "bench-producer-token";
const APPEND_BATCH: &str = "/gdpr_ledger.v1.Ledger/AppendBatch";

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// A length-delimited protobuf field.
fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// The hostile bodies: (name, token?, body).
fn bodies() -> Vec<(&'static str, bool, Vec<u8>)> {
    let empty = [0x0a, 0x00];
    // One event whose data_categories hold 1,024 strings of 60 bytes (just under 64 KiB), as
    // many as fit in 4 MiB: the largest lists the wire bounds let through to decoding.
    let term = field(5, &[b'x'; 60]);
    let event = term.repeat(1024);
    let submission = field(1, &event);
    let long_lists = field(1, &submission).repeat(63);
    // 100,000 levels of nesting inside an unknown field.
    let mut nested = Vec::new();
    for _ in 0..100_000 {
        nested = field(99, &nested);
    }
    vec![
        (
            "8M empty submissions (16 MB)",
            false,
            empty.repeat(8_000_000),
        ),
        (
            "8M empty submissions (16 MB)",
            true,
            empty.repeat(8_000_000),
        ),
        ("2M empty submissions (4 MB)", true, empty.repeat(2_000_000)),
        ("10,000 empty submissions", true, empty.repeat(10_000)),
        ("63 submissions of 1,024 terms", true, long_lists),
        ("100,000 nested unknown fields", true, nested),
    ]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let dirs = tempfile::tempdir().expect("a temp dir");
    let config = Config {
        origin: "bench.example/hostile".into(),
        data_dir: dirs.path().join("data"),
        secrets_dir: dirs.path().join("secrets"),
        listen: "127.0.0.1:0".parse().expect("loopback"),
        metrics_listen: MetricsListen::Off,
        tokens: vec![TokenConfig {
            identity: "crm".into(),
            role: Role::Producer,
            token_sha256: Some(hex::encode(token_digest(TOKEN))),
            token_file: None,
            systems: None,
        }],
        ..Config::default()
    };
    let server = gdpr_ledger::server::start(config)
        .await
        .expect("the ledger starts");
    let address = format!("http://{}", server.local_addr);
    println!(
        "{:<32} {:>6} {:>12} {:>10} {:>13} {:>8}  status",
        "body", "token", "body bytes", "time ms", "peak +KiB", "x body"
    );
    for (name, with_token, body) in bodies() {
        let channel = tonic::transport::Channel::from_shared(address.clone())
            .expect("uri")
            .connect()
            .await
            .expect("connects");
        let size = body.len();
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let resident = status_kib("VmRSS:");
        let started = Instant::now();
        let token = with_token.then_some(TOKEN);
        let outcome = gdpr_ledger::client::raw_unary(channel, APPEND_BATCH, token, body).await;
        let elapsed = started.elapsed();
        let peak = status_kib("VmHWM:").saturating_sub(resident);
        let status = match outcome {
            Ok(_) => "OK".to_owned(),
            Err(status) => format!("{:?}: {}", status.code(), status.message()),
        };
        let status: String = status.chars().take(70).collect();
        println!(
            "{name:<32} {:>6} {size:>12} {:>10.1} {peak:>13} {:>8.2}  {status}",
            if with_token { "yes" } else { "no" },
            elapsed.as_secs_f64() * 1000.0,
            (peak * 1024) as f64 / size as f64,
        );
    }
    println!(
        "(peak +KiB includes the client's own copy of the body in this process, sent through gRPC)"
    );
    server.shutdown().await.expect("stops");
}
