//! Runs the real `gdpr-ledger verify` binary: the vectors' good checkpoint notes verify (exit 0),
//! every bad note and every single-character change of the good note does not (exit 1), a good
//! bundle verifies and a tampered one names the failing entry, and usage errors exit 2.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use gdpr_ledger::core::bundle::{Bundle, BundleEntry, ConsistencyLink};
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::entry::encode_entry;
use gdpr_ledger::core::hash::{NodeHash, RootHash, leaf_hash, node_hash};
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::proto::v1::{Entry, Event, EventKind};

fn vectors() -> Value {
    // Embedded at compile time, so the test never reads a path of another checkout.
    serde_json::from_str(include_str!("../vectors/signing.json")).unwrap()
}

fn verifier_key() -> String {
    vectors()["verifier_key"].as_str().unwrap().to_owned()
}

/// Runs `gdpr-ledger verify` with `args`, feeding `stdin`.
fn verify(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("verify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may exit (on a usage error) before reading its input: a broken pipe is fine.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn verify_stdin(input: &[u8]) -> Output {
    verify(&["--key", &verifier_key(), "-"], input)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn good_checkpoint_notes_verify() {
    let v = vectors();
    let mut notes = vec![v["checkpoint_note"].as_str().unwrap().to_owned()];
    for case in v["good_notes"].as_array().unwrap() {
        notes.push(case["note"].as_str().unwrap().to_owned());
    }
    for note in notes {
        let output = verify_stdin(note.as_bytes());
        assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
        let text = stdout(&output);
        assert!(text.starts_with("VERIFIED"), "{text}");
        assert!(
            text.contains("origin:    ledger.example.com/gdpr/test"),
            "{text}"
        );
        assert!(text.contains("tree size: 70"), "{text}");
        assert!(
            text.contains("Q1liUYeWo+C8hrL1oEnUXfkaBC/tT+IMbmVfSHoJhyU="),
            "{text}"
        );
        assert!(text.contains("key ID 5eb4026f"), "{text}");
    }
}

#[test]
fn keys_come_from_a_file_of_several() {
    let dir = tempfile::tempdir().unwrap();
    let other = LogSigner::from_seed("ledger.example.com/gdpr/test", &[5; 32]).unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(
        &keys,
        format!(
            "# rotated keys\n{}\n\n{}\n",
            other.verifier_key(),
            verifier_key()
        ),
    )
    .unwrap();
    let note = dir.path().join("checkpoint.txt");
    std::fs::write(&note, vectors()["checkpoint_note"].as_str().unwrap()).unwrap();
    let output = verify(
        &["--key", keys.to_str().unwrap(), note.to_str().unwrap()],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn every_bad_note_fails() {
    for case in vectors()["bad_notes"].as_array().unwrap() {
        let output = verify_stdin(case["note"].as_str().unwrap().as_bytes());
        assert_eq!(output.status.code(), Some(1), "{}", case["what"]);
        let text = stdout(&output);
        assert!(text.starts_with("NOT VERIFIED: "), "{text}");
        // The line ends in the failed check's code (docs/SPEC.md section 9).
        let code = text
            .trim_end()
            .rsplit_once(" [")
            .and_then(|(_, code)| code.strip_suffix(']'))
            .unwrap_or_default();
        assert!(
            gdpr_ledger::core::checks::Check::from_code(code).is_some(),
            "{}: {text}",
            case["what"]
        );
    }
}

#[test]
fn every_single_character_change_of_the_good_note_fails() {
    let note = vectors()["checkpoint_note"].as_str().unwrap().to_owned();
    let chars: Vec<char> = note.chars().collect();
    let mut runs = 0;
    for (i, &c) in chars.iter().enumerate() {
        let replacement = if c == 'A' { 'B' } else { 'A' };
        let mut replaced = chars.clone();
        replaced[i] = replacement;
        let mut deleted = chars.clone();
        deleted.remove(i);
        for changed in [replaced, deleted] {
            let text: String = changed.into_iter().collect();
            let output = verify_stdin(text.as_bytes());
            assert_eq!(
                output.status.code(),
                Some(1),
                "change at character {i} ({c:?}) verified: {}",
                stdout(&output)
            );
            runs += 1;
        }
    }
    assert_eq!(runs, 2 * chars.len());
}

/// A two-entry log: a bundle of both entries at size 2, linked to the checkpoint of size 1.
fn bundle() -> Bundle {
    let signer = LogSigner::from_seed("ledger.example.com/gdpr/test", &{
        let seed = hex::decode(vectors()["ed25519_seed_hex"].as_str().unwrap()).unwrap();
        <[u8; 32]>::try_from(seed).unwrap()
    })
    .unwrap();
    let mut prev = [0u8; 32];
    let mut bytes = Vec::new();
    for index in 0..2u64 {
        let entry = Entry {
            index,
            prev_hash: prev.to_vec(),
            received_at: Some(prost_types::Timestamp {
                seconds: 1_767_225_600,
                nanos: 0,
            }),
            producer: "crm".into(),
            subject_token: vec![7; 32],
            subject_seq: index,
            subject_prev_index: 0,
            event: Some(Event {
                event_id: format!("evt-{index}"),
                kind: EventKind::ConsentGiven as i32,
                ..Event::default()
            }),
        };
        let encoded = encode_entry(&entry).unwrap();
        prev = *leaf_hash(&encoded).as_bytes();
        bytes.push(encoded);
    }
    let leaves: Vec<NodeHash> = bytes.iter().map(|b| leaf_hash(b).into()).collect();
    let checkpoint = |size: u64, root: RootHash| {
        Checkpoint {
            origin: signer.origin().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
        .sign(&signer)
        .unwrap()
    };
    let mut bundle = Bundle::new(checkpoint(2, node_hash(&leaves[0], &leaves[1]).into()));
    for index in 0..2 {
        bundle.entries.push(BundleEntry {
            index: index as u64,
            entry: bytes[index].clone(),
            signature: signer.sign_entry(&leaf_hash(&bytes[index])),
            inclusion_proof: vec![leaves[1 - index]],
            key_id: (index == 0).then_some(signer.key_id()),
        });
    }
    bundle.consistency = Some(ConsistencyLink {
        from_checkpoint: checkpoint(1, leaves[0].into()),
        proof: vec![leaves[1]],
    });
    bundle
}

#[test]
fn good_bundle_verifies_and_says_what_it_proved() {
    let output = verify_stdin(bundle().to_json().as_bytes());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("Entries: 2 proved"), "{text}");
    assert!(text.contains("index 1: EVENT_KIND_CONSENT_GIVEN"), "{text}");
    assert!(text.contains("producer \"crm\""), "{text}");
    assert!(text.contains("received 2026-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("the earlier tree of size 1"), "{text}");
}

#[test]
fn tampered_bundle_fails_naming_the_entry() {
    let mut tampered = bundle();
    let last = tampered.entries[1].entry.len() - 3;
    tampered.entries[1].entry[last] ^= 1;
    let output = verify_stdin(tampered.to_json().as_bytes());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("entry #1 (index 1)"), "{text}");
    assert!(text.contains("signature"), "{text}");

    let mut swapped = bundle();
    swapped.entries[0].inclusion_proof = swapped.entries[1].inclusion_proof.clone();
    let output = verify_stdin(swapped.to_json().as_bytes());
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("entry #0 (index 0) does not verify: its inclusion proof"));
}

#[test]
fn unknown_bundle_fields_fail() {
    let json = bundle()
        .to_json()
        .replacen('{', "{\"subject_index_proof\": [],", 1);
    let output = verify_stdin(json.as_bytes());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("unknown field"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let note = vectors()["checkpoint_note"].as_str().unwrap().to_owned();
    let missing = verify(&["--key", &verifier_key(), "/nonexistent/bundle.json"], b"");
    assert_eq!(missing.status.code(), Some(2));
    let bad_key = verify(&["--key", "not-a-key", "-"], note.as_bytes());
    assert_eq!(bad_key.status.code(), Some(2));
    let wrong_id = verifier_key().replacen("+5eb4026f+", "+5eb4026e+", 1);
    let mismatched = verify(&["--key", &wrong_id, "-"], note.as_bytes());
    assert_eq!(mismatched.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mismatched.stderr).contains("does not match"));
    let no_key = verify(&["-"], note.as_bytes());
    assert_eq!(no_key.status.code(), Some(2));
}
