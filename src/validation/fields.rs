//! The fields of an `EventSubmission` that `event_requirements.toml` classifies, named by their
//! proto path, with what "present" means for each (proto3's: non-empty, non-zero enum, message set).

use crate::proto::v1::{Event, EventSubmission};

/// One field the requirement table classifies as required, optional or forbidden per kind.
///
/// `subject`, `linked_subject`, `event.recipient` and `event.correction` are messages: the table
/// classifies them whole, and their parts follow fixed rules ([`Field::required_parts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `event.event_id`.
    EventId,
    /// `event.kind`.
    Kind,
    /// `event.occurred_at`.
    OccurredAt,
    /// `event.system`.
    System,
    /// `event.data_categories`.
    DataCategories,
    /// `event.purposes`.
    Purposes,
    /// `event.legal_bases`.
    LegalBases,
    /// `event.recipient` (a message).
    Recipient,
    /// `event.consent_ref`.
    ConsentRef,
    /// `event.actor`.
    Actor,
    /// `event.deletion_method`.
    DeletionMethod,
    /// `event.correction` (a message).
    Correction,
    /// `event.linked_identifier_kind`.
    LinkedIdentifierKind,
    /// `event.breach_ref`.
    BreachRef,
    /// `event.collection_channel`.
    CollectionChannel,
    /// `event.details_digest`.
    DetailsDigest,
    /// `event.exemption` (a message).
    Exemption,
    /// `event.breach_details` (a message).
    BreachDetails,
    /// `event.breach_notification` (a message).
    BreachNotification,
    /// `event.subjects_notification` (a message).
    SubjectsNotification,
    /// `event.controller_declaration` (a message).
    ControllerDeclaration,
    /// `event.request_ref`.
    RequestRef,
    /// `event.request` (a message).
    Request,
    /// `event.request_extension` (a message).
    RequestExtension,
    /// `event.request_response` (a message).
    RequestResponse,
    /// `event.request_policy` (a message).
    RequestPolicy,
    /// `event.consent_policy` (a message).
    ConsentPolicy,
    /// `event.retention_policy` (a message).
    RetentionPolicy,
    /// `event.system_declaration` (a message).
    SystemDeclaration,
    /// `subject` (a message).
    Subject,
    /// `linked_subject` (a message).
    LinkedSubject,
    /// `details`.
    Details,
}

impl Field {
    /// Every field, in the order validation checks them (the proto's order): the first failing
    /// field of a submission is the one its `FieldError` names.
    pub const ALL: [Field; 32] = [
        Field::EventId,
        Field::Kind,
        Field::OccurredAt,
        Field::System,
        Field::DataCategories,
        Field::Purposes,
        Field::LegalBases,
        Field::Recipient,
        Field::ConsentRef,
        Field::Actor,
        Field::DeletionMethod,
        Field::Correction,
        Field::LinkedIdentifierKind,
        Field::BreachRef,
        Field::CollectionChannel,
        Field::DetailsDigest,
        Field::Exemption,
        Field::BreachDetails,
        Field::BreachNotification,
        Field::SubjectsNotification,
        Field::ControllerDeclaration,
        Field::RequestRef,
        Field::Request,
        Field::RequestExtension,
        Field::RequestResponse,
        Field::RequestPolicy,
        Field::ConsentPolicy,
        Field::RetentionPolicy,
        Field::SystemDeclaration,
        Field::Subject,
        Field::LinkedSubject,
        Field::Details,
    ];

    /// The field's proto path from `EventSubmission`, as the table and `FieldError` name it.
    pub const fn path(self) -> &'static str {
        match self {
            Field::EventId => "event.event_id",
            Field::Kind => "event.kind",
            Field::OccurredAt => "event.occurred_at",
            Field::System => "event.system",
            Field::DataCategories => "event.data_categories",
            Field::Purposes => "event.purposes",
            Field::LegalBases => "event.legal_bases",
            Field::Recipient => "event.recipient",
            Field::ConsentRef => "event.consent_ref",
            Field::Actor => "event.actor",
            Field::DeletionMethod => "event.deletion_method",
            Field::Correction => "event.correction",
            Field::LinkedIdentifierKind => "event.linked_identifier_kind",
            Field::BreachRef => "event.breach_ref",
            Field::CollectionChannel => "event.collection_channel",
            Field::DetailsDigest => "event.details_digest",
            Field::Exemption => "event.exemption",
            Field::BreachDetails => "event.breach_details",
            Field::BreachNotification => "event.breach_notification",
            Field::SubjectsNotification => "event.subjects_notification",
            Field::ControllerDeclaration => "event.controller_declaration",
            Field::RequestRef => "event.request_ref",
            Field::Request => "event.request",
            Field::RequestExtension => "event.request_extension",
            Field::RequestResponse => "event.request_response",
            Field::RequestPolicy => "event.request_policy",
            Field::ConsentPolicy => "event.consent_policy",
            Field::RetentionPolicy => "event.retention_policy",
            Field::SystemDeclaration => "event.system_declaration",
            Field::Subject => "subject",
            Field::LinkedSubject => "linked_subject",
            Field::Details => "details",
        }
    }

    /// The field a proto path names, if the table knows it.
    pub fn from_path(path: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.path() == path)
    }

    /// The parts of a message field that are required whenever it is present, whatever the kind.
    /// (`event.recipient.transfer_basis` is required only for a country outside the EEA.)
    pub const fn required_parts(self) -> &'static [&'static str] {
        match self {
            Field::Subject => &["subject.kind", "subject.value"],
            Field::LinkedSubject => &["linked_subject.kind", "linked_subject.value"],
            Field::Recipient => &[
                "event.recipient.name",
                "event.recipient.role",
                "event.recipient.country",
            ],
            Field::Correction => &["event.correction.action"],
            Field::Exemption => &["event.exemption.legal_ground"],
            Field::BreachNotification => &[
                "event.breach_notification.authority",
                "event.breach_notification.notified_at",
            ],
            Field::ControllerDeclaration => &[
                "event.controller_declaration.name",
                "event.controller_declaration.dpo_contact",
                "event.controller_declaration.effective_at",
            ],
            Field::Request => &[
                "event.request.right",
                "event.request.channel",
                "event.request.received_at",
            ],
            Field::RequestExtension => &[
                "event.request_extension.months",
                "event.request_extension.reason",
                "event.request_extension.subject_told_at",
            ],
            Field::RequestResponse => &["event.request_response.responded_at"],
            Field::RequestPolicy => &[
                "event.request_policy.time_zone",
                "event.request_policy.effective_at",
            ],
            Field::ConsentPolicy => &["event.consent_policy.effective_at"],
            Field::RetentionPolicy => &["event.retention_policy.effective_at"],
            Field::SystemDeclaration => &[
                "event.system_declaration.name",
                "event.system_declaration.effective_at",
            ],
            _ => &[],
        }
    }

    /// Whether the field is present in `sub` (absent when `sub.event` is).
    pub fn is_present(self, sub: &EventSubmission) -> bool {
        match self {
            Field::Subject => sub.subject.is_some(),
            Field::LinkedSubject => sub.linked_subject.is_some(),
            Field::Details => !sub.details.is_empty(),
            _ => sub
                .event
                .as_ref()
                .is_some_and(|event| self.is_present_in_event(event)),
        }
    }

    fn is_present_in_event(self, event: &Event) -> bool {
        match self {
            Field::EventId => !event.event_id.is_empty(),
            Field::Kind => event.kind != 0,
            Field::OccurredAt => event.occurred_at.is_some(),
            Field::System => !event.system.is_empty(),
            Field::DataCategories => !event.data_categories.is_empty(),
            Field::Purposes => !event.purposes.is_empty(),
            Field::LegalBases => !event.legal_bases.is_empty(),
            Field::Recipient => event.recipient.is_some(),
            Field::ConsentRef => !event.consent_ref.is_empty(),
            Field::Actor => !event.actor.is_empty(),
            Field::DeletionMethod => event.deletion_method != 0,
            Field::Correction => event.correction.is_some(),
            Field::LinkedIdentifierKind => !event.linked_identifier_kind.is_empty(),
            Field::BreachRef => !event.breach_ref.is_empty(),
            Field::CollectionChannel => !event.collection_channel.is_empty(),
            Field::DetailsDigest => !event.details_digest.is_empty(),
            Field::Exemption => event.exemption.is_some(),
            Field::BreachDetails => event.breach_details.is_some(),
            Field::BreachNotification => event.breach_notification.is_some(),
            Field::SubjectsNotification => event.subjects_notification.is_some(),
            Field::ControllerDeclaration => event.controller_declaration.is_some(),
            Field::RequestRef => !event.request_ref.is_empty(),
            Field::Request => event.request.is_some(),
            Field::RequestExtension => event.request_extension.is_some(),
            Field::RequestResponse => event.request_response.is_some(),
            Field::RequestPolicy => event.request_policy.is_some(),
            Field::ConsentPolicy => event.consent_policy.is_some(),
            Field::RetentionPolicy => event.retention_policy.is_some(),
            Field::SystemDeclaration => event.system_declaration.is_some(),
            Field::Subject | Field::LinkedSubject | Field::Details => false,
        }
    }

    /// Makes the field absent in `sub` (its proto3 default). Returns false when it lives in an
    /// `event` that is itself absent.
    pub fn clear(self, sub: &mut EventSubmission) -> bool {
        match self {
            Field::Subject => sub.subject = None,
            Field::LinkedSubject => sub.linked_subject = None,
            Field::Details => sub.details.clear(),
            _ => match sub.event.as_mut() {
                Some(event) => self.clear_in_event(event),
                None => return false,
            },
        }
        true
    }

    fn clear_in_event(self, event: &mut Event) {
        match self {
            Field::EventId => event.event_id.clear(),
            Field::Kind => event.kind = 0,
            Field::OccurredAt => event.occurred_at = None,
            Field::System => event.system.clear(),
            Field::DataCategories => event.data_categories.clear(),
            Field::Purposes => event.purposes.clear(),
            Field::LegalBases => event.legal_bases.clear(),
            Field::Recipient => event.recipient = None,
            Field::ConsentRef => event.consent_ref.clear(),
            Field::Actor => event.actor.clear(),
            Field::DeletionMethod => event.deletion_method = 0,
            Field::Correction => event.correction = None,
            Field::LinkedIdentifierKind => event.linked_identifier_kind.clear(),
            Field::BreachRef => event.breach_ref.clear(),
            Field::CollectionChannel => event.collection_channel.clear(),
            Field::DetailsDigest => event.details_digest.clear(),
            Field::Exemption => event.exemption = None,
            Field::BreachDetails => event.breach_details = None,
            Field::BreachNotification => event.breach_notification = None,
            Field::SubjectsNotification => event.subjects_notification = None,
            Field::ControllerDeclaration => event.controller_declaration = None,
            Field::RequestRef => event.request_ref.clear(),
            Field::Request => event.request = None,
            Field::RequestExtension => event.request_extension = None,
            Field::RequestResponse => event.request_response = None,
            Field::RequestPolicy => event.request_policy = None,
            Field::ConsentPolicy => event.consent_policy = None,
            Field::RetentionPolicy => event.retention_policy = None,
            Field::SystemDeclaration => event.system_declaration = None,
            Field::Subject | Field::LinkedSubject | Field::Details => {}
        }
    }
}

/// Clears the field at proto path `path` (a [`Field`] path, a part such as `subject.value` or
/// `event.recipient.country`, or `event` itself), so that tests can remove each required field in
/// turn. Returns false when the path is unknown or its enclosing message is absent.
pub fn clear_field(sub: &mut EventSubmission, path: &str) -> bool {
    if path == "event" {
        sub.event = None;
        return true;
    }
    if let Some(field) = Field::from_path(path) {
        return field.clear(sub);
    }
    let Some((parent, part)) = path.rsplit_once('.') else {
        return false;
    };
    match parent {
        "subject" | "linked_subject" => {
            let identifier = if parent == "subject" {
                sub.subject.as_mut()
            } else {
                sub.linked_subject.as_mut()
            };
            let Some(identifier) = identifier else {
                return false;
            };
            match part {
                "kind" => identifier.kind.clear(),
                "value" => identifier.value.clear(),
                _ => return false,
            }
        }
        "event.recipient" => {
            let Some(recipient) = sub.event.as_mut().and_then(|e| e.recipient.as_mut()) else {
                return false;
            };
            match part {
                "name" => recipient.name.clear(),
                "role" => recipient.role = 0,
                "country" => recipient.country.clear(),
                "transfer_basis" => recipient.transfer_basis = 0,
                _ => return false,
            }
        }
        "event.correction" => {
            let Some(correction) = sub.event.as_mut().and_then(|e| e.correction.as_mut()) else {
                return false;
            };
            match part {
                "target_index" => correction.target_index = 0,
                "action" => correction.action = 0,
                "reason" => correction.reason.clear(),
                _ => return false,
            }
        }
        "event.exemption" => {
            let Some(exemption) = sub.event.as_mut().and_then(|e| e.exemption.as_mut()) else {
                return false;
            };
            match part {
                "legal_ground" => exemption.legal_ground.clear(),
                "until" => exemption.until = None,
                "reason" => exemption.reason.clear(),
                _ => return false,
            }
        }
        "event.breach_details" => {
            let Some(details) = sub.event.as_mut().and_then(|e| e.breach_details.as_mut()) else {
                return false;
            };
            match part {
                "aware_at" => details.aware_at = None,
                "nature" => details.nature.clear(),
                "likely_consequences" => details.likely_consequences.clear(),
                "measures" => details.measures.clear(),
                "window_from" => details.window_from = None,
                "window_to" => details.window_to = None,
                "subject_categories" => details.subject_categories.clear(),
                _ => return false,
            }
        }
        "event.breach_notification" => {
            let Some(notification) = sub
                .event
                .as_mut()
                .and_then(|e| e.breach_notification.as_mut())
            else {
                return false;
            };
            match part {
                "authority" => notification.authority.clear(),
                "notified_at" => notification.notified_at = None,
                "reference" => notification.reference.clear(),
                "reasons_for_delay" => notification.reasons_for_delay.clear(),
                _ => return false,
            }
        }
        "event.subjects_notification" => {
            let Some(notification) = sub
                .event
                .as_mut()
                .and_then(|e| e.subjects_notification.as_mut())
            else {
                return false;
            };
            match part {
                "notified_at" => notification.notified_at = None,
                "not_notified_ground" => notification.not_notified_ground.clear(),
                "reason" => notification.reason.clear(),
                _ => return false,
            }
        }
        "event.controller_declaration" => {
            let Some(declaration) = sub
                .event
                .as_mut()
                .and_then(|e| e.controller_declaration.as_mut())
            else {
                return false;
            };
            match part {
                "name" => declaration.name.clear(),
                "dpo_contact" => declaration.dpo_contact.clear(),
                "effective_at" => declaration.effective_at = None,
                _ => return false,
            }
        }
        "event.request" => {
            let Some(request) = sub.event.as_mut().and_then(|e| e.request.as_mut()) else {
                return false;
            };
            match part {
                "right" => request.right = 0,
                "channel" => request.channel.clear(),
                "received_at" => request.received_at = None,
                _ => return false,
            }
        }
        "event.request_extension" => {
            let Some(extension) = sub
                .event
                .as_mut()
                .and_then(|e| e.request_extension.as_mut())
            else {
                return false;
            };
            match part {
                "months" => extension.months = 0,
                "reason" => extension.reason.clear(),
                "subject_told_at" => extension.subject_told_at = None,
                _ => return false,
            }
        }
        "event.request_response" => {
            let Some(response) = sub.event.as_mut().and_then(|e| e.request_response.as_mut())
            else {
                return false;
            };
            match part {
                "responded_at" => response.responded_at = None,
                "refusal_ground" => response.refusal_ground.clear(),
                "reason" => response.reason.clear(),
                _ => return false,
            }
        }
        "event.request_policy" => {
            let Some(policy) = sub.event.as_mut().and_then(|e| e.request_policy.as_mut()) else {
                return false;
            };
            match part {
                "time_zone" => policy.time_zone.clear(),
                "public_holidays" => policy.public_holidays.clear(),
                "effective_at" => policy.effective_at = None,
                _ => return false,
            }
        }
        "event.consent_policy" => {
            let Some(policy) = sub.event.as_mut().and_then(|e| e.consent_policy.as_mut()) else {
                return false;
            };
            match part {
                "rules" => policy.rules.clear(),
                "effective_at" => policy.effective_at = None,
                _ => return false,
            }
        }
        "event.retention_policy" => {
            let Some(policy) = sub.event.as_mut().and_then(|e| e.retention_policy.as_mut()) else {
                return false;
            };
            match part {
                "rules" => policy.rules.clear(),
                "effective_at" => policy.effective_at = None,
                _ => return false,
            }
        }
        "event.system_declaration" => {
            let Some(declared) = sub
                .event
                .as_mut()
                .and_then(|e| e.system_declaration.as_mut())
            else {
                return false;
            };
            match part {
                "name" => declared.name.clear(),
                "effective_at" => declared.effective_at = None,
                _ => return false,
            }
        }
        _ => return false,
    }
    true
}
