//! The proto3 JSON mapping (<https://protobuf.dev/programming-guides/json/>) of the messages of
//! `gdpr_ledger.v1`, read into their protobuf encoding, driven by the compiled descriptor set: the
//! shape of a submission is defined once, in the `.proto` files, and prost decodes what this
//! writes. So the `data` of a CloudEvent is what `grpcurl` would send as an `EventSubmission`.
//!
//! Accepted: field names as `lowerCamelCase` JSON names or as the proto names; `null` for an absent
//! field; strings; booleans; integers as JSON numbers or decimal strings, checked against their
//! type's range; enums by value name or number; `bytes` in base64 (standard or URL-safe, padded or
//! not); `google.protobuf.Timestamp` as an RFC 3339 string; nested messages; repeated fields as
//! arrays. Refused, naming the JSON path: unknown fields, a field given twice (by both names),
//! values of the wrong JSON type, and what the ledger's messages do not use (floats, maps, other
//! well-known types).

use std::collections::HashMap;

use base64::Engine as _;
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use serde_json::Value;

use crate::validation::FieldError;

/// The full name of the well-known Timestamp.
const TIMESTAMP: &str = "google.protobuf.Timestamp";

/// The messages and enums of a descriptor set, by full name.
#[derive(Debug)]
pub struct JsonSchema {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, EnumDescriptorProto>,
}

/// Protobuf wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;
const FIXED32: u32 = 5;

impl JsonSchema {
    /// Reads the messages and enums (nested ones too) of an encoded `FileDescriptorSet`.
    pub fn from_descriptor_set(encoded: &[u8]) -> Result<Self, prost::DecodeError> {
        let set = FileDescriptorSet::decode(encoded)?;
        let mut schema = Self {
            messages: HashMap::new(),
            enums: HashMap::new(),
        };
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                schema.add_message(package, message);
            }
            for enumeration in &file.enum_type {
                schema
                    .enums
                    .insert(join(package, enumeration.name()), enumeration.clone());
            }
        }
        Ok(schema)
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = join(scope, message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for enumeration in &message.enum_type {
            self.enums
                .insert(join(&name, enumeration.name()), enumeration.clone());
        }
        self.messages.insert(name, message.clone());
    }

    /// Whether the schema holds the message `full_name`.
    pub fn knows(&self, full_name: &str) -> bool {
        self.messages.contains_key(full_name)
    }

    /// The protobuf encoding of `value`, the JSON form of the message `full_name`; errors name
    /// the offending JSON path under `path` (`data.event.purposes[2]`).
    pub fn encode(
        &self,
        full_name: &str,
        value: &Value,
        path: &str,
    ) -> Result<Vec<u8>, FieldError> {
        let mut out = Vec::new();
        self.encode_message(full_name, value, path, &mut out)?;
        Ok(out)
    }

    fn encode_message(
        &self,
        full_name: &str,
        value: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), FieldError> {
        let message = self
            .messages
            .get(full_name)
            .ok_or_else(|| FieldError::new(path, format!("{full_name} is not supported")))?;
        let Value::Object(object) = value else {
            return Err(FieldError::new(path, "must be a JSON object"));
        };
        let mut seen: Vec<i32> = Vec::with_capacity(object.len());
        for (key, value) in object {
            let field_path = join(path, key);
            let field = message
                .field
                .iter()
                .find(|f| f.json_name() == key || f.name() == key)
                .ok_or_else(|| FieldError::new(&field_path, "no such field"))?;
            if seen.contains(&field.number()) {
                return Err(FieldError::new(
                    &field_path,
                    "given twice (by its JSON name and its proto name)",
                ));
            }
            seen.push(field.number());
            self.encode_field(field, value, &field_path, out)?;
        }
        Ok(())
    }

    fn encode_field(
        &self,
        field: &FieldDescriptorProto,
        value: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), FieldError> {
        if value.is_null() {
            return Ok(());
        }
        if field.label() == Label::Repeated {
            let Value::Array(elements) = value else {
                return Err(FieldError::new(path, "must be a JSON array"));
            };
            for (position, element) in elements.iter().enumerate() {
                let element_path = format!("{path}[{position}]");
                if element.is_null() {
                    return Err(FieldError::new(&element_path, "must not be null"));
                }
                self.encode_single(field, element, &element_path, out)?;
            }
            return Ok(());
        }
        self.encode_single(field, value, path, out)
    }

    fn encode_single(
        &self,
        field: &FieldDescriptorProto,
        value: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), FieldError> {
        let number = u32::try_from(field.number())
            .map_err(|_| FieldError::new(path, "has an invalid field number"))?;
        let key = |wire_type: u32, out: &mut Vec<u8>| {
            put_varint(u64::from(number) << 3 | u64::from(wire_type), out);
        };
        let type_name = field.type_name().trim_start_matches('.');
        match field.r#type() {
            Type::String => {
                let text = value
                    .as_str()
                    .ok_or_else(|| FieldError::new(path, "must be a JSON string"))?;
                key(LENGTH_DELIMITED, out);
                put_bytes(text.as_bytes(), out);
            }
            Type::Bytes => {
                let bytes = value
                    .as_str()
                    .and_then(decode_base64)
                    .ok_or_else(|| FieldError::new(path, "must be a base64 string"))?;
                key(LENGTH_DELIMITED, out);
                put_bytes(&bytes, out);
            }
            Type::Bool => {
                let flag = value
                    .as_bool()
                    .ok_or_else(|| FieldError::new(path, "must be true or false"))?;
                key(VARINT, out);
                put_varint(u64::from(flag), out);
            }
            Type::Int32 | Type::Int64 | Type::Sint32 | Type::Sint64 | Type::Sfixed32 => {
                let (min, max) = match field.r#type() {
                    Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
                        (i128::from(i32::MIN), i128::from(i32::MAX))
                    }
                    _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
                };
                let number = integer(value, min, max, path)?;
                let number =
                    i64::try_from(number).map_err(|_| FieldError::new(path, "is out of range"))?;
                match field.r#type() {
                    Type::Sint32 | Type::Sint64 => {
                        key(VARINT, out);
                        put_varint(((number << 1) ^ (number >> 63)) as u64, out);
                    }
                    Type::Sfixed32 => {
                        key(FIXED32, out);
                        out.extend_from_slice(&(number as i32).to_le_bytes());
                    }
                    // Negative int32 and int64 values are sign-extended to 64 bits.
                    _ => {
                        key(VARINT, out);
                        put_varint(number as u64, out);
                    }
                }
            }
            Type::Uint32 | Type::Uint64 | Type::Fixed32 | Type::Fixed64 | Type::Sfixed64 => {
                let (min, max) = match field.r#type() {
                    Type::Uint32 | Type::Fixed32 => (0, i128::from(u32::MAX)),
                    Type::Sfixed64 => (i128::from(i64::MIN), i128::from(i64::MAX)),
                    _ => (0, i128::from(u64::MAX)),
                };
                let number = integer(value, min, max, path)?;
                match field.r#type() {
                    Type::Fixed32 => {
                        key(FIXED32, out);
                        out.extend_from_slice(&(number as u32).to_le_bytes());
                    }
                    Type::Fixed64 => {
                        key(FIXED64, out);
                        out.extend_from_slice(&(number as u64).to_le_bytes());
                    }
                    Type::Sfixed64 => {
                        key(FIXED64, out);
                        out.extend_from_slice(&(number as i64).to_le_bytes());
                    }
                    _ => {
                        key(VARINT, out);
                        put_varint(number as u64, out);
                    }
                }
            }
            Type::Enum => {
                let enumeration = self.enums.get(type_name).ok_or_else(|| {
                    FieldError::new(path, format!("{type_name} is not supported"))
                })?;
                let number = match value {
                    Value::String(name) => enumeration
                        .value
                        .iter()
                        .find(|v| v.name() == name)
                        .map(|v| v.number())
                        .ok_or_else(|| {
                            FieldError::new(
                                path,
                                format!(
                                    "not a value of {type_name} (give its name, e.g. {:?})",
                                    enumeration
                                        .value
                                        .get(1)
                                        .map(|v| v.name())
                                        .unwrap_or_default()
                                ),
                            )
                        })?,
                    _ => i32::try_from(integer(
                        value,
                        i128::from(i32::MIN),
                        i128::from(i32::MAX),
                        path,
                    )?)
                    .map_err(|_| FieldError::new(path, "is out of range"))?,
                };
                key(VARINT, out);
                put_varint(i64::from(number) as u64, out);
            }
            Type::Message if type_name == TIMESTAMP => {
                let timestamp: prost_types::Timestamp = value
                    .as_str()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| {
                        FieldError::new(
                            path,
                            "must be an RFC 3339 time, e.g. \"2026-05-04T10:15:00Z\"",
                        )
                    })?;
                key(LENGTH_DELIMITED, out);
                put_bytes(&timestamp.encode_to_vec(), out);
            }
            Type::Message if self.knows(type_name) => {
                let mut nested = Vec::new();
                self.encode_message(type_name, value, path, &mut nested)?;
                key(LENGTH_DELIMITED, out);
                put_bytes(&nested, out);
            }
            _ => {
                return Err(FieldError::new(
                    path,
                    "this field's type is not supported in JSON here",
                ));
            }
        }
        Ok(())
    }
}

/// `scope.name`, or `name` at the top.
fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

/// An integer given as a JSON number without fraction or as a decimal string, within
/// `[min, max]`.
fn integer(value: &Value, min: i128, max: i128, path: &str) -> Result<i128, FieldError> {
    let number = match value {
        Value::Number(number) => number
            .as_i64()
            .map(i128::from)
            .or_else(|| number.as_u64().map(i128::from)),
        Value::String(text) => text.parse::<i128>().ok(),
        _ => None,
    }
    .ok_or_else(|| FieldError::new(path, "must be an integer"))?;
    if number < min || number > max {
        return Err(FieldError::new(path, "is out of range"));
    }
    Ok(number)
}

/// Base64, standard or URL-safe, with or without padding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    put_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1 as pb;

    fn schema() -> JsonSchema {
        JsonSchema::from_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
            .expect("descriptor set")
    }

    #[test]
    fn a_submission_in_json_decodes_as_the_message() {
        let json = serde_json::json!({
            "event": {
                "eventId": "e-1",
                "kind": "EVENT_KIND_SHARE",
                "occurred_at": "2026-05-04T10:15:00Z",
                "purposes": ["dpv:Marketing"],
                "recipient": {"name": "mailer-eu", "role": 1, "country": "US",
                              "transferBasis": "TRANSFER_BASIS_STANDARD_CONTRACTUAL_CLAUSES"},
                "correction": {"targetIndex": "18446744073709551615"},
            },
            "subject": {"kind": "email", "value": "jane@example.com"},
            "details": "aGVsbG8",
        });
        let bytes = schema()
            .encode("gdpr_ledger.v1.EventSubmission", &json, "data")
            .expect("encodes");
        let submission = pb::EventSubmission::decode(bytes.as_slice()).expect("decodes");
        let event = submission.event.expect("event");
        assert_eq!(event.event_id, "e-1");
        assert_eq!(event.kind(), pb::EventKind::Share);
        assert_eq!(event.occurred_at.map(|t| t.seconds), Some(1_777_889_700));
        assert_eq!(event.purposes, ["dpv:Marketing"]);
        let recipient = event.recipient.expect("recipient");
        assert_eq!(recipient.role(), pb::RecipientRole::Processor);
        assert_eq!(
            recipient.transfer_basis(),
            pb::TransferBasis::StandardContractualClauses
        );
        assert_eq!(event.correction.map(|c| c.target_index), Some(u64::MAX));
        assert_eq!(submission.details, b"hello");
        assert_eq!(
            submission.subject.map(|s| s.value).as_deref(),
            Some("jane@example.com")
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let schema = schema();
        for (json, field) in [
            (
                serde_json::json!({"event": {"purposes": ["a", 3]}}),
                "data.event.purposes[1]",
            ),
            (
                serde_json::json!({"event": {"kind": "COLLECTION"}}),
                "data.event.kind",
            ),
            (serde_json::json!({"subjekt": {}}), "data.subjekt"),
            (serde_json::json!({"details": "%%"}), "data.details"),
            (
                serde_json::json!({"event": {"occurredAt": "yesterday"}}),
                "data.event.occurredAt",
            ),
            (
                serde_json::json!({"event": {"correction": {"targetIndex": -1}}}),
                "data.event.correction.targetIndex",
            ),
            (
                serde_json::json!({"event": {"eventId": "a", "event_id": "b"}}),
                "data.event.event_id",
            ),
            (serde_json::json!([]), "data"),
        ] {
            let error = schema
                .encode("gdpr_ledger.v1.EventSubmission", &json, "data")
                .expect_err(field);
            assert_eq!(error.field, field, "{json}");
        }
    }
}
