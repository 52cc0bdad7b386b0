//! A prepared job as a `ReplicatedRequest` (`proto/gdpr_ledger/v1/replication.proto`) and back.
//!
//! The receiving node turns what its service prepared into a request, sealing any details in the
//! clear under their own key first ([`seal_details`]), so that every replica commits to the same
//! sealed bytes. A replica decodes the request strictly: every row key and token is 32 bytes, a
//! request names no details in the clear, and nothing is left undecoded.

use prost::Message as _;

use crate::proto::v1 as pb;
use crate::sequencer::{CorrectionRights, Details, PreparedEvent};
use crate::vault::{DetailsKey, VaultError};

/// Why a request cannot be made or read.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Details in the clear cannot travel: they are sealed first ([`seal_details`]).
    #[error("event {0}: details must be sealed before they are replicated")]
    UnsealedDetails(usize),
    /// The bytes are not a request.
    #[error("the request does not decode: {0}")]
    Undecodable(#[from] prost::DecodeError),
    /// A field of the request is not what it must be.
    #[error("event {position}: {field}: {why}")]
    BadField {
        /// Position of the event in the request.
        position: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// Sealing the details failed.
    #[error("details: {0}")]
    Vault(#[from] VaultError),
    /// The request is not what its `Ledger-Format` says: an append carries events and no
    /// erasure closes (format 1), an erasure close carries tokens and no events (format 2).
    #[error("a request of format {format}: {why}")]
    WrongShape {
        /// The message's format.
        format: u32,
        /// What is wrong.
        why: String,
    },
}

/// The `Ledger-Format` of a message that closes erasure cases: a replica of format 1 only stops
/// there, asking to be upgraded, rather than read it as an empty append.
pub const ERASURE_CLOSE_FORMAT: u32 = 2;

/// Erasure cases closed by one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedClose {
    /// Who closes them (an admin, or the ledger when every holder confirmed).
    pub by: String,
    /// Why.
    pub reason: String,
    /// The subjects' tokens.
    pub tokens: Vec<[u8; 32]>,
    /// Cases closed already are skipped, not refused.
    pub skip_closed: bool,
}

/// The bytes of a message that closes erasure cases (sealed with [`ERASURE_CLOSE_FORMAT`]).
pub fn encode_close(close: &DecodedClose) -> Vec<u8> {
    pb::ReplicatedRequest {
        producer: close.by.clone(),
        corrects_any_entry: false,
        events: Vec::new(),
        close_erasures: Some(pb::CloseErasures {
            tokens: close.tokens.iter().map(|t| t.to_vec()).collect(),
            reason: close.reason.clone(),
            skip_closed: close.skip_closed,
        }),
    }
    .encode_to_vec()
}

/// Reads the bytes of an erasure close strictly: tokens of 32 bytes, at least one, and no event.
pub fn decode_close(bytes: &[u8]) -> Result<DecodedClose, MessageError> {
    let shape = |why: &str| MessageError::WrongShape {
        format: ERASURE_CLOSE_FORMAT,
        why: why.to_owned(),
    };
    let request = pb::ReplicatedRequest::decode(bytes)?;
    if !request.events.is_empty() || request.corrects_any_entry {
        return Err(shape("events beside erasure closes"));
    }
    let close = request
        .close_erasures
        .ok_or_else(|| shape("no erasure closes"))?;
    if close.tokens.is_empty() {
        return Err(shape("no token"));
    }
    let tokens = close
        .tokens
        .into_iter()
        .map(|token| <[u8; 32]>::try_from(token).map_err(|_| shape("a token is not 32 bytes")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DecodedClose {
        by: request.producer,
        reason: close.reason,
        tokens,
        skip_closed: close.skip_closed,
    })
}

/// A request as a replica applies it.
#[derive(Debug)]
pub struct DecodedRequest {
    /// The caller as the receiving node authenticated it.
    pub producer: String,
    /// Which entries it may correct.
    pub corrects: CorrectionRights,
    /// The prepared events.
    pub events: Vec<PreparedEvent>,
}

/// Seals each event's details in the clear under a fresh details key (what the receiving node
/// does once, before it publishes).
pub fn seal_details(events: &mut [PreparedEvent]) -> Result<(), VaultError> {
    for event in events {
        if let Some(Details::Plain(details)) = &event.details {
            let key = DetailsKey::generate()?;
            let sealed = key.seal(details)?;
            event.details = Some(Details::Sealed { key, sealed });
        }
    }
    Ok(())
}

/// The request's bytes; refused if any details are still in the clear.
pub fn encode_request(
    producer: &str,
    corrects: CorrectionRights,
    events: &[PreparedEvent],
) -> Result<Vec<u8>, MessageError> {
    let events = events
        .iter()
        .enumerate()
        .map(|(position, prepared)| {
            let details = match &prepared.details {
                None => None,
                Some(Details::Plain(_)) => return Err(MessageError::UnsealedDetails(position)),
                Some(Details::Sealed { key, sealed }) => Some(pb::SealedDetails {
                    key: key.as_bytes().to_vec(),
                    sealed: sealed.clone(),
                }),
            };
            Ok(pb::ReplicatedEvent {
                event: Some(prepared.event.clone()),
                subject_row: prepared.subject_row.map(Vec::from).unwrap_or_default(),
                linked_row: prepared.linked_row.map(Vec::from).unwrap_or_default(),
                content_digest: prepared.content_digest.to_vec(),
                identifiers: prepared.identifiers.clone(),
                subject_token: prepared.subject_token.map(Vec::from).unwrap_or_default(),
                opens_erasure: prepared.opens_erasure.clone().unwrap_or_default(),
                details,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pb::ReplicatedRequest {
        producer: producer.to_owned(),
        corrects_any_entry: corrects == CorrectionRights::AnyEntry,
        events,
        close_erasures: None,
    }
    .encode_to_vec())
}

/// Reads a request's bytes strictly.
pub fn decode_request(bytes: &[u8]) -> Result<DecodedRequest, MessageError> {
    let request = pb::ReplicatedRequest::decode(bytes)?;
    if request.close_erasures.is_some() {
        return Err(MessageError::WrongShape {
            format: super::transit::LEDGER_FORMAT,
            why: "erasure closes in an append".into(),
        });
    }
    let events = request
        .events
        .into_iter()
        .enumerate()
        .map(|(position, event)| prepared(position, event))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DecodedRequest {
        producer: request.producer,
        corrects: if request.corrects_any_entry {
            CorrectionRights::AnyEntry
        } else {
            CorrectionRights::OwnEntries
        },
        events,
    })
}

fn prepared(position: usize, event: pb::ReplicatedEvent) -> Result<PreparedEvent, MessageError> {
    let bad = |field: &'static str, why: String| MessageError::BadField {
        position,
        field,
        why,
    };
    let optional_32 = |field: &'static str, bytes: Vec<u8>| -> Result<Option<[u8; 32]>, _> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let len = bytes.len();
        <[u8; 32]>::try_from(bytes)
            .map(Some)
            .map_err(|_| bad(field, format!("{len} bytes, not 32")))
    };
    let details = match event.details {
        None => None,
        Some(pb::SealedDetails { key, sealed }) => {
            let len = key.len();
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| bad("details.key", format!("{len} bytes, not 32")))?;
            if sealed.is_empty() {
                return Err(bad("details.sealed", "empty".into()));
            }
            Some(Details::Sealed {
                key: DetailsKey::from_bytes(key),
                sealed,
            })
        }
    };
    let content_digest = optional_32("content_digest", event.content_digest)?
        .ok_or_else(|| bad("content_digest", "missing".into()))?;
    Ok(PreparedEvent {
        event: event.event.ok_or_else(|| bad("event", "missing".into()))?,
        subject_row: optional_32("subject_row", event.subject_row)?,
        linked_row: optional_32("linked_row", event.linked_row)?,
        content_digest,
        details,
        identifiers: event.identifiers,
        subject_token: optional_32("subject_token", event.subject_token)?,
        opens_erasure: (!event.opens_erasure.is_empty()).then_some(event.opens_erasure),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erasure_close_round_trips_and_each_format_keeps_its_shape() {
        let close = DecodedClose {
            by: "dpo".into(),
            reason: "confirmed by phone".into(),
            tokens: vec![[7; 32], [8; 32]],
            skip_closed: true,
        };
        let bytes = encode_close(&close);
        assert_eq!(decode_close(&bytes).expect("decodes"), close);
        // An append's decoder refuses it, and the close's decoder refuses an append.
        assert!(matches!(
            decode_request(&bytes),
            Err(MessageError::WrongShape { .. })
        ));
        let append = encode_request("crm", CorrectionRights::OwnEntries, &[]).expect("encodes");
        assert!(matches!(
            decode_close(&append),
            Err(MessageError::WrongShape { .. })
        ));
        let short = pb::ReplicatedRequest {
            producer: "dpo".into(),
            close_erasures: Some(pb::CloseErasures {
                tokens: vec![vec![7; 31]],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(decode_close(&short.encode_to_vec()).is_err());
        let empty = pb::ReplicatedRequest {
            close_erasures: Some(pb::CloseErasures::default()),
            ..Default::default()
        };
        assert!(decode_close(&empty.encode_to_vec()).is_err());
    }
    use crate::proto::v1::{Event, EventKind};

    fn sample() -> Vec<PreparedEvent> {
        vec![
            PreparedEvent {
                event: Event {
                    event_id: "e-1".into(),
                    kind: EventKind::Collection as i32,
                    system: "crm".into(),
                    ..Event::default()
                },
                subject_row: Some([1; 32]),
                linked_row: None,
                content_digest: [2; 32],
                details: Some(Details::Plain(zeroize::Zeroizing::new(
                    b"ticket 17".to_vec(),
                ))),
                identifiers: vec!["email:jane@example.com".into()],
                subject_token: None,
                opens_erasure: None,
            },
            PreparedEvent {
                event: Event {
                    event_id: "e-2".into(),
                    kind: EventKind::ErasureRequested as i32,
                    system: "portal".into(),
                    ..Event::default()
                },
                subject_row: None,
                linked_row: Some([3; 32]),
                content_digest: [4; 32],
                details: None,
                identifiers: Vec::new(),
                subject_token: Some([5; 32]),
                opens_erasure: Some("dpo".into()),
            },
        ]
    }

    #[test]
    fn a_request_round_trips_with_its_details_sealed_once() {
        let mut events = sample();
        assert!(matches!(
            encode_request("crm", CorrectionRights::OwnEntries, &events),
            Err(MessageError::UnsealedDetails(0))
        ));
        seal_details(&mut events).expect("seals");
        let bytes = encode_request("admin", CorrectionRights::AnyEntry, &events).expect("encodes");
        let decoded = decode_request(&bytes).expect("decodes");
        assert_eq!(decoded.producer, "admin");
        assert_eq!(decoded.corrects, CorrectionRights::AnyEntry);
        assert_eq!(decoded.events.len(), 2);
        for (sent, got) in events.iter().zip(&decoded.events) {
            assert_eq!(got.event, sent.event);
            assert_eq!(got.subject_row, sent.subject_row);
            assert_eq!(got.linked_row, sent.linked_row);
            assert_eq!(got.content_digest, sent.content_digest);
            assert_eq!(got.identifiers, sent.identifiers);
            assert_eq!(got.subject_token, sent.subject_token);
            assert_eq!(got.opens_erasure, sent.opens_erasure);
        }
        // The same sealed bytes and key arrive, so every replica commits to the same digest.
        let (
            Some(Details::Sealed { key, sealed }),
            Some(Details::Sealed {
                key: k2,
                sealed: s2,
            }),
        ) = (&events[0].details, &decoded.events[0].details)
        else {
            panic!("sealed details on both sides");
        };
        assert_eq!((key.as_bytes(), sealed), (k2.as_bytes(), s2));
        assert!(
            !sealed.windows(9).any(|w| w == b"ticket 17"),
            "the details travel sealed"
        );
        // Encoding is deterministic: the same request, the same bytes.
        assert_eq!(
            encode_request("admin", CorrectionRights::AnyEntry, &events).expect("encodes"),
            bytes
        );
    }

    #[test]
    fn a_malformed_request_is_refused_and_never_panics() {
        let mut events = sample();
        seal_details(&mut events).expect("seals");
        let good = pb::ReplicatedRequest::decode(
            encode_request("crm", CorrectionRights::OwnEntries, &events)
                .expect("encodes")
                .as_slice(),
        )
        .expect("decodes");
        let mut short_row = good.clone();
        short_row.events[0].subject_row = vec![1; 31];
        let mut no_digest = good.clone();
        no_digest.events[1].content_digest.clear();
        let mut long_key = good.clone();
        long_key.events[0].details = Some(pb::SealedDetails {
            key: vec![0; 33],
            sealed: vec![1],
        });
        let mut no_event = good.clone();
        no_event.events[0].event = None;
        for (what, bad) in [
            ("a 31-byte row key", short_row),
            ("no content digest", no_digest),
            ("a 33-byte details key", long_key),
            ("no event", no_event),
        ] {
            assert!(
                matches!(
                    decode_request(&bad.encode_to_vec()),
                    Err(MessageError::BadField { .. })
                ),
                "{what}"
            );
        }
        // Every cut and every single-byte change of a request: an answer, never a panic.
        let bytes = good.encode_to_vec();
        for cut in 0..bytes.len() {
            let _ = decode_request(&bytes[..cut]);
        }
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut altered = bytes.clone();
                altered[at] ^= flip;
                let _ = decode_request(&altered);
            }
        }
    }
}
