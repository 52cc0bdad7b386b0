//! CloudEvents 1.0 in the structured JSON mode (`json-format.md` of the CloudEvents
//! specification) read into `EventSubmission`s, and the field paths of the service's errors
//! written back in CloudEvents terms. `docs/http-ingest.md` is the mapping in words:
//!
//! | CloudEvents | submission |
//! |---|---|
//! | `specversion` | must be `"1.0"` |
//! | `id` | `event.event_id` |
//! | `source` | `event.system` |
//! | `type` | `event.kind`: `eu.gdpr-ledger.<kind>.v1`, `<kind>` a name of docs/events.md |
//! | `time` | `event.occurred_at` |
//! | `data` | the rest of the submission, in the proto3 JSON mapping (`event`, `subject`, ...) |
//!
//! `datacontenttype`, when given, must be JSON; `dataschema` and extension attributes are
//! accepted and not recorded; the attribute `subject` and `data_base64` are refused (the data
//! subject is named in `data.subject`, which never enters the log in clear).

use prost::Message as _;
use serde_json::{Map, Value};

use super::proto_json::JsonSchema;
use crate::proto::v1 as pb;
use crate::validation::FieldError;
use crate::validation::requirements::{all_kinds, kind_from_name, kind_name};

/// The media type of one event in the structured mode.
pub const EVENT_MEDIA_TYPE: &str = "application/cloudevents+json";
/// The media type of a batch (a JSON array of events).
pub const BATCH_MEDIA_TYPE: &str = "application/cloudevents-batch+json";
/// A CloudEvents `type` is `TYPE_PREFIX` + a kind's name + `TYPE_SUFFIX`.
pub const TYPE_PREFIX: &str = "eu.gdpr-ledger.";
/// See [`TYPE_PREFIX`].
pub const TYPE_SUFFIX: &str = ".v1";

/// The message `data` is read as.
const SUBMISSION: &str = "gdpr_ledger.v1.EventSubmission";

/// The attributes that carry fields of the event, with the event's field (proto and JSON names).
const ENVELOPE: &[(&str, &str, &str)] = &[
    ("id", "event_id", "eventId"),
    ("type", "kind", "kind"),
    ("source", "system", "system"),
    ("time", "occurred_at", "occurredAt"),
];

/// One event or a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `application/cloudevents+json`.
    One,
    /// `application/cloudevents-batch+json`.
    Batch,
}

impl Mode {
    /// The mode of a `Content-Type` (its media type, parameters such as `charset` aside).
    pub fn of_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case(EVENT_MEDIA_TYPE) {
            Some(Mode::One)
        } else if media_type.eq_ignore_ascii_case(BATCH_MEDIA_TYPE) {
            Some(Mode::Batch)
        } else {
            None
        }
    }
}

/// The `type` of events of `kind`: `eu.gdpr-ledger.consent_given.v1`.
pub fn event_type(kind: pb::EventKind) -> String {
    format!("{TYPE_PREFIX}{}{TYPE_SUFFIX}", kind_name(kind))
}

/// Reads CloudEvents into submissions.
#[derive(Debug)]
pub struct CloudEvents {
    schema: JsonSchema,
}

impl CloudEvents {
    /// With the messages of the compiled descriptor set.
    pub fn new() -> Result<Self, prost::DecodeError> {
        Ok(Self {
            schema: JsonSchema::from_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)?,
        })
    }

    /// The submissions of a request body in `mode`: one, or the batch's in order. Errors name the
    /// attribute (`type`; in a batch `[3].type`), `data.<path>` within the data, or `body`.
    pub fn read(&self, mode: Mode, body: &[u8]) -> Result<Vec<pb::EventSubmission>, FieldError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| FieldError::new("body", format!("not JSON: {e}")))?;
        match (mode, value) {
            (Mode::One, event) => Ok(vec![self.submission(&event, "")?]),
            (Mode::Batch, Value::Array(events)) => events
                .iter()
                .enumerate()
                .map(|(position, event)| self.submission(event, &format!("[{position}]")))
                .collect(),
            (Mode::Batch, _) => Err(FieldError::new("body", "a batch is a JSON array of events")),
        }
    }

    /// One event's submission; `at` locates it in a batch (`[3]`, or empty).
    fn submission(&self, event: &Value, at: &str) -> Result<pb::EventSubmission, FieldError> {
        let name = |attribute: &str| {
            if at.is_empty() {
                attribute.to_owned()
            } else {
                format!("{at}.{attribute}")
            }
        };
        let Value::Object(attributes) = event else {
            return Err(FieldError::new(
                if at.is_empty() { "body" } else { at },
                "an event is a JSON object",
            ));
        };
        let text = |attribute: &str| -> Result<Option<&str>, FieldError> {
            match attributes.get(attribute) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) if !text.is_empty() => Ok(Some(text)),
                Some(_) => Err(FieldError::new(
                    name(attribute),
                    "must be a non-empty string",
                )),
            }
        };
        let required = |attribute: &str| -> Result<&str, FieldError> {
            text(attribute)?.ok_or_else(|| FieldError::new(name(attribute), "is required"))
        };
        for attribute in attributes.keys() {
            check_attribute_name(attribute)
                .map_err(|reason| FieldError::new(name(attribute), reason))?;
        }
        if required("specversion")? != "1.0" {
            return Err(FieldError::new(name("specversion"), "must be \"1.0\""));
        }
        let id = required("id")?;
        let source = required("source")?;
        let kind = event_kind(required("type")?).ok_or_else(|| {
            let kinds: Vec<String> = all_kinds().map(kind_name).collect();
            FieldError::new(
                name("type"),
                format!(
                    "must be {TYPE_PREFIX}<kind>{TYPE_SUFFIX} with a kind of docs/events.md: {}",
                    kinds.join(", ")
                ),
            )
        })?;
        let occurred_at = text("time")?
            .map(|time| {
                time.parse::<prost_types::Timestamp>().map_err(|_| {
                    FieldError::new(
                        name("time"),
                        "must be an RFC 3339 time, e.g. \"2026-05-04T10:15:00Z\"",
                    )
                })
            })
            .transpose()?;
        if let Some(content_type) = text("datacontenttype")? {
            let media_type = content_type.split(';').next().unwrap_or_default().trim();
            let json = media_type.eq_ignore_ascii_case("application/json")
                || media_type.to_ascii_lowercase().ends_with("+json");
            if !json {
                return Err(FieldError::new(
                    name("datacontenttype"),
                    "data must be JSON (application/json)",
                ));
            }
        }
        text("dataschema")?;
        let data = attributes.get("data").unwrap_or(&Value::Null);
        let data_path = name("data");
        let mut submission = match data {
            Value::Null => pb::EventSubmission::default(),
            Value::Object(object) => {
                check_envelope_not_in_data(object, &data_path)?;
                let bytes = self.schema.encode(SUBMISSION, data, &data_path)?;
                pb::EventSubmission::decode(bytes.as_slice())
                    .map_err(|e| FieldError::new(&data_path, e.to_string()))?
            }
            _ => {
                return Err(FieldError::new(
                    data_path,
                    "must be a JSON object: the submission (event, subject, ...)",
                ));
            }
        };
        let event = submission.event.get_or_insert_default();
        event.event_id = id.to_owned();
        event.kind = kind as i32;
        event.system = source.to_owned();
        event.occurred_at = occurred_at;
        Ok(submission)
    }
}

/// The kind a CloudEvents `type` names.
fn event_kind(event_type: &str) -> Option<pb::EventKind> {
    event_type
        .strip_prefix(TYPE_PREFIX)
        .and_then(|rest| rest.strip_suffix(TYPE_SUFFIX))
        .and_then(kind_from_name)
}

/// Refuses what the ledger does not take, and names that are not CloudEvents attribute names
/// (lower-case letters and digits). Other attributes (extensions) are accepted and not recorded.
fn check_attribute_name(attribute: &str) -> Result<(), String> {
    match attribute {
        "subject" => Err(
            "not accepted: name the data subject in data.subject, which never enters the log in clear"
                .into(),
        ),
        "data_base64" => Err("not accepted: data must be JSON".into()),
        "data" => Ok(()),
        _ if !attribute.is_empty()
            && attribute
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            Ok(())
        }
        _ => Err("not a CloudEvents attribute name (lower-case letters and digits)".into()),
    }
}

/// Refuses `data.event` fields that the envelope's attributes carry.
fn check_envelope_not_in_data(
    data: &Map<String, Value>,
    data_path: &str,
) -> Result<(), FieldError> {
    let Some(Value::Object(event)) = data.get("event") else {
        return Ok(());
    };
    for (attribute, proto_name, json_name) in ENVELOPE {
        for name in [proto_name, json_name] {
            if event.contains_key(*name) {
                return Err(FieldError::new(
                    format!("{data_path}.event.{name}"),
                    format!("given by the CloudEvents attribute {attribute}; leave it out of data"),
                ));
            }
        }
    }
    Ok(())
}

/// A field path of the service's errors (`submission.event.system`,
/// `submissions[3].subject.value`) in CloudEvents terms (`source`, `[3].data.subject.value`).
/// Paths that are already in those terms are returned as they are.
pub fn attribute_path(path: &str) -> String {
    let (at, rest) = if let Some(rest) = path.strip_prefix("submission") {
        if let Some(rest) = rest.strip_prefix('s') {
            match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((position, rest)) => (format!("[{position}]"), rest),
                None if rest.is_empty() => return "body".into(),
                None => return path.to_owned(),
            }
        } else if rest.is_empty() || rest.starts_with('.') {
            (String::new(), rest)
        } else {
            return path.to_owned();
        }
    } else {
        return path.to_owned();
    };
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let mapped = ENVELOPE
        .iter()
        .find_map(|(attribute, proto_name, _)| {
            let field = format!("event.{proto_name}");
            (rest == field || rest.starts_with(&format!("{field}.")))
                .then(|| (*attribute).to_owned())
        })
        .unwrap_or_else(|| {
            if rest.is_empty() {
                String::new()
            } else {
                format!("data.{rest}")
            }
        });
    match (at.is_empty(), mapped.is_empty()) {
        (true, true) => "body".into(),
        (true, false) => mapped,
        (false, true) => at,
        (false, false) => format!("{at}.{mapped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_paths_read_as_attributes() {
        for (path, attribute) in [
            ("submission.event.event_id", "id"),
            ("submission.event.system", "source"),
            ("submission.event.kind", "type"),
            ("submission.event.occurred_at", "time"),
            (
                "submission.event.recipient.country",
                "data.event.recipient.country",
            ),
            ("submission.subject.value", "data.subject.value"),
            ("submission", "body"),
            ("submissions", "body"),
            ("submissions[3].event.system", "[3].source"),
            ("submissions[3].linked_subject", "[3].data.linked_subject"),
            ("submissions[3]", "[3]"),
            ("[2].type", "[2].type"),
            ("data.event.purposes[1]", "data.event.purposes[1]"),
        ] {
            assert_eq!(attribute_path(path), attribute, "{path}");
        }
    }

    #[test]
    fn types_name_kinds() {
        assert_eq!(
            event_type(pb::EventKind::ConsentGiven),
            "eu.gdpr-ledger.consent_given.v1"
        );
        for kind in all_kinds() {
            assert_eq!(event_kind(&event_type(kind)), Some(kind));
        }
        for bad in [
            "eu.gdpr-ledger.unspecified.v1",
            "eu.gdpr-ledger.collection.v2",
            "collection",
            "eu.gdpr-ledger.COLLECTION.v1",
        ] {
            assert_eq!(event_kind(bad), None, "{bad}");
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(
            Mode::of_content_type("application/cloudevents+json; charset=utf-8"),
            Some(Mode::One)
        );
        assert_eq!(
            Mode::of_content_type("Application/CloudEvents-Batch+JSON"),
            Some(Mode::Batch)
        );
        assert_eq!(Mode::of_content_type("application/json"), None);
    }
}
