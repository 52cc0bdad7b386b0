//! Consent on a real server: processing that relied on consent is recorded whatever its consent,
//! and the report lists exactly the processing without a valid consent at the time it happened,
//! with late withdrawals and late consents counted from their own time and corrections honoured.

mod common;

use common::{AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::BearerToken;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::EventKind;
use gdpr_ledger::proto::v1::consent_client::ConsentClient;
use gdpr_ledger::validation::{EXAMPLE_OCCURRED_AT_SECONDS, example_submission};
use tonic::Code;
use tonic::transport::Channel;

/// `EXAMPLE_OCCURRED_AT_SECONDS + offset`: every event happened in the past.
fn at(offset: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: EXAMPLE_OCCURRED_AT_SECONDS + offset,
        nanos: 0,
    })
}

fn person(name: &str) -> Option<pb::SubjectIdentifier> {
    Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: format!("{name}@example.com"),
    })
}

fn consent(id: &str, who: &str, offset: i64, kind: EventKind, record: &str) -> pb::EventSubmission {
    let mut submission = example_submission(kind);
    let event = submission.event.as_mut().expect("event");
    event.event_id = id.into();
    event.occurred_at = at(offset);
    event.purposes = vec!["dpv:Marketing".into()];
    event.consent_ref = record.into();
    submission.subject = person(who);
    submission
}

/// A collection in `crm` for marketing, relying on consent `reference` (or on a contract when
/// `reference` is `None`).
fn processing(id: &str, who: &str, offset: i64, reference: Option<&str>) -> pb::EventSubmission {
    let mut submission = example_submission(EventKind::Collection);
    let event = submission.event.as_mut().expect("event");
    event.event_id = id.into();
    event.occurred_at = at(offset);
    event.data_categories = vec!["pd:EmailAddress".into()];
    event.purposes = vec!["dpv:Marketing".into()];
    match reference {
        Some(reference) => {
            event.legal_bases = vec!["eu-gdpr:A6-1-a".into()];
            event.consent_ref = reference.into();
        }
        None => {
            event.legal_bases = vec!["eu-gdpr:A6-1-b".into()];
            event.consent_ref.clear();
        }
    }
    submission.subject = person(who);
    submission
}

async fn append(client: &mut common::Client, submission: pb::EventSubmission) -> u64 {
    append_with_warning(client, submission).await.0
}

/// Appends; returns the index and the receipt's consent warning.
async fn append_with_warning(
    client: &mut common::Client,
    submission: pb::EventSubmission,
) -> (u64, String) {
    let receipt = client
        .append(pb::AppendRequest {
            submission: Some(submission),
            include_bundle: false,
        })
        .await
        .expect("recorded, whatever its consent")
        .into_inner()
        .receipt
        .expect("receipt");
    (receipt.index, receipt.consent_warning)
}

async fn report(
    ledger: &TestLedger,
    token: &str,
    request: pb::ListProcessingWithoutConsentRequest,
) -> Result<Vec<pb::ProcessingWithoutConsent>, tonic::Status> {
    let channel = Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let mut client =
        ConsentClient::with_interceptor(channel, BearerToken::new(token).expect("token"));
    let mut stream = client
        .list_processing_without_consent(request)
        .await?
        .into_inner();
    let mut findings = Vec::new();
    while let Some(finding) = stream.message().await? {
        findings.push(finding);
    }
    Ok(findings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_lists_exactly_the_processing_without_valid_consent() {
    let ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;

    // Alice consents at +1000 and withdraws at +3000; the withdrawal reaches the ledger late,
    // after processing at +4000 was recorded.
    let alice_consent = append(
        &mut crm,
        consent(
            "alice-yes",
            "alice",
            1000,
            EventKind::ConsentGiven,
            "cmp:a1",
        ),
    )
    .await;
    let (alice_valid, warning) =
        append_with_warning(&mut crm, processing("a-1", "alice", 2000, Some("cmp:a1"))).await;
    assert_eq!(warning, "", "a valid consent stands behind it");
    let alice_by_id = append(
        &mut crm,
        processing("a-2", "alice", 2500, Some("alice-yes")),
    )
    .await;
    // Recorded before the withdrawal reaches the ledger: its receipt cannot know; the report will.
    let (alice_after, warning) =
        append_with_warning(&mut crm, processing("a-3", "alice", 4000, Some("cmp:a1"))).await;
    assert_eq!(warning, "");
    let alice_withdrawal = append(
        &mut crm,
        consent(
            "alice-no",
            "alice",
            3000,
            EventKind::ConsentWithdrawn,
            "cmp:a1",
        ),
    )
    .await;
    // Bob's processing names no consent; Carol's names one that does not exist.
    let (bob, warning) =
        append_with_warning(&mut crm, processing("b-1", "bob", 2000, Some(""))).await;
    assert_eq!(warning, "relies on consent but names none (consent_ref)");
    let carol = append(&mut crm, processing("c-1", "carol", 2000, Some("cmp:c9"))).await;
    // Dave's consent is recorded late but was given at +1000: his processing at +2000 is valid;
    // his processing at +500 came before it.
    let dave_early = append(&mut crm, processing("d-1", "dave", 500, Some("cmp:d1"))).await;
    let dave_valid = append(&mut crm, processing("d-2", "dave", 2000, Some("cmp:d1"))).await;
    let dave_consent = append(
        &mut crm,
        consent("dave-yes", "dave", 1000, EventKind::ConsentGiven, "cmp:d1"),
    )
    .await;
    // Eve's processing relies on a contract: not a consent question.
    let (eve, warning) = append_with_warning(&mut crm, processing("e-1", "eve", 2000, None)).await;
    assert_eq!(warning, "", "a contract needs no consent");
    // Frank's processing without consent was recorded by mistake and is retracted.
    let frank = append(&mut crm, processing("f-1", "frank", 2000, Some("cmp:f1"))).await;
    let mut retraction = example_submission(EventKind::Correction);
    let event = retraction.event.as_mut().expect("event");
    event.event_id = "f-1-retracted".into();
    event.correction.as_mut().expect("correction").target_index = frank;
    append(&mut crm, retraction).await;

    let findings = report(&ledger, AUDITOR_TOKEN, Default::default())
        .await
        .expect("report");
    let listed: Vec<(u64, &str, Option<u64>)> = findings
        .iter()
        .map(|f| (f.index, f.problem.as_str(), f.consent_index))
        .collect();
    assert_eq!(
        listed,
        [
            (
                alice_after,
                format!("the consent (entry {alice_consent}) was withdrawn before (entry {alice_withdrawal})").as_str(),
                Some(alice_consent)
            ),
            (bob, "relies on consent but names none (consent_ref)", None),
            (carol, "no consent_given of the subject matches consent_ref", None),
            (
                dave_early,
                format!("the consent (entry {dave_consent}) was given only afterwards").as_str(),
                Some(dave_consent)
            ),
        ]
    );
    for valid in [alice_valid, alice_by_id, dave_valid, eve, frank] {
        assert!(!findings.iter().any(|f| f.index == valid), "entry {valid}");
    }
    // The findings carry the event and its subject.
    assert_eq!(
        findings[0].event.as_ref().map(|e| e.event_id.as_str()),
        Some("a-3")
    );
    assert_eq!(findings[0].token.len(), 32);

    // A time window and a system narrow it.
    let window = report(
        &ledger,
        AUDITOR_TOKEN,
        pb::ListProcessingWithoutConsentRequest {
            from_seconds: EXAMPLE_OCCURRED_AT_SECONDS + 1500,
            until_seconds: EXAMPLE_OCCURRED_AT_SECONDS + 2500,
            system: String::new(),
        },
    )
    .await
    .expect("report");
    let indexes: Vec<u64> = window.iter().map(|f| f.index).collect();
    assert_eq!(indexes, [bob, carol]);
    let other_system = report(
        &ledger,
        AUDITOR_TOKEN,
        pb::ListProcessingWithoutConsentRequest {
            system: "billing".into(),
            ..Default::default()
        },
    )
    .await
    .expect("report");
    assert!(other_system.is_empty());

    // Producers may not read it; a backwards window is refused, naming the field.
    let refused = report(&ledger, PRODUCER_TOKEN, Default::default())
        .await
        .expect_err("producers read nothing");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let backwards = report(
        &ledger,
        AUDITOR_TOKEN,
        pb::ListProcessingWithoutConsentRequest {
            from_seconds: 10,
            until_seconds: 5,
            system: String::new(),
        },
    )
    .await
    .expect_err("backwards window");
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert!(backwards.message().starts_with("until_seconds"));
}
