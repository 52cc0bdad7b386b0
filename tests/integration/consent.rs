//! Consent on a real server: processing that relied on consent is recorded whatever its consent,
//! and the report lists exactly the processing without a valid consent at the time it happened,
//! with late withdrawals and late consents counted from their own time and corrections honoured;
//! the opt-in policy by channel (`[consent]`, `consent_policy_declared`) in receipts and in the
//! report for several `as_of` times.

use crate::common;

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
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
            as_of: None,
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
            as_of: None,
        },
    )
    .await
    .expect_err("backwards window");
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert!(backwards.message().starts_with("until_seconds"));
}

// ---- The opt-in policy by channel (docs/erasure.md section 6) ----

/// The time now, to the nanosecond: read by the test (its clock), never waited on.
fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

/// A collection in `crm` through `channel` for marketing, on legitimate interests, naming no
/// consent, at `at`.
fn scan(id: &str, who: &str, channel: &str, at: prost_types::Timestamp) -> pb::EventSubmission {
    let mut submission = processing(id, who, 0, None);
    let event = submission.event.as_mut().expect("event");
    event.occurred_at = Some(at);
    event.collection_channel = channel.into();
    event.legal_bases = vec!["eu-gdpr:A6-1-f".into()];
    submission
}

/// An opt-in policy declaration: `rules` as (channels, purposes), in force from `effective_at`.
fn opt_in(
    id: &str,
    rules: &[(&[&str], &[&str])],
    effective_at: prost_types::Timestamp,
) -> pb::EventSubmission {
    let mut submission = example_submission(EventKind::ConsentPolicyDeclared);
    let event = submission.event.as_mut().expect("event");
    event.event_id = id.into();
    event.occurred_at = Some(now());
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    event.consent_policy = Some(pb::OptInPolicy {
        rules: rules
            .iter()
            .map(|(channels, purposes)| pb::OptInRule {
                channels: strings(channels),
                purposes: strings(purposes),
            })
            .collect(),
        effective_at: Some(effective_at),
    });
    submission
}

async fn report_as_of(
    ledger: &TestLedger,
    as_of: Option<prost_types::Timestamp>,
) -> Vec<(u64, Option<u64>, String)> {
    report(
        ledger,
        AUDITOR_TOKEN,
        pb::ListProcessingWithoutConsentRequest {
            as_of,
            ..Default::default()
        },
    )
    .await
    .expect("report")
    .into_iter()
    .map(|f| (f.index, f.policy_index, f.requires_consent))
    .collect()
}

/// The receipts of a server that started without an opt-in policy skip the consent question
/// (the store's list of declarations, kept in memory, says there is none); a policy declared
/// while it runs is in that list from its commit on, so the next receipt warns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_in_policy_declared_while_the_server_runs_warns_the_next_receipt() {
    let ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let before = now();
    for id in ["s-1", "s-2"] {
        let (_, warning) =
            append_with_warning(&mut crm, scan(id, "gina", "event-badge-scan", now())).await;
        assert_eq!(warning, "", "no policy is declared yet");
    }
    let rules: &[(&[&str], &[&str])] = &[(&["event-badge-scan"], &["dpv:Marketing"])];
    let policy = append(&mut admin, opt_in("p-1", rules, before)).await;
    let (_, warning) =
        append_with_warning(&mut crm, scan("s-3", "gina", "event-badge-scan", now())).await;
    assert_eq!(
        warning,
        format!(
            "the opt-in policy (entry {policy}) requires consent for collections through \
             \"event-badge-scan\" for dpv:Marketing, whatever the stated legal basis \
             (eu-gdpr:A6-1-f): relies on consent but names none (consent_ref)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opt_in_policy_by_channel_is_honoured_by_receipts_and_the_report() {
    // [consent]: badge scans for marketing need consent. The server declares it at start: entry 0.
    let mut ledger = TestLedger::start_with(|config| {
        config.consent.opt_in = Some(vec![gdpr_ledger::consent::OptInRuleConfig {
            channels: vec!["event-badge-scan".into()],
            purposes: vec!["dpv:Marketing".into()],
        }]);
    })
    .await;
    assert_eq!(
        ledger.tree_size().await,
        1,
        "the policy is declared at start"
    );
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let mut admin = ledger.client(ADMIN_TOKEN).await;

    // A badge scan on legitimate interests: recorded, with a warning that shows the policy and
    // the stated basis. The same through a web form: no consent question.
    let (badge, warning) =
        append_with_warning(&mut crm, scan("s-1", "gina", "event-badge-scan", now())).await;
    assert_eq!(
        warning,
        "the opt-in policy (entry 0) requires consent for collections through \"event-badge-scan\" \
         for dpv:Marketing, whatever the stated legal basis (eu-gdpr:A6-1-f): relies on consent \
         but names none (consent_ref)"
    );
    let (_, warning) = append_with_warning(&mut crm, scan("s-2", "gina", "web-form", now())).await;
    assert_eq!(warning, "", "web forms are not in the policy");
    // A partner's list: not in the policy yet.
    let partner_at = now();
    let (partner, warning) =
        append_with_warning(&mut crm, scan("s-3", "hank", "partner:acme", partner_at)).await;
    assert_eq!(warning, "");
    let before_partners = now();

    // Only an admin declares a policy.
    let mut by_producer = opt_in("p-1", &[(&["partner:acme"], &[])], partner_at);
    by_producer.event.as_mut().expect("event").system = "crm".into();
    let refused = crm
        .append(pb::AppendRequest {
            submission: Some(by_producer),
            include_bundle: false,
        })
        .await
        .expect_err("a producer may not declare the opt-in policy");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("consent_policy_declared"),
        "{}",
        refused.message()
    );
    // The admin adds partner lists (every purpose) from the partner collection's time on: it
    // covers that earlier collection too, from the log that holds the declaration on.
    let rules: &[(&[&str], &[&str])] = &[
        (&["event-badge-scan"], &["dpv:Marketing"]),
        (&["partner:acme"], &[]),
    ];
    let partners = append(&mut admin, opt_in("p-2", rules, partner_at)).await;
    // A policy that takes effect next year is in force for nothing yet.
    let next_year = prost_types::Timestamp {
        seconds: partner_at.seconds + 365 * 86_400,
        nanos: 0,
    };
    append(&mut admin, opt_in("p-3", &[], next_year)).await;
    let (later_partner, warning) =
        append_with_warning(&mut crm, scan("s-4", "hank", "partner:acme", now())).await;
    assert!(
        warning.starts_with(&format!(
            "the opt-in policy (entry {partners}) requires consent for collections through \"partner:acme\", whatever"
        )),
        "{warning}"
    );
    let before_retraction = now();

    // The report, for the log as received by each time: the partner collection is listed only
    // once the log holds the partners' policy, with the policy and the stated basis.
    let requires = |index: u64| {
        format!(
            "the opt-in policy (entry {index}) requires consent for collections through \"partner:acme\", whatever the stated legal basis (eu-gdpr:A6-1-f)"
        )
    };
    let badge_requires = "the opt-in policy (entry 0) requires consent for collections through \"event-badge-scan\" for dpv:Marketing, whatever the stated legal basis (eu-gdpr:A6-1-f)";
    assert_eq!(
        report_as_of(&ledger, Some(before_partners)).await,
        [(badge, Some(0), badge_requires.to_owned())]
    );
    let expected_before_retraction = [
        (badge, Some(0), badge_requires.to_owned()),
        (partner, Some(partners), requires(partners)),
        (later_partner, Some(partners), requires(partners)),
    ];
    assert_eq!(
        report_as_of(&ledger, Some(before_retraction)).await,
        expected_before_retraction
    );

    // The partners' policy is retracted: from then on the partner collections need no consent,
    // and the answer for the earlier time does not change.
    let mut retraction = example_submission(EventKind::Correction);
    let event = retraction.event.as_mut().expect("event");
    event.event_id = "p-2-retracted".into();
    event.system = "privacy-portal".into();
    event.correction.as_mut().expect("correction").target_index = partners;
    append(&mut admin, retraction).await;
    // The receipt honours the retraction too (it reads the declarations' own corrections).
    let (_, warning) =
        append_with_warning(&mut crm, scan("s-5", "hank", "partner:acme", now())).await;
    assert_eq!(warning, "", "the partners' policy is retracted");
    assert_eq!(
        report_as_of(&ledger, None).await,
        [(badge, Some(0), badge_requires.to_owned())]
    );
    assert_eq!(
        report_as_of(&ledger, Some(before_retraction)).await,
        expected_before_retraction
    );
    // A badge scan amended to a web form leaves the report; with consent it never needed one.
    let mut amendment = example_submission(EventKind::Correction);
    let event = amendment.event.as_mut().expect("event");
    event.event_id = "s-1-amended".into();
    let correction = event.correction.as_mut().expect("correction");
    correction.target_index = badge;
    correction.action = pb::CorrectionAction::Amend as i32;
    event.collection_channel = "web-form".into();
    append(&mut crm, amendment).await;
    assert_eq!(report_as_of(&ledger, None).await, []);

    // At the next start the configuration differs from the latest declaration (the admin's of
    // next year, without rules): it is declared again, in force from then; at the start after
    // that, it is the latest, and nothing more is declared.
    let size = ledger.tree_size().await;
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, size + 1);
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, size + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_policy_that_breaks_the_rules_is_refused_naming_its_key() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let mut config = common::test_config(dirs.path());
    config.consent.opt_in = Some(vec![gdpr_ledger::consent::OptInRuleConfig {
        channels: vec!["event-badge-scan".into(), "badge scan".into()],
        purposes: Vec::new(),
    }]);
    let error = match gdpr_ledger::server::start(config).await {
        Ok(_) => panic!("a channel with a space is refused"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("[consent] opt_in[0].channels[1]:"),
        "{error}"
    );
}
