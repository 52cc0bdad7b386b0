//! One valid, realistic submission per event kind: for the server's integration tests, the
//! validation tests (which break them field by field) and docs/events.md (which shows them as
//! JSON; a test checks that the two agree).

use crate::proto::v1::{
    BreachDetails, BreachNotification, ControllerDeclaration, Correction, CorrectionAction,
    DataSubjectRequest, DataSubjectRight, DeletionMethod, Event, EventKind, EventSubmission,
    Exemption, OptInPolicy, OptInRule, Recipient, RecipientRole, RequestExtension, RequestPolicy,
    RequestResponse, RetentionPolicy, RetentionRule, RetentionTrigger, SubjectIdentifier,
    SubjectsNotification, SystemDeclaration, TransferBasis,
};

/// `occurred_at` of every example: 2025-03-14T09:26:53Z.
pub const EXAMPLE_OCCURRED_AT_SECONDS: i64 = 1_741_944_413;

/// A valid submission of `kind`, as a producer would send it. UNSPECIFIED gets an event of that
/// kind with the common fields only, which does not validate.
///
/// The correction retracts entry 1: appended in `EventKind` order to an empty log, the examples
/// give it an existing, non-correction target (the share).
pub fn example_submission(kind: EventKind) -> EventSubmission {
    let mut event = Event {
        event_id: format!("{}:{}", example_system(kind), example_serial(kind)),
        kind: kind as i32,
        occurred_at: Some(prost_types::Timestamp {
            seconds: EXAMPLE_OCCURRED_AT_SECONDS,
            nanos: 0,
        }),
        system: example_system(kind).to_owned(),
        ..Event::default()
    };
    let mut sub = EventSubmission {
        subject: Some(email("jane.doe@example.com")),
        ..EventSubmission::default()
    };
    match kind {
        EventKind::Unspecified => sub.subject = None,
        EventKind::Collection => {
            event.data_categories = terms(&["pd:Name", "pd:EmailAddress"]);
            event.purposes = terms(&["dpv:ServiceProvision"]);
            event.legal_bases = terms(&["eu-gdpr:A6-1-b"]);
            event.collection_channel = "web-form".to_owned();
        }
        EventKind::Share => {
            event.data_categories = terms(&["pd:Name", "pd:EmailAddress"]);
            event.purposes = terms(&["dpv:DirectMarketing"]);
            event.legal_bases = terms(&["eu-gdpr:A6-1-a"]);
            event.consent_ref = "cmp:rec-8842".to_owned();
            event.recipient = Some(Recipient {
                name: "mailer-us".to_owned(),
                role: RecipientRole::Processor as i32,
                country: "US".to_owned(),
                transfer_basis: TransferBasis::StandardContractualClauses as i32,
            });
            event.actor = "job:newsletter-sync".to_owned();
        }
        EventKind::Access => {
            sub.subject = Some(customer("C-000123"));
            event.data_categories = terms(&["pd:Purchase", "pd:PhysicalAddress"]);
            event.purposes = terms(&["dpv:CustomerCare"]);
            event.legal_bases = terms(&["eu-gdpr:A6-1-b"]);
            event.actor = "agent:417".to_owned();
        }
        EventKind::Rectification => {
            event.data_categories = terms(&["pd:PhysicalAddress"]);
            event.actor = "agent:417".to_owned();
        }
        EventKind::Restriction => {
            event.purposes = terms(&["dpv:Personalisation"]);
        }
        EventKind::Objection => {
            event.purposes = terms(&["dpv:DirectMarketing"]);
            event.legal_bases = terms(&["eu-gdpr:A6-1-f"]);
        }
        EventKind::Export => {
            sub.subject = Some(customer("C-000123"));
            event.data_categories = terms(&["pd:Purchase", "pd:PaymentCard"]);
            event.actor = "job:portability-export".to_owned();
        }
        EventKind::ConsentGiven | EventKind::ConsentWithdrawn => {
            event.purposes = terms(&["dpv:DirectMarketing"]);
            event.legal_bases = terms(&["eu-gdpr:A6-1-a"]);
            event.consent_ref = "cmp:rec-8842".to_owned();
        }
        EventKind::ErasureRequested => {
            event.actor = "agent:417".to_owned();
        }
        EventKind::DeletionDone => {
            event.deletion_method = DeletionMethod::Erase as i32;
            event.actor = "job:erasure-worker".to_owned();
        }
        EventKind::RetentionExpired => {
            sub.subject = Some(customer("C-000123"));
            event.data_categories = terms(&["pd:Transaction"]);
            event.actor = "job:retention-sweep".to_owned();
        }
        EventKind::Breach => {
            event.data_categories = terms(&["pd:EmailAddress", "pd:HealthRecord"]);
            event.breach_ref = "BR-2025-007".to_owned();
            // The case's first report: aware six hours before it was recorded, of a week of
            // processing.
            event.breach_details = Some(BreachDetails {
                aware_at: Some(at(-6 * 3600)),
                nature: "backup bucket readable without authentication".to_owned(),
                likely_consequences: "phishing using contact and health data".to_owned(),
                measures: "bucket closed; access logs under review".to_owned(),
                window_from: Some(at(-7 * 86_400)),
                window_to: Some(at(-6 * 3600)),
                subject_categories: terms(&["dpv:Customer"]),
            });
            sub.subject = None;
        }
        EventKind::BreachNotified => {
            event.breach_ref = "BR-2025-007".to_owned();
            event.breach_notification = Some(BreachNotification {
                authority: "BfDI".to_owned(),
                notified_at: Some(at(0)),
                reference: "BfDI-2025-0412".to_owned(),
                reasons_for_delay: String::new(),
            });
            event.actor = "dpo:office".to_owned();
            sub.subject = None;
        }
        EventKind::ControllerDeclared => {
            event.controller_declaration = Some(ControllerDeclaration {
                name: "Example GmbH".to_owned(),
                dpo_contact: "Data Protection Office, dpo@example.com".to_owned(),
                effective_at: Some(at(0)),
            });
            sub.subject = None;
        }
        EventKind::SubjectsNotified => {
            event.breach_ref = "BR-2025-007".to_owned();
            event.subjects_notification = Some(SubjectsNotification {
                notified_at: Some(at(0)),
                not_notified_ground: String::new(),
                reason: "mailing M-12".to_owned(),
            });
            event.actor = "dpo:office".to_owned();
            sub.subject = None;
        }
        EventKind::RequestReceived => {
            // An access request through the privacy portal, received two weeks earlier.
            event.request_ref = "DSR-2025-0042".to_owned();
            event.request = Some(DataSubjectRequest {
                right: DataSubjectRight::Access as i32,
                channel: "web-form".to_owned(),
                received_at: Some(at(-14 * 86_400)),
            });
        }
        EventKind::RequestExtended => {
            event.request_ref = "DSR-2025-0042".to_owned();
            event.request_extension = Some(RequestExtension {
                months: 1,
                reason: "records in three archived systems".to_owned(),
                subject_told_at: Some(at(0)),
            });
            event.actor = "dpo:office".to_owned();
            sub.subject = None;
        }
        EventKind::RequestAnswered => {
            event.request_ref = "DSR-2025-0042".to_owned();
            event.request_response = Some(RequestResponse {
                responded_at: Some(at(0)),
                refusal_ground: String::new(),
                reason: "copy sent, letter L-2025-031".to_owned(),
            });
            event.actor = "dpo:office".to_owned();
            sub.subject = None;
        }
        EventKind::RequestRefused => {
            // The same case as the other examples, so that appended in EventKind order to an
            // empty log every example names a case the log holds.
            event.request_ref = "DSR-2025-0042".to_owned();
            event.request_response = Some(RequestResponse {
                responded_at: Some(at(0)),
                refusal_ground: "eu-gdpr:A12-5-b".to_owned(),
                reason: "fifth identical request this month".to_owned(),
            });
            event.actor = "dpo:office".to_owned();
            sub.subject = None;
        }
        EventKind::RequestPolicyDeclared => {
            event.request_policy = Some(RequestPolicy {
                time_zone: "Europe/Berlin".to_owned(),
                public_holidays: terms(&["2025-04-18", "2025-04-21", "2025-05-01"]),
                effective_at: Some(at(-365 * 86_400)),
            });
            sub.subject = None;
        }
        EventKind::ConsentPolicyDeclared => {
            // Badge scans and purchased leads for marketing, and every partner list, need
            // consent whatever basis a collection states.
            event.consent_policy = Some(OptInPolicy {
                rules: vec![
                    OptInRule {
                        channels: terms(&["event-badge-scan", "purchased-leads"]),
                        purposes: terms(&["dpv:Marketing"]),
                    },
                    OptInRule {
                        channels: terms(&["partner:acme"]),
                        purposes: Vec::new(),
                    },
                ],
                effective_at: Some(at(-365 * 86_400)),
            });
            sub.subject = None;
        }
        EventKind::RetentionPolicyDeclared => {
            // Ten years for billing's invoices (the bookkeeping duty), two years after the
            // account closed for everything else.
            event.retention_policy = Some(RetentionPolicy {
                rules: vec![
                    RetentionRule {
                        system: "billing".to_owned(),
                        data_category: "*".to_owned(),
                        purpose: "*".to_owned(),
                        days: 0,
                        months: 120,
                        trigger: RetentionTrigger::LastCollection as i32,
                    },
                    RetentionRule {
                        system: "*".to_owned(),
                        data_category: "*".to_owned(),
                        purpose: "*".to_owned(),
                        days: 0,
                        months: 24,
                        trigger: RetentionTrigger::RelationshipEnded as i32,
                    },
                ],
                effective_at: Some(at(-365 * 86_400)),
            });
            sub.subject = None;
        }
        EventKind::RelationshipEnded => {
            sub.subject = Some(customer("C-000123"));
            event.actor = "job:account-closure".to_owned();
        }
        EventKind::SystemDeclared => {
            // The CRM as the controller declares it for the data map and the article 30 record.
            event.system_declaration = Some(SystemDeclaration {
                name: "crm".to_owned(),
                owner: "sales-ops".to_owned(),
                country: "DE".to_owned(),
                data_categories: terms(&["pd:Name", "pd:EmailAddress", "pd:Purchase"]),
                purposes: terms(&["dpv:ServiceProvision", "dpv:DirectMarketing"]),
                recipients: terms(&["mailer-us"]),
                subject_categories: terms(&["dpv:Customer"]),
                retention: "3 years after the contract ends".to_owned(),
                security_measures: "encryption at rest, SSO with MFA".to_owned(),
                effective_at: Some(at(-365 * 86_400)),
                withdrawn: false,
            });
            sub.subject = None;
        }
        EventKind::IdentityLink => {
            sub.linked_subject = Some(customer("C-000123"));
            event.linked_identifier_kind = "customer_id".to_owned();
        }
        EventKind::ErasureExempted => {
            sub.subject = Some(customer("C-000123"));
            event.data_categories = terms(&["pd:Transaction"]);
            event.exemption = Some(Exemption {
                legal_ground: "eu-gdpr:JustificationA17LegallyRequired".to_owned(),
                // Ten years of invoice retention.
                until: Some(prost_types::Timestamp {
                    seconds: EXAMPLE_OCCURRED_AT_SECONDS + 10 * 365 * 86_400,
                    nanos: 0,
                }),
                reason: "invoices, 10-year retention".to_owned(),
            });
        }
        EventKind::Correction => {
            event.correction = Some(Correction {
                target_index: 1,
                action: CorrectionAction::Retract as i32,
                reason: "duplicate import".to_owned(),
            });
            event.actor = "agent:417".to_owned();
            sub.subject = None;
        }
    }
    sub.event = Some(event);
    sub
}

/// The producing system of each example.
fn example_system(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Access => "support-desk",
        EventKind::Export
        | EventKind::RetentionExpired
        | EventKind::RelationshipEnded
        | EventKind::IdentityLink
        | EventKind::ErasureExempted => "billing",
        EventKind::ConsentGiven | EventKind::ConsentWithdrawn => "cmp",
        EventKind::ErasureRequested
        | EventKind::ControllerDeclared
        | EventKind::RequestReceived
        | EventKind::RequestExtended
        | EventKind::RequestAnswered
        | EventKind::RequestRefused
        | EventKind::RequestPolicyDeclared
        | EventKind::ConsentPolicyDeclared
        | EventKind::RetentionPolicyDeclared
        | EventKind::SystemDeclared => "privacy-portal",
        EventKind::Restriction => "recommender",
        _ => "crm",
    }
}

/// A distinct serial number per kind, so that example event ids never collide.
fn example_serial(kind: EventKind) -> String {
    format!("evt-{:06}", 1000 + kind as i32)
}

/// `offset` seconds from the examples' `occurred_at`.
fn at(offset: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: EXAMPLE_OCCURRED_AT_SECONDS + offset,
        nanos: 0,
    }
}

fn terms(list: &[&str]) -> Vec<String> {
    list.iter().map(|term| (*term).to_owned()).collect()
}

fn email(value: &str) -> SubjectIdentifier {
    SubjectIdentifier {
        kind: "email".to_owned(),
        value: value.to_owned(),
    }
}

fn customer(value: &str) -> SubjectIdentifier {
    SubjectIdentifier {
        kind: "customer_id".to_owned(),
        value: value.to_owned(),
    }
}
