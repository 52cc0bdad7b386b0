//! The data map (docs/data-map.md) through a real server on 127.0.0.1 with RocksDB in a
//! temporary directory: systems declared by the admin and declared anew over time, a seeded
//! population of processing entries appended by the producer, a correction that retracts a
//! collection; the map read by the auditor at an `as_of` in the past and now, each answer
//! compared with the pure rule (`core::data_map`, itself compared with a brute-force pass in its
//! unit tests) run over the population as this test appended it; who may read and declare; bad
//! requests.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::{AuthenticatedReportsClient, reports_client};
use gdpr_ledger::core::data_map::DataMapBuilder;
use gdpr_ledger::core::test_rng::Rng;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::{EventKind, SystemDeclaration};
use gdpr_ledger::reports::data_map::to_proto;
use gdpr_ledger::validation::example_submission;
use prost_types::Timestamp;

const DAY: i64 = 86_400;
const SYSTEMS: [&str; 4] = ["crm", "webshop", "support-desk", "analytics"];
const CATEGORIES: [&str; 4] = [
    "pd:Name",
    "pd:EmailAddress",
    "pd:Purchase",
    "pd:PhysicalAddress",
];
const CHANNELS: [&str; 3] = ["web-form", "partner:acme", ""];
const RECIPIENTS: [&str; 2] = ["mailer-us", "ads-eu"];

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

async fn reports(ledger: &TestLedger, token: &str) -> AuthenticatedReportsClient {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("address")
        .connect()
        .await
        .expect("connect");
    reports_client(channel, token).expect("token")
}

async fn try_append(
    ledger: &TestLedger,
    token: &str,
    sub: pb::EventSubmission,
) -> Result<u64, tonic::Status> {
    let mut client = ledger.client(token).await;
    Ok(client
        .append(pb::AppendRequest {
            submission: Some(sub),
            include_bundle: false,
        })
        .await?
        .into_inner()
        .receipt
        .expect("receipt")
        .index)
}

fn declaration(id: &str, declared: SystemDeclaration) -> pb::EventSubmission {
    let mut sub = example_submission(EventKind::SystemDeclared);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.to_owned();
    event.occurred_at = Some(ts(now()));
    event.system_declaration = Some(declared);
    sub
}

fn declared(
    name: &str,
    effective: i64,
    categories: &[&str],
    recipients: &[&str],
) -> SystemDeclaration {
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    SystemDeclaration {
        name: name.to_owned(),
        owner: "ops".to_owned(),
        country: "DE".to_owned(),
        data_categories: strings(categories),
        recipients: strings(recipients),
        subject_categories: strings(&["dpv:Customer"]),
        effective_at: Some(ts(effective)),
        ..Default::default()
    }
}

/// A processing entry of the population: a collection, share or access of `system` at
/// `occurred`, with a random subject, categories, channel or recipient.
fn processing(rng: &mut Rng, id: &str, occurred: i64) -> pb::EventSubmission {
    let kind = match rng.below(3) {
        0 => EventKind::Collection,
        1 => EventKind::Share,
        _ => EventKind::Access,
    };
    let mut sub = example_submission(kind);
    sub.subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".to_owned(),
        value: format!("C-{}", rng.below(20)),
    });
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.to_owned();
    event.system = rng.pick(&SYSTEMS).to_owned();
    event.occurred_at = Some(ts(occurred));
    let mut categories = rng.subset(&CATEGORIES, 40);
    if categories.is_empty() {
        categories.push(CATEGORIES[0].to_owned());
    }
    event.data_categories = categories;
    event.legal_bases = vec!["eu-gdpr:A6-1-b".to_owned()];
    event.consent_ref.clear();
    match kind {
        EventKind::Collection => event.collection_channel = rng.pick(&CHANNELS).to_owned(),
        EventKind::Share => {
            if let Some(recipient) = event.recipient.as_mut() {
                recipient.name = rng.pick(&RECIPIENTS).to_owned();
            }
        }
        _ => {}
    }
    sub
}

/// What the test appended: the declarations and the other entries, by index.
#[derive(Default)]
struct Appended {
    declarations: Vec<(u64, SystemDeclaration)>,
    events: Vec<(u64, pb::Event)>,
    retracted: Vec<u64>,
}

impl Appended {
    /// The map the pure rule makes of what was appended below `size`.
    fn expected(&self, size: u64, as_of: Timestamp, days: u32) -> pb::DataMapResponse {
        let declarations = self
            .declarations
            .iter()
            .filter(|(index, _)| *index < size && !self.retracted.contains(index))
            .cloned();
        let mut builder = DataMapBuilder::new(declarations, as_of, i64::from(days) * DAY);
        for (index, event) in &self.events {
            if *index < size && !self.retracted.contains(index) {
                builder.observe(*index, event);
            }
        }
        to_proto(builder.finish())
    }

    fn size(&self) -> u64 {
        let last = |list: &[u64]| list.iter().max().map_or(0, |i| i + 1);
        let declared: Vec<u64> = self.declarations.iter().map(|(i, _)| *i).collect();
        let events: Vec<u64> = self.events.iter().map(|(i, _)| *i).collect();
        last(&declared).max(last(&events))
    }
}

async fn data_map(
    client: &mut AuthenticatedReportsClient,
    as_of: Option<Timestamp>,
    days: u32,
) -> Result<pb::DataMapResponse, tonic::Status> {
    Ok(client
        .data_map(pb::DataMapRequest {
            as_of,
            silent_after_days: days,
        })
        .await?
        .into_inner())
}

/// The answer without the request's echo, to compare with the pure rule's.
fn body(mut answer: pb::DataMapResponse) -> pb::DataMapResponse {
    answer.tree_size = 0;
    answer.as_of = None;
    answer.silent_after_days = 0;
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_is_the_pure_rule_over_the_log_as_received_at_each_as_of() {
    let ledger = TestLedger::start().await;
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let seed = 0x0da7_a3a9_u64;
    let mut rng = Rng(seed);
    let start = now();
    let mut appended = Appended::default();
    // Phase 1: the CRM and the webshop declared from 100 days ago, analytics too; a population
    // over the last 90 days.
    let first = [
        declared(
            "crm",
            start - 100 * DAY,
            &["pd:Name", "pd:EmailAddress"],
            &["mailer-us"],
        ),
        declared(
            "webshop",
            start - 100 * DAY,
            &["pd:Name", "pd:Purchase"],
            &[],
        ),
        declared("analytics", start - 100 * DAY, &["pd:Name"], &[]),
    ];
    for (i, d) in first.into_iter().enumerate() {
        let index = try_append(
            &ledger,
            ADMIN_TOKEN,
            declaration(&format!("admin:d-{i}"), d.clone()),
        )
        .await
        .expect("declared");
        appended.declarations.push((index, d));
    }
    let mut collections = Vec::new();
    for i in 0..40 {
        let occurred = start - 90 * DAY + rng.below(60 * DAY as u64) as i64;
        let sub = processing(&mut rng, &format!("crm:p1-{i}"), occurred);
        let event = sub.event.clone().expect("event");
        let index = try_append(&ledger, PRODUCER_TOKEN, sub)
            .await
            .expect("appended");
        if event.kind() == EventKind::Collection && event.system == "crm" {
            collections.push(index);
        }
        appended.events.push((index, event));
    }
    let past = Timestamp::from(SystemTime::now());
    let size_past = appended.size();
    // Phase 2: the CRM declared anew from 30 days ago (purchases, and the ad network), analytics
    // withdrawn from 20 days ago, the support desk never declared; more entries; a collection of
    // phase 1 retracted.
    let second = [
        declared(
            "crm",
            start - 30 * DAY,
            &["pd:Name", "pd:EmailAddress", "pd:Purchase"],
            &["mailer-us", "ads-eu"],
        ),
        SystemDeclaration {
            name: "analytics".to_owned(),
            effective_at: Some(ts(start - 20 * DAY)),
            withdrawn: true,
            ..Default::default()
        },
    ];
    for (i, d) in second.into_iter().enumerate() {
        let index = try_append(
            &ledger,
            ADMIN_TOKEN,
            declaration(&format!("admin:d2-{i}"), d.clone()),
        )
        .await
        .expect("declared");
        appended.declarations.push((index, d));
    }
    for i in 0..30 {
        let occurred = start - 40 * DAY + rng.below(40 * DAY as u64) as i64;
        let sub = processing(&mut rng, &format!("crm:p2-{i}"), occurred);
        let event = sub.event.clone().expect("event");
        let index = try_append(&ledger, PRODUCER_TOKEN, sub)
            .await
            .expect("appended");
        appended.events.push((index, event));
    }
    let target = *collections.first().expect("a CRM collection in phase 1");
    let mut retraction = example_submission(EventKind::Correction);
    {
        let event = retraction.event.as_mut().expect("event");
        event.event_id = "crm:retract-1".to_owned();
        event.occurred_at = Some(ts(now()));
        event.correction.as_mut().expect("correction").target_index = target;
    }
    let correction = try_append(&ledger, PRODUCER_TOKEN, retraction)
        .await
        .expect("retracted");
    let latest = correction + 1;

    // The map in the past: phase 1 only, the retraction not yet received.
    for days in [0, 10, 45] {
        let answer = data_map(&mut auditor, Some(past), days).await.expect("map");
        assert_eq!(answer.tree_size, size_past, "the log as received by as_of");
        assert_eq!(answer.silent_after_days, if days == 0 { 30 } else { days });
        let used = answer.silent_after_days;
        assert_eq!(
            body(answer),
            appended.expected(size_past, past, used),
            "as_of past, {days} days"
        );
    }
    // Now: everything, the retracted collection left out.
    appended.retracted.push(target);
    let now_ts = Timestamp::from(SystemTime::now());
    for days in [0, 5] {
        let answer = data_map(&mut auditor, Some(now_ts), days)
            .await
            .expect("map");
        assert_eq!(answer.tree_size, latest);
        let used = answer.silent_after_days;
        let expected = appended.expected(latest, now_ts, used);
        assert_eq!(body(answer), expected, "as_of now, {days} days");
        // The answer flags what the population holds: the support desk is never declared,
        // analytics' entries after its withdrawal are undeclared.
        let undeclared: Vec<&str> = expected
            .flags
            .iter()
            .filter(|f| f.kind() == pb::DataMapFlagKind::UndeclaredSystem)
            .map(|f| f.system.as_str())
            .collect();
        assert!(undeclared.contains(&"support-desk"), "{undeclared:?}");
    }
    // The retracted collection is counted in the past and not now.
    let counted = |answer: &pb::DataMapResponse| {
        answer
            .collections
            .iter()
            .filter(|c| c.system == "crm")
            .map(|c| c.seen.as_ref().map_or(0, |s| s.entries))
            .sum::<u64>()
    };
    let before = data_map(&mut auditor, Some(past), 0).await.expect("map");
    let after = data_map(&mut auditor, None, 0).await.expect("map");
    let phase_1_crm = appended.events[..40]
        .iter()
        .filter(|(_, e)| e.kind() == EventKind::Collection && e.system == "crm")
        .count() as u64;
    assert_eq!(counted(&before), phase_1_crm);
    assert_eq!(
        after
            .systems
            .iter()
            .find(|s| s.name == "crm")
            .and_then(|s| s.declared.as_ref())
            .map(|d| d.recipients.len()),
        Some(2),
        "the CRM's later declaration is in force now"
    );
    assert_eq!(
        before
            .systems
            .iter()
            .find(|s| s.name == "crm")
            .and_then(|s| s.declared.as_ref())
            .map(|d| d.recipients.len()),
        Some(1),
        "only the first declaration was received by the past as_of"
    );

    // The article 30 record shows the systems declared now: the CRM's later declaration, the
    // webshop's; analytics is withdrawn. Only those asked for when systems are named.
    let crm_now = appended.declarations[3].0;
    let webshop = appended.declarations[1].0;
    let record = auditor
        .records_of_processing(pb::RecordsOfProcessingRequest::default())
        .await
        .expect("record")
        .into_inner();
    let declared: Vec<(String, u64)> = record
        .declared_systems
        .iter()
        .map(|s| (s.declaration.clone().unwrap_or_default().name, s.index))
        .collect();
    assert_eq!(
        declared,
        [("crm".to_owned(), crm_now), ("webshop".to_owned(), webshop)]
    );
    assert_eq!(
        record.declared_systems[0]
            .declaration
            .as_ref()
            .map(|d| d.subject_categories.clone()),
        Some(vec!["dpv:Customer".to_owned()]),
        "the declared fields article 30(1)(c) asks for"
    );
    let only_webshop = auditor
        .records_of_processing(pb::RecordsOfProcessingRequest {
            systems: vec!["webshop".to_owned(), "support-desk".to_owned()],
        })
        .await
        .expect("record")
        .into_inner();
    assert_eq!(
        only_webshop
            .declared_systems
            .iter()
            .map(|s| s.index)
            .collect::<Vec<_>>(),
        [webshop]
    );

    // The command line prints the same map and record.
    let as_of_text = now_ts.to_string();
    let cli_map = report_command(
        &ledger,
        &["data-map", "--format", "json", "--as-of", &as_of_text],
    );
    let rpc_map = data_map(&mut auditor, Some(now_ts), 0).await.expect("map");
    let names = |list: &serde_json::Value, key: &str| -> Vec<String> {
        list[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|item| {
                format!(
                    "{}/{}",
                    item["system"]
                        .as_str()
                        .or(item["name"].as_str())
                        .unwrap_or(""),
                    item["kind"]
                        .as_str()
                        .or(item["value"].as_str())
                        .unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(
        names(&cli_map, "systems"),
        rpc_map
            .systems
            .iter()
            .map(|s| format!("{}/", s.name))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        names(&cli_map, "flags"),
        rpc_map
            .flags
            .iter()
            .map(|f| format!(
                "{}/{}",
                f.system,
                f.kind()
                    .as_str_name()
                    .trim_start_matches("DATA_MAP_FLAG_KIND_")
                    .to_ascii_lowercase()
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(cli_map["tree_size"], serde_json::json!(rpc_map.tree_size));
    let cli_record = report_command(&ledger, &["processing", "--format", "json"]);
    let cli_declared: Vec<(String, u64)> = cli_record["declared_systems"]
        .as_array()
        .expect("declared systems")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["index"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(cli_declared, declared);
    assert_eq!(
        cli_record["records"].as_array().map(Vec::len),
        Some(record.records.len())
    );
}

/// Runs `gdpr-ledger report <args>` against the ledger with the auditor's token; its standard
/// output as JSON.
fn report_command(ledger: &TestLedger, args: &[&str]) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("report")
        .args(args)
        .arg("--server")
        .arg(ledger.addr().to_string())
        .args(["--token", AUDITOR_TOKEN])
        .output()
        .expect("the command runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_readers_map_only_admins_declare_and_bad_requests_change_nothing() {
    let ledger = TestLedger::start().await;
    let mut producer = reports(&ledger, PRODUCER_TOKEN).await;
    let refused = data_map(&mut producer, None, 0)
        .await
        .expect_err("a producer");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let refused = data_map(&mut auditor, None, 3651)
        .await
        .expect_err("too many days");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("silent_after_days"), "{refused}");
    let bad_time = Timestamp {
        seconds: now(),
        nanos: -1,
    };
    let refused = data_map(&mut auditor, Some(bad_time), 0)
        .await
        .expect_err("bad as_of");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("as_of"), "{refused}");

    let size = ledger.tree_size().await;
    let crm = declared("crm", now(), &["pd:Name"], &[]);
    let refused = try_append(&ledger, PRODUCER_TOKEN, declaration("crm:d-1", crm.clone()))
        .await
        .expect_err("a producer may not declare");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    assert!(refused.message().contains("system_declared"), "{refused}");
    let mut wrong = crm.clone();
    wrong.country = "Germany".to_owned();
    let refused = try_append(&ledger, ADMIN_TOKEN, declaration("admin:d-1", wrong))
        .await
        .expect_err("a bad country");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused
            .message()
            .contains("event.system_declaration.country"),
        "{refused}"
    );
    assert_eq!(ledger.tree_size().await, size, "nothing appended");
    let answer = data_map(&mut auditor, None, 0).await.expect("map");
    assert!(answer.systems.is_empty() && answer.flags.is_empty());
    try_append(&ledger, ADMIN_TOKEN, declaration("admin:d-2", crm))
        .await
        .expect("an admin declares");
    let answer = data_map(&mut auditor, None, 0).await.expect("map");
    assert_eq!(answer.systems.len(), 1);
    assert!(answer.flags.is_empty(), "declared just now: not silent yet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_systems_are_declared_at_start_only_when_they_change() {
    use gdpr_ledger::reports::data_map::SystemConfig;
    let crm = SystemConfig {
        name: "crm".to_owned(),
        owner: "sales-ops".to_owned(),
        country: "DE".to_owned(),
        data_categories: vec!["pd:Name".to_owned()],
        subject_categories: vec!["dpv:Customer".to_owned()],
        retention: "3 years".to_owned(),
        ..Default::default()
    };
    let shop = SystemConfig {
        name: "webshop".to_owned(),
        owner: "shop-team".to_owned(),
        country: "FR".to_owned(),
        data_categories: vec!["pd:Purchase".to_owned()],
        ..Default::default()
    };
    let (first_crm, first_shop) = (crm.clone(), shop.clone());
    let mut ledger = TestLedger::start_with(move |config| {
        config.data_map.systems = vec![first_crm, first_shop];
    })
    .await;
    let seeded = ledger.tree_size().await;
    let declared_names =
        |answer: &pb::DataMapResponse| -> Vec<(String, Option<SystemDeclaration>)> {
            answer
                .systems
                .iter()
                .map(|s| (s.name.clone(), s.declared.clone()))
                .collect()
        };
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let first = data_map(&mut auditor, None, 0).await.expect("map");
    let names = declared_names(&first);
    assert_eq!(names.len(), 2, "{names:?}");
    let crm_declared = names[0].1.clone().expect("crm declared");
    assert_eq!(crm_declared.retention, "3 years");
    assert_eq!(crm_declared.subject_categories, ["dpv:Customer"]);
    let before_restart = Timestamp::from(SystemTime::now());
    // The same configuration declares nothing again.
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, seeded);
    // A changed system is declared anew, the other is not; the past answer stays as it was.
    let mut changed = crm.clone();
    changed.data_categories.push("pd:EmailAddress".to_owned());
    ledger.config.data_map.systems = vec![changed, shop];
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, seeded + 1);
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let now_answer = data_map(&mut auditor, None, 0).await.expect("map");
    let crm_now = declared_names(&now_answer)[0]
        .1
        .clone()
        .expect("crm declared");
    assert_eq!(crm_now.data_categories, ["pd:Name", "pd:EmailAddress"]);
    let past = data_map(&mut auditor, Some(before_restart), 0)
        .await
        .expect("map");
    assert_eq!(declared_names(&past), names);
    // A system the configuration gets wrong stops the start, naming its key.
    ledger.stop().await;
    let mut config = ledger.config.clone();
    config.data_map.systems[1].country = "France".to_owned();
    let error = gdpr_ledger::server::start(config)
        .await
        .err()
        .expect("a bad country stops the start");
    assert!(
        error.to_string().contains("[data_map] systems[1].country"),
        "{error}"
    );
}
