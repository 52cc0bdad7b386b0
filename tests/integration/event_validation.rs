//! Validation of submitted events (src/validation/): the requirement table, every kind's example,
//! each required, forbidden and optional field, each format rule, the cross-field rules, and
//! docs/events.md against the table and the examples.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gdpr_ledger::proto::v1::{
    Correction, CorrectionAction, DeletionMethod, Event, EventKind, EventSubmission, Recipient,
    RecipientRole, SubjectIdentifier, TransferBasis,
};
use gdpr_ledger::validation::requirements::{
    EVENT_REQUIREMENTS_TOML, RequirementTable, TableError, all_kinds, kind_from_name, kind_name,
};
use gdpr_ledger::validation::{
    EEA_COUNTRIES, EXAMPLE_OCCURRED_AT_SECONDS, Field, FieldError, Presence, ValidationLimits,
    clear_field, example_submission, is_curie, is_special_category, required_field_paths,
    requirement_table, special_category_terms, validate_submission,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use prost::Message;
use serde_json::{Map, Value};

/// The ledger's clock in these tests: one minute after the examples happened.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EXAMPLE_OCCURRED_AT_SECONDS as u64 + 60)
}

fn validate(sub: &EventSubmission) -> Result<(), FieldError> {
    validate_submission(sub, &ValidationLimits::default(), now())
}

/// Validates `sub`, expects it to fail on `field`, and returns the reason.
#[track_caller]
fn expect_error(sub: &EventSubmission, field: &str) -> String {
    match validate(sub) {
        Ok(()) => panic!("expected an error on {field}, but the submission validated"),
        Err(error) => {
            assert_eq!(error.field, field, "wrong field; the error was: {error}");
            error.reason
        }
    }
}

fn event_mut(sub: &mut EventSubmission) -> &mut Event {
    sub.event.as_mut().expect("examples have an event")
}

fn example(kind: EventKind) -> EventSubmission {
    example_submission(kind)
}

fn strings(terms: &[&str]) -> Vec<String> {
    terms.iter().map(|term| (*term).to_owned()).collect()
}

fn identifier(kind: &str, value: &str) -> SubjectIdentifier {
    SubjectIdentifier {
        kind: kind.to_owned(),
        value: value.to_owned(),
    }
}

/// Sets `field` to a well-formed value, as a producer might wrongly or rightly send it.
fn fill(sub: &mut EventSubmission, field: Field) {
    match field {
        Field::Subject => sub.subject = Some(identifier("email", "someone@example.com")),
        Field::LinkedSubject => sub.linked_subject = Some(identifier("customer_id", "C-9")),
        Field::Details => sub.details = b"called about the invoice".to_vec(),
        _ => {
            let event = event_mut(sub);
            match field {
                Field::EventId => event.event_id = "crm:evt-9".to_owned(),
                Field::Kind => event.kind = EventKind::Access as i32,
                Field::OccurredAt => {
                    event.occurred_at = Some(prost_types::Timestamp {
                        seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                        nanos: 5,
                    })
                }
                Field::System => event.system = "crm".to_owned(),
                Field::DataCategories => event.data_categories = strings(&["pd:EmailAddress"]),
                Field::Purposes => event.purposes = strings(&["dpv:ServiceProvision"]),
                Field::LegalBases => event.legal_bases = strings(&["eu-gdpr:A6-1-a"]),
                Field::Recipient => {
                    event.recipient = Some(Recipient {
                        name: "mailer-eu".to_owned(),
                        role: RecipientRole::Processor as i32,
                        country: "DE".to_owned(),
                        transfer_basis: 0,
                    })
                }
                Field::ConsentRef => event.consent_ref = "cmp:rec-1".to_owned(),
                Field::Actor => event.actor = "job:nightly-sync".to_owned(),
                Field::DeletionMethod => event.deletion_method = DeletionMethod::Delete as i32,
                Field::Correction => {
                    event.correction = Some(Correction {
                        target_index: 7,
                        action: CorrectionAction::Amend as i32,
                        reason: String::new(),
                    })
                }
                Field::LinkedIdentifierKind => {
                    event.linked_identifier_kind = "customer_id".to_owned()
                }
                Field::BreachRef => event.breach_ref = "BR-1".to_owned(),
                Field::CollectionChannel => event.collection_channel = "web-form".to_owned(),
                Field::DetailsDigest => event.details_digest = vec![7; 32],
                Field::Exemption => {
                    event.exemption = Some(gdpr_ledger::proto::v1::Exemption {
                        legal_ground: "eu-gdpr:A17-3-e".to_owned(),
                        until: None,
                        reason: "legal hold LH-7".to_owned(),
                    })
                }
                Field::BreachDetails => {
                    event.breach_details = Some(gdpr_ledger::proto::v1::BreachDetails {
                        aware_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS - 60,
                            nanos: 0,
                        }),
                        nature: "lost laptop, disk encrypted".to_owned(),
                        ..Default::default()
                    })
                }
                Field::BreachNotification => {
                    event.breach_notification = Some(gdpr_ledger::proto::v1::BreachNotification {
                        authority: "CNIL".to_owned(),
                        notified_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                        ..Default::default()
                    })
                }
                Field::SubjectsNotification => {
                    event.subjects_notification =
                        Some(gdpr_ledger::proto::v1::SubjectsNotification {
                            not_notified_ground: "eu-gdpr:A34-3-a".to_owned(),
                            ..Default::default()
                        })
                }
                Field::ControllerDeclaration => {
                    event.controller_declaration =
                        Some(gdpr_ledger::proto::v1::ControllerDeclaration {
                            name: "Example GmbH".to_owned(),
                            dpo_contact: "DPO, dpo@example.com".to_owned(),
                            effective_at: Some(prost_types::Timestamp {
                                seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                                nanos: 0,
                            }),
                        })
                }
                Field::RequestRef => event.request_ref = "DSR-1".to_owned(),
                Field::Request => {
                    event.request = Some(gdpr_ledger::proto::v1::DataSubjectRequest {
                        right: gdpr_ledger::proto::v1::DataSubjectRight::Portability as i32,
                        channel: "email".to_owned(),
                        received_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS - 60,
                            nanos: 0,
                        }),
                    })
                }
                Field::RequestExtension => {
                    event.request_extension = Some(gdpr_ledger::proto::v1::RequestExtension {
                        months: 2,
                        reason: "many requests".to_owned(),
                        subject_told_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                    })
                }
                Field::RequestResponse => {
                    event.request_response = Some(gdpr_ledger::proto::v1::RequestResponse {
                        responded_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                        ..Default::default()
                    })
                }
                Field::RequestPolicy => {
                    event.request_policy = Some(gdpr_ledger::proto::v1::RequestPolicy {
                        time_zone: "UTC".to_owned(),
                        public_holidays: Vec::new(),
                        effective_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                    })
                }
                Field::ConsentPolicy => {
                    event.consent_policy = Some(gdpr_ledger::proto::v1::OptInPolicy {
                        rules: vec![gdpr_ledger::proto::v1::OptInRule {
                            channels: strings(&["event-badge-scan"]),
                            purposes: Vec::new(),
                        }],
                        effective_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                    })
                }
                Field::RetentionPolicy => {
                    event.retention_policy = Some(gdpr_ledger::proto::v1::RetentionPolicy {
                        rules: vec![gdpr_ledger::proto::v1::RetentionRule {
                            system: "crm".to_owned(),
                            data_category: "*".to_owned(),
                            purpose: "*".to_owned(),
                            days: 30,
                            months: 0,
                            trigger: gdpr_ledger::proto::v1::RetentionTrigger::LastCollection
                                as i32,
                        }],
                        effective_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                    })
                }
                Field::SystemDeclaration => {
                    event.system_declaration = Some(gdpr_ledger::proto::v1::SystemDeclaration {
                        name: "crm".to_owned(),
                        withdrawn: true,
                        effective_at: Some(prost_types::Timestamp {
                            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
                            nanos: 0,
                        }),
                        ..Default::default()
                    })
                }
                Field::Subject | Field::LinkedSubject | Field::Details => unreachable!(),
            }
        }
    }
}

fn kinds() -> Vec<EventKind> {
    all_kinds().collect()
}

// ---- The table ----

#[test]
fn shipped_table_parses_and_covers_every_kind() {
    let table = RequirementTable::parse(EVENT_REQUIREMENTS_TOML).expect("the shipped table parses");
    let kinds = kinds();
    assert_eq!(
        kinds.len(),
        28,
        "EventKind has 28 kinds besides UNSPECIFIED"
    );
    for kind in &kinds {
        let rules = table.for_kind(*kind).expect("every kind has rules");
        assert_eq!(rules.kind(), *kind);
        assert_eq!(kind_from_name(rules.name()), Some(*kind));
        assert!(!rules.summary().is_empty() && !rules.gdpr().is_empty());
    }
    assert!(table.for_kind(EventKind::Unspecified).is_none());
    assert_eq!(table.kinds().count(), kinds.len());
    assert_eq!(kind_name(EventKind::ConsentGiven), "consent_given");
    assert_eq!(kind_from_name("unspecified"), None);
    assert_eq!(kind_from_name("CONSENT_GIVEN"), None);
}

#[test]
fn shipped_table_states_the_rules_the_brief_names() {
    let table = requirement_table();
    let rules = |kind| table.for_kind(kind).expect("every kind has rules");
    let share = rules(EventKind::Share);
    for field in [
        Field::Recipient,
        Field::DataCategories,
        Field::Purposes,
        Field::LegalBases,
    ] {
        assert_eq!(share.presence(field), Presence::Required, "{field:?}");
    }
    assert_eq!(
        rules(EventKind::DeletionDone).presence(Field::DeletionMethod),
        Presence::Required
    );
    let breach = rules(EventKind::Breach);
    assert_eq!(breach.presence(Field::Subject), Presence::Optional);
    assert_eq!(breach.presence(Field::BreachRef), Presence::Required);
    let correction = rules(EventKind::Correction);
    assert_eq!(correction.presence(Field::Subject), Presence::Forbidden);
    assert_eq!(correction.presence(Field::Correction), Presence::Required);
    let link = rules(EventKind::IdentityLink);
    assert_eq!(link.presence(Field::LinkedSubject), Presence::Required);
    assert_eq!(
        link.presence(Field::LinkedIdentifierKind),
        Presence::Required
    );
    for kind in kinds() {
        let kind_rules = rules(kind);
        assert_eq!(kind_rules.presence(Field::EventId), Presence::Required);
        // Details are sealed with the subject's own key: allowed where a subject is required.
        let details = if kind_rules.presence(Field::Subject) == Presence::Required {
            Presence::Optional
        } else {
            Presence::Forbidden
        };
        assert_eq!(kind_rules.presence(Field::Details), details, "{kind:?}");
        assert_eq!(
            kind_rules.presence(Field::DetailsDigest),
            Presence::Forbidden
        );
        let linked = kind_rules.presence(Field::LinkedSubject);
        assert_eq!(
            linked == Presence::Forbidden,
            kind != EventKind::IdentityLink
        );
    }
    assert_eq!(
        required_field_paths(EventKind::Share),
        [
            "event.event_id",
            "event.kind",
            "event.occurred_at",
            "event.system",
            "event.data_categories",
            "event.purposes",
            "event.legal_bases",
            "event.recipient",
            "event.recipient.name",
            "event.recipient.role",
            "event.recipient.country",
            "subject",
            "subject.kind",
            "subject.value",
        ]
    );
    assert!(required_field_paths(EventKind::Unspecified).is_empty());
}

#[track_caller]
fn parse_edited(from: &str, to: &str) -> TableError {
    assert!(
        EVENT_REQUIREMENTS_TOML.contains(from),
        "the table has {from:?}"
    );
    let text = EVENT_REQUIREMENTS_TOML.replacen(from, to, 1);
    RequirementTable::parse(&text).expect_err("the edited table is refused")
}

#[test]
fn table_missing_a_field_is_refused() {
    let error = parse_edited(r#"optional = ["event.actor"]"#, "optional = []");
    assert!(
        matches!(&error, TableError::UnclassifiedField { path, .. } if path == "event.actor"),
        "{error}"
    );
}

#[test]
fn table_classifying_a_field_twice_is_refused() {
    let error = parse_edited(
        r#"optional = ["details", "event.consent_ref", "event.collection_channel"]"#,
        r#"optional = ["details", "event.consent_ref", "event.collection_channel", "event.actor"]"#,
    );
    assert!(
        matches!(&error, TableError::DuplicateField { kind, path } if kind == "collection" && path == "event.actor"),
        "{error}"
    );
}

#[test]
fn table_with_unknown_names_is_refused() {
    let error = parse_edited("[kinds.collection]", "[kinds.collecting]");
    assert!(
        matches!(&error, TableError::UnknownKind(name) if name == "collecting"),
        "{error}"
    );
    let error = parse_edited(
        r#"required = ["event.correction"]"#,
        r#"required = ["event.corection"]"#,
    );
    assert!(
        matches!(&error, TableError::UnknownField { path, .. } if path == "event.corection"),
        "{error}"
    );
    let error = parse_edited("[kinds.share]\n", "[kinds.share]\nnotes = \"x\"\n");
    assert!(matches!(error, TableError::Syntax(_)), "{error}");
}

#[test]
fn table_missing_a_kind_or_of_another_version_is_refused() {
    let cut = EVENT_REQUIREMENTS_TOML
        .find("# A correction is about the log")
        .expect("the correction section has its comment");
    let error = RequirementTable::parse(&EVENT_REQUIREMENTS_TOML[..cut]).expect_err("refused");
    assert!(
        matches!(&error, TableError::MissingKind(name) if name == "correction"),
        "{error}"
    );
    let error = parse_edited("version = 1", "version = 2");
    assert!(matches!(error, TableError::Version(2)), "{error}");
}

// ---- Examples, and every field of every kind ----

#[test]
fn every_example_validates() {
    for kind in kinds() {
        let sub = example(kind);
        assert_eq!(validate(&sub), Ok(()), "{kind:?}");
        // Also against the real clock, and at the example's own instant.
        let limits = ValidationLimits::default();
        assert_eq!(
            validate_submission(&sub, &limits, SystemTime::now()),
            Ok(())
        );
        let at = UNIX_EPOCH + Duration::from_secs(EXAMPLE_OCCURRED_AT_SECONDS as u64);
        assert_eq!(validate_submission(&sub, &limits, at), Ok(()));
    }
    assert!(validate(&example(EventKind::Unspecified)).is_err());
}

#[test]
fn examples_have_distinct_event_ids() {
    let ids: BTreeSet<String> = kinds()
        .into_iter()
        .map(|kind| example(kind).event.expect("an event").event_id)
        .collect();
    assert_eq!(ids.len(), kinds().len());
}

#[test]
fn clearing_each_required_field_fails_naming_it() {
    let mut checked = 0;
    for kind in kinds() {
        let paths = required_field_paths(kind);
        assert!(paths.len() >= 4, "{kind:?} requires at least the envelope");
        for path in paths {
            let mut sub = example(kind);
            assert!(clear_field(&mut sub, path), "{kind:?}: cannot clear {path}");
            let error = validate(&sub).expect_err(path);
            assert_eq!(error.field, path, "{kind:?}: {error}");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} required fields checked");
}

#[test]
fn each_forbidden_field_is_rejected() {
    for kind in kinds() {
        let rules = requirement_table().for_kind(kind).expect("rules");
        for field in rules.fields(Presence::Forbidden) {
            let mut sub = example(kind);
            fill(&mut sub, field);
            let reason = expect_error(&sub, field.path());
            if field != Field::DetailsDigest {
                assert_eq!(reason, format!("not allowed in `{}` events", rules.name()));
            }
        }
    }
}

#[test]
fn each_optional_field_is_accepted() {
    for kind in kinds() {
        let rules = requirement_table().for_kind(kind).expect("rules");
        let mut base = example(kind);
        if kind == EventKind::Correction {
            // Only an amendment carries replacement fields.
            let correction = event_mut(&mut base)
                .correction
                .as_mut()
                .expect("a correction");
            correction.action = CorrectionAction::Amend as i32;
        }
        for field in rules.fields(Presence::Optional) {
            let mut sub = base.clone();
            fill(&mut sub, field);
            assert_eq!(validate(&sub), Ok(()), "{kind:?} with {field:?}");
            // And absent.
            assert!(field.clear(&mut sub));
            assert_eq!(validate(&sub), Ok(()), "{kind:?} without {field:?}");
        }
    }
}

#[test]
fn clear_field_knows_its_paths() {
    let mut sub = example(EventKind::Share);
    assert!(!clear_field(&mut sub, "event.nonsense"));
    assert!(!clear_field(&mut sub, "subject.nonsense"));
    assert!(
        !clear_field(&mut sub, "linked_subject.kind"),
        "absent in a share"
    );
    assert!(
        !clear_field(&mut sub, "event.correction.action"),
        "absent in a share"
    );
    assert!(clear_field(&mut sub, "event.recipient.transfer_basis"));
    assert!(clear_field(&mut sub, "event"));
    assert_eq!(expect_error(&sub, "event"), "required");
    assert!(!clear_field(&mut sub, "event.system"), "no event left");
}

// ---- Format rules ----

#[test]
fn event_id_format() {
    let mut sub = example(EventKind::Collection);
    event_mut(&mut sub).event_id = "a".repeat(128);
    assert_eq!(validate(&sub), Ok(()));
    event_mut(&mut sub).event_id = "A-z_0.9:x".to_owned();
    assert_eq!(validate(&sub), Ok(()));
    for bad in [
        "a".repeat(129),
        "crm/evt-1".to_owned(),
        "crm evt".to_owned(),
        "évt".to_owned(),
    ] {
        event_mut(&mut sub).event_id = bad;
        expect_error(&sub, "event.event_id");
    }
}

#[test]
fn system_format() {
    let mut sub = example(EventKind::Access);
    event_mut(&mut sub).system = "eu-west/crm:v2".to_owned();
    assert_eq!(validate(&sub), Ok(()));
    for bad in ["crm@eu".to_owned(), "s".repeat(129), "crm\n".to_owned()] {
        event_mut(&mut sub).system = bad;
        expect_error(&sub, "event.system");
    }
}

#[test]
fn references_format() {
    let mut sub = example(EventKind::Share);
    event_mut(&mut sub).actor = "svc@eu-1:job/sync".to_owned();
    assert_eq!(validate(&sub), Ok(()));
    event_mut(&mut sub).actor = "Jane Doe".to_owned();
    expect_error(&sub, "event.actor");
    let mut sub = example(EventKind::Share);
    event_mut(&mut sub).consent_ref = "rec 1".to_owned();
    expect_error(&sub, "event.consent_ref");
    let mut sub = example(EventKind::Breach);
    event_mut(&mut sub).breach_ref = "b".repeat(129);
    expect_error(&sub, "event.breach_ref");
    let mut sub = example(EventKind::Collection);
    event_mut(&mut sub).collection_channel = "web form".to_owned();
    expect_error(&sub, "event.collection_channel");
    let mut sub = example(EventKind::IdentityLink);
    event_mut(&mut sub).linked_identifier_kind = "Customer-ID".to_owned();
    expect_error(&sub, "event.linked_identifier_kind");
}

#[test]
fn occurred_at_rules() {
    let limits = ValidationLimits::default();
    let mut sub = example(EventKind::Collection);
    let at = |sub: &mut EventSubmission, seconds: i64, nanos: i32| {
        event_mut(sub).occurred_at = Some(prost_types::Timestamp { seconds, nanos });
    };
    let now_seconds = EXAMPLE_OCCURRED_AT_SECONDS + 60;
    at(&mut sub, now_seconds + 300, 0);
    assert_eq!(validate(&sub), Ok(()), "exactly the allowed skew ahead");
    at(&mut sub, now_seconds + 300, 1);
    let reason = expect_error(&sub, "event.occurred_at");
    assert!(reason.contains("future"), "{reason}");
    let strict = ValidationLimits {
        max_clock_skew: Duration::ZERO,
        ..limits.clone()
    };
    at(&mut sub, now_seconds, 1);
    let error = validate_submission(&sub, &strict, now()).expect_err("ahead");
    assert_eq!(error.field, "event.occurred_at");
    at(&mut sub, 0, 0);
    assert_eq!(validate(&sub), Ok(()), "1970 itself is allowed");
    at(&mut sub, -1, 999_999_999);
    expect_error(&sub, "event.occurred_at");
    at(&mut sub, EXAMPLE_OCCURRED_AT_SECONDS, -1);
    expect_error(&sub, "event.occurred_at");
    at(&mut sub, EXAMPLE_OCCURRED_AT_SECONDS, 1_000_000_000);
    expect_error(&sub, "event.occurred_at");
    at(&mut sub, i64::MAX, 0);
    expect_error(&sub, "event.occurred_at");
}

#[test]
fn terms_format() {
    let mut sub = example(EventKind::Collection);
    for bad in [
        "Marketing",
        "dpv:",
        ":Marketing",
        "DPV:Marketing",
        "dpv:Direct Marketing",
        "dpv:-x",
        "1pd:Name",
    ] {
        event_mut(&mut sub).purposes = strings(&["dpv:ServiceProvision", bad]);
        expect_error(&sub, "event.purposes[1]");
    }
    event_mut(&mut sub).purposes =
        strings(&["dpv:Marketing", "acme-ext:Loyalty_Tier-2", "dpv:Marketing"]);
    let reason = expect_error(&sub, "event.purposes[2]");
    assert_eq!(reason, "repeats event.purposes[0]");
    let long = format!("pd:{}", "N".repeat(126));
    event_mut(&mut sub).purposes = vec![long];
    expect_error(&sub, "event.purposes[0]");
    event_mut(&mut sub).purposes = vec![format!("pd:{}", "N".repeat(125))];
    assert_eq!(validate(&sub), Ok(()), "128 characters");
    event_mut(&mut sub).data_categories = (0..33).map(|i| format!("pd:Term{i}")).collect();
    expect_error(&sub, "event.data_categories");
    event_mut(&mut sub).data_categories = (0..32).map(|i| format!("pd:Term{i}")).collect();
    assert_eq!(validate(&sub), Ok(()), "32 terms");
    assert!(is_curie("eu-gdpr:A6-1-a") && is_curie("pd:EmailAddress"));
    assert!(!is_curie("pd:Email:Address") && !is_curie("pd") && !is_curie(""));
}

#[test]
fn legal_bases_come_from_the_fixed_list() {
    let mut sub = example(EventKind::Collection);
    for bad in [
        "eu-gdpr:A6-1-g",
        "eu-gdpr:A9-2-k",
        "legal-eu-gdpr:A6-1-a",
        "dpv:Consent",
    ] {
        event_mut(&mut sub).legal_bases = strings(&["eu-gdpr:A6-1-b", bad]);
        expect_error(&sub, "event.legal_bases[1]");
    }
    event_mut(&mut sub).legal_bases = strings(&["eu-gdpr:A9-2-a"]);
    let reason = expect_error(&sub, "event.legal_bases");
    assert!(reason.contains("article 6(1)"), "{reason}");
    event_mut(&mut sub).legal_bases = strings(&["eu-gdpr:A6-1-f", "eu-gdpr:A6-1-c"]);
    assert_eq!(validate(&sub), Ok(()));
}

#[test]
fn special_category_needs_an_article_9_condition() {
    let mut sub = example(EventKind::Collection);
    event_mut(&mut sub).data_categories = strings(&["pd:Name", "pd:HealthRecord"]);
    let reason = expect_error(&sub, "event.legal_bases");
    assert!(
        reason.contains("event.data_categories[1]") && reason.contains("pd:HealthRecord"),
        "{reason}"
    );
    event_mut(&mut sub).legal_bases = strings(&["eu-gdpr:A6-1-b", "eu-gdpr:A9-2-h"]);
    assert_eq!(validate(&sub), Ok(()));
    // The same in a share and an access.
    for kind in [EventKind::Share, EventKind::Access] {
        let mut sub = example(kind);
        event_mut(&mut sub).data_categories = strings(&["pd:Religion"]);
        expect_error(&sub, "event.legal_bases");
    }
    // Consent to special categories is explicit consent.
    let mut sub = example(EventKind::ConsentGiven);
    event_mut(&mut sub).data_categories = strings(&["pd:Biometric"]);
    expect_error(&sub, "event.legal_bases");
    event_mut(&mut sub).legal_bases = strings(&["eu-gdpr:A6-1-a", "eu-gdpr:A9-2-a"]);
    assert_eq!(validate(&sub), Ok(()));
    // Events that name no legal basis (a deletion, a breach) need none.
    let mut sub = example(EventKind::DeletionDone);
    event_mut(&mut sub).data_categories = strings(&["pd:Health"]);
    assert_eq!(validate(&sub), Ok(()));
}

#[test]
fn special_categories_are_dpv_terms() {
    for term in [
        "pd:Health",
        "pd:HealthRecord",
        "pd:MedicalHealth",
        "pd:Religion",
        "pd:PoliticalOpinion",
        "pd:TradeUnionMembership",
        "pd:Genetic",
        "pd:Biometric",
        "pd:SexualOrientation",
        "pd:SexualHistory",
        "pd:Race",
        "pd:Racial",
        "pd:EthnicOrigin",
        "pd:Ethnicity",
        "pd:PhilosophicalBelief",
        "dpv:SpecialCategoryPersonalData",
    ] {
        assert!(is_special_category(term), "{term}");
    }
    for term in [
        "pd:EmailAddress",
        "pd:Criminal",
        "pd:health",
        "Health",
        "pd:Health ",
        "",
    ] {
        assert!(!is_special_category(term), "{term:?}");
    }
    let special: Vec<&str> = special_category_terms().collect();
    let unique: BTreeSet<&str> = special.iter().copied().collect();
    assert_eq!(unique.len(), special.len());
    assert_eq!(special.len(), 36);
    assert!(special.iter().all(|term| is_curie(term)));
}

#[test]
fn consent_events_name_consent_bases_only() {
    for kind in [EventKind::ConsentGiven, EventKind::ConsentWithdrawn] {
        let mut sub = example(kind);
        event_mut(&mut sub).legal_bases = strings(&["eu-gdpr:A6-1-a", "eu-gdpr:A6-1-f"]);
        expect_error(&sub, "event.legal_bases[1]");
    }
}

#[test]
fn recipient_rules() {
    fn recipient(sub: &mut EventSubmission) -> &mut Recipient {
        event_mut(sub).recipient.as_mut().expect("a recipient")
    }
    // Third country without a transfer basis.
    let mut sub = example(EventKind::Share);
    recipient(&mut sub).transfer_basis = 0;
    let reason = expect_error(&sub, "event.recipient.transfer_basis");
    assert!(reason.contains("outside the EEA"), "{reason}");
    // Inside the EEA, none is needed and none is allowed.
    recipient(&mut sub).country = "FR".to_owned();
    assert_eq!(validate(&sub), Ok(()));
    recipient(&mut sub).transfer_basis = TransferBasis::AdequacyDecision as i32;
    expect_error(&sub, "event.recipient.transfer_basis");
    // Greece is GR; EL is not an ISO code of the EEA, so it is a third country.
    recipient(&mut sub).transfer_basis = 0;
    recipient(&mut sub).country = "GR".to_owned();
    assert_eq!(validate(&sub), Ok(()));
    recipient(&mut sub).country = "EL".to_owned();
    expect_error(&sub, "event.recipient.transfer_basis");
    for bad in ["us", "USA", "U", "U1", "ÜS"] {
        recipient(&mut sub).country = bad.to_owned();
        expect_error(&sub, "event.recipient.country");
    }
    let mut sub = example(EventKind::Share);
    recipient(&mut sub).transfer_basis = 99;
    let reason = expect_error(&sub, "event.recipient.transfer_basis");
    assert_eq!(reason, "unknown value 99");
    let mut sub = example(EventKind::Share);
    recipient(&mut sub).role = 99;
    expect_error(&sub, "event.recipient.role");
    for bad in [
        " mailer".to_owned(),
        "mailer\u{7}".to_owned(),
        "m".repeat(257),
    ] {
        let mut sub = example(EventKind::Share);
        recipient(&mut sub).name = bad;
        expect_error(&sub, "event.recipient.name");
    }
    let mut sub = example(EventKind::Share);
    recipient(&mut sub).name = "Mailer Ltd.".to_owned();
    assert_eq!(validate(&sub), Ok(()));
    let unique: BTreeSet<&str> = EEA_COUNTRIES.iter().copied().collect();
    assert_eq!(unique.len(), 30);
}

#[test]
fn enums_must_be_known_and_specified() {
    let mut sub = example(EventKind::Collection);
    event_mut(&mut sub).kind = 99;
    assert_eq!(expect_error(&sub, "event.kind"), "unknown value 99");
    event_mut(&mut sub).kind = 0;
    assert_eq!(expect_error(&sub, "event.kind"), "required");
    let mut sub = example(EventKind::DeletionDone);
    event_mut(&mut sub).deletion_method = 4;
    expect_error(&sub, "event.deletion_method");
    let mut sub = example(EventKind::Correction);
    event_mut(&mut sub)
        .correction
        .as_mut()
        .expect("a correction")
        .action = 3;
    expect_error(&sub, "event.correction.action");
}

#[test]
fn subject_identifier_rules() {
    let mut sub = example(EventKind::Collection);
    for bad_kind in ["Email", "e-mail", &"k".repeat(33)] {
        sub.subject = Some(identifier(bad_kind, "jane@example.com"));
        expect_error(&sub, "subject.kind");
    }
    sub.subject = Some(identifier("email", " \t\r\n"));
    let reason = expect_error(&sub, "subject.value");
    assert!(reason.contains("normalise"), "{reason}");
    sub.subject = Some(identifier("phone", "call me maybe"));
    let reason = expect_error(&sub, "subject.value");
    assert!(
        !reason.contains("call me"),
        "the reason repeats the value: {reason}"
    );
    sub.subject = Some(identifier("customer_id", &"7".repeat(513)));
    expect_error(&sub, "subject.value");
    sub.subject = Some(identifier("customer_id", &"7".repeat(512)));
    assert_eq!(validate(&sub), Ok(()));
    sub.subject = Some(identifier("phone", " +49 (151) 123-45 678 "));
    assert_eq!(validate(&sub), Ok(()));
    sub.subject = Some(identifier("k".repeat(32).as_str(), "x"));
    assert_eq!(validate(&sub), Ok(()));
}

#[test]
fn identity_link_rules() {
    let mut sub = example(EventKind::IdentityLink);
    event_mut(&mut sub).linked_identifier_kind = "email".to_owned();
    let reason = expect_error(&sub, "event.linked_identifier_kind");
    assert_eq!(reason, "must equal linked_subject.kind");
    let mut sub = example(EventKind::IdentityLink);
    sub.subject = Some(identifier("email", "Jane.Doe@example.com"));
    sub.linked_subject = Some(identifier("email", "  jane.doe@EXAMPLE.com"));
    event_mut(&mut sub).linked_identifier_kind = "email".to_owned();
    expect_error(&sub, "linked_subject");
    sub.linked_subject = Some(identifier("email", "jane@example.org"));
    assert_eq!(validate(&sub), Ok(()), "two different e-mail addresses");
}

#[test]
fn retraction_carries_no_replacement_fields() {
    let mut sub = example(EventKind::Correction);
    fill(&mut sub, Field::DataCategories);
    let reason = expect_error(&sub, "event.data_categories");
    assert!(reason.contains("retraction"), "{reason}");
    event_mut(&mut sub)
        .correction
        .as_mut()
        .expect("a correction")
        .action = CorrectionAction::Amend as i32;
    assert_eq!(validate(&sub), Ok(()));
    let mut sub = example(EventKind::Correction);
    event_mut(&mut sub)
        .correction
        .as_mut()
        .expect("a correction")
        .reason = "r".repeat(257);
    expect_error(&sub, "event.correction.reason");
    let mut sub = example(EventKind::Correction);
    event_mut(&mut sub)
        .correction
        .as_mut()
        .expect("a correction")
        .target_index = 0;
    assert_eq!(validate(&sub), Ok(()), "entry 0 can be corrected");
}

#[test]
fn an_exemption_names_a_ground_of_article_17_3_and_ends_after_it_began() {
    let exempted = || example(EventKind::ErasureExempted);
    assert_eq!(validate(&exempted()), Ok(()));
    let mut sub = exempted();
    event_mut(&mut sub)
        .exemption
        .as_mut()
        .expect("exemption")
        .legal_ground = "eu-gdpr:A6-1-c".to_owned();
    expect_error(&sub, "event.exemption.legal_ground");
    let mut sub = exempted();
    let event = event_mut(&mut sub);
    let occurred = event.occurred_at;
    event.exemption.as_mut().expect("exemption").until = occurred;
    expect_error(&sub, "event.exemption.until");
    let mut sub = exempted();
    event_mut(&mut sub)
        .exemption
        .as_mut()
        .expect("exemption")
        .until = None;
    assert_eq!(validate(&sub), Ok(()), "a legal hold has no end date yet");
    let mut sub = exempted();
    event_mut(&mut sub)
        .exemption
        .as_mut()
        .expect("exemption")
        .reason = "r".repeat(257);
    expect_error(&sub, "event.exemption.reason");
}

#[test]
fn breach_cases_name_their_fields_when_wrong() {
    use gdpr_ledger::proto::v1::{BreachDetails, BreachNotification, SubjectsNotification};
    let at = |offset: i64| {
        Some(prost_types::Timestamp {
            seconds: EXAMPLE_OCCURRED_AT_SECONDS + offset,
            nanos: 0,
        })
    };
    for kind in [
        EventKind::Breach,
        EventKind::BreachNotified,
        EventKind::SubjectsNotified,
    ] {
        assert_eq!(validate(&example(kind)), Ok(()), "{kind:?}");
        let mut sub = example(kind);
        event_mut(&mut sub).breach_ref.clear();
        expect_error(&sub, "event.breach_ref");
    }
    let details = |change: &dyn Fn(&mut BreachDetails)| {
        let mut sub = example(EventKind::Breach);
        change(
            event_mut(&mut sub)
                .breach_details
                .as_mut()
                .expect("details"),
        );
        sub
    };
    // Times: valid nanos, from 1970, not ahead of the clock by more than the skew.
    expect_error(
        &details(&|d| d.aware_at = at(3600)),
        "event.breach_details.aware_at",
    );
    expect_error(
        &details(&|d| d.aware_at.as_mut().expect("aware").nanos = -1),
        "event.breach_details.aware_at",
    );
    expect_error(
        &details(&|d| d.aware_at.as_mut().expect("aware").seconds = -1),
        "event.breach_details.aware_at",
    );
    // The window: both bounds, in order.
    expect_error(
        &details(&|d| d.window_to = None),
        "event.breach_details.window_to",
    );
    expect_error(
        &details(&|d| d.window_from = None),
        "event.breach_details.window_from",
    );
    expect_error(
        &details(&|d| d.window_to = d.window_from),
        "event.breach_details.window_to",
    );
    assert_eq!(
        validate(&details(&|d| {
            d.window_from = None;
            d.window_to = None;
        })),
        Ok(())
    );
    // Short text, terms.
    expect_error(
        &details(&|d| d.nature = "n".repeat(257)),
        "event.breach_details.nature",
    );
    expect_error(
        &details(&|d| d.measures = "line\nbreak".into()),
        "event.breach_details.measures",
    );
    expect_error(
        &details(&|d| d.subject_categories = vec!["customers".into()]),
        "event.breach_details.subject_categories[0]",
    );
    let notified = |change: &dyn Fn(&mut BreachNotification)| {
        let mut sub = example(EventKind::BreachNotified);
        change(
            event_mut(&mut sub)
                .breach_notification
                .as_mut()
                .expect("notification"),
        );
        sub
    };
    expect_error(
        &notified(&|n| n.authority.clear()),
        "event.breach_notification.authority",
    );
    expect_error(
        &notified(&|n| n.notified_at = None),
        "event.breach_notification.notified_at",
    );
    expect_error(
        &notified(&|n| n.notified_at = at(3600)),
        "event.breach_notification.notified_at",
    );
    expect_error(
        &notified(&|n| n.reasons_for_delay = " padded".into()),
        "event.breach_notification.reasons_for_delay",
    );
    let told = |change: &dyn Fn(&mut SubjectsNotification)| {
        let mut sub = example(EventKind::SubjectsNotified);
        change(
            event_mut(&mut sub)
                .subjects_notification
                .as_mut()
                .expect("notification"),
        );
        sub
    };
    expect_error(
        &told(&|n| n.not_notified_ground = "eu-gdpr:A34-3-a".into()),
        "event.subjects_notification.not_notified_ground",
    );
    expect_error(
        &told(&|n| n.notified_at = None),
        "event.subjects_notification.notified_at",
    );
    let not_told = |ground: &str| {
        told(&|n| {
            n.notified_at = None;
            n.not_notified_ground = ground.into();
        })
    };
    assert_eq!(validate(&not_told("eu-gdpr:A34-3-c")), Ok(()));
    expect_error(
        &not_told("eu-gdpr:A17-3-a"),
        "event.subjects_notification.not_notified_ground",
    );
    // The controller's details: all three parts, short text, a valid time (it may lie ahead).
    let declared = |change: &dyn Fn(&mut gdpr_ledger::proto::v1::ControllerDeclaration)| {
        let mut sub = example(EventKind::ControllerDeclared);
        change(
            event_mut(&mut sub)
                .controller_declaration
                .as_mut()
                .expect("declaration"),
        );
        sub
    };
    expect_error(
        &declared(&|d| d.dpo_contact.clear()),
        "event.controller_declaration.dpo_contact",
    );
    expect_error(
        &declared(&|d| d.name = "n".repeat(257)),
        "event.controller_declaration.name",
    );
    expect_error(
        &declared(&|d| d.effective_at.as_mut().expect("at").nanos = 1_000_000_000),
        "event.controller_declaration.effective_at",
    );
    assert_eq!(
        validate(&declared(&|d| d.effective_at = at(30 * 86_400))),
        Ok(())
    );
    // A correction cannot carry them.
    let mut sub = example(EventKind::Correction);
    event_mut(&mut sub).breach_details = Some(BreachDetails::default());
    expect_error(&sub, "event.breach_details");
}

#[test]
fn details_without_a_required_subject_and_any_digest_are_refused() {
    let mut sub = example(EventKind::Access);
    sub.details = vec![0];
    assert_eq!(validate(&sub), Ok(()), "details of a subject");
    let mut sub = example(EventKind::Breach);
    sub.details = vec![0];
    let error = validate(&sub).expect_err("details");
    assert_eq!(error.to_string(), "details: not allowed in `breach` events");
    let mut sub = example(EventKind::Access);
    event_mut(&mut sub).details_digest = vec![1; 32];
    expect_error(&sub, "event.details_digest");
}

#[test]
fn field_error_display_and_prefixes() {
    let error = FieldError::new("event.system", "required in `share` events");
    assert_eq!(
        error.to_string(),
        "event.system: required in `share` events"
    );
    let in_batch = error.clone().in_batch(3);
    assert_eq!(in_batch.field, "submissions[3].event.system");
    assert_eq!(in_batch.reason, error.reason);
    assert_eq!(
        error.prefixed("submission").field,
        "submission.event.system"
    );
}

// ---- Properties (fixed seed, so any failure replays) ----

const PROPTEST_SEED: u64 = 0x6764_7072_6576_0001;

fn proptest_config() -> ProptestConfig {
    eprintln!("proptest seed: {PROPTEST_SEED:#x}");
    ProptestConfig {
        cases: 512,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn event_id_is_accepted_exactly_when_it_matches_its_pattern(id in "[A-Za-z0-9._:/ @é-]{0,130}") {
        let mut sub = example(EventKind::Access);
        event_mut(&mut sub).event_id = id.clone();
        let expected = (1..=128).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        match validate(&sub) {
            Ok(()) => prop_assert!(expected, "accepted {id:?}"),
            Err(error) => {
                prop_assert!(!expected, "refused {id:?}: {error}");
                prop_assert_eq!(error.field, "event.event_id");
            }
        }
    }

    #[test]
    fn validation_never_panics_on_corrupted_submissions(
        kind_index in 0usize..15,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let kind = kinds()[kind_index];
        let mut bytes = example(kind).encode_to_vec();
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(sub) = EventSubmission::decode(bytes.as_slice())
            && let Err(error) = validate(&sub)
        {
            prop_assert!(!error.field.is_empty() && !error.reason.is_empty());
        }
    }
}

// ---- docs/events.md agrees with the table and the examples ----

const EVENTS_MD: &str = include_str!("../../docs/events.md");

/// The backquoted words of the line starting with `label` in `section`.
fn listed_paths(section: &str, label: &str) -> BTreeSet<String> {
    let line = section
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in:\n{section}"));
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn table_paths(kind: EventKind, presence: Presence) -> BTreeSet<String> {
    let shared = [Field::EventId, Field::Kind, Field::OccurredAt, Field::Actor];
    requirement_table()
        .for_kind(kind)
        .expect("rules")
        .fields(presence)
        .filter(|field| !shared.contains(field))
        .map(|field| field.path().to_owned())
        .collect()
}

#[test]
fn docs_list_each_kind_as_the_table_does_with_its_example() {
    let mut documented = BTreeSet::new();
    for section in EVENTS_MD.split("\n### ").skip(1) {
        let name = section.lines().next().expect("a heading").trim();
        let kind = kind_from_name(name).unwrap_or_else(|| panic!("### {name} is no kind"));
        assert!(
            documented.insert(name.to_owned()),
            "{name} documented twice"
        );
        assert_eq!(
            listed_paths(section, "**Requires:**"),
            table_paths(kind, Presence::Required),
            "{name}"
        );
        assert_eq!(
            listed_paths(section, "**Allows:**"),
            table_paths(kind, Presence::Optional),
            "{name}"
        );
        let json = section
            .split("```json\n")
            .nth(1)
            .and_then(|rest| rest.split("\n```").next())
            .unwrap_or_else(|| panic!("no JSON example for {name}"));
        let sub = submission_from_request(json);
        assert_eq!(sub, example(kind), "the JSON example of {name}");
    }
    assert_eq!(documented.len(), kinds().len());
    // The grpcurl walk-through sends the collection example.
    let heredoc = EVENTS_MD
        .split("<<'EOF'\n")
        .nth(1)
        .and_then(|rest| rest.split("\nEOF").next())
        .expect("the grpcurl example");
    assert_eq!(
        submission_from_request(heredoc),
        example(EventKind::Collection)
    );
}

// A minimal reader of the proto3 JSON mapping for these messages, refusing unknown names so that a
// typo in the docs fails here.

fn submission_from_request(json: &str) -> EventSubmission {
    let request: Value = serde_json::from_str(json).expect("the example is JSON");
    let object = as_object(&request);
    assert_eq!(object.len(), 1, "an AppendRequest with only `submission`");
    let mut sub = EventSubmission::default();
    for (key, value) in as_object(&object["submission"]) {
        match key.as_str() {
            "event" => sub.event = Some(event_from_json(value)),
            "subject" => sub.subject = Some(identifier_from_json(value)),
            "linkedSubject" => sub.linked_subject = Some(identifier_from_json(value)),
            other => panic!("EventSubmission has no field {other}"),
        }
    }
    sub
}

fn as_object(value: &Value) -> &Map<String, Value> {
    value.as_object().expect("a JSON object")
}

fn text(value: &Value) -> String {
    value.as_str().expect("a JSON string").to_owned()
}

fn texts(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(text)
        .collect()
}

fn enum_value(value: &Value, from_name: fn(&str) -> Option<i32>) -> i32 {
    from_name(value.as_str().expect("an enum name")).expect("a known enum name")
}

fn identifier_from_json(value: &Value) -> SubjectIdentifier {
    let mut identifier = SubjectIdentifier::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "kind" => identifier.kind = text(value),
            "value" => identifier.value = text(value),
            other => panic!("SubjectIdentifier has no field {other}"),
        }
    }
    identifier
}

fn event_from_json(value: &Value) -> Event {
    let mut event = Event::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "eventId" => event.event_id = text(value),
            "kind" => {
                event.kind = enum_value(value, |n| EventKind::from_str_name(n).map(|k| k as i32))
            }
            "occurredAt" => event.occurred_at = Some(timestamp_from_rfc3339(&text(value))),
            "system" => event.system = text(value),
            "dataCategories" => event.data_categories = texts(value),
            "purposes" => event.purposes = texts(value),
            "legalBases" => event.legal_bases = texts(value),
            "recipient" => event.recipient = Some(recipient_from_json(value)),
            "consentRef" => event.consent_ref = text(value),
            "actor" => event.actor = text(value),
            "deletionMethod" => {
                event.deletion_method = enum_value(value, |n| {
                    DeletionMethod::from_str_name(n).map(|k| k as i32)
                })
            }
            "correction" => event.correction = Some(correction_from_json(value)),
            "linkedIdentifierKind" => event.linked_identifier_kind = text(value),
            "breachRef" => event.breach_ref = text(value),
            "collectionChannel" => event.collection_channel = text(value),
            "exemption" => event.exemption = Some(exemption_from_json(value)),
            "breachDetails" => event.breach_details = Some(breach_details_from_json(value)),
            "breachNotification" => {
                event.breach_notification = Some(breach_notification_from_json(value))
            }
            "subjectsNotification" => {
                event.subjects_notification = Some(subjects_notification_from_json(value))
            }
            "controllerDeclaration" => {
                let mut declaration = gdpr_ledger::proto::v1::ControllerDeclaration::default();
                for (key, value) in as_object(value) {
                    match key.as_str() {
                        "name" => declaration.name = text(value),
                        "dpoContact" => declaration.dpo_contact = text(value),
                        "effectiveAt" => {
                            declaration.effective_at = Some(timestamp_from_rfc3339(&text(value)))
                        }
                        other => panic!("ControllerDeclaration has no field {other}"),
                    }
                }
                event.controller_declaration = Some(declaration);
            }
            "requestRef" => event.request_ref = text(value),
            "request" => event.request = Some(request_from_json(value)),
            "requestExtension" => event.request_extension = Some(extension_from_json(value)),
            "requestResponse" => event.request_response = Some(response_from_json(value)),
            "requestPolicy" => event.request_policy = Some(policy_from_json(value)),
            "consentPolicy" => event.consent_policy = Some(opt_in_policy_from_json(value)),
            "retentionPolicy" => event.retention_policy = Some(retention_policy_from_json(value)),
            "systemDeclaration" => {
                event.system_declaration = Some(system_declaration_from_json(value))
            }
            other => panic!("Event has no field {other}"),
        }
    }
    event
}

fn request_from_json(value: &Value) -> gdpr_ledger::proto::v1::DataSubjectRequest {
    use gdpr_ledger::proto::v1::DataSubjectRight;
    let mut request = gdpr_ledger::proto::v1::DataSubjectRequest::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "right" => {
                request.right = enum_value(value, |n| {
                    DataSubjectRight::from_str_name(n).map(|k| k as i32)
                })
            }
            "channel" => request.channel = text(value),
            "receivedAt" => request.received_at = Some(timestamp_from_rfc3339(&text(value))),
            other => panic!("DataSubjectRequest has no field {other}"),
        }
    }
    request
}

fn extension_from_json(value: &Value) -> gdpr_ledger::proto::v1::RequestExtension {
    let mut extension = gdpr_ledger::proto::v1::RequestExtension::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "months" => {
                extension.months = value
                    .as_u64()
                    .and_then(|m| u32::try_from(m).ok())
                    .expect("months, a number")
            }
            "reason" => extension.reason = text(value),
            "subjectToldAt" => {
                extension.subject_told_at = Some(timestamp_from_rfc3339(&text(value)))
            }
            other => panic!("RequestExtension has no field {other}"),
        }
    }
    extension
}

fn response_from_json(value: &Value) -> gdpr_ledger::proto::v1::RequestResponse {
    let mut response = gdpr_ledger::proto::v1::RequestResponse::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "respondedAt" => response.responded_at = Some(timestamp_from_rfc3339(&text(value))),
            "refusalGround" => response.refusal_ground = text(value),
            "reason" => response.reason = text(value),
            other => panic!("RequestResponse has no field {other}"),
        }
    }
    response
}

fn policy_from_json(value: &Value) -> gdpr_ledger::proto::v1::RequestPolicy {
    let mut policy = gdpr_ledger::proto::v1::RequestPolicy::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "timeZone" => policy.time_zone = text(value),
            "publicHolidays" => policy.public_holidays = texts(value),
            "effectiveAt" => policy.effective_at = Some(timestamp_from_rfc3339(&text(value))),
            other => panic!("RequestPolicy has no field {other}"),
        }
    }
    policy
}

fn opt_in_policy_from_json(value: &Value) -> gdpr_ledger::proto::v1::OptInPolicy {
    let mut policy = gdpr_ledger::proto::v1::OptInPolicy::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "rules" => {
                for rule_value in value.as_array().expect("a JSON array") {
                    let mut rule = gdpr_ledger::proto::v1::OptInRule::default();
                    for (key, value) in as_object(rule_value) {
                        match key.as_str() {
                            "channels" => rule.channels = texts(value),
                            "purposes" => rule.purposes = texts(value),
                            other => panic!("OptInRule has no field {other}"),
                        }
                    }
                    policy.rules.push(rule);
                }
            }
            "effectiveAt" => policy.effective_at = Some(timestamp_from_rfc3339(&text(value))),
            other => panic!("OptInPolicy has no field {other}"),
        }
    }
    policy
}

fn retention_policy_from_json(value: &Value) -> gdpr_ledger::proto::v1::RetentionPolicy {
    use gdpr_ledger::proto::v1::{RetentionPolicy, RetentionRule, RetentionTrigger};
    let mut policy = RetentionPolicy::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "rules" => {
                for rule_value in value.as_array().expect("a JSON array") {
                    let mut rule = RetentionRule::default();
                    for (key, value) in as_object(rule_value) {
                        let number = || {
                            value
                                .as_u64()
                                .and_then(|n| u32::try_from(n).ok())
                                .expect("a number")
                        };
                        match key.as_str() {
                            "system" => rule.system = text(value),
                            "dataCategory" => rule.data_category = text(value),
                            "purpose" => rule.purpose = text(value),
                            "days" => rule.days = number(),
                            "months" => rule.months = number(),
                            "trigger" => {
                                rule.trigger = enum_value(value, |n| {
                                    RetentionTrigger::from_str_name(n).map(|k| k as i32)
                                })
                            }
                            other => panic!("RetentionRule has no field {other}"),
                        }
                    }
                    policy.rules.push(rule);
                }
            }
            "effectiveAt" => policy.effective_at = Some(timestamp_from_rfc3339(&text(value))),
            other => panic!("RetentionPolicy has no field {other}"),
        }
    }
    policy
}

fn system_declaration_from_json(value: &Value) -> gdpr_ledger::proto::v1::SystemDeclaration {
    let mut declared = gdpr_ledger::proto::v1::SystemDeclaration::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "name" => declared.name = text(value),
            "owner" => declared.owner = text(value),
            "country" => declared.country = text(value),
            "dataCategories" => declared.data_categories = texts(value),
            "purposes" => declared.purposes = texts(value),
            "recipients" => declared.recipients = texts(value),
            "subjectCategories" => declared.subject_categories = texts(value),
            "retention" => declared.retention = text(value),
            "securityMeasures" => declared.security_measures = text(value),
            "effectiveAt" => declared.effective_at = Some(timestamp_from_rfc3339(&text(value))),
            "withdrawn" => declared.withdrawn = value.as_bool().expect("a JSON boolean"),
            other => panic!("SystemDeclaration has no field {other}"),
        }
    }
    declared
}

fn recipient_from_json(value: &Value) -> Recipient {
    let mut recipient = Recipient::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "name" => recipient.name = text(value),
            "role" => {
                recipient.role =
                    enum_value(value, |n| RecipientRole::from_str_name(n).map(|k| k as i32))
            }
            "country" => recipient.country = text(value),
            "transferBasis" => {
                recipient.transfer_basis =
                    enum_value(value, |n| TransferBasis::from_str_name(n).map(|k| k as i32))
            }
            other => panic!("Recipient has no field {other}"),
        }
    }
    recipient
}

fn exemption_from_json(value: &Value) -> gdpr_ledger::proto::v1::Exemption {
    let mut exemption = gdpr_ledger::proto::v1::Exemption::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "legalGround" => exemption.legal_ground = text(value),
            "until" => exemption.until = Some(timestamp_from_rfc3339(&text(value))),
            "reason" => exemption.reason = text(value),
            other => panic!("Exemption has no field {other}"),
        }
    }
    exemption
}

fn breach_details_from_json(value: &Value) -> gdpr_ledger::proto::v1::BreachDetails {
    let mut details = gdpr_ledger::proto::v1::BreachDetails::default();
    for (key, value) in as_object(value) {
        let time = || Some(timestamp_from_rfc3339(&text(value)));
        match key.as_str() {
            "awareAt" => details.aware_at = time(),
            "nature" => details.nature = text(value),
            "likelyConsequences" => details.likely_consequences = text(value),
            "measures" => details.measures = text(value),
            "windowFrom" => details.window_from = time(),
            "windowTo" => details.window_to = time(),
            "subjectCategories" => details.subject_categories = texts(value),
            other => panic!("BreachDetails has no field {other}"),
        }
    }
    details
}

fn breach_notification_from_json(value: &Value) -> gdpr_ledger::proto::v1::BreachNotification {
    let mut notification = gdpr_ledger::proto::v1::BreachNotification::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "authority" => notification.authority = text(value),
            "notifiedAt" => notification.notified_at = Some(timestamp_from_rfc3339(&text(value))),
            "reference" => notification.reference = text(value),
            "reasonsForDelay" => notification.reasons_for_delay = text(value),
            other => panic!("BreachNotification has no field {other}"),
        }
    }
    notification
}

fn subjects_notification_from_json(value: &Value) -> gdpr_ledger::proto::v1::SubjectsNotification {
    let mut notification = gdpr_ledger::proto::v1::SubjectsNotification::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            "notifiedAt" => notification.notified_at = Some(timestamp_from_rfc3339(&text(value))),
            "notNotifiedGround" => notification.not_notified_ground = text(value),
            "reason" => notification.reason = text(value),
            other => panic!("SubjectsNotification has no field {other}"),
        }
    }
    notification
}

fn correction_from_json(value: &Value) -> Correction {
    let mut correction = Correction::default();
    for (key, value) in as_object(value) {
        match key.as_str() {
            // proto3 JSON writes 64-bit integers as strings.
            "targetIndex" => correction.target_index = text(value).parse().expect("a uint64"),
            "action" => {
                correction.action = enum_value(value, |n| {
                    CorrectionAction::from_str_name(n).map(|k| k as i32)
                })
            }
            "reason" => correction.reason = text(value),
            other => panic!("Correction has no field {other}"),
        }
    }
    correction
}

/// `YYYY-MM-DDTHH:MM:SSZ` only, which is all the docs use.
fn timestamp_from_rfc3339(text: &str) -> prost_types::Timestamp {
    let number = |range: std::ops::Range<usize>| -> i64 { text[range].parse().expect("digits") };
    assert_eq!(text.len(), 20, "{text}");
    assert!(text.ends_with('Z'));
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    prost_types::Timestamp { seconds, nanos: 0 }
}

#[test]
fn request_cases_name_their_fields_when_wrong() {
    use gdpr_ledger::proto::v1::{DataSubjectRight, Event};
    let ahead = Some(prost_types::Timestamp {
        seconds: EXAMPLE_OCCURRED_AT_SECONDS + 86_400,
        nanos: 0,
    });
    let changed = |kind: EventKind, change: &dyn Fn(&mut Event)| {
        let mut sub = example(kind);
        change(event_mut(&mut sub));
        sub
    };
    for kind in [
        EventKind::RequestReceived,
        EventKind::RequestExtended,
        EventKind::RequestAnswered,
        EventKind::RequestRefused,
        EventKind::RequestPolicyDeclared,
    ] {
        validate(&example(kind)).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    }
    // The request as received.
    let request = |change: &dyn Fn(&mut gdpr_ledger::proto::v1::DataSubjectRequest)| {
        changed(EventKind::RequestReceived, &|event| {
            change(event.request.as_mut().expect("request"))
        })
    };
    let reason = expect_error(
        &request(&|r| r.right = DataSubjectRight::Erasure as i32),
        "event.request.right",
    );
    assert!(reason.contains("erasure_requested"), "{reason}");
    expect_error(&request(&|r| r.right = 0), "event.request.right");
    expect_error(&request(&|r| r.right = 99), "event.request.right");
    expect_error(&request(&|r| r.channel.clear()), "event.request.channel");
    expect_error(
        &request(&|r| r.channel = "web form".to_owned()),
        "event.request.channel",
    );
    expect_error(
        &request(&|r| r.received_at = None),
        "event.request.received_at",
    );
    expect_error(
        &request(&|r| r.received_at = ahead),
        "event.request.received_at",
    );
    expect_error(
        &changed(EventKind::RequestReceived, &|e| {
            e.request_ref = "DSR 1".to_owned()
        }),
        "event.request_ref",
    );
    // An extension: 1 or 2 months, a reason, when the subject was told.
    let extension = |change: &dyn Fn(&mut gdpr_ledger::proto::v1::RequestExtension)| {
        changed(EventKind::RequestExtended, &|event| {
            change(event.request_extension.as_mut().expect("extension"))
        })
    };
    let reason = expect_error(
        &extension(&|x| x.months = 3),
        "event.request_extension.months",
    );
    assert!(reason.contains("1 or 2"), "{reason}");
    expect_error(
        &extension(&|x| x.months = 0),
        "event.request_extension.months",
    );
    expect_error(
        &extension(&|x| x.reason.clear()),
        "event.request_extension.reason",
    );
    expect_error(
        &extension(&|x| x.subject_told_at = None),
        "event.request_extension.subject_told_at",
    );
    expect_error(
        &extension(&|x| x.subject_told_at = ahead),
        "event.request_extension.subject_told_at",
    );
    // Answers carry no ground; refusals carry one of the list.
    let response = |kind, change: &dyn Fn(&mut gdpr_ledger::proto::v1::RequestResponse)| {
        changed(kind, &|event| {
            change(event.request_response.as_mut().expect("response"))
        })
    };
    expect_error(
        &response(EventKind::RequestAnswered, &|r| {
            r.refusal_ground = "eu-gdpr:A12-5-b".to_owned()
        }),
        "event.request_response.refusal_ground",
    );
    expect_error(
        &response(EventKind::RequestRefused, &|r| r.refusal_ground.clear()),
        "event.request_response.refusal_ground",
    );
    expect_error(
        &response(EventKind::RequestRefused, &|r| {
            r.refusal_ground = "eu-gdpr:A17-3-b".to_owned()
        }),
        "event.request_response.refusal_ground",
    );
    expect_error(
        &response(EventKind::RequestAnswered, &|r| r.responded_at = None),
        "event.request_response.responded_at",
    );
    expect_error(
        &response(EventKind::RequestRefused, &|r| r.responded_at = ahead),
        "event.request_response.responded_at",
    );
    // The policy: an IANA zone, dates, a valid effective_at (which may lie ahead).
    let policy = |change: &dyn Fn(&mut gdpr_ledger::proto::v1::RequestPolicy)| {
        changed(EventKind::RequestPolicyDeclared, &|event| {
            change(event.request_policy.as_mut().expect("policy"))
        })
    };
    expect_error(
        &policy(&|p| p.time_zone = "Europe/Atlantis".to_owned()),
        "event.request_policy.time_zone",
    );
    expect_error(
        &policy(&|p| p.time_zone.clear()),
        "event.request_policy.time_zone",
    );
    expect_error(
        &policy(&|p| p.public_holidays[1] = "2025-02-30".to_owned()),
        "event.request_policy.public_holidays[1]",
    );
    expect_error(
        &policy(&|p| p.effective_at = None),
        "event.request_policy.effective_at",
    );
    validate(&policy(&|p| p.effective_at = ahead)).expect("a policy may be declared ahead");
    // Request fields are forbidden on other kinds, and a correction may not carry them.
    expect_error(
        &changed(EventKind::Breach, &|e| e.request_ref = "DSR-1".to_owned()),
        "event.request_ref",
    );
}

#[test]
fn the_opt_in_policy_names_its_fields_when_wrong() {
    use gdpr_ledger::core::opt_in::{MAX_CHANNELS_PER_RULE, MAX_RULES};
    use gdpr_ledger::proto::v1::{OptInPolicy, OptInRule};
    validate(&example(EventKind::ConsentPolicyDeclared)).expect("the example is valid");
    let policy = |change: &dyn Fn(&mut OptInPolicy)| {
        let mut sub = example(EventKind::ConsentPolicyDeclared);
        change(event_mut(&mut sub).consent_policy.as_mut().expect("policy"));
        sub
    };
    expect_error(
        &policy(&|p| p.effective_at = None),
        "event.consent_policy.effective_at",
    );
    expect_error(
        &policy(&|p| p.rules[1].channels.clear()),
        "event.consent_policy.rules[1].channels",
    );
    expect_error(
        &policy(&|p| p.rules[0].channels[1] = "badge scan".to_owned()),
        "event.consent_policy.rules[0].channels[1]",
    );
    expect_error(
        &policy(&|p| p.rules[0].purposes = vec!["Marketing".to_owned()]),
        "event.consent_policy.rules[0].purposes[0]",
    );
    let reason = expect_error(
        &policy(&|p| p.rules = vec![p.rules[0].clone(); MAX_RULES + 1]),
        "event.consent_policy.rules",
    );
    assert!(reason.contains(&MAX_RULES.to_string()), "{reason}");
    expect_error(
        &policy(&|p| {
            p.rules[0].channels = (0..=MAX_CHANNELS_PER_RULE)
                .map(|i| format!("channel-{i}"))
                .collect()
        }),
        "event.consent_policy.rules[0].channels",
    );
    // No rules (the requirement ends) and a rule for every purpose are valid.
    validate(&policy(&|p| p.rules.clear())).expect("no rules");
    validate(&policy(&|p| {
        p.rules = vec![OptInRule {
            channels: vec!["purchased-leads".to_owned()],
            purposes: Vec::new(),
        }]
    }))
    .expect("every purpose");
    // Only in its own kind.
    let mut collection = example(EventKind::Collection);
    event_mut(&mut collection).consent_policy =
        event_mut(&mut example(EventKind::ConsentPolicyDeclared))
            .consent_policy
            .clone();
    expect_error(&collection, "event.consent_policy");
}

#[test]
fn the_retention_policy_names_its_fields_when_wrong() {
    use gdpr_ledger::core::retention::{MAX_DAYS, MAX_MONTHS, MAX_RULES};
    use gdpr_ledger::proto::v1::RetentionPolicy;
    validate(&example(EventKind::RetentionPolicyDeclared)).expect("the example is valid");
    validate(&example(EventKind::RelationshipEnded)).expect("the example is valid");
    let policy = |change: &dyn Fn(&mut RetentionPolicy)| {
        let mut sub = example(EventKind::RetentionPolicyDeclared);
        change(
            event_mut(&mut sub)
                .retention_policy
                .as_mut()
                .expect("policy"),
        );
        sub
    };
    expect_error(
        &policy(&|p| p.effective_at = None),
        "event.retention_policy.effective_at",
    );
    expect_error(
        &policy(&|p| p.rules[1].system.clear()),
        "event.retention_policy.rules[1].system",
    );
    expect_error(
        &policy(&|p| p.rules[1].system = " billing".to_owned()),
        "event.retention_policy.rules[1].system",
    );
    expect_error(
        &policy(&|p| p.rules[0].data_category = "EmailAddress".to_owned()),
        "event.retention_policy.rules[0].data_category",
    );
    expect_error(
        &policy(&|p| p.rules[0].purpose.clear()),
        "event.retention_policy.rules[0].purpose",
    );
    expect_error(
        &policy(&|p| p.rules[1].months = 0),
        "event.retention_policy.rules[1].days",
    );
    expect_error(
        &policy(&|p| p.rules[1].days = 30),
        "event.retention_policy.rules[1].months",
    );
    let reason = expect_error(
        &policy(&|p| p.rules[0].months = MAX_MONTHS + 1),
        "event.retention_policy.rules[0].months",
    );
    assert!(reason.contains(&MAX_MONTHS.to_string()), "{reason}");
    expect_error(
        &policy(&|p| {
            p.rules[0].months = 0;
            p.rules[0].days = MAX_DAYS + 1;
        }),
        "event.retention_policy.rules[0].days",
    );
    expect_error(
        &policy(&|p| p.rules[0].trigger = 0),
        "event.retention_policy.rules[0].trigger",
    );
    expect_error(
        &policy(&|p| p.rules[0].trigger = 9),
        "event.retention_policy.rules[0].trigger",
    );
    let reason = expect_error(
        &policy(&|p| p.rules = vec![p.rules[0].clone(); MAX_RULES + 1]),
        "event.retention_policy.rules",
    );
    assert!(reason.contains(&MAX_RULES.to_string()), "{reason}");
    // No rules (no deadline), the longest periods and exact terms are valid.
    validate(&policy(&|p| p.rules.clear())).expect("no rules");
    validate(&policy(&|p| {
        p.rules[0].months = MAX_MONTHS;
        p.rules[1].months = 0;
        p.rules[1].days = MAX_DAYS;
        p.rules[1].data_category = "pd:EmailAddress".to_owned();
        p.rules[1].purpose = "dpv:Marketing".to_owned();
    }))
    .expect("exact terms, longest periods");
    // Only in its own kind.
    let mut collection = example(EventKind::Collection);
    event_mut(&mut collection).retention_policy =
        event_mut(&mut example(EventKind::RetentionPolicyDeclared))
            .retention_policy
            .clone();
    expect_error(&collection, "event.retention_policy");
    // A relationship's end names no data: categories are refused.
    let mut ended = example(EventKind::RelationshipEnded);
    event_mut(&mut ended).data_categories = vec!["pd:EmailAddress".to_owned()];
    expect_error(&ended, "event.data_categories");
}

#[test]
fn a_system_declaration_names_its_fields_when_wrong() {
    use gdpr_ledger::core::data_map::MAX_DECLARED_RECIPIENTS;
    use gdpr_ledger::proto::v1::SystemDeclaration;
    validate(&example(EventKind::SystemDeclared)).expect("the example is valid");
    let declared = |change: &dyn Fn(&mut SystemDeclaration)| {
        let mut sub = example(EventKind::SystemDeclared);
        change(
            event_mut(&mut sub)
                .system_declaration
                .as_mut()
                .expect("declaration"),
        );
        sub
    };
    let path = |part: &str| format!("event.system_declaration.{part}");
    expect_error(&declared(&|d| d.name.clear()), &path("name"));
    expect_error(&declared(&|d| d.name = "c r m".to_owned()), &path("name"));
    expect_error(&declared(&|d| d.owner.clear()), &path("owner"));
    expect_error(&declared(&|d| d.country.clear()), &path("country"));
    expect_error(
        &declared(&|d| d.country = "Germany".to_owned()),
        &path("country"),
    );
    expect_error(
        &declared(&|d| d.data_categories.clear()),
        &path("data_categories"),
    );
    expect_error(
        &declared(&|d| d.data_categories[2] = "Purchase".to_owned()),
        &path("data_categories[2]"),
    );
    expect_error(
        &declared(&|d| d.purposes[1] = "marketing".to_owned()),
        &path("purposes[1]"),
    );
    expect_error(
        &declared(&|d| d.recipients.push("mailer-us".to_owned())),
        &path("recipients[1]"),
    );
    expect_error(
        &declared(&|d| d.recipients.push(" padded".to_owned())),
        &path("recipients[1]"),
    );
    expect_error(
        &declared(&|d| {
            d.recipients = (0..=MAX_DECLARED_RECIPIENTS)
                .map(|i| format!("r-{i}"))
                .collect()
        }),
        &path("recipients"),
    );
    expect_error(
        &declared(&|d| d.subject_categories = vec!["Customer".to_owned()]),
        &path("subject_categories[0]"),
    );
    expect_error(
        &declared(&|d| d.retention = "\u{7}".to_owned()),
        &path("retention"),
    );
    expect_error(
        &declared(&|d| d.security_measures = " tls".to_owned()),
        &path("security_measures"),
    );
    expect_error(&declared(&|d| d.effective_at = None), &path("effective_at"));
    // A withdrawal names the system and the time only.
    let withdrawal = |change: &dyn Fn(&mut SystemDeclaration)| {
        declared(&|d| {
            *d = SystemDeclaration {
                name: d.name.clone(),
                effective_at: d.effective_at,
                withdrawn: true,
                ..Default::default()
            };
            change(d);
        })
    };
    validate(&withdrawal(&|_| {})).expect("a withdrawal");
    expect_error(
        &withdrawal(&|d| d.owner = "sales-ops".to_owned()),
        &path("owner"),
    );
    expect_error(
        &withdrawal(&|d| d.recipients = vec!["mailer-us".to_owned()]),
        &path("recipients"),
    );
    expect_error(&withdrawal(&|d| d.name.clear()), &path("name"));
    // Only in its own kind, and only with it.
    let mut collection = example(EventKind::Collection);
    event_mut(&mut collection).system_declaration =
        event_mut(&mut example(EventKind::SystemDeclared))
            .system_declaration
            .clone();
    expect_error(&collection, "event.system_declaration");
    let mut bare = example(EventKind::SystemDeclared);
    event_mut(&mut bare).system_declaration = None;
    expect_error(&bare, "event.system_declaration");
}
