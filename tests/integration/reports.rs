//! Reports (breach investigation, article 30 record, subject access report) over a generated,
//! realistic population appended through the real server, each checked against a brute-force
//! scan of the log's entries as fetched with GetEntry. The brute force shares no code with the
//! report indexes: it decodes the entries with prost and applies corrections itself.
//!
//! The population (seed printed by each test): 8 systems, 6 recipients (3 outside the EEA: US,
//! IN, GB, with a transfer basis; CH too, with an adequacy decision), 10 data categories of which
//! 3 are article 9 special categories, 400 subjects, 2400 events: 55% collections, 30% shares,
//! 15% accesses, each with 1-3 categories and 1-2 purposes. `occurred_at` spans the three years
//! before the test's end day: 70% uniform over the three years, 30% uniform over the last 90 days
//! (a recent peak). Then 30 retractions and 30 amendments of random earlier entries of four of
//! the systems (amendments replace categories, bases and, for shares, the recipient), some
//! amending the same entry twice.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::{AuthenticatedReportsClient, investigate_breach, reports_client};
use gdpr_ledger::core::bundle::verify_bundle_json;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::breach::{self, SummaryOptions};
use gdpr_ledger::reports::distinct::SpillConfig;
use prost::Message as _;
use prost_types::Timestamp;

const SEED: u64 = 0x6764_7072_2d36;

const SYSTEMS: [&str; 8] = [
    "crm",
    "billing",
    "webshop",
    "support-desk",
    "analytics",
    "hr-portal",
    "marketing-hub",
    "clinic-app",
];
/// (name, country, transfer basis, role)
const RECIPIENTS: [(&str, &str, i32, i32); 6] = [
    ("mailer-eu", "DE", 0, 1),
    ("payments-nl", "NL", 0, 1),
    ("cloud-us", "US", 2, 2),
    ("callcenter-in", "IN", 3, 1),
    ("ads-uk", "GB", 1, 3),
    ("partner-ch", "CH", 1, 5),
];
const CATEGORIES: [&str; 10] = [
    "pd:EmailAddress",
    "pd:Name",
    "pd:TelephoneNumber",
    "pd:PostalAddress",
    "pd:PaymentCardNumber",
    "pd:PurchaseHistory",
    "pd:BrowsingBehaviour",
    "pd:Health",
    "pd:Religion",
    "pd:Biometric",
];
const SPECIAL: [&str; 3] = ["pd:Health", "pd:Religion", "pd:Biometric"];
const PURPOSES: [&str; 4] = [
    "dpv:ServiceProvision",
    "dpv:DirectMarketing",
    "dpv:CustomerCare",
    "dpv:FraudPreventionAndDetection",
];
const BASES: [&str; 4] = [
    "eu-gdpr:A6-1-a",
    "eu-gdpr:A6-1-b",
    "eu-gdpr:A6-1-c",
    "eu-gdpr:A6-1-f",
];
/// The systems whose entries get corrections.
const CORRECTED_SYSTEMS: [&str; 4] = ["crm", "billing", "webshop", "support-desk"];
const SUBJECTS: u64 = 400;
const EVENTS: usize = 2400;
const DAY: i64 = 86_400;

/// SplitMix64: a small seeded generator, so that a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn some(&mut self, items: &[&str], max: u64) -> Vec<String> {
        let n = 1 + self.below(max);
        let mut chosen = BTreeSet::new();
        for _ in 0..n {
            chosen.insert(self.pick(items).to_string());
        }
        chosen.into_iter().collect()
    }
}

/// The end of the generated time span: the start of the day before yesterday (server clock).
fn end_seconds() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    (now / DAY - 2) * DAY
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn legal_bases(rng: &mut Rng, categories: &[String]) -> Vec<String> {
    let mut bases = vec![rng.pick(&BASES).to_string()];
    if categories.iter().any(|c| SPECIAL.contains(&c.as_str())) {
        bases.push("eu-gdpr:A9-2-a".into());
    }
    bases
}

fn recipient(rng: &mut Rng) -> pb::Recipient {
    let (name, country, basis, role) = *rng.pick(&RECIPIENTS);
    pb::Recipient {
        name: name.into(),
        role,
        country: country.into(),
        transfer_basis: basis,
    }
}

fn generate(rng: &mut Rng, end: i64) -> Vec<pb::EventSubmission> {
    let span = 3 * 365 * DAY;
    (0..EVENTS)
        .map(|n| {
            let seconds = if rng.chance(70) {
                end - 1 - rng.below(span as u64) as i64
            } else {
                end - 1 - rng.below(90 * DAY as u64) as i64
            };
            let roll = rng.below(100);
            let kind = if roll < 55 {
                pb::EventKind::Collection
            } else if roll < 85 {
                pb::EventKind::Share
            } else {
                pb::EventKind::Access
            };
            let data_categories = rng.some(&CATEGORIES, 3);
            let legal_bases = legal_bases(rng, &data_categories);
            let event = pb::Event {
                event_id: format!("gen-{n}"),
                kind: kind as i32,
                occurred_at: Some(ts(seconds)),
                system: rng.pick(&SYSTEMS).to_string(),
                data_categories,
                purposes: rng.some(&PURPOSES, 2),
                legal_bases,
                recipient: (kind == pb::EventKind::Share).then(|| recipient(rng)),
                ..pb::Event::default()
            };
            pb::EventSubmission {
                event: Some(event),
                subject: Some(subject(rng.below(SUBJECTS))),
                linked_subject: None,
                details: Vec::new(),
            }
        })
        .collect()
}

fn subject(n: u64) -> pb::SubjectIdentifier {
    pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: format!("C-{n:05}"),
    }
}

fn correction(
    rng: &mut Rng,
    n: usize,
    target: u64,
    target_event: &pb::Event,
    amend: bool,
) -> pb::EventSubmission {
    let mut event = pb::Event {
        event_id: format!("fix-{n}"),
        kind: pb::EventKind::Correction as i32,
        occurred_at: Some(ts(end_seconds())),
        system: "data-quality".into(),
        correction: Some(pb::Correction {
            target_index: target,
            action: if amend {
                pb::CorrectionAction::Amend
            } else {
                pb::CorrectionAction::Retract
            } as i32,
            reason: format!("TICKET-{n}"),
        }),
        ..pb::Event::default()
    };
    if amend {
        event.data_categories = rng.some(&CATEGORIES, 2);
        event.legal_bases = legal_bases(rng, &event.data_categories);
        if target_event.kind() == pb::EventKind::Share {
            event.recipient = Some(recipient(rng));
        }
    }
    pb::EventSubmission {
        event: Some(event),
        subject: None,
        linked_subject: None,
        details: Vec::new(),
    }
}

/// Appends the population and its corrections; returns the ledger.
async fn populated(seed: u64) -> TestLedger {
    println!("population seed {seed:#x}");
    let ledger = TestLedger::start().await;
    // The population spans many systems: an admin may report for all of them.
    let mut producer = ledger.client(ADMIN_TOKEN).await;
    let mut rng = Rng(seed);
    let end = end_seconds();
    let events = generate(&mut rng, end);
    let mut appended: Vec<(u64, pb::Event)> = Vec::new();
    for batch in events.chunks(300) {
        let receipts = producer
            .append_batch(pb::AppendBatchRequest {
                submissions: batch.to_vec(),
                include_bundle: false,
            })
            .await
            .expect("batch appended")
            .into_inner()
            .receipts;
        for (receipt, submission) in receipts.iter().zip(batch) {
            appended.push((receipt.index, submission.event.clone().expect("event")));
        }
    }
    // Corrections concern the first four systems only, so that the article 30 record is read
    // both from aggregates (the other systems) and from the exact recomputation of corrected
    // systems.
    let correctable: Vec<(u64, pb::Event)> = appended
        .iter()
        .filter(|(_, e)| CORRECTED_SYSTEMS.contains(&e.system.as_str()))
        .cloned()
        .collect();
    let mut corrections = Vec::new();
    for n in 0..60 {
        let (target, event) = rng.pick(&correctable).clone();
        // Some amendments hit an entry amended before (a second amendment wins field by field).
        let (target, event) = if n % 10 == 9 {
            correctable[(n * 37) % 100].clone()
        } else {
            (target, event)
        };
        corrections.push(correction(
            &mut rng,
            n,
            target,
            &event,
            n % 2 == 1 || n % 10 == 9,
        ));
    }
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: corrections,
            include_bundle: false,
        })
        .await
        .expect("corrections appended");
    ledger
}

async fn reports(ledger: &TestLedger, token: &str) -> AuthenticatedReportsClient {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("address")
        .connect()
        .await
        .expect("connect");
    reports_client(channel, token).expect("token")
}

/// Every entry of the log, decoded by prost.
async fn fetch_all(ledger: &TestLedger) -> Vec<pb::Entry> {
    let mut client = ledger.client(AUDITOR_TOKEN).await;
    let size = client
        .get_checkpoint(pb::GetCheckpointRequest::default())
        .await
        .expect("checkpoint")
        .into_inner()
        .tree_size;
    let mut entries = Vec::with_capacity(size as usize);
    for index in 0..size {
        let response = client
            .get_entry(pb::GetEntryRequest {
                selector: Some(pb::get_entry_request::Selector::Index(index)),
                producer: String::new(),
            })
            .await
            .expect("entry")
            .into_inner();
        entries.push(pb::Entry::decode(response.entry.as_slice()).expect("entry decodes"));
    }
    entries
}

// ---- the brute force: no code shared with the indexes ----

/// The effective events by index: corrections applied in log order, a retraction final,
/// amendments replacing the fields they carry. Corrections themselves are left out.
fn effective(entries: &[pb::Entry]) -> BTreeMap<u64, (pb::Event, bool, Vec<u8>)> {
    let mut out: BTreeMap<u64, (pb::Event, bool, Vec<u8>)> = BTreeMap::new();
    let mut retracted = HashSet::new();
    for entry in entries {
        let event = entry.event.clone().unwrap_or_default();
        if event.kind() != pb::EventKind::Correction {
            out.insert(entry.index, (event, false, entry.subject_token.clone()));
            continue;
        }
        let correction = event.correction.clone().expect("correction");
        let target = correction.target_index;
        if correction.action() == pb::CorrectionAction::Retract {
            retracted.insert(target);
        } else if let Some((target_event, amended, _)) = out.get_mut(&target) {
            if !event.data_categories.is_empty() {
                target_event.data_categories = event.data_categories.clone();
            }
            if !event.purposes.is_empty() {
                target_event.purposes = event.purposes.clone();
            }
            if !event.legal_bases.is_empty() {
                target_event.legal_bases = event.legal_bases.clone();
            }
            if event.recipient.is_some() {
                target_event.recipient = event.recipient.clone();
            }
            *amended = true;
        }
    }
    out.retain(|index, _| !retracted.contains(index));
    out
}

fn counts_records(kind: pb::EventKind) -> bool {
    matches!(
        kind,
        pb::EventKind::Collection
            | pb::EventKind::Share
            | pb::EventKind::Access
            | pb::EventKind::Rectification
            | pb::EventKind::Export
    )
}

fn outside_eea(country: &str) -> bool {
    matches!(country, "US" | "IN" | "GB" | "CH")
}

/// (recipient, country, transfer basis)
type Transfer = (String, String, i32);
/// (subjects, records)
type Tally = (HashSet<Vec<u8>>, u64);
/// (systems, recipients, categories, from, to)
type Query<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, i64, i64);

#[derive(Debug, PartialEq, Default)]
struct ExpectedBreach {
    indexes: Vec<u64>,
    subjects: u64,
    per_category: BTreeMap<String, (u64, u64)>,
    per_system: BTreeMap<String, (u64, u64)>,
    special: Vec<String>,
    transfers: BTreeMap<(String, String, i32), (u64, u64)>,
}

fn brute_breach(
    effective: &BTreeMap<u64, (pb::Event, bool, Vec<u8>)>,
    systems: &[&str],
    recipients: &[&str],
    categories: &[&str],
    from: i64,
    to: i64,
) -> ExpectedBreach {
    let mut subjects = HashSet::new();
    let mut per_category: BTreeMap<String, (HashSet<Vec<u8>>, u64)> = BTreeMap::new();
    let mut per_system: BTreeMap<String, (HashSet<Vec<u8>>, u64)> = BTreeMap::new();
    let mut transfers: BTreeMap<Transfer, Tally> = BTreeMap::new();
    let mut special = BTreeSet::new();
    let mut indexes = Vec::new();
    for (index, (event, _, token)) in effective {
        let at = event.occurred_at.expect("time").seconds;
        let to_recipient = event
            .recipient
            .as_ref()
            .is_some_and(|r| recipients.contains(&r.name.as_str()));
        if !counts_records(event.kind())
            || at < from
            || at >= to
            || !(systems.contains(&event.system.as_str()) || to_recipient)
            || !(categories.is_empty()
                || event
                    .data_categories
                    .iter()
                    .any(|c| categories.contains(&c.as_str())))
        {
            continue;
        }
        indexes.push(*index);
        subjects.insert(token.clone());
        let tally = per_system.entry(event.system.clone()).or_default();
        tally.0.insert(token.clone());
        tally.1 += 1;
        for category in &event.data_categories {
            let tally = per_category.entry(category.clone()).or_default();
            tally.0.insert(token.clone());
            tally.1 += 1;
            if SPECIAL.contains(&category.as_str()) {
                special.insert(category.clone());
            }
        }
        if let Some(r) = &event.recipient
            && outside_eea(&r.country)
        {
            let tally = transfers
                .entry((r.name.clone(), r.country.clone(), r.transfer_basis))
                .or_default();
            tally.0.insert(token.clone());
            tally.1 += 1;
        }
    }
    fn flatten<K: Ord>(m: BTreeMap<K, (HashSet<Vec<u8>>, u64)>) -> BTreeMap<K, (u64, u64)> {
        m.into_iter()
            .map(|(k, (s, r))| (k, (s.len() as u64, r)))
            .collect()
    }
    ExpectedBreach {
        indexes,
        subjects: subjects.len() as u64,
        per_category: flatten(per_category),
        per_system: flatten(per_system),
        special: special.into_iter().collect(),
        transfers: flatten(transfers),
    }
}

fn observed_breach(entries: &[pb::AffectedEntry], summary: &pb::BreachSummary) -> ExpectedBreach {
    let counts = |list: &[pb::BreachCount]| {
        list.iter()
            .map(|c| (c.name.clone(), (c.subjects, c.records)))
            .collect()
    };
    // Entries arrive in the order of their occurred_at, then index: each once.
    let order: Vec<(i64, i32, u64)> = entries
        .iter()
        .map(|e| {
            let at = e.occurred_at.expect("time");
            (at.seconds, at.nanos, e.index)
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "entries in time order"
    );
    let mut indexes: Vec<u64> = entries.iter().map(|e| e.index).collect();
    indexes.sort_unstable();
    ExpectedBreach {
        indexes,
        subjects: summary.subjects,
        per_category: counts(&summary.per_category),
        per_system: counts(&summary.per_system),
        special: summary.special_categories.clone(),
        transfers: summary
            .third_country_transfers
            .iter()
            .map(|t| {
                (
                    (t.recipient.clone(), t.country.clone(), t.transfer_basis),
                    (t.subjects, t.records),
                )
            })
            .collect(),
    }
}

async fn breach(
    client: &mut AuthenticatedReportsClient,
    systems: &[&str],
    recipients: &[&str],
    categories: &[&str],
    from: i64,
    to: i64,
    include_bundle: bool,
) -> Result<(Vec<pb::AffectedEntry>, pb::BreachSummary), tonic::Status> {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    investigate_breach(
        client,
        pb::InvestigateBreachRequest {
            systems: strings(systems),
            recipients: strings(recipients),
            data_categories: strings(categories),
            from: Some(ts(from)),
            to: Some(ts(to)),
            include_bundle,
            summary_only: false,
        },
        |_, _| {},
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_investigations_match_a_brute_force_scan() {
    let mut ledger = populated(SEED).await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let end = end_seconds();
    let queries: Vec<Query> = vec![
        (vec!["crm"], vec![], vec![], end - 30 * DAY, end),
        (
            vec!["billing", "clinic-app"],
            vec![],
            vec![],
            end - 400 * DAY,
            end - 100 * DAY,
        ),
        (vec![], vec!["cloud-us"], vec![], end - 3 * 365 * DAY, end),
        (
            vec!["webshop"],
            vec!["ads-uk", "partner-ch"],
            vec!["pd:EmailAddress", "pd:Health"],
            end - 2 * 365 * DAY,
            end,
        ),
        (
            vec!["analytics"],
            vec![],
            vec!["pd:Religion"],
            end - 4 * 365 * DAY,
            end + DAY,
        ),
        (vec!["no-such-system"], vec![], vec![], end - 30 * DAY, end),
    ];
    let mut nonempty = 0;
    for (systems, recipients, categories, from, to) in queries {
        let entries = fetch_all(&ledger).await;
        let expected = brute_breach(
            &effective(&entries),
            &systems,
            &recipients,
            &categories,
            from,
            to,
        );
        let (found, summary) = breach(
            &mut client,
            &systems,
            &recipients,
            &categories,
            from,
            to,
            false,
        )
        .await
        .expect("investigation");
        let observed = observed_breach(&found, &summary);
        assert_eq!(
            observed, expected,
            "query {systems:?} {recipients:?} {categories:?}"
        );
        assert_eq!(summary.records, expected.indexes.len() as u64);
        nonempty += usize::from(!expected.indexes.is_empty());
        assert_eq!(
            summary.special_categories_involved,
            !expected.special.is_empty()
        );
        // The investigation was logged: an access entry by the auditor, after the entries read.
        let access = fetch_all(&ledger).await;
        let logged = &access[summary.access_entry_index as usize];
        let event = logged.event.clone().expect("event");
        assert_eq!(event.kind(), pb::EventKind::Access);
        assert_eq!(logged.producer, "dpo-office");
        assert_eq!(event.system, "gdpr-ledger");
        assert!(summary.access_entry_index >= entries.len() as u64);
    }
    assert!(nonempty >= 4, "the queries find something");
    // Some query of the population finds amended entries and third-country transfers, so that
    // the comparisons above covered them.
    let entries = fetch_all(&ledger).await;
    let all = brute_breach(&effective(&entries), &SYSTEMS, &[], &[], 0, end + DAY);
    assert!(!all.transfers.is_empty() && !all.special.is_empty());
    let (found, _) = breach(&mut client, &SYSTEMS, &[], &[], 0, end + DAY, false)
        .await
        .expect("investigation");
    assert!(found.iter().any(|e| e.amended));

    // A summary over a window is counted from the entries in bounded memory: with a budget of
    // 16 KiB the distinct subjects spill to run files, and the summary is the same.
    let entries = fetch_all(&ledger).await;
    ledger.stop().await;
    let store = open_stopped(&ledger);
    let size = store.tree_size().expect("size");
    let spill = SpillConfig {
        memory_kib: 16,
        spill_dir: None,
    };
    let (from, to) = (end - 2 * 365 * DAY, end - 10 * DAY);
    let query = breach_query(&SYSTEMS, from, to);
    let summarized = breach::summarize(
        &store,
        &query,
        size,
        SummaryOptions {
            bundle: false,
            spill: &spill,
        },
        |_| true,
    )
    .expect("summary");
    assert!(!summarized.from_counts, "a window: from the entries");
    assert!(summarized.spilled_runs > 0, "16 KiB spills");
    let expected = brute_breach(&effective(&entries), &SYSTEMS, &[], &[], from, to);
    assert_eq!(
        observed_breach(&[], &summarized.summary),
        ExpectedBreach {
            indexes: Vec::new(),
            ..expected
        }
    );
}

/// The store of a stopped ledger, read-only (a server's compactions would race the open).
fn open_stopped(ledger: &TestLedger) -> gdpr_ledger::storage::LedgerStore {
    gdpr_ledger::storage::LedgerStore::open_read_only(
        &ledger.data_dir(),
        &gdpr_ledger::storage::StorageConfig::default(),
    )
    .expect("opens read-only")
}

fn breach_query(systems: &[&str], from: i64, to: i64) -> breach::BreachQuery {
    breach::BreachQuery {
        systems: systems.iter().map(|s| (*s).to_owned()).collect(),
        recipients: Default::default(),
        categories: Default::default(),
        from: ts(from),
        to: ts(to),
    }
}

/// Whole systems over all time: the summary comes from the count rows the commits keep, with the
/// retractions and amendments applied, and equals the summary counted entry by entry (and the
/// brute force over GetEntry), for one system, several (the union of their member rows) and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_summaries_from_counts_equal_the_entry_by_entry_summaries_with_corrections() {
    let mut ledger = populated(SEED ^ 6).await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let end = end_seconds();
    let entries = fetch_all(&ledger).await;
    let effective = effective(&entries);
    let mut queries: Vec<Vec<&str>> = SYSTEMS.iter().map(|s| vec![*s]).collect();
    queries.push(CORRECTED_SYSTEMS.to_vec());
    queries.push(SYSTEMS.to_vec());
    // Through the service, over all time (from the beginning of the population to after its
    // end): the summary and the entries, streamed after the read was logged.
    for systems in &queries {
        let (found, summary) = breach(&mut client, systems, &[], &[], 0, end + DAY, false)
            .await
            .expect("investigation");
        let expected = brute_breach(&effective, systems, &[], &[], 0, end + DAY);
        assert_eq!(observed_breach(&found, &summary), expected, "{systems:?}");
        assert!(summary.access_entry_index >= entries.len() as u64);
    }
    ledger.stop().await;
    // The two ways of summarizing, side by side on the same store. (The access entries appended
    // above are the ledger's own, of none of these systems.)
    let store = open_stopped(&ledger);
    let size = store.breach_counts_next().expect("mark");
    assert_eq!(
        size,
        store.tree_size().expect("size"),
        "the rows cover the log"
    );
    let spill = SpillConfig::default();
    let mut corrected_counts = 0;
    for systems in &queries {
        let query = breach_query(systems, 0, end + DAY);
        let by_counts = breach::summarize_by_counts(&store, &query, size)
            .expect("summary")
            .expect("the count rows answer whole systems over all time");
        assert!(by_counts.from_counts);
        let by_entries = breach::summarize_by_entries(
            &store,
            &query,
            size,
            SummaryOptions {
                bundle: false,
                spill: &spill,
            },
            |_| true,
        )
        .expect("summary");
        assert_eq!(by_counts.summary, by_entries.summary, "{systems:?}");
        let expected = brute_breach(&effective, systems, &[], &[], 0, end + DAY);
        assert_eq!(
            observed_breach(&[], &by_counts.summary),
            ExpectedBreach {
                indexes: Vec::new(),
                ..expected
            },
            "{systems:?}"
        );
        // The stored counts are of the original entries: for the corrected systems they differ
        // from the summary, so the corrections were applied.
        let view = store.breach_count_view();
        let stored: u64 = systems
            .iter()
            .flat_map(|s| view.counts(s).expect("counts"))
            .filter(|(group, _)| *group == gdpr_ledger::storage::report_index::CountGroup::All)
            .map(|(_, counts)| counts.records)
            .sum();
        corrected_counts += usize::from(stored != by_counts.summary.records);
    }
    assert!(corrected_counts >= 2, "corrections changed some counts");

    // What the count rows cannot answer is counted from the entries.
    let narrower = breach_query(&["crm"], 0, end - 30 * DAY);
    assert!(
        breach::summarize_by_counts(&store, &narrower, size)
            .expect("reads")
            .is_none()
    );
    let mut by_category = breach_query(&["crm"], 0, end + DAY);
    by_category.categories.insert("pd:Health".into());
    assert!(
        breach::summarize_by_counts(&store, &by_category, size)
            .expect("reads")
            .is_none()
    );
    let mut by_recipient = breach_query(&["crm"], 0, end + DAY);
    by_recipient.recipients.insert("cloud-us".into());
    assert!(
        breach::summarize_by_counts(&store, &by_recipient, size)
            .expect("reads")
            .is_none()
    );
}

/// A data dir whose report indexes were built before the breach count rows existed (its rows and
/// mark removed, as such a dir has them): the next start backfills them, the summary comes from
/// them again and is right, later appends keep them up, and `audit --data-dir` recomputes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_count_rows_are_backfilled_for_a_data_dir_made_before_them() {
    let mut ledger = populated(SEED ^ 7).await;
    let end = end_seconds();
    ledger.stop().await;
    {
        let db = rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            ledger.data_dir(),
            gdpr_ledger::storage::columns::ALL,
        )
        .expect("raw open");
        let reports = db
            .cf_handle(gdpr_ledger::storage::columns::REPORTS)
            .expect("reports");
        db.delete_range_cf(reports, [0x08u8], [0x0au8])
            .expect("rows removed");
        let meta = db
            .cf_handle(gdpr_ledger::storage::columns::META)
            .expect("meta");
        db.delete_cf(meta, gdpr_ledger::storage::report_index::META_BREACH_COUNTS)
            .expect("mark removed");
    }
    {
        let store = open_stopped(&ledger);
        assert_eq!(store.breach_counts_next().expect("mark"), 0);
        let size = store.tree_size().expect("size");
        let query = breach_query(&SYSTEMS, 0, end + DAY);
        assert!(
            breach::summarize_by_counts(&store, &query, size)
                .expect("reads")
                .is_none(),
            "no count rows: no summary from them"
        );
    }
    ledger.restart().await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    for systems in [vec!["crm"], CORRECTED_SYSTEMS.to_vec()] {
        let entries = fetch_all(&ledger).await;
        let expected = brute_breach(&effective(&entries), &systems, &[], &[], 0, end + DAY);
        let (found, summary) = breach(&mut client, &systems, &[], &[], 0, end + DAY, false)
            .await
            .expect("investigation");
        assert_eq!(observed_breach(&found, &summary), expected);
    }
    ledger.stop().await;
    {
        let store = open_stopped(&ledger);
        let size = store.breach_counts_next().expect("mark");
        assert_eq!(size, store.tree_size().expect("size"), "backfilled");
        for systems in [vec!["crm"], CORRECTED_SYSTEMS.to_vec()] {
            let query = breach_query(&systems, 0, end + DAY);
            assert!(
                breach::summarize_by_counts(&store, &query, size)
                    .expect("reads")
                    .is_some()
            );
        }
    }
    ledger.restart().await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    // New entries (of subjects old and new) after the backfill are counted by the commits.
    let mut producer = ledger.client(ADMIN_TOKEN).await;
    let mut rng = Rng(SEED ^ 8);
    let more: Vec<pb::EventSubmission> = generate(&mut rng, end)[..300]
        .iter()
        .cloned()
        .map(|mut s| {
            if let Some(e) = s.event.as_mut() {
                e.event_id = format!("later-{}", e.event_id);
            }
            s
        })
        .collect();
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: more,
            include_bundle: false,
        })
        .await
        .expect("more events");
    let entries = fetch_all(&ledger).await;
    let expected = brute_breach(&effective(&entries), &SYSTEMS, &[], &[], 0, end + DAY);
    let (found, summary) = breach(&mut client, &SYSTEMS, &[], &[], 0, end + DAY, false)
        .await
        .expect("investigation");
    assert_eq!(observed_breach(&found, &summary), expected);
    let key = ledger.verifier_key();
    ledger.stop().await;
    let store = open_stopped(&ledger);
    let audited = gdpr_ledger::store_audit::audit_store(&store, std::slice::from_ref(&key))
        .expect("the backfilled and committed count rows are those of the entries");
    assert!(audited.breach_count_rows > 100, "{audited:?}");
}

/// `gdpr-ledger report breach` writes the entries as they arrive (CSV and JSON) and, for the text
/// summary, asks for no entries at all; without --from/--to it covers all time. Each read is
/// logged as an access entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_command_streams_entries_and_asks_only_for_the_summary_in_text() {
    let ledger = populated(SEED ^ 9).await;
    let end = end_seconds();
    let entries = fetch_all(&ledger).await;
    let expected = brute_breach(&effective(&entries), &["crm"], &[], &[], 0, end + DAY);
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |format: &str, out: &std::path::Path| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
            .args(["report", "breach", "--server"])
            .arg(ledger.addr().to_string())
            .args([
                "--token",
                AUDITOR_TOKEN,
                "--system",
                "crm",
                "--format",
                format,
                "-o",
            ])
            .arg(out)
            .output()
            .expect("report runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let csv_path = dir.path().join("crm.csv");
    run("csv", &csv_path);
    let csv = std::fs::read_to_string(&csv_path).expect("csv");
    let mut indexes: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|line| {
            line.split(',')
                .next()
                .and_then(|i| i.parse().ok())
                .expect("index")
        })
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, expected.indexes);
    assert_eq!(
        csv,
        gdpr_ledger::reports::export::breach_csv(
            &breach(
                &mut reports(&ledger, AUDITOR_TOKEN).await,
                &["crm"],
                &[],
                &[],
                0,
                end + DAY,
                false
            )
            .await
            .expect("investigation")
            .0
        ),
        "the streamed CSV is the export of the entries"
    );
    // Standard output gets the same bytes as the file, and standard error (not a terminal here)
    // only the closing line: no progress bar is drawn.
    let (stdout, stderr) = report_cli(&ledger, &["breach", "--system", "crm", "--format", "csv"]);
    assert_eq!(stdout, csv, "the CSV on standard output is the file's");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(!stderr.contains('\r'), "{stderr:?}");
    let json_path = dir.path().join("crm.json");
    run("json", &json_path);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("parses");
    assert_eq!(
        json["entries"].as_array().map(Vec::len),
        Some(expected.indexes.len())
    );
    assert_eq!(json["summary"]["records"], expected.indexes.len() as u64);
    let text_path = dir.path().join("crm.txt");
    let stderr = run("text", &text_path);
    assert!(stderr.contains("(0 entries received)"), "{stderr}");
    let text = std::fs::read_to_string(&text_path).expect("text");
    assert!(
        text.contains(&format!(
            "{} data subjects, {} records",
            expected.subjects,
            expected.indexes.len()
        )),
        "{text}"
    );
    // Five investigations, five access entries by the auditor.
    let after = fetch_all(&ledger).await;
    let logged = after[entries.len()..]
        .iter()
        .filter(|e| {
            e.producer == "dpo-office"
                && e.event.as_ref().is_some_and(|ev| {
                    ev.kind() == pb::EventKind::Access && ev.event_id.starts_with("report.breach.")
                })
        })
        .count();
    assert_eq!(logged, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_finding_comes_with_a_verifiable_bundle_and_exports() {
    let ledger = populated(SEED ^ 1).await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let end = end_seconds();
    let (found, summary) = breach(
        &mut client,
        &["crm", "webshop"],
        &[],
        &[],
        end - 365 * DAY,
        end,
        true,
    )
    .await
    .expect("investigation");
    assert!(!found.is_empty());
    let verified = verify_bundle_json(&summary.bundle_json, &[ledger.verifier_key()])
        .expect("the bundle verifies");
    let proved: BTreeSet<u64> = verified.entries.iter().map(|e| e.entry.index()).collect();
    for entry in &found {
        assert!(
            proved.contains(&entry.index),
            "entry {} is proved",
            entry.index
        );
    }
    // Amended entries bring their amendments into the bundle.
    let entries = fetch_all(&ledger).await;
    for entry in found.iter().filter(|e| e.amended) {
        let amendments = entries.iter().filter(|e| {
            e.event
                .as_ref()
                .and_then(|ev| ev.correction.as_ref())
                .is_some_and(|c| c.target_index == entry.index)
        });
        for amendment in amendments {
            assert!(proved.contains(&amendment.index));
        }
    }
    let csv = gdpr_ledger::reports::export::breach_csv(&found);
    assert_eq!(csv.lines().count(), found.len() + 1);
    assert!(csv.starts_with(gdpr_ledger::reports::export::CSV_HEADER));
    let json: serde_json::Value =
        serde_json::from_str(&gdpr_ledger::reports::export::breach_json(&found, &summary))
            .expect("JSON export parses");
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(found.len()));
    assert_eq!(json["summary"]["records"], summary.records);
}

type Tuple = (String, String, String, String, String, String, i32);

fn brute_processing(
    effective: &BTreeMap<u64, (pb::Event, bool, Vec<u8>)>,
) -> BTreeMap<Tuple, (u64, i64, i64)> {
    let mut out: BTreeMap<Tuple, (u64, i64, i64)> = BTreeMap::new();
    for (event, _, _) in effective.values() {
        if !counts_records(event.kind()) {
            continue;
        }
        let at = event.occurred_at.expect("time");
        let at = at.seconds * 1_000_000_000 + i64::from(at.nanos);
        let blank = vec![String::new()];
        let purposes = if event.purposes.is_empty() {
            &blank
        } else {
            &event.purposes
        };
        let bases = if event.legal_bases.is_empty() {
            &blank
        } else {
            &event.legal_bases
        };
        let (name, country, basis) = event
            .recipient
            .as_ref()
            .map(|r| (r.name.clone(), r.country.clone(), r.transfer_basis))
            .unwrap_or_default();
        for category in &event.data_categories {
            for purpose in purposes {
                for legal_basis in bases {
                    let key = (
                        event.system.clone(),
                        category.clone(),
                        purpose.clone(),
                        legal_basis.clone(),
                        name.clone(),
                        country.clone(),
                        basis,
                    );
                    let slot = out.entry(key).or_insert((0, i64::MAX, i64::MIN));
                    slot.0 += 1;
                    slot.1 = slot.1.min(at);
                    slot.2 = slot.2.max(at);
                }
            }
        }
    }
    out
}

fn observed_processing(records: &[pb::ProcessingRecord]) -> BTreeMap<Tuple, (u64, i64, i64)> {
    let nanos = |t: &Option<Timestamp>| {
        let t = t.expect("time");
        t.seconds * 1_000_000_000 + i64::from(t.nanos)
    };
    records
        .iter()
        .map(|r| {
            (
                (
                    r.system.clone(),
                    r.data_category.clone(),
                    r.purpose.clone(),
                    r.legal_basis.clone(),
                    r.recipient.clone(),
                    r.recipient_country.clone(),
                    r.transfer_basis,
                ),
                (r.records, nanos(&r.first_seen), nanos(&r.last_seen)),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_article_30_record_matches_a_brute_force_scan_and_survives_a_rebuild() {
    let mut ledger = populated(SEED ^ 2).await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let size_before = fetch_all(&ledger).await.len();
    let response = client
        .records_of_processing(pb::RecordsOfProcessingRequest::default())
        .await
        .expect("article 30 record")
        .into_inner();
    let entries = fetch_all(&ledger).await;
    // Reading the record of processing reveals no personal data and is not logged.
    assert_eq!(entries.len(), size_before);
    let expected = brute_processing(&effective(&entries));
    assert_eq!(observed_processing(&response.records), expected);
    for record in &response.records {
        assert_eq!(
            record.special_category,
            SPECIAL.contains(&record.data_category.as_str())
        );
        assert_eq!(record.third_country, outside_eea(&record.recipient_country));
    }
    let one = client
        .records_of_processing(pb::RecordsOfProcessingRequest {
            systems: vec!["clinic-app".into()],
        })
        .await
        .expect("one system")
        .into_inner();
    let expected_one: BTreeMap<_, _> = expected
        .iter()
        .filter(|(k, _)| k.0 == "clinic-app")
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(observed_processing(&one.records), expected_one);

    // A data dir without the indexes (as one made before them): the next start rebuilds them.
    ledger.stop().await;
    {
        let store = gdpr_ledger::storage::LedgerStore::open(
            &ledger.config.data_dir,
            &ledger.config.origin,
            &ledger.config.storage,
        )
        .expect("store opens");
        store.reset_report_index().expect("reset");
        assert_eq!(store.report_index_next().expect("mark"), 0);
        assert!(store.report_aggregates().expect("aggregates").is_empty());
    }
    ledger.restart().await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let rebuilt = client
        .records_of_processing(pb::RecordsOfProcessingRequest::default())
        .await
        .expect("article 30 record after the rebuild")
        .into_inner();
    assert_eq!(observed_processing(&rebuilt.records), expected);
    // And the indexes keep up with new appends after the rebuild.
    let mut producer = ledger.client(ADMIN_TOKEN).await;
    let mut rng = Rng(SEED ^ 3);
    let more = generate(&mut rng, end_seconds());
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: more[..200]
                .iter()
                .cloned()
                .map(|mut s| {
                    if let Some(e) = s.event.as_mut() {
                        e.event_id = format!("more-{}", e.event_id);
                    }
                    s
                })
                .collect(),
            include_bundle: false,
        })
        .await
        .expect("more events");
    let after = client
        .records_of_processing(pb::RecordsOfProcessingRequest::default())
        .await
        .expect("article 30 record")
        .into_inner();
    let entries = fetch_all(&ledger).await;
    assert_eq!(
        observed_processing(&after.records),
        brute_processing(&effective(&entries))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_access_reports_match_the_subjects_entries_and_are_logged() {
    let ledger = populated(SEED ^ 4).await;
    let mut client = reports(&ledger, ADMIN_TOKEN).await;
    // One scan before the reports: each subject is asked for once, so the access entries that
    // the reports append concern other subjects than the one being checked.
    let entries = fetch_all(&ledger).await;
    let effective = effective(&entries);
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let mut with_corrections = 0;
    for n in 0..60u64 {
        let response = client
            .subject_access_report(pb::SubjectAccessReportRequest {
                subject: Some(subject(n)),
            })
            .await
            .expect("subject access report")
            .into_inner();
        let token = response.subject_token.clone();
        let corrected = entries.iter().any(|e| {
            e.event
                .as_ref()
                .and_then(|ev| ev.correction.as_ref())
                .is_some_and(|c| entries[c.target_index as usize].subject_token == token)
        });
        with_corrections += usize::from(corrected);
        let mine: Vec<(&u64, &pb::Event)> = effective
            .iter()
            .filter(|(_, (_, _, t))| *t == token)
            .map(|(i, (e, _, _))| (i, e))
            .collect();
        let report: serde_json::Value =
            serde_json::from_str(&response.report_json).expect("JSON report");
        let indexes: Vec<u64> = report["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["index"].as_u64().expect("index"))
            .collect();
        assert_eq!(
            indexes,
            mine.iter().map(|(i, _)| **i).collect::<Vec<_>>(),
            "subject {n}"
        );
        // Per system: the categories held there.
        let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut shared: BTreeSet<(String, String)> = BTreeSet::new();
        for (_, event) in &mine {
            if counts_records(event.kind()) {
                held.entry(event.system.clone())
                    .or_default()
                    .extend(event.data_categories.iter().cloned());
            }
            if let Some(r) = &event.recipient {
                shared.insert((r.name.clone(), r.country.clone()));
            }
        }
        let reported: BTreeMap<String, BTreeSet<String>> = report["systems"]
            .as_array()
            .expect("systems")
            .iter()
            .map(|s| {
                (
                    s["system"].as_str().expect("system").to_owned(),
                    s["data_categories"]
                        .as_array()
                        .expect("categories")
                        .iter()
                        .map(|c| c.as_str().expect("category").to_owned())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(reported, held, "subject {n}");
        let reported_shares: BTreeSet<(String, String)> = report["recipients"]
            .as_array()
            .expect("recipients")
            .iter()
            .map(|r| {
                (
                    r["recipient"].as_str().expect("name").to_owned(),
                    r["country"].as_str().expect("country").to_owned(),
                )
            })
            .collect();
        assert_eq!(reported_shares, shared);
        assert!(response.report_text.contains("Subject access report"));
        // The report was logged as an access entry in the subject's own chain.
        let logged = auditor
            .get_entry(pb::GetEntryRequest {
                selector: Some(pb::get_entry_request::Selector::Index(
                    response.access_entry_index,
                )),
                producer: String::new(),
            })
            .await
            .expect("access entry")
            .into_inner();
        let logged = pb::Entry::decode(logged.entry.as_slice()).expect("decodes");
        assert_eq!(logged.subject_token, token);
        assert_eq!(logged.producer, "ops");
        assert_eq!(
            logged.event.as_ref().map(|e| e.kind()),
            Some(pb::EventKind::Access)
        );
    }
    assert!(with_corrections >= 5, "some subjects had corrected entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_report_requests_are_refused_and_change_nothing() {
    let ledger = TestLedger::start().await;
    let mut producer = ledger.client(ADMIN_TOKEN).await;
    let mut rng = Rng(SEED ^ 5);
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: generate(&mut rng, end_seconds())[..50].to_vec(),
            include_bundle: false,
        })
        .await
        .expect("appended");
    let size = fetch_all(&ledger).await.len();
    let end = end_seconds();

    let mut as_producer = reports(&ledger, PRODUCER_TOKEN).await;
    let denied = breach(&mut as_producer, &["crm"], &[], &[], end - DAY, end, false)
        .await
        .expect_err("producers may not investigate");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let denied = as_producer
        .subject_access_report(pb::SubjectAccessReportRequest {
            subject: Some(subject(1)),
        })
        .await
        .expect_err("producers may not read reports");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let denied = as_producer
        .records_of_processing(pb::RecordsOfProcessingRequest::default())
        .await
        .expect_err("producers may not read reports");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let cases: Vec<(Vec<&str>, i64, i64, &str)> = vec![
        (vec!["crm"], end, end - DAY, "to:"),
        (vec!["crm"], end, end, "to:"),
        (vec![], end - DAY, end, "systems:"),
        (vec![""], end - DAY, end, "systems[0]:"),
    ];
    for (systems, from, to, field) in cases {
        let refused = breach(&mut client, &systems, &[], &[], from, to, false)
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{systems:?}");
        assert!(
            refused.message().starts_with(field),
            "{}",
            refused.message()
        );
    }
    let missing = investigate_breach(
        &mut client,
        pb::InvestigateBreachRequest {
            systems: vec!["crm".into()],
            from: Some(ts(end - DAY)),
            ..Default::default()
        },
        |_, _| {},
    )
    .await
    .expect_err("no end of window");
    assert!(missing.message().starts_with("to:"));
    let unknown = client
        .subject_access_report(pb::SubjectAccessReportRequest {
            subject: Some(subject(999_999)),
        })
        .await
        .expect_err("unknown subject");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let no_subject = client
        .subject_access_report(pb::SubjectAccessReportRequest { subject: None })
        .await
        .expect_err("no subject");
    assert_eq!(no_subject.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        fetch_all(&ledger).await.len(),
        size,
        "refused requests append nothing"
    );
}

/// The recipient's name is the free text a report prints; this one is at once a spreadsheet
/// formula, markup, and full of quotes, commas and ampersands.
const HOSTILE: &str = "=HYPERLINK(\"http://evil.example/?x\",\"<script>alert('x')</script> & co\")";

/// Runs `gdpr-ledger report <args>` against `ledger` as the auditor; returns stdout and stderr.
fn report_cli(ledger: &TestLedger, args: &[&str]) -> (String, String) {
    let (kind, rest) = args.split_first().expect("a report");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["report", kind, "--server"])
        .arg(ledger.addr().to_string())
        .args(["--token", AUDITOR_TOKEN])
        .args(rest)
        .output()
        .expect("report runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// A fresh ledger with a collection (index 0) and a share to [`HOSTILE`] (index 1), both in
/// `crm`, of the subject `email:alice@example.com`.
async fn hostile_ledger() -> TestLedger {
    let ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let alice = pb::SubjectIdentifier {
        kind: "email".into(),
        value: "alice@example.com".into(),
    };
    let mut collection = gdpr_ledger::validation::example_submission(pb::EventKind::Collection);
    let mut share = gdpr_ledger::validation::example_submission(pb::EventKind::Share);
    for (n, sub) in [&mut collection, &mut share].into_iter().enumerate() {
        sub.subject = Some(alice.clone());
        let event = sub.event.as_mut().expect("event");
        event.event_id = format!("hostile-{n}");
        event.system = "crm".into();
    }
    if let Some(recipient) = share
        .event
        .as_mut()
        .and_then(|event| event.recipient.as_mut())
    {
        recipient.name = HOSTILE.into();
    }
    for submission in [collection, share] {
        producer
            .append(pb::AppendRequest {
                submission: Some(submission),
                include_bundle: false,
            })
            .await
            .expect("append");
    }
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_neutralise_formulas_and_quote_through_the_csv_library() {
    let ledger = hostile_ledger().await;
    let neutralised = format!("'{HOSTILE}");
    let (breach, _) = report_cli(&ledger, &["breach", "--system", "crm", "--format", "csv"]);
    let (processing, _) = report_cli(&ledger, &["processing", "--format", "csv"]);
    for (csv, column) in [(&breach, "recipient"), (&processing, "recipient")] {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().expect("a header").clone();
        let at = headers
            .iter()
            .position(|h| h == column)
            .expect("a recipient column");
        let cells: Vec<String> = reader
            .records()
            .map(|record| record.expect("a well-formed record")[at].to_owned())
            .filter(|cell| !cell.is_empty())
            .collect();
        // One line per entry of the share in the breach CSV; one per category in the record.
        assert!(!cells.is_empty(), "{csv}");
        assert!(cells.iter().all(|cell| *cell == neutralised), "{csv}");
        // The cell is quoted (it holds commas and quotes), its quotes doubled, and what a
        // spreadsheet reads first is the apostrophe.
        assert!(
            csv.contains("\"'=HYPERLINK(\"\"http://evil.example/?x\"\",\"\"<script>"),
            "{csv}"
        );
        assert!(!csv.contains(",=HYPERLINK"), "{csv}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_reports_show_query_checkpoint_labels_and_entries_with_every_value_escaped() {
    let ledger = hostile_ledger().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let escaped_hostile = gdpr_ledger::reports::html::escape(HOSTILE).into_owned();
    for (name, args) in [
        ("breach", vec!["breach", "--system", "crm"]),
        ("processing", vec!["processing"]),
        (
            "subject",
            vec!["subject", "--subject", "email:alice@example.com"],
        ),
    ] {
        // Nothing else appends: the report reads the log as it is now (the access entries of the
        // reports before this one included).
        let size = ledger.tree_size().await;
        let path = dir.path().join(format!("{name}.html"));
        let path_text = path.display().to_string();
        let mut full = args.clone();
        full.extend(["--format", "html", "-o", &path_text]);
        let (stdout, _) = report_cli(&ledger, &full);
        assert_eq!(stdout, "", "{name}: the page goes to the file");
        let html = std::fs::read_to_string(&path).expect("the page");
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.ends_with("</html>\n"), "{name}");
        assert!(!html.contains("<script"), "{name}: {html}");
        assert!(!html.contains("src="), "{name}: self-contained");
        assert!(html.contains(&escaped_hostile), "{name}: {html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"),
            "{name}"
        );
        // The checkpoint it rests on: the server's own, at the size the report read.
        let checkpoint = auditor
            .get_checkpoint(pb::GetCheckpointRequest { tree_size: size })
            .await
            .expect("the checkpoint of that size")
            .into_inner();
        assert_eq!(checkpoint.tree_size, size);
        assert!(
            html.contains(&format!("<tr><th>Tree size</th><td>{size}</td></tr>")),
            "{name}: {html}"
        );
        assert!(html.contains(&hex::encode(&checkpoint.root_hash)), "{name}");
        assert!(
            html.contains(&format!(
                "<pre>{}</pre>",
                gdpr_ledger::reports::html::escape(&checkpoint.checkpoint)
            )),
            "{name}"
        );
        // Labels beside the CURIEs, from the vocabulary table.
        for (curie, label) in [("pd:EmailAddress", "Email Address"), ("pd:Name", "Name")] {
            assert!(
                html.contains(&format!(
                    "<code>{curie}</code> <span class=\"label\">{label}</span>"
                )),
                "{name}: {curie}"
            );
        }
        assert!(html.contains("<td>crm</td>"), "{name}");
        match name {
            "breach" => {
                assert!(html.contains("<tr><th>Systems</th><td>crm</td></tr>"));
                assert!(
                    html.contains("<tr><th>Records</th><td>2</td></tr>"),
                    "{html}"
                );
                assert!(html.contains("<tr><th>Data subjects</th><td>1</td></tr>"));
                // Both entries, by index, with their kinds.
                assert!(html.contains("<tr><td>0</td>"), "{html}");
                assert!(html.contains("<tr><td>1</td>"), "{html}");
                assert!(html.contains("<td>share</td>"));
                assert!(html.contains("<td>collection</td>"));
            }
            "processing" => {
                assert!(html.contains("<tr><th>Systems</th><td>all</td></tr>"));
                assert!(html.contains(
                    "<code>eu-gdpr:A6-1-a</code> <span class=\"label\">Art 6(1-a) consent</span>"
                ));
                assert!(html.contains(
                    "<code>dpv:DirectMarketing</code> <span class=\"label\">Direct Marketing</span>"
                ));
            }
            _ => {
                assert!(html.contains(
                    "<tr><th>Subject identifier</th><td>email:alice@example.com</td></tr>"
                ));
                assert!(html.contains("<tr><td>0</td>"), "{html}");
                assert!(html.contains("<tr><td>1</td>"), "{html}");
                // The subject's two entries (the breach report's access entry names no subject).
                assert!(
                    html.contains("<tr><th>Entries</th><td>2</td></tr>"),
                    "{html}"
                );
            }
        }
    }
}
