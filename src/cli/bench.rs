//! `gdpr-ledger bench`: the load generator. Drives a running server over gRPC with N concurrent
//! clients, unary or batched, for a fixed time, and reports durable appends per second and the
//! acknowledgement latency (p50, p99, max), then the server's own counters and RocksDB's
//! statistics. Every acknowledgement it counts is a durable, signed entry.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use gdpr_ledger::client::AuthenticatedClient;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::EventKind;
use gdpr_ledger::validation::example_submission;
use hdrhistogram::Histogram;
use tonic::transport::Channel;

/// Arguments of `gdpr-ledger bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The server (loopback only).
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// A bearer token with the producer or admin role (not needed with a mapped client
    /// certificate).
    #[arg(long, env = "GDPR_LEDGER_TOKEN")]
    pub token: Option<String>,
    /// Concurrent clients, e.g. `1,16,64`: one run per value.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub clients: Vec<usize>,
    /// Events per request: 1 means unary `Append`, more means `AppendBatch`. One run per value.
    #[arg(long, value_delimiter = ',', default_value = "1,100")]
    pub batch: Vec<usize>,
    /// How long each run lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Distinct data subjects the events are spread over.
    #[arg(long, default_value_t = 100_000)]
    pub subjects: u64,
    /// After the append runs, this many GetSubjectLifecycle queries, one at a time, for subjects
    /// drawn from the same pool (`customer_id:C-<n>`): latency of the whole streamed answer.
    /// The token then needs the admin role. `--seconds 0` skips the append runs.
    #[arg(long, default_value_t = 0)]
    pub lifecycles: u64,
    /// Varied events for the report benchmarks (`docs/reports.md`): 20 systems, 10 recipients
    /// (4 outside the EEA), 12 categories (2 special), collections and shares, `occurred_at`
    /// uniform over the three years before the run. Without it every event is the same example.
    #[arg(long)]
    pub varied: bool,
    /// TLS to the server.
    #[command(flatten)]
    pub tls: super::connect::ServerTlsArgs,
}

struct RunResult {
    events: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
    errors: u64,
}

/// Runs the benchmark matrix and prints a table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.addr.ip().is_loopback(),
        "the load generator only targets loopback addresses"
    );
    println!(
        "{:>8} {:>6} {:>12} {:>10} {:>10} {:>10} {:>7}",
        "clients", "batch", "appends/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let run_id = std::process::id();
    let batches = if args.seconds == 0 {
        &[][..]
    } else {
        &args.batch[..]
    };
    for &batch in batches {
        for &clients in &args.clients {
            let result = runtime_for(clients)?.block_on(async {
                let channel = args.tls.connect(&args.addr.into()).await?;
                run_one(&channel, args, clients, batch.max(1), run_id).await
            })?;
            let rate = result.events as f64 / result.elapsed.as_secs_f64();
            let ms = |q: f64| result.latency.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "{clients:>8} {batch:>6} {rate:>12.0} {:>10.2} {:>10.2} {:>10.2} {:>7}",
                ms(0.5),
                ms(0.99),
                result.latency.max() as f64 / 1000.0,
                result.errors
            );
        }
    }
    // The queries that follow go one at a time.
    runtime_for(1)?.block_on(async {
        let channel = args.tls.connect(&args.addr.into()).await?;
        if args.lifecycles > 0 {
            lifecycle_queries(&channel, args).await?;
        }
        let stats = client(&channel, args)?
            .get_stats(pb::GetStatsRequest {})
            .await
            .context("GetStats (the token needs the admin role to read statistics)")?
            .into_inner();
        println!(
            "\nserver: tree size {}, {} entries in {} commit groups ({:.1} per group), {} WAL syncs",
            stats.tree_size,
            stats.entries_appended,
            stats.groups_committed,
            stats.entries_appended as f64 / stats.groups_committed.max(1) as f64,
            stats.wal_syncs
        );
        println!("rocksdb statistics:\n{}", stats.rocksdb_statistics);
        anyhow::Ok(())
    })
}

/// The runtime a run's clients share: one client (or one query at a time) runs on the calling
/// thread, as pgbench's lone client does, since a multi-threaded runtime adds a hand-off between
/// its threads to every call (a `GetCheckpoint` round trip measured p50 265 us on one, 206 us on
/// a current-thread runtime); concurrent clients share a multi-threaded one.
fn runtime_for(clients: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if clients <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Sequential lifecycle queries: latency of each whole streamed answer, and entries per answer.
async fn lifecycle_queries(channel: &Channel, args: &BenchArgs) -> anyhow::Result<()> {
    let mut ledger = client(channel, args)?;
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
    let (mut entries, mut absent) = (0u64, 0u64);
    let started = Instant::now();
    for n in 0..args.lifecycles {
        let subject =
            pb::get_subject_lifecycle_request::Subject::Identifier(pb::SubjectIdentifier {
                kind: "customer_id".into(),
                value: format!(
                    "C-{}",
                    spread(n ^ LIFECYCLE_SAMPLE, u64::MAX) % args.subjects.max(1)
                ),
            });
        let sent = Instant::now();
        match gdpr_ledger::client::fetch_lifecycle(&mut ledger, subject, 0).await {
            Ok(bundle) => entries += bundle.entries.len() as u64,
            Err(gdpr_ledger::client::LifecycleFetchError::Rpc(status))
                if status.code() == tonic::Code::NotFound =>
            {
                absent += 1
            }
            Err(error) => anyhow::bail!("lifecycle query {n}: {error}"),
        }
        latency.saturating_record((sent.elapsed().as_micros() as u64).max(1));
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "\nlifecycle queries: {} in {:.1} s, {:.1} entries per subject on average ({absent} subjects unknown); \
         latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.lifecycles,
        started.elapsed().as_secs_f64(),
        entries as f64 / (args.lifecycles - absent).max(1) as f64,
        ms(0.5),
        ms(0.99),
        latency.max() as f64 / 1000.0
    );
    Ok(())
}

/// Salts the seed of the subjects `--lifecycles` queries: a sample of the population that no
/// append stream of the load generator follows (an append's seed is its client's counter, below
/// bit 25 for 33M events per client, with the client from bit 40 and the run from bit 52).
const LIFECYCLE_SAMPLE: u64 = 0x5A5A << 24;

/// SplitMix64 of `n`, below `bound`.
fn spread(n: u64, bound: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % bound
}

fn client(channel: &Channel, args: &BenchArgs) -> anyhow::Result<AuthenticatedClient> {
    Ok(pb::ledger_client::LedgerClient::with_interceptor(
        channel.clone(),
        args.tls.bearer(args.token.as_deref())?,
    ))
}

async fn run_one(
    channel: &Channel,
    args: &BenchArgs,
    clients: usize,
    batch: usize,
    run_id: u32,
) -> anyhow::Result<RunResult> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for worker in 0..clients {
        let mut ledger = client(channel, args)?;
        let subjects = args.subjects.max(1);
        let varied = args.varied;
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
            let (mut events, mut errors, mut n) = (0u64, 0u64, 0u64);
            while Instant::now() < deadline {
                let submissions: Vec<pb::EventSubmission> = (0..batch)
                    .map(|_| {
                        n += 1;
                        let mut e = event(run_id, clients, batch, worker, n, subjects);
                        if varied {
                            vary(
                                &mut e,
                                n ^ ((worker as u64) << 40) ^ (u64::from(run_id) << 52),
                            );
                        }
                        e
                    })
                    .collect();
                let sent = Instant::now();
                let outcome = if batch == 1 {
                    ledger
                        .append(pb::AppendRequest {
                            submission: submissions.into_iter().next(),
                            include_bundle: false,
                        })
                        .await
                        .map(|_| 1)
                } else {
                    ledger
                        .append_batch(pb::AppendBatchRequest {
                            submissions,
                            include_bundle: false,
                        })
                        .await
                        .map(|r| r.into_inner().receipts.len() as u64)
                };
                match outcome {
                    Ok(count) => {
                        events += count;
                        let micros = sent.elapsed().as_micros() as u64;
                        latency.saturating_record(micros.max(1));
                    }
                    Err(status) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("worker {worker}: {status}");
                        }
                        if errors > 100 {
                            break;
                        }
                    }
                }
            }
            anyhow::Ok((events, errors, latency))
        }));
    }
    let mut result = RunResult {
        events: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3)
            .map_err(|e| anyhow::anyhow!("histogram: {e}"))?,
        errors: 0,
    };
    for task in tasks {
        let (events, errors, latency) = task.await??;
        result.events += events;
        result.errors += errors;
        result
            .latency
            .add(latency)
            .map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

fn event(
    run_id: u32,
    clients: usize,
    batch: usize,
    worker: usize,
    n: u64,
    subjects: u64,
) -> pb::EventSubmission {
    let mut submission = example_submission(EventKind::Collection);
    if let Some(event) = submission.event.as_mut() {
        event.event_id = format!("bench-{run_id}-{clients}x{batch}-w{worker}-{n}");
    }
    // A cheap spread of subjects (SplitMix64 of the counter) so that directory and subject index
    // see realistic reuse. The run is part of the seed: were it not, every run would append to
    // the same subjects first, and after a few runs those (the ones `--lifecycles` queried) had
    // three times the average lifecycle.
    submission.subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: format!(
            "C-{}",
            spread(
                n ^ ((worker as u64) << 40) ^ (u64::from(run_id) << 52),
                subjects
            )
        ),
    });
    submission
}

/// Makes an example event one of a varied population (`--varied`), from the seed `n`.
fn vary(submission: &mut pb::EventSubmission, n: u64) {
    const CATEGORIES: [&str; 12] = [
        "pd:EmailAddress",
        "pd:Name",
        "pd:TelephoneNumber",
        "pd:PhysicalAddress",
        "pd:PaymentCardNumber",
        "pd:PurchasesAndSpendingHabit",
        "pd:BrowsingBehaviour",
        "pd:Age",
        "pd:Gender",
        "pd:Location",
        "pd:Health",
        "pd:Religion",
    ];
    const RECIPIENTS: [(&str, &str, i32); 10] = [
        ("mailer-eu", "DE", 0),
        ("payments-nl", "NL", 0),
        ("logistics-fr", "FR", 0),
        ("crm-saas-ie", "IE", 0),
        ("print-at", "AT", 0),
        ("backup-se", "SE", 0),
        ("cloud-us", "US", 2),
        ("callcenter-in", "IN", 3),
        ("ads-uk", "GB", 1),
        ("partner-ch", "CH", 1),
    ];
    let Some(event) = submission.event.as_mut() else {
        return;
    };
    let r = |salt: u64, bound: u64| spread(n.wrapping_mul(31).wrapping_add(salt), bound);
    let now = gdpr_ledger::unix_time::now_seconds();
    let three_years = 3 * 365 * 86_400;
    event.occurred_at = Some(prost_types::Timestamp {
        seconds: now - 60 - r(1, three_years) as i64,
        nanos: 0,
    });
    event.system = format!("system-{:02}", r(2, 20));
    let first = r(3, CATEGORIES.len() as u64) as usize;
    let second = r(4, CATEGORIES.len() as u64) as usize;
    let mut categories = vec![CATEGORIES[first].to_owned()];
    if second != first {
        categories.push(CATEGORIES[second].to_owned());
    }
    let special = categories
        .iter()
        .any(|c| c == "pd:Health" || c == "pd:Religion");
    event.data_categories = categories;
    event.purposes = vec![
        [
            "dpv:ServiceProvision",
            "dpv:DirectMarketing",
            "dpv:CustomerCare",
        ][r(5, 3) as usize]
            .to_owned(),
    ];
    event.legal_bases =
        vec![["eu-gdpr:A6-1-a", "eu-gdpr:A6-1-b", "eu-gdpr:A6-1-f"][r(6, 3) as usize].to_owned()];
    if special {
        event.legal_bases.push("eu-gdpr:A9-2-a".to_owned());
    }
    if r(7, 10) < 3 {
        let (name, country, basis) = RECIPIENTS[r(8, RECIPIENTS.len() as u64) as usize];
        event.kind = EventKind::Share as i32;
        event.collection_channel.clear();
        event.recipient = Some(pb::Recipient {
            name: name.to_owned(),
            role: 1,
            country: country.to_owned(),
            transfer_basis: basis,
        });
    }
}
