//! The two encodings of a [`SubjectProof`] (docs/subject-index.md, "Proof encoding"): a compact
//! binary one, and JSON for the lifecycle bundle. Both elide empty siblings and both decoders are
//! strict, so that one proof has one encoding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::hashing::{EMPTY_SUBTREE_HASH, TOKEN_BITS};
use super::head::{SUBJECT_HEAD_LEN, SubjectHead};
use super::proof::{ProofTerminal, SubjectProof};
use crate::core::directory::SubjectToken;
use crate::core::hash::{HASH_LEN, LeafHash, NodeHash};

/// Binary tag of a proof that ends in an empty subtree.
const EMPTY_TERMINAL: u8 = 0x00;
/// Binary tag of a proof that ends in a leaf.
const LEAF_TERMINAL: u8 = 0x01;

/// Bytes or JSON that are not a proof encoding. Each variant names the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofDecodeError {
    /// The first byte is neither `0x00` (empty) nor `0x01` (leaf).
    #[error("unknown terminal tag {0:#04x}")]
    UnknownTerminal(u8),
    /// The bytes end before the proof does.
    #[error("the proof ends early")]
    Truncated,
    /// The depth is above 256.
    #[error("the proof has {0} siblings; a path has at most {TOKEN_BITS}")]
    TooManySiblings(usize),
    /// A bitmap bit beyond the depth is set.
    #[error("a bitmap bit beyond the depth is set")]
    BitmapPadding,
    /// A sibling is written out as the empty-subtree hash instead of being elided.
    #[error("sibling {0} is written out but is the empty-subtree hash")]
    ExplicitEmptySibling(usize),
    /// Bytes follow the proof.
    #[error("{0} bytes follow the proof")]
    TrailingBytes(usize),
    /// A JSON field is not canonical base64 of 32 bytes.
    #[error("{field} is not canonical base64 of 32 bytes")]
    Base64 {
        /// The field, e.g. `siblings[3]` or `leaf.token`.
        field: String,
    },
}

impl ProofDecodeError {
    /// The failed check (docs/subject-index.md section 11): every decoding fault is one.
    pub fn check(&self) -> crate::core::checks::Check {
        crate::core::checks::Check::SubjectProofDecode
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

impl SubjectProof {
    /// The binary encoding: the terminal (`0x00`, or `0x01 || token || head`), the depth as
    /// `u16_be`, a bitmap of `ceil(depth / 8)` bytes whose bit `i` (most significant first) is
    /// set when sibling `i` is not empty, then the 32 bytes of each non-empty sibling in order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let depth = self.siblings.len();
        let mut bytes = Vec::with_capacity(1 + 32 + SUBJECT_HEAD_LEN + 2 + depth.div_ceil(8));
        match &self.terminal {
            ProofTerminal::Empty => bytes.push(EMPTY_TERMINAL),
            ProofTerminal::Leaf { token, head } => {
                bytes.push(LEAF_TERMINAL);
                bytes.extend_from_slice(token.as_bytes());
                bytes.extend_from_slice(&head.to_bytes());
            }
        }
        // A proof longer than 65,535 siblings cannot verify anyway; its depth is cut to 16 bits.
        bytes.extend_from_slice(&(depth.min(usize::from(u16::MAX)) as u16).to_be_bytes());
        let mut bitmap = vec![0u8; depth.div_ceil(8)];
        for (i, sibling) in self.siblings.iter().enumerate() {
            if *sibling != EMPTY_SUBTREE_HASH {
                bitmap[i / 8] |= 0x80 >> (i % 8);
            }
        }
        bytes.extend_from_slice(&bitmap);
        for sibling in self.siblings.iter().filter(|s| **s != EMPTY_SUBTREE_HASH) {
            bytes.extend_from_slice(sibling.as_bytes());
        }
        bytes
    }

    /// The inverse of [`SubjectProof::to_bytes`], strict: depth at most 256, no bitmap bit beyond
    /// the depth, no sibling written out that equals the empty-subtree hash, no trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofDecodeError> {
        let mut reader = Reader(bytes);
        let terminal = match reader.take(1)?[0] {
            EMPTY_TERMINAL => ProofTerminal::Empty,
            LEAF_TERMINAL => {
                let token = SubjectToken::from_slice(reader.take(32)?)
                    .map_err(|_| ProofDecodeError::Truncated)?;
                let head = SubjectHead::from_bytes(reader.take(SUBJECT_HEAD_LEN)?)
                    .map_err(|_| ProofDecodeError::Truncated)?;
                ProofTerminal::Leaf { token, head }
            }
            other => return Err(ProofDecodeError::UnknownTerminal(other)),
        };
        let depth_bytes = reader.take(2)?;
        let depth = usize::from(u16::from_be_bytes([depth_bytes[0], depth_bytes[1]]));
        if depth > usize::from(TOKEN_BITS) {
            return Err(ProofDecodeError::TooManySiblings(depth));
        }
        let bitmap = reader.take(depth.div_ceil(8))?;
        let present = |i: usize| bitmap[i / 8] & (0x80 >> (i % 8)) != 0;
        if (depth..depth.div_ceil(8) * 8).any(present) {
            return Err(ProofDecodeError::BitmapPadding);
        }
        let mut siblings = Vec::with_capacity(depth);
        for i in 0..depth {
            if present(i) {
                let sibling = NodeHash::from_slice(reader.take(HASH_LEN)?)
                    .map_err(|_| ProofDecodeError::Truncated)?;
                if sibling == EMPTY_SUBTREE_HASH {
                    return Err(ProofDecodeError::ExplicitEmptySibling(i));
                }
                siblings.push(sibling);
            } else {
                siblings.push(EMPTY_SUBTREE_HASH);
            }
        }
        if !reader.0.is_empty() {
            return Err(ProofDecodeError::TrailingBytes(reader.0.len()));
        }
        Ok(Self { terminal, siblings })
    }
}

/// Takes bytes off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProofDecodeError> {
        if self.0.len() < n {
            return Err(ProofDecodeError::Truncated);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }
}

/// The JSON form of a proof:
/// `{"leaf": {"token", "count", "last_index", "last_leaf"}, "siblings": ["<base64>" | null]}`,
/// `leaf` absent when the path ends in an empty subtree, `null` for an empty sibling.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaf: Option<LeafJson>,
    siblings: Vec<Option<String>>,
}

/// The JSON form of a terminal leaf: its token and head, hashes in base64.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeafJson {
    token: String,
    count: u64,
    last_index: u64,
    last_leaf: String,
}

impl From<SubjectProof> for ProofJson {
    fn from(proof: SubjectProof) -> Self {
        let leaf = match proof.terminal {
            ProofTerminal::Empty => None,
            ProofTerminal::Leaf { token, head } => Some(LeafJson {
                token: STANDARD.encode(token.as_bytes()),
                count: head.count,
                last_index: head.last_index,
                last_leaf: head.last_leaf.to_base64(),
            }),
        };
        let siblings = proof
            .siblings
            .iter()
            .map(|s| (*s != EMPTY_SUBTREE_HASH).then(|| s.to_base64()))
            .collect();
        Self { leaf, siblings }
    }
}

impl TryFrom<ProofJson> for SubjectProof {
    type Error = ProofDecodeError;

    fn try_from(json: ProofJson) -> Result<Self, Self::Error> {
        if json.siblings.len() > usize::from(TOKEN_BITS) {
            return Err(ProofDecodeError::TooManySiblings(json.siblings.len()));
        }
        let bad = |field: &str| ProofDecodeError::Base64 {
            field: field.to_owned(),
        };
        let terminal = match json.leaf {
            None => ProofTerminal::Empty,
            Some(leaf) => {
                let token = NodeHash::from_base64(&leaf.token).map_err(|_| bad("leaf.token"))?;
                let last_leaf =
                    LeafHash::from_base64(&leaf.last_leaf).map_err(|_| bad("leaf.last_leaf"))?;
                ProofTerminal::Leaf {
                    token: SubjectToken::from_bytes(*token.as_bytes()),
                    head: SubjectHead {
                        count: leaf.count,
                        last_index: leaf.last_index,
                        last_leaf,
                    },
                }
            }
        };
        let siblings = json
            .siblings
            .iter()
            .enumerate()
            .map(|(i, sibling)| match sibling {
                None => Ok(EMPTY_SUBTREE_HASH),
                Some(text) => {
                    let hash =
                        NodeHash::from_base64(text).map_err(|_| bad(&format!("siblings[{i}]")))?;
                    if hash == EMPTY_SUBTREE_HASH {
                        return Err(ProofDecodeError::ExplicitEmptySibling(i));
                    }
                    Ok(hash)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { terminal, siblings })
    }
}

impl Serialize for SubjectProof {
    /// The JSON form: `{"leaf": {...}, "siblings": [...]}` (docs/subject-index.md).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ProofJson::from(self.clone()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SubjectProof {
    /// The JSON form, strictly: unknown fields, bad base64 and written-out empty siblings are
    /// errors.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = ProofJson::deserialize(deserializer)?;
        Self::try_from(json).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn proof(terminal: ProofTerminal, empties: &[bool]) -> SubjectProof {
        let siblings = empties
            .iter()
            .enumerate()
            .map(|(i, &empty)| {
                if empty {
                    EMPTY_SUBTREE_HASH
                } else {
                    NodeHash::from(leaf_hash(&[i as u8]))
                }
            })
            .collect();
        SubjectProof { terminal, siblings }
    }

    fn leaf() -> ProofTerminal {
        ProofTerminal::Leaf {
            token: SubjectToken::from_bytes([9; 32]),
            head: SubjectHead {
                count: 4,
                last_index: 1000,
                last_leaf: leaf_hash(b"entry-1000"),
            },
        }
    }

    #[test]
    fn binary_and_json_round_trip() {
        let cases = [
            proof(ProofTerminal::Empty, &[]),
            proof(leaf(), &[]),
            proof(ProofTerminal::Empty, &[false, true, false]),
            proof(leaf(), &[true; 9]),
            proof(leaf(), &[false; 256]),
        ];
        for p in cases {
            let bytes = p.to_bytes();
            assert_eq!(SubjectProof::from_bytes(&bytes), Ok(p.clone()));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<SubjectProof>(&json).unwrap(), p);
        }
    }

    #[test]
    fn binary_layout() {
        let p = proof(ProofTerminal::Empty, &[false, true, false]);
        let bytes = p.to_bytes();
        assert_eq!(&bytes[..4], &[0x00, 0x00, 0x03, 0b1010_0000]);
        assert_eq!(bytes.len(), 4 + 2 * 32);
        assert_eq!(&bytes[4..36], p.siblings[0].as_bytes());
        let l = proof(leaf(), &[]).to_bytes();
        assert_eq!(l.len(), 1 + 32 + 48 + 2);
        assert_eq!(l[0], 0x01);
    }

    #[test]
    fn binary_decoding_is_strict() {
        let p = proof(ProofTerminal::Empty, &[false, true, false]);
        let bytes = p.to_bytes();
        let mut padded = bytes.clone();
        padded[3] |= 0x01;
        assert_eq!(
            SubjectProof::from_bytes(&padded),
            Err(ProofDecodeError::BitmapPadding)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            SubjectProof::from_bytes(&longer),
            Err(ProofDecodeError::TrailingBytes(1))
        );
        assert_eq!(
            SubjectProof::from_bytes(&bytes[..bytes.len() - 1]),
            Err(ProofDecodeError::Truncated)
        );
        assert_eq!(
            SubjectProof::from_bytes(&[0x02, 0, 0]),
            Err(ProofDecodeError::UnknownTerminal(2))
        );
        assert_eq!(
            SubjectProof::from_bytes(&[0x00, 0x01, 0x01]),
            Err(ProofDecodeError::TooManySiblings(257))
        );
        let mut explicit = vec![0x00, 0x00, 0x01, 0x80];
        explicit.extend_from_slice(&[0; 32]);
        assert_eq!(
            SubjectProof::from_bytes(&explicit),
            Err(ProofDecodeError::ExplicitEmptySibling(0))
        );
    }

    #[test]
    fn json_decoding_is_strict() {
        let zero = EMPTY_SUBTREE_HASH.to_base64();
        for bad in [
            format!(r#"{{"siblings": ["{zero}"]}}"#),
            r#"{"siblings": ["AAAA"]}"#.to_owned(),
            r#"{"siblings": [], "extra": 1}"#.to_owned(),
            r#"{"leaf": {"token": "AAAA", "count": 1, "last_index": 0, "last_leaf": "AAAA"},
                "siblings": []}"#
                .to_owned(),
            r#"{}"#.to_owned(),
        ] {
            assert!(serde_json::from_str::<SubjectProof>(&bad).is_err(), "{bad}");
        }
        let json = serde_json::to_value(proof(ProofTerminal::Empty, &[true, false])).unwrap();
        assert_eq!(json["siblings"][0], serde_json::Value::Null);
        assert!(json.get("leaf").is_none());
    }
}
