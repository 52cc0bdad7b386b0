//! Bounds a request's protobuf wire form before it is decoded.
//!
//! prost turns every element of a repeated field into a value on the heap: two bytes on the wire
//! (`0a 00`, an empty submission) become a whole `EventSubmission`, hundreds of bytes. So a body
//! that is small enough can still cost gigabytes once decoded. [`WireSchema::check`] walks the
//! bytes as they are, with the shapes of the messages taken from the compiled descriptor set, and
//! refuses a body whose repeated fields hold more elements than [`WireLimits`] allow, or whose
//! elements are larger than allowed, before anything is allocated for it. It allocates nothing
//! per field and recurses only into fields that the schema says are messages, so its own cost is
//! one pass over the bytes.

use std::collections::HashMap;

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};

/// What a repeated field, or a message field with a size bound, may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldBound {
    /// Most elements (repeated fields only).
    pub max_elements: usize,
    /// Most bytes of one element (length-delimited fields only).
    pub max_element_bytes: usize,
}

/// The bounds a request's wire form must keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireLimits {
    /// Bounds of particular fields, by full name (`gdpr_ledger.v1.AppendBatchRequest.submissions`).
    pub fields: HashMap<String, FieldBound>,
    /// Most elements of any other repeated field.
    pub max_elements: usize,
    /// Deepest nesting of messages.
    pub max_depth: usize,
}

/// Why a body was refused, with the field's path in the request (`submissions[3].event.purposes`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not a protobuf message of the request's type.
    #[error("{path}: not a valid protobuf encoding ({why})")]
    Malformed {
        /// Where.
        path: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A repeated field holds more elements than allowed.
    #[error("{path}: more than {limit} elements; the limit is {limit} per request")]
    TooManyElements {
        /// The field.
        path: String,
        /// Its bound.
        limit: usize,
    },
    /// One element is larger than allowed.
    #[error("{path}: {bytes} bytes; the limit is {limit} bytes")]
    ElementTooLarge {
        /// The element.
        path: String,
        /// Its size on the wire.
        bytes: usize,
        /// Its bound.
        limit: usize,
    },
    /// Messages nested deeper than allowed.
    #[error("{path}: nested more than {limit} messages deep")]
    TooDeep {
        /// Where.
        path: String,
        /// The bound.
        limit: usize,
    },
}

#[derive(Debug, Clone)]
struct FieldShape {
    /// The field's name, for paths.
    name: String,
    /// The field's full name, for bounds.
    full_name: String,
    repeated: bool,
    /// The full name of the field's message type, if it is a message.
    message: Option<String>,
}

/// The shapes of the messages of a descriptor set: for each message, which field numbers are
/// repeated and which are messages.
#[derive(Debug, Clone, Default)]
pub struct WireSchema {
    messages: HashMap<String, HashMap<u32, FieldShape>>,
}

/// One wire record's tag, split.
const WIRE_VARINT: u64 = 0;
const WIRE_I64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_I32: u64 = 5;

impl WireSchema {
    /// Reads the message shapes of an encoded `FileDescriptorSet`.
    pub fn from_descriptor_set(encoded: &[u8]) -> Result<Self, prost::DecodeError> {
        let set = prost_types::FileDescriptorSet::decode(encoded)?;
        let mut messages = HashMap::new();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                add_message(&mut messages, package, message);
            }
        }
        Ok(Self { messages })
    }

    /// Whether the schema knows the message `full_name`.
    pub fn knows(&self, full_name: &str) -> bool {
        self.messages.contains_key(full_name)
    }

    /// Checks that `bytes`, an encoded `message`, keeps `limits`.
    pub fn check(&self, message: &str, bytes: &[u8], limits: &WireLimits) -> Result<(), WireError> {
        let mut path = String::new();
        self.walk(message, bytes, limits, &mut path, 0)
    }

    fn walk(
        &self,
        message: &str,
        mut bytes: &[u8],
        limits: &WireLimits,
        path: &mut String,
        depth: usize,
    ) -> Result<(), WireError> {
        if depth > limits.max_depth {
            return Err(WireError::TooDeep {
                path: shown(path),
                limit: limits.max_depth,
            });
        }
        let fields = self.messages.get(message);
        // Elements seen so far per repeated field number; a message has few repeated fields.
        let mut counts: Vec<(u32, usize)> = Vec::new();
        while !bytes.is_empty() {
            let tag = read_varint(&mut bytes).ok_or_else(|| malformed(path, "a truncated tag"))?;
            let number = u32::try_from(tag >> 3)
                .ok()
                .filter(|n| *n >= 1 && *n <= 536_870_911)
                .ok_or_else(|| malformed(path, "a field number out of range"))?;
            let field = fields.and_then(|fields| fields.get(&number));
            let payload: &[u8] = match tag & 7 {
                WIRE_VARINT => {
                    read_varint(&mut bytes).ok_or_else(|| malformed(path, "a truncated varint"))?;
                    &[]
                }
                WIRE_I64 => {
                    take(&mut bytes, 8).ok_or_else(|| malformed(path, "a truncated fixed64"))?
                }
                WIRE_I32 => {
                    take(&mut bytes, 4).ok_or_else(|| malformed(path, "a truncated fixed32"))?
                }
                WIRE_LEN => {
                    let len = read_varint(&mut bytes)
                        .and_then(|len| usize::try_from(len).ok())
                        .ok_or_else(|| malformed(path, "a truncated length"))?;
                    take(&mut bytes, len)
                        .ok_or_else(|| malformed(path, "a length beyond the message"))?
                }
                _ => return Err(malformed(path, "a group or an unknown wire type")),
            };
            let Some(field) = field else {
                // An unknown field: prost skips it without keeping it.
                continue;
            };
            let mark = path.len();
            let bound = limits.fields.get(&field.full_name);
            if field.repeated {
                let count = match counts.iter_mut().find(|(n, _)| *n == number) {
                    Some((_, count)) => count,
                    None => {
                        counts.push((number, 0));
                        &mut counts.last_mut().expect("just pushed").1
                    }
                };
                let limit = bound.map_or(limits.max_elements, |b| b.max_elements);
                if *count >= limit {
                    push_name(path, &field.name);
                    return Err(WireError::TooManyElements {
                        path: shown(path),
                        limit,
                    });
                }
                push_name(path, &field.name);
                path.push_str(&format!("[{count}]"));
                *count += 1;
            } else {
                push_name(path, &field.name);
            }
            if let Some(bound) = bound
                && payload.len() > bound.max_element_bytes
            {
                return Err(WireError::ElementTooLarge {
                    path: shown(path),
                    bytes: payload.len(),
                    limit: bound.max_element_bytes,
                });
            }
            if let Some(inner) = &field.message {
                if tag & 7 != WIRE_LEN {
                    return Err(malformed(
                        path,
                        "a message field that is not length-delimited",
                    ));
                }
                self.walk(inner, payload, limits, path, depth + 1)?;
            }
            path.truncate(mark);
        }
        Ok(())
    }
}

fn add_message(
    messages: &mut HashMap<String, HashMap<u32, FieldShape>>,
    scope: &str,
    message: &prost_types::DescriptorProto,
) {
    let full_name = if scope.is_empty() {
        message.name().to_owned()
    } else {
        format!("{scope}.{}", message.name())
    };
    let mut fields = HashMap::new();
    for field in &message.field {
        let repeated = field.label() == Label::Repeated;
        let is_message = matches!(field.r#type(), Type::Message | Type::Group);
        // Map fields are repeated entry messages; their entries are bounded like any element.
        let message_type = is_message.then(|| field.type_name().trim_start_matches('.').to_owned());
        fields.insert(
            u32::try_from(field.number()).unwrap_or(0),
            FieldShape {
                name: field.name().to_owned(),
                full_name: format!("{full_name}.{}", field.name()),
                repeated,
                message: message_type,
            },
        );
    }
    for nested in &message.nested_type {
        add_message(messages, &full_name, nested);
    }
    messages.insert(full_name, fields);
}

fn malformed(path: &str, why: &'static str) -> WireError {
    WireError::Malformed {
        path: shown(path),
        why,
    }
}

fn push_name(path: &mut String, name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "request".to_owned()
    } else {
        path.to_owned()
    }
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

fn take<'a>(bytes: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    if bytes.len() < len {
        return None;
    }
    let (head, rest) = bytes.split_at(len);
    *bytes = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1 as pb;

    fn schema() -> WireSchema {
        WireSchema::from_descriptor_set(pb::FILE_DESCRIPTOR_SET).expect("descriptor set")
    }

    fn limits() -> WireLimits {
        WireLimits {
            fields: HashMap::from([(
                "gdpr_ledger.v1.AppendBatchRequest.submissions".to_owned(),
                FieldBound {
                    max_elements: 3,
                    max_element_bytes: 200,
                },
            )]),
            max_elements: 4,
            max_depth: 8,
        }
    }

    const BATCH: &str = "gdpr_ledger.v1.AppendBatchRequest";

    fn submission(categories: usize) -> pb::EventSubmission {
        pb::EventSubmission {
            event: Some(pb::Event {
                event_id: "e-1".into(),
                data_categories: (0..categories).map(|i| format!("pd:C{i}")).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_within_the_bounds_passes() {
        let request = pb::AppendBatchRequest {
            submissions: vec![submission(4), submission(0), submission(1)],
            include_bundle: true,
        };
        schema()
            .check(BATCH, &request.encode_to_vec(), &limits())
            .expect("within the bounds");
    }

    #[test]
    fn too_many_elements_are_refused_with_their_field() {
        let request = pb::AppendBatchRequest {
            submissions: vec![submission(0); 4],
            include_bundle: false,
        };
        let error = schema()
            .check(BATCH, &request.encode_to_vec(), &limits())
            .expect_err("four submissions");
        assert_eq!(
            error.to_string(),
            "submissions: more than 3 elements; the limit is 3 per request"
        );

        let request = pb::AppendBatchRequest {
            submissions: vec![submission(0), submission(5)],
            include_bundle: false,
        };
        let error = schema()
            .check(BATCH, &request.encode_to_vec(), &limits())
            .expect_err("five categories");
        assert_eq!(
            error,
            WireError::TooManyElements {
                path: "submissions[1].event.data_categories".into(),
                limit: 4
            }
        );
    }

    #[test]
    fn empty_elements_count_like_any_other() {
        // 8 million `0a 00` took gigabytes once decoded; here a few of them are counted.
        let body = [0x0a, 0x00].repeat(4);
        let error = schema()
            .check(BATCH, &body, &limits())
            .expect_err("4 empty");
        assert!(
            matches!(error, WireError::TooManyElements { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_large_element_is_refused_before_it_is_decoded() {
        let mut big = submission(0);
        big.details = vec![7; 300];
        let request = pb::AppendBatchRequest {
            submissions: vec![submission(0), big],
            include_bundle: false,
        };
        let error = schema()
            .check(BATCH, &request.encode_to_vec(), &limits())
            .expect_err("a 300-byte submission");
        assert!(
            error.to_string().starts_with("submissions[1]: 3"),
            "{error}"
        );
    }

    #[test]
    fn malformed_bytes_are_refused_with_where() {
        for (body, why) in [
            (vec![0x0a], "a truncated length"),
            (vec![0x0a, 0x05, 0x00], "a length beyond the message"),
            (vec![0x0b], "a group or an unknown wire type"),
            (vec![0x80], "a truncated tag"),
            (vec![0x00, 0x00], "a field number out of range"),
            // A submission whose event (a message) is a varint.
            (
                vec![0x0a, 0x02, 0x0a, 0x00, 0x0a, 0x02, 0x08, 0x01],
                "a message field that is not length-delimited",
            ),
        ] {
            let error = schema().check(BATCH, &body, &limits()).expect_err(why);
            match error {
                WireError::Malformed { why: found, .. } => assert_eq!(found, why, "{body:02x?}"),
                other => panic!("{body:02x?}: {other}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_skipped_and_nesting_is_bounded() {
        // Field 99 (unknown) as a length-delimited blob: skipped, never walked.
        let mut body = vec![0x9a, 0x06, 0x03, 0x0a, 0x01, 0x00];
        body.extend(
            pb::AppendBatchRequest {
                submissions: vec![submission(1)],
                include_bundle: false,
            }
            .encode_to_vec(),
        );
        schema()
            .check(BATCH, &body, &limits())
            .expect("unknown field skipped");
        let shallow = WireLimits {
            max_depth: 1,
            ..limits()
        };
        let error = schema()
            .check(
                BATCH,
                &pb::AppendBatchRequest {
                    submissions: vec![submission(1)],
                    include_bundle: false,
                }
                .encode_to_vec(),
                &shallow,
            )
            .expect_err("event is at depth 2");
        assert!(matches!(error, WireError::TooDeep { .. }), "{error}");
    }
}
