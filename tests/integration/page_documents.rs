//! Documents a real server hands an auditor, for the auditor's page in `web/` (issue 17): a data
//! subject's whole lifecycle (collection, consent, shares inside and outside the EEA, an access,
//! consent withdrawn, erasure requested, deletions confirmed by some holders), a lifecycle of 100
//! entries (the page's timing), an append receipt with and without its bundle, and a breach
//! finding (`report breach --format json`) with its proof bundle (`--bundle`). They live in
//! `web/test/server/` (committed: a server's keys and times differ from run to run);
//! `web/test/browser.test.js` opens them in the page in Chromium.
//!
//! `GDPR_LEDGER_EXPORT_PAGE_DOCUMENTS=1 cargo test --release --test integration page_documents::` remakes them
//! from a server (RocksDB in a temp dir, gRPC on 127.0.0.1); every run checks that Rust verifies
//! the committed ones.

use crate::common;

use std::path::PathBuf;

use base64::Engine as _;
use common::{ADMIN_TOKEN, AUDITOR_TOKEN, MAILER_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::{fetch_lifecycle, investigate_breach, reports_client};
use gdpr_ledger::core::bundle::verify_bundle_json;
use gdpr_ledger::core::lifecycle::verify_lifecycle_json;
use gdpr_ledger::core::signature::VerifierKey;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::export::breach_json;
use gdpr_ledger::validation::example_submission;
use pb::get_subject_lifecycle_request::Subject;
use serde_json::{Value, json};

const DAY: i64 = 86_400;
/// 2025-03-01T09:00:00Z: the lifecycle's first day.
const START: i64 = 1_740_819_600;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/test/server")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| {
        panic!(
            "web/test/server/{name}: {e} (remake with GDPR_LEDGER_EXPORT_PAGE_DOCUMENTS=1 \
             cargo test --release --test integration page_documents::)"
        )
    })
}

fn event(
    kind: pb::EventKind,
    who: &str,
    id: &str,
    system: &str,
    day: i64,
    adjust: impl FnOnce(&mut pb::Event),
) -> pb::EventSubmission {
    let mut submission = example_submission(kind);
    if let Some(event) = submission.event.as_mut() {
        event.event_id = id.into();
        event.system = system.into();
        event.occurred_at = Some(prost_types::Timestamp {
            seconds: START + day * DAY,
            nanos: 0,
        });
        adjust(event);
    }
    submission.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: who.into(),
    });
    submission
}

/// The Append response as grpcurl prints it (proto3 JSON: lowerCamelCase, uint64 as a string,
/// bytes as base64, defaults left out).
fn receipt_json(r: &pb::Receipt) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut o = serde_json::Map::new();
    if r.index != 0 {
        o.insert("index".into(), json!(r.index.to_string()));
    }
    o.insert("leafHash".into(), json!(b64(&r.leaf_hash)));
    o.insert("signature".into(), json!(b64(&r.signature)));
    o.insert("keyId".into(), json!(r.key_id));
    o.insert("checkpoint".into(), json!(r.checkpoint));
    if !r.bundle_json.is_empty() {
        o.insert("bundleJson".into(), json!(r.bundle_json));
    }
    json!({ "receipt": o })
}

async fn make_documents() {
    let ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let mut mailer = ledger.client(MAILER_TOKEN).await;
    async fn append(
        client: &mut common::Client,
        submission: pb::EventSubmission,
        include_bundle: bool,
    ) -> pb::Receipt {
        client
            .append(pb::AppendRequest {
                submission: Some(submission),
                include_bundle,
            })
            .await
            .expect("append")
            .into_inner()
            .receipt
            .expect("receipt")
    }
    use pb::EventKind as K;
    let dana = "dana@example.com";
    // Someone else first, so that Dana's entries are not the first of the log.
    append(
        &mut crm,
        event(K::Collection, "erik@example.com", "e-1", "crm", 0, |_| {}),
        false,
    )
    .await;
    let receipt = append(
        &mut crm,
        event(K::Collection, dana, "d-1", "webshop", 0, |e| {
            e.collection_channel = "checkout-form".into();
        }),
        true,
    )
    .await;
    append(
        &mut crm,
        event(K::ConsentGiven, dana, "d-2", "cmp", 1, |e| {
            e.consent_ref = "cmp:rec-5521".into();
        }),
        false,
    )
    .await;
    append(
        &mut crm,
        event(K::Share, dana, "d-3", "crm", 2, |e| {
            e.recipient = Some(pb::Recipient {
                name: "mailer-eu".into(),
                role: pb::RecipientRole::Processor as i32,
                country: "IE".into(),
                transfer_basis: 0,
            });
            e.consent_ref = "cmp:rec-5521".into();
        }),
        false,
    )
    .await;
    append(
        &mut crm,
        event(K::Share, dana, "d-4", "crm", 3, |e| {
            e.consent_ref = "cmp:rec-5521".into();
        }),
        false,
    )
    .await;
    let bare = append(
        &mut crm,
        event(K::Access, dana, "d-5", "support-desk", 10, |_| {}),
        false,
    )
    .await;
    append(
        &mut crm,
        event(K::ConsentWithdrawn, dana, "d-6", "cmp", 20, |e| {
            e.consent_ref = "cmp:rec-5521".into();
        }),
        false,
    )
    .await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let mut admin = pb::erasure_client::ErasureClient::with_interceptor(
        channel.clone(),
        gdpr_ledger::client::BearerToken::new(ADMIN_TOKEN).expect("token"),
    );
    admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(pb::SubjectIdentifier {
                kind: "email".into(),
                value: dana.into(),
            }),
            system: "privacy-portal".into(),
            event_id: "d-erase".into(),
        })
        .await
        .expect("erase dana");
    for (id, system) in [("d-7", "crm"), ("d-8", "webshop"), ("d-9", "mailer-eu")] {
        let client = if system == "mailer-eu" {
            &mut mailer
        } else {
            &mut crm
        };
        let mut s = event(K::DeletionDone, dana, id, system, 22, |_| {});
        // deletions are confirmed after the erasure request, which the server dated now
        if let Some(e) = s.event.as_mut() {
            e.occurred_at = Some(prost_types::Timestamp {
                seconds: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_secs() as i64,
                nanos: 0,
            });
        }
        append(client, s, false).await;
    }
    // A subject with 100 entries.
    let frank = "frank@example.com";
    append(
        &mut crm,
        event(K::Collection, frank, "f-0", "crm", 0, |_| {}),
        false,
    )
    .await;
    for i in 1..100 {
        let id = format!("f-{i}");
        append(
            &mut crm,
            event(K::Access, frank, &id, "support-desk", i / 4, |_| {}),
            false,
        )
        .await;
    }

    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let lifecycle = |who: &str| {
        Subject::Identifier(pb::SubjectIdentifier {
            kind: "email".into(),
            value: who.into(),
        })
    };
    let dana_bundle = fetch_lifecycle(&mut auditor, lifecycle(dana), 0)
        .await
        .expect("lifecycle");
    let frank_bundle = fetch_lifecycle(&mut auditor, lifecycle(frank), 0)
        .await
        .expect("lifecycle");
    let mut reports = reports_client(channel, AUDITOR_TOKEN).expect("token");
    let (entries, summary) = investigate_breach(
        &mut reports,
        pb::InvestigateBreachRequest {
            systems: vec!["crm".into()],
            recipients: vec![],
            data_categories: vec![],
            from: Some(prost_types::Timestamp {
                seconds: START,
                nanos: 0,
            }),
            to: Some(prost_types::Timestamp {
                seconds: START + 10 * DAY,
                nanos: 0,
            }),
            include_bundle: true,
            summary_only: false,
        },
        |_, _| {},
    )
    .await
    .expect("breach investigation");

    let out = dir();
    std::fs::create_dir_all(&out).expect("web/test/server");
    let write = |name: &str, text: String| {
        std::fs::write(out.join(name), text).expect("write");
    };
    write("verifier-key.txt", format!("{}\n", ledger.verifier_key()));
    write("lifecycle.json", dana_bundle.to_json() + "\n");
    write("lifecycle-100.json", frank_bundle.to_json() + "\n");
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("json") + "\n";
    write("receipt.json", pretty(&receipt_json(&receipt)));
    write("receipt-no-bundle.json", pretty(&receipt_json(&bare)));
    write("breach-finding.json", breach_json(&entries, &summary));
    write("breach-bundle.json", summary.bundle_json.clone() + "\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_documents_are_a_real_servers_and_verify() {
    if std::env::var_os("GDPR_LEDGER_EXPORT_PAGE_DOCUMENTS").is_some() {
        make_documents().await;
    }
    let key = VerifierKey::parse(read("verifier-key.txt").trim()).expect("the key parses");
    let keys = [key];

    let dana = verify_lifecycle_json(&read("lifecycle.json"), &keys).expect("Dana's lifecycle");
    assert_eq!(
        dana.entries.len(),
        10,
        "Dana's lifecycle: 7 events, erasure, 3 deletions"
    );
    let frank = verify_lifecycle_json(&read("lifecycle-100.json"), &keys).expect("lifecycle-100");
    assert_eq!(frank.entries.len(), 100);

    let receipt: Value = serde_json::from_str(&read("receipt.json")).expect("json");
    let bundle = receipt["receipt"]["bundleJson"]
        .as_str()
        .expect("bundleJson");
    let proved = verify_bundle_json(bundle, &keys).expect("the receipt's bundle");
    let index: u64 = receipt["receipt"]["index"]
        .as_str()
        .expect("index")
        .parse()
        .expect("a number");
    assert!(proved.entries.iter().any(|e| e.entry.index() == index));
    let bare: Value = serde_json::from_str(&read("receipt-no-bundle.json")).expect("json");
    assert!(bare["receipt"].get("bundleJson").is_none());

    let finding: Value = serde_json::from_str(&read("breach-finding.json")).expect("json");
    let proved = verify_bundle_json(&read("breach-bundle.json"), &keys).expect("breach bundle");
    let listed = finding["entries"].as_array().expect("entries");
    assert!(!listed.is_empty());
    for e in listed {
        let index = e["index"].as_u64().expect("index");
        assert!(
            proved.entries.iter().any(|p| p.entry.index() == index),
            "the breach bundle proves entry {index}"
        );
    }
    assert!(finding["summary"]["records"].as_u64().expect("records") >= listed.len() as u64);
}
