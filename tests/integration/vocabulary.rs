//! DPV vocabulary warnings on a real server: a `pd:`, `dpv:` or `eu-gdpr:` term that DPV does not
//! define (a typo) is recorded with a warning in its receipt (field and term) and counted in
//! `gdpr_ledger_vocabulary_warnings_total`; DPV's own terms and other prefixes get none; with
//! `limits.strict_vocabulary` the event is refused, naming the field, and nothing is appended.

use crate::common;

use common::{PRODUCER_TOKEN, TestLedger, collection};
use gdpr_ledger::proto::v1 as pb;

fn with_terms(id: &str, categories: &[&str], purposes: &[&str]) -> pb::EventSubmission {
    let mut submission = collection(id, "email", &format!("{id}@example.com"));
    let event = submission.event.as_mut().expect("event");
    event.data_categories = categories.iter().map(|t| (*t).to_owned()).collect();
    event.purposes = purposes.iter().map(|t| (*t).to_owned()).collect();
    submission
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terms_dpv_does_not_define_are_warned_about_and_counted() {
    let ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let receipts = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![
                with_terms(
                    "dpv-ok",
                    &["pd:Name", "pd:EmailAddress"],
                    &["dpv:Marketing"],
                ),
                with_terms("typo", &["pd:Name", "pd:EmailAdress"], &["dpv:Markting"]),
                with_terms("own-vocabulary", &["acme:LoyaltyTier"], &["acme:Rewards"]),
            ],
            include_bundle: false,
        })
        .await
        .expect("appended")
        .into_inner()
        .receipts;
    assert_eq!(receipts.len(), 3);
    assert_eq!(receipts[0].vocabulary_warning, "");
    let warning = &receipts[1].vocabulary_warning;
    assert!(
        warning.contains("event.data_categories[1]: pd:EmailAdress is not a term of DPV")
            && warning.contains("event.purposes[0]: dpv:Markting is not a term of DPV"),
        "{warning}"
    );
    assert!(!warning.contains("pd:Name"), "{warning}");
    assert_eq!(
        receipts[2].vocabulary_warning, "",
        "other prefixes are not DPV's"
    );
    assert_eq!(
        ledger.tree_size().await,
        3,
        "warned events are recorded all the same"
    );

    let (_, metrics) = common::http_get(ledger.metrics_addr(), "/metrics").await;
    assert!(
        metrics.contains("gdpr_ledger_vocabulary_warnings_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_vocabulary_refuses_the_event_naming_the_field() {
    let ledger = TestLedger::start_with(|config| config.limits.strict_vocabulary = true).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let refused = producer
        .append(pb::AppendRequest {
            submission: Some(with_terms("typo", &["pd:EmailAdress"], &["dpv:Marketing"])),
            include_bundle: false,
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("submission.event.data_categories[0]")
            && refused.message().contains("pd:EmailAdress"),
        "{}",
        refused.message()
    );
    assert_eq!(ledger.tree_size().await, 0, "nothing appended");
    producer
        .append(pb::AppendRequest {
            submission: Some(with_terms("fine", &["pd:EmailAddress"], &["dpv:Marketing"])),
            include_bundle: false,
        })
        .await
        .expect("DPV's terms pass in strict mode");
}

/// An erasure exemption in `billing`, on `ground`, for jane.
fn exempted(id: &str, ground: &str) -> pb::EventSubmission {
    let mut submission =
        gdpr_ledger::validation::example_submission(pb::EventKind::ErasureExempted);
    let event = submission.event.as_mut().expect("event");
    event.event_id = id.into();
    event.system = "billing".into();
    event.exemption.as_mut().expect("exemption").legal_ground = ground.into();
    submission.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: "jane.doe@example.com".into(),
    });
    submission
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_article_17_3_spelling_is_accepted_read_and_warned_with_dpv_s_term() {
    let ledger = TestLedger::start().await;
    let mut billing = ledger.client(common::BILLING_TOKEN).await;
    let receipts = billing
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![
                exempted("billing:old", "eu-gdpr:A17-3-e"),
                exempted("billing:new", "eu-gdpr:JustificationA17LegalClaims"),
            ],
            include_bundle: false,
        })
        .await
        .expect("both spellings are accepted")
        .into_inner()
        .receipts;
    let warning = &receipts[0].vocabulary_warning;
    assert!(
        warning.contains("event.exemption.legal_ground: eu-gdpr:A17-3-e")
            && warning.contains("use eu-gdpr:JustificationA17LegalClaims"),
        "{warning}"
    );
    assert_eq!(receipts[1].vocabulary_warning, "", "DPV's own term");

    let refused = billing
        .append(pb::AppendRequest {
            submission: Some(exempted("billing:invented", "eu-gdpr:A17-3-z")),
            include_bundle: false,
        })
        .await
        .expect_err("not a ground of article 17(3)");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("exemption.legal_ground"),
        "{}",
        refused.message()
    );
    assert_eq!(ledger.tree_size().await, 2);
}
