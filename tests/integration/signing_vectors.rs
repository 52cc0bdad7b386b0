//! Reproduces every value of `tests/vectors/signing.json` (made by an independent implementation):
//! the log key, the checkpoint body and note byte for byte, every good and bad note, entry
//! envelopes and signatures, directory rows and the deterministic pseudonym (SPEC.md sections
//! 3 to 6).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use gdpr_ledger::core::checkpoint::{Checkpoint, CheckpointError};
use gdpr_ledger::core::directory::{
    DirectorySecret, PseudonymSecret, deterministic_pseudonym, directory_row_key,
    normalize_identifier,
};
use gdpr_ledger::core::entry::{SequencedEntry, decode_entry, encode_entry};
use gdpr_ledger::core::hash::{HashDecodeError, LeafHash, RootHash, leaf_hash};
use gdpr_ledger::core::note::{NoteError, SignatureLineFault};
use gdpr_ledger::core::signature::{
    EntrySignature, KeyId, LogSigner, VerifierKey, verify_entry_signature,
};
use gdpr_ledger::proto::v1::{Entry, Event};

fn vectors() -> Value {
    // Embedded at compile time, so the test never reads a path of another checkout.
    serde_json::from_str(include_str!("../vectors/signing.json")).unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn hex32(text: &str) -> [u8; 32] {
    hex::decode(text).unwrap().try_into().unwrap()
}

fn signer(v: &Value) -> LogSigner {
    LogSigner::from_seed(str_of(v, "origin"), &hex32(str_of(v, "ed25519_seed_hex"))).unwrap()
}

fn verifier_key(v: &Value) -> VerifierKey {
    VerifierKey::parse(str_of(v, "verifier_key")).unwrap()
}

#[test]
fn seed_gives_the_public_key_and_verifier_key() {
    let v = vectors();
    let signer = signer(&v);
    let key = signer.verifier_key();
    assert_eq!(
        hex::encode(key.verifying_key().as_bytes()),
        str_of(&v, "public_key_hex")
    );
    assert_eq!(key.to_string(), str_of(&v, "verifier_key"));
    assert_eq!(verifier_key(&v), key);
    assert_eq!(signer.key_id().to_string(), "5eb4026f");
    assert_eq!(key.name(), str_of(&v, "origin"));
}

#[test]
fn checkpoint_body_and_note_are_reproduced_byte_for_byte() {
    let v = vectors();
    let checkpoint = Checkpoint {
        origin: str_of(&v, "origin").to_owned(),
        size: v["checkpoint_size"].as_u64().unwrap(),
        root: RootHash::from_base64(str_of(&v, "checkpoint_root")).unwrap(),
        extensions: Vec::new(),
    };
    assert_eq!(checkpoint.to_body(), str_of(&v, "checkpoint_body"));
    let note = checkpoint.sign(&signer(&v)).unwrap();
    assert_eq!(note, str_of(&v, "checkpoint_note"));

    let opened = Checkpoint::open(&note, &[verifier_key(&v)]).unwrap();
    assert_eq!(opened.checkpoint, checkpoint);
    assert_eq!(opened.log_keys, vec![verifier_key(&v)]);
    assert!(opened.cosigners.is_empty() && opened.unknown.is_empty());
    assert_eq!(
        Checkpoint::parse_body(str_of(&v, "checkpoint_body")).unwrap(),
        checkpoint
    );
}

#[test]
fn every_good_note_opens() {
    let v = vectors();
    let good = v["good_notes"].as_array().unwrap();
    assert!(!good.is_empty());
    for case in good {
        let opened = Checkpoint::open(str_of(case, "note"), &[verifier_key(&v)])
            .unwrap_or_else(|e| panic!("{}: {e}", str_of(case, "what")));
        assert_eq!(opened.checkpoint.size, 70);
        assert_eq!(opened.checkpoint.extensions, vec!["witness-hint 1"]);
        assert_eq!(opened.unknown.len(), 1);
        assert_eq!(opened.unknown[0].name, "witness.example");
    }
}

/// The error each bad note must be rejected with, by its `what`.
fn expected_error(what: &str) -> fn(&CheckpointError) -> bool {
    match what {
        "size changed after signing" => {
            |e| matches!(e, CheckpointError::Note(NoteError::SignatureFailed { name, .. }) if name == "ledger.example.com/gdpr/test")
        }
        "signed by another key under the same name" => {
            |e| matches!(e, CheckpointError::Note(NoteError::UnknownKeyId { key_id, .. }) if *key_id != "5eb4026f".parse::<KeyId>().unwrap())
        }
        "size with a leading zero, validly signed" => {
            |e| matches!(e, CheckpointError::SizeLeadingZero(s) if s == "070")
        }
        "malformed signature line" => |e| {
            matches!(
                e,
                CheckpointError::Note(NoteError::MalformedSignatureLine {
                    line: 1,
                    fault: SignatureLineFault::Prefix
                })
            )
        },
        "no final newline" => {
            |e| matches!(e, CheckpointError::Note(NoteError::MissingFinalNewline))
        }
        "signature base64 not canonical (same bytes to a lenient decoder)" => |e| {
            matches!(
                e,
                CheckpointError::Note(NoteError::SignatureBase64 { line: 1, .. })
            )
        },
        "origin line differs from the key name, validly signed" => {
            |e| matches!(e, CheckpointError::OriginMismatch { origin, .. } if origin == "ledger.example.com/gdpr/testx")
        }
        "tab inside an extension line, validly signed" => |e| {
            matches!(
                e,
                CheckpointError::Note(NoteError::ControlCharacter {
                    character: '\t',
                    ..
                })
            )
        },
        "empty extension line, validly signed" => {
            |e| matches!(e, CheckpointError::EmptyExtensionLine(1))
        }
        "root of 31 bytes, validly signed" => {
            |e| matches!(e, CheckpointError::Root(HashDecodeError::Length(31)))
        }
        "only a cosignature by an unknown key" => {
            |e| matches!(e, CheckpointError::Note(NoteError::NoKnownSignature))
        }
        other => panic!("no expected error for bad note {other:?}: add one"),
    }
}

#[test]
fn every_bad_note_is_rejected_with_its_own_error() {
    let v = vectors();
    let bad = v["bad_notes"].as_array().unwrap();
    assert_eq!(bad.len(), 11);
    let mut kinds = std::collections::HashSet::new();
    for case in bad {
        let what = str_of(case, "what");
        let error = Checkpoint::open(str_of(case, "note"), &[verifier_key(&v)]).expect_err(what);
        assert!(expected_error(what)(&error), "{what}: got {error:?}");
        // Each bad note is named by a distinct error: its variant, or its note error's variant.
        let kind = match &error {
            CheckpointError::Note(note) => format!("note {:?}", std::mem::discriminant(note)),
            other => format!("checkpoint {:?}", std::mem::discriminant(other)),
        };
        assert!(
            kinds.insert(kind),
            "{what}: same error kind as another bad note"
        );
    }
}

#[test]
fn validly_signed_bad_notes_do_carry_a_good_signature() {
    // The "validly signed" cases must fail on their content, not on the signature: check that the
    // note layer alone accepts those whose framing is clean.
    let v = vectors();
    for case in v["bad_notes"].as_array().unwrap() {
        let what = str_of(case, "what");
        if what.ends_with("validly signed") && !what.starts_with("tab") {
            let opened = gdpr_ledger::core::note::open_note(
                str_of(case, "note").as_bytes(),
                &[verifier_key(&v)],
            );
            assert!(opened.is_ok(), "{what}: {opened:?}");
        }
    }
}

#[test]
fn entry_signature_is_reproduced() {
    let v = vectors();
    let case = &v["entry_signature"];
    let leaf = leaf_hash(str_of(case, "entry_bytes_utf8").as_bytes());
    assert_eq!(leaf.to_base64(), str_of(case, "leaf_hash"));
    let signature = signer(&v).sign_entry(&leaf);
    assert_eq!(signature.to_base64(), str_of(case, "signature"));
    assert_eq!(
        verify_entry_signature(&verifier_key(&v), &leaf, &signature),
        Ok(())
    );
}

fn b64(text: &str) -> Vec<u8> {
    STANDARD.decode(text).unwrap()
}

fn entry_from_fields(fields: &Value) -> Entry {
    assert_eq!(str_of(fields, "event"), "empty message");
    Entry {
        index: fields["index"].as_u64().unwrap(),
        prev_hash: b64(str_of(fields, "prev_hash")),
        received_at: Some(prost_types::Timestamp {
            seconds: fields["received_at"]["seconds"].as_i64().unwrap(),
            nanos: fields["received_at"]["nanos"].as_i64().unwrap() as i32,
        }),
        producer: str_of(fields, "producer").to_owned(),
        subject_token: b64(str_of(fields, "subject_token")),
        subject_seq: fields["subject_seq"].as_u64().unwrap(),
        subject_prev_index: fields["subject_prev_index"].as_u64().unwrap(),
        event: Some(Event::default()),
    }
}

#[test]
fn entry_envelopes_are_reproduced() {
    let v = vectors();
    let envelopes = v["entry_envelopes"].as_array().unwrap();
    assert_eq!(envelopes.len(), 2);
    for case in envelopes {
        let what = str_of(case, "what");
        let entry = entry_from_fields(&case["fields"]);
        let bytes = encode_entry(&entry).unwrap();
        assert_eq!(hex::encode(&bytes), str_of(case, "bytes_hex"), "{what}");
        let leaf = leaf_hash(&bytes);
        assert_eq!(leaf.to_base64(), str_of(case, "leaf_hash"), "{what}");
        let signature = signer(&v).sign_entry(&leaf);
        if let Some(expected) = case["signature"].as_str() {
            assert_eq!(signature.to_base64(), expected, "{what}");
            let parsed = EntrySignature::from_base64(expected).unwrap();
            assert_eq!(
                verify_entry_signature(&verifier_key(&v), &leaf, &parsed),
                Ok(())
            );
        }
        // Reading the bytes back gives the same message and the same hash, without re-encoding.
        assert_eq!(decode_entry(&bytes).unwrap(), entry);
        let read = SequencedEntry::from_bytes(bytes).unwrap();
        assert_eq!(read.index(), case["fields"]["index"].as_u64().unwrap());
        assert_eq!(
            read.leaf_hash(),
            LeafHash::from_base64(str_of(case, "leaf_hash")).unwrap()
        );
    }
}

#[test]
fn entry_5_prev_hash_is_leaf_4_of_the_merkle_vectors() {
    // Ties the two vector files together: entry 5's hash chain points at `entry-4`'s leaf.
    let v = vectors();
    let prev = str_of(&v["entry_envelopes"][0]["fields"], "prev_hash");
    assert_eq!(prev, leaf_hash(b"entry-4").to_base64());
}

#[test]
fn directory_rows_are_reproduced() {
    let v = vectors();
    let secret = DirectorySecret::from_bytes(hex32(str_of(&v, "directory_secret_hex")));
    let rows = v["directory_rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let (kind, value) = (str_of(row, "kind"), str_of(row, "value"));
        assert_eq!(
            normalize_identifier(kind, value).unwrap(),
            str_of(row, "normalized")
        );
        assert_eq!(
            hex::encode(directory_row_key(&secret, kind, value).unwrap()),
            str_of(row, "row_key_hex"),
            "{kind} {value:?}"
        );
    }
}

#[test]
fn deterministic_pseudonym_is_reproduced() {
    let v = vectors();
    let case = &v["deterministic_pseudonym"];
    let secret = PseudonymSecret::from_bytes(hex32(str_of(case, "pseudonym_secret_hex")));
    let token = deterministic_pseudonym(&secret, case["first_index"].as_u64().unwrap());
    assert_eq!(token.to_hex(), str_of(case, "pseudonym_hex"));
}
