//! Fuzzing of every decoder of untrusted bytes in the pure core, on stable inside `cargo test`
//! (both feature modes; the longer, coverage-guided runs are the cargo-fuzz targets of `fuzz/`).
//!
//! 1. Corpus replay: the seeds are real artifacts, made by the core's own builders from a small
//!    reference log (signed checkpoints, bundles, lifecycle bundles, subject-index proofs, entries,
//!    stored nodes) and taken from `tests/vectors/`. Each valid seed must be accepted first
//!    (positive control), and the vectors' bad artifacts refused.
//! 2. Deterministic mutation: from a fixed seed ([`FUZZ_SEED`], printed, overridable with the
//!    `FUZZ_SEED` environment variable; `FUZZ_SCALE=n` runs n times as many), bit flips, byte
//!    changes, insertions (random bytes and format tokens), deletions, truncations, duplications
//!    and splices of a seed's own bytes, one to four at a time; for JSON also structural changes
//!    (a field's base64 bytes mutated, strings, numbers, arrays and objects changed, fields
//!    dropped, added or swapped). [`MUTATIONS`] per decoder. Every decoder must return (no panic:
//!    each call runs under `catch_unwind`, and a panic is reported with the seed and the input in
//!    hex) within [`CALL_BUDGET`], and what it accepts must pass the decoder's check in
//!    `fuzz_support` (shared with `fuzz/`): a note opens only with a body the log really signed,
//!    so any change to signed bytes is refused; whatever a bundle or lifecycle verifies is a fact
//!    of the reference log; entry bytes other than the log's never pass the auditor's replay;
//!    strict encodings re-encode to the very bytes they were decoded from.
//! 3. Hostile shapes: inputs built to cost (too many signatures, deep JSON and protobuf nesting,
//!    huge depths and counts) are refused within the budget.

use crate::fuzz_support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use fuzz_support::{CHECKPOINT_SIZES, Decoder, Verdict, World};
use gdpr_ledger::core::audit::LogAuditor;
use gdpr_ledger::core::bundle::{Bundle, VerifiedEntry};
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::entry::{SequencedEntry, decode_entry};
use gdpr_ledger::core::lifecycle::{LifecycleBundle, TimelineRow};
use gdpr_ledger::core::note::{MAX_SIGNATURES, NoteError, open_note, sign_note};
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::core::subject_index::{ProofDecodeError, SubjectProof};
use gdpr_ledger::proto::v1::Exemption;
use prost::Message as _;

/// The seed of every mutation run ("gdpr-fuz"); each decoder's stream is this seed mixed with the
/// decoder's name, so that one decoder's run does not depend on another's.
const FUZZ_SEED: u64 = 0x6764_7072_2d66_757a;
/// Mutated inputs per decoder (times `FUZZ_SCALE`).
const MUTATIONS: usize = 10_000;
/// The longest one decoder call may take (the fastest of three tries, see `run`). Calls take
/// microseconds to a millisecond; the budget is wide so that a machine shared with other builds
/// does not fail the test, yet it catches any input that makes a decoder loop or blow up.
const CALL_BUDGET: Duration = Duration::from_secs(1);
/// At most this many failures are collected per decoder before its run stops.
const MAX_FAILURES: usize = 5;

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::build)
}

fn fuzz_seed() -> u64 {
    match std::env::var("FUZZ_SEED") {
        Ok(text) => {
            let text = text.trim();
            match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            }
            .unwrap_or_else(|e| panic!("FUZZ_SEED={text:?}: {e}"))
        }
        Err(_) => FUZZ_SEED,
    }
}

fn scale() -> usize {
    std::env::var("FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// FNV-1a, to mix a decoder's name into the seed.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Tokens of the formats, inserted whole: separators of notes, JSON and verifier keys, numbers at
/// the edges of u64, escapes, non-ASCII and invalid UTF-8, protobuf tags and huge varints.
const DICTIONARY: &[&[u8]] = &[
    b"\n",
    b"\n\n",
    "\u{2014} ".as_bytes(),
    "\u{2014} ledger.example.com/gdpr/test ".as_bytes(),
    b" ",
    b"  ",
    b"\t",
    b"\r",
    b"+",
    b"=",
    b"==",
    b"/",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"0",
    b"-1",
    b"00",
    b"1e400",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9007199254740993",
    b"\"extra\":1,",
    b"\"key_id\":\"00000000\",",
    b"\"consistency\":null,",
    b"\"leaf\":null,",
    b"AAAA",
    b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    b"gdpr-ledger/subject-index v1 ",
    b"gdpr-ledger/subject-index v2 ",
    "\u{e9}".as_bytes(),
    "\u{85}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\xff",
    b"\xc3",
    b"\x00",
    b"\x08\x96\x01",
    b"\x12\x20",
    b"\x42\x00",
    b"\x42\xff\xff\xff\xff\x0f",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x9b\x06",
    b"\x00\x01\x00",
    b"\x01\x00",
];

/// Single bytes worth trying.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0xff, b'\n', b' ', b'"', b'0', b'9', b'A', b'a', b'/', b'+', b'=',
    b'-', b'{', b'\\',
];

/// Applies one byte-level mutation to `data` and says what it did.
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>) -> String {
    let len = data.len();
    if len == 0 {
        let token = rng.pick(DICTIONARY);
        data.extend_from_slice(token);
        return format!("insert {token:?} into the empty input");
    }
    let at = rng.below(len);
    let n = 1 + rng.below(16.min(len - at));
    match rng.below(10) {
        0 | 1 => {
            let bit = rng.below(8);
            data[at] ^= 1 << bit;
            format!("flip bit {bit} of byte {at}")
        }
        2 => {
            let byte = if rng.below(2) == 0 {
                *rng.pick(INTERESTING)
            } else {
                rng.next() as u8
            };
            data[at] = byte;
            format!("set byte {at} to {byte:#04x}")
        }
        3 => {
            let at = rng.below(len + 1);
            let bytes: Vec<u8> = (0..1 + rng.below(4)).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes.iter().copied());
            format!("insert {bytes:02x?} at {at}")
        }
        4 => {
            let at = rng.below(len + 1);
            let token = rng.pick(DICTIONARY);
            data.splice(at..at, token.iter().copied());
            format!("insert {:?} at {at}", String::from_utf8_lossy(token))
        }
        5 => {
            data.drain(at..at + n);
            format!("delete {n} bytes at {at}")
        }
        6 => {
            data.truncate(at);
            format!("truncate to {at} bytes")
        }
        7 => {
            let chunk = data[at..at + n].to_vec();
            data.splice(at + n..at + n, chunk);
            format!("duplicate {n} bytes at {at}")
        }
        8 => {
            let chunk = data[at..at + n].to_vec();
            let to = rng.below(len + 1);
            data.splice(to..to, chunk);
            format!("copy {n} bytes from {at} to {to}")
        }
        _ => {
            let chunk = data[at..at + n].to_vec();
            let to = rng.below(len);
            let end = (to + n).min(len);
            data.splice(to..end, chunk);
            format!("overwrite {} bytes at {to} with the {n} at {at}", end - to)
        }
    }
}

/// One to four byte-level mutations (mostly one), the result kept under twice the seed's size.
fn mutate_bytes(rng: &mut Rng, seed: &[u8], ops: &mut Vec<String>) -> Vec<u8> {
    let mut data = seed.to_vec();
    let count = 1 + *rng.pick(&[0, 0, 0, 0, 1, 1, 2, 3]);
    for _ in 0..count {
        ops.push(mutate_once(rng, &mut data));
    }
    data.truncate(seed.len() * 2 + 256);
    data
}

/// JSON pointers to every value of `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{escaped}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Values a JSON number or a misplaced value becomes.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::from(0u64),
        1 => Value::from(1u64),
        2 => Value::from(u64::MAX),
        3 => Value::from(1u64 << 63),
        4 => Value::from((1u64 << 53) + 1),
        5 => Value::from(-1i64),
        6 => Value::from(1.5f64),
        7 => Value::from(1e300f64),
        8 => Value::from(CHECKPOINT_SIZES[rng.below(2)]),
        9 => Value::from(rng.below(16) as u64),
        10 => Value::Null,
        11 => Value::from(""),
        12 => Value::Array(Vec::new()),
        _ => Value::Object(serde_json::Map::new()),
    }
}

/// One structural mutation of a JSON document, or `None` when the input is not JSON.
fn mutate_json(rng: &mut Rng, seed: &[u8], ops: &mut Vec<String>) -> Option<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(seed).ok()?;
    let mut all = Vec::new();
    pointers(&doc, String::new(), &mut all);
    let donors: Vec<Value> = all
        .iter()
        .filter_map(|p| doc.pointer(p))
        .filter(|v| !v.is_object())
        .cloned()
        .collect();
    let at = rng.pick(&all).clone();
    let target = doc.pointer_mut(&at)?;
    let what = match target {
        Value::String(text) => match rng.below(6) {
            0 | 1 => match STANDARD.decode(text.as_bytes()) {
                Ok(mut bytes) => {
                    let op = mutate_once(rng, &mut bytes);
                    *text = STANDARD.encode(&bytes);
                    format!("{op} in the base64 bytes")
                }
                Err(_) => {
                    let mut bytes = text.clone().into_bytes();
                    let op = mutate_once(rng, &mut bytes);
                    *text = String::from_utf8_lossy(&bytes).into_owned();
                    format!("{op} in the text")
                }
            },
            2 | 3 => {
                let mut bytes = text.clone().into_bytes();
                let op = mutate_once(rng, &mut bytes);
                *text = String::from_utf8_lossy(&bytes).into_owned();
                format!("{op} in the text")
            }
            4 => {
                *target = rng.pick(&donors).clone();
                "replaced by another value of the document".to_owned()
            }
            _ => {
                *target = odd_value(rng);
                format!("replaced by {target}")
            }
        },
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            let j = rng.below(items.len());
            match rng.below(6) {
                0 => {
                    items.remove(i);
                    format!("remove item {i}")
                }
                1 => {
                    let item = items[i].clone();
                    items.insert(j, item);
                    format!("copy item {i} to {j}")
                }
                2 => {
                    items.swap(i, j);
                    format!("swap items {i} and {j}")
                }
                3 => {
                    items.truncate(i);
                    format!("truncate to {i} items")
                }
                4 => {
                    items.insert(i, rng.pick(&donors).clone());
                    format!("insert another value of the document at {i}")
                }
                _ => {
                    items.reverse();
                    "reverse".to_owned()
                }
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            match rng.below(3) {
                0 => {
                    map.remove(&key);
                    format!("remove field {key:?}")
                }
                1 => {
                    map.insert("extra".to_owned(), Value::from(1));
                    "add an unknown field".to_owned()
                }
                _ => {
                    let other = rng.pick(&keys).clone();
                    let value = map.remove(&key).unwrap_or(Value::Null);
                    map.insert(other.clone(), value);
                    format!("move field {key:?} to {other:?}")
                }
            }
        }
        Value::Bool(flag) => {
            *flag = !*flag;
            "negate".to_owned()
        }
        _ => {
            *target = odd_value(rng);
            format!("replaced by {target}")
        }
    };
    ops.push(format!("JSON {at:?}: {what}"));
    let text = if rng.below(2) == 0 {
        serde_json::to_vec(&doc)
    } else {
        serde_json::to_vec_pretty(&doc)
    };
    text.ok()
}

/// What a run found.
struct Report {
    name: String,
    seed: u64,
    runs: usize,
    accepted: usize,
    /// Accepted though different from the seed artifact it was made from.
    accepted_changed: usize,
    max_call: Duration,
    failures: Vec<String>,
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}

/// Runs `check` on `iterations` mutations of `seeds` (structural ones too when `json`), each under
/// `catch_unwind` and timed.
fn run(
    name: &str,
    seed: u64,
    seeds: &[Vec<u8>],
    json: bool,
    iterations: usize,
    check: &dyn Fn(&[u8]) -> Result<Verdict, String>,
) -> Report {
    assert!(!seeds.is_empty(), "{name}: no seed");
    let mut rng = Rng(seed);
    let mut report = Report {
        name: name.to_owned(),
        seed,
        runs: 0,
        accepted: 0,
        accepted_changed: 0,
        max_call: Duration::ZERO,
        failures: Vec::new(),
    };
    for iteration in 0..iterations {
        let parent = rng.below(seeds.len());
        let mut ops = Vec::new();
        let structural = json && rng.below(2) == 0;
        let input = match structural.then(|| mutate_json(&mut rng, &seeds[parent], &mut ops)) {
            Some(Some(input)) => input,
            _ => mutate_bytes(&mut rng, &seeds[parent], &mut ops),
        };
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        let mut took = started.elapsed();
        // Wall time includes the moments the machine gave the thread to others: an input over
        // the budget is timed twice more, and only the fastest of the three counts. An input that
        // makes a decoder loop or blow up is slow every time.
        for _ in 0..2 {
            if took <= CALL_BUDGET {
                break;
            }
            let again = Instant::now();
            let _ = catch_unwind(AssertUnwindSafe(|| check(&input)));
            took = took.min(again.elapsed());
        }
        report.runs += 1;
        report.max_call = report.max_call.max(took);
        let failure = match outcome {
            Ok(Ok(Verdict::Accepted)) => {
                report.accepted += 1;
                report.accepted_changed += usize::from(input != seeds[parent]);
                None
            }
            Ok(Ok(Verdict::Rejected)) => None,
            Ok(Err(misbehaviour)) => Some(misbehaviour),
            Err(payload) => Some(format!("PANICKED: {}", panic_message(&*payload))),
        };
        let failure = failure.or_else(|| {
            (took > CALL_BUDGET).then(|| format!("took {took:?}, over the {CALL_BUDGET:?} budget"))
        });
        if let Some(failure) = failure {
            report.failures.push(format!(
                "{name}: seed {seed:#018x}, iteration {iteration}, seed artifact #{parent}, \
                 mutations [{}]: {failure}\n  input (hex): {}\n  input (text): {:?}",
                ops.join("; "),
                hex::encode(&input),
                String::from_utf8_lossy(&input),
            ));
            if report.failures.len() >= MAX_FAILURES {
                break;
            }
        }
    }
    report
}

/// Fuzzes one decoder with its seeds and fails with every failure found.
fn fuzz(decoder: Decoder) {
    let world = world();
    let name = decoder.name();
    let seed = fuzz_seed() ^ fnv1a(name);
    let seeds = world.seeds(decoder);
    let iterations = MUTATIONS * scale();
    let started = Instant::now();
    let report = run(name, seed, seeds, decoder.is_json(), iterations, &|input| {
        world.check(decoder, input)
    });
    println!(
        "{}: {} mutations of {} seed artifacts (seed {:#018x} = FUZZ_SEED {:#018x} ^ name), \
         {} accepted ({} of them changed), slowest call {:?}, {:?} in all",
        report.name,
        report.runs,
        seeds.len(),
        report.seed,
        fuzz_seed(),
        report.accepted,
        report.accepted_changed,
        report.max_call,
        started.elapsed(),
    );
    assert!(
        report.failures.is_empty(),
        "{} failure(s):\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}

// --- 1. Corpus replay ---------------------------------------------------------------------------

#[test]
fn every_valid_seed_is_accepted_and_every_bad_vector_refused() {
    let world = world();
    for decoder in Decoder::ALL {
        assert!(!world.seeds(decoder).is_empty(), "{decoder:?}: no seed");
        assert!(
            !world.valid_seeds(decoder).is_empty(),
            "{decoder:?}: no valid seed"
        );
        for seed in world.valid_seeds(decoder) {
            assert_eq!(
                world.check(decoder, seed),
                Ok(Verdict::Accepted),
                "{decoder:?} refuses its valid seed {:?}",
                String::from_utf8_lossy(seed)
            );
        }
        for seed in world.seeds(decoder) {
            assert!(
                world.check(decoder, seed).is_ok(),
                "{decoder:?}: {:?}",
                String::from_utf8_lossy(seed)
            );
        }
    }
    // Negative controls: the vectors' bad checkpoints, bad subject proofs and bad extension
    // lines are refused.
    for decoder in [
        Decoder::CheckpointOpen,
        Decoder::SubjectProofBytes,
        Decoder::ExtensionLine,
    ] {
        let bad: Vec<&Vec<u8>> = world
            .seeds(decoder)
            .iter()
            .filter(|s| !world.valid_seeds(decoder).contains(s))
            .collect();
        assert!(bad.len() >= 10, "{decoder:?}: {} bad seeds", bad.len());
        for seed in bad {
            assert_eq!(
                world.check(decoder, seed),
                Ok(Verdict::Rejected),
                "{decoder:?} accepts {:?}",
                String::from_utf8_lossy(seed)
            );
        }
    }
}

#[test]
fn the_reference_log_is_what_the_vectors_and_the_auditor_say() {
    let world = world();
    let signing: Value = serde_json::from_str(fuzz_support::SIGNING_VECTORS).unwrap();
    assert_eq!(
        world.log.verifier_key().to_string(),
        signing["verifier_key"].as_str().unwrap()
    );
    // The whole log replays, and both checkpoints are the replayed tree and subject index.
    let mut auditor = LogAuditor::new(world.keys.clone());
    for (i, bytes) in world.entries.iter().enumerate() {
        auditor.push(bytes, &world.signatures[i], None).unwrap();
        if let Some((checkpoint, note)) = world
            .checkpoints
            .iter()
            .find(|(c, _)| c.size == i as u64 + 1)
        {
            assert_eq!(
                &auditor.check_checkpoint(note).unwrap().checkpoint,
                checkpoint
            );
        }
    }
    // The signed bodies are exactly those of the log's checkpoints and of the vectors' notes that
    // the key signed (the good ones and five "validly signed" bad ones).
    for (checkpoint, _) in &world.checkpoints {
        assert!(world.signed_bodies.contains(&checkpoint.to_body()));
    }
    assert_eq!(
        world.signed_bodies.len(),
        2 + 2 + 5,
        "{:#?}",
        world.signed_bodies
    );
    // Both subject-index versions hold the deep pair of tokens (a path of about 255 levels).
    let deep = SubjectProof::from_bytes(&world.truths[0].proof).unwrap();
    assert!(deep.siblings.len() > 250, "{}", deep.siblings.len());
}

// --- 2. Deterministic mutation ------------------------------------------------------------------

macro_rules! fuzz_tests {
    ($($test:ident => $decoder:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                fuzz(Decoder::$decoder);
            }
        )*
    };
}

fuzz_tests! {
    fuzz_open_note => OpenNote,
    fuzz_checkpoint_open => CheckpointOpen,
    fuzz_checkpoint_body => CheckpointBody,
    fuzz_verifier_key => VerifierKey,
    fuzz_entry => Entry,
    fuzz_bundle_json => BundleJson,
    fuzz_lifecycle_json => LifecycleJson,
    fuzz_subject_proof_bytes => SubjectProofBytes,
    fuzz_subject_proof_json => SubjectProofJson,
    fuzz_extension_line => ExtensionLine,
    fuzz_text_fields => TextFields,
    fuzz_stored_bytes => StoredBytes,
    fuzz_identifier => Identifier,
    fuzz_event_submission => EventSubmission,
}

/// Any change to the signed bytes of a note (its body and the blank line after it) is refused;
/// what may change and still open is only the unsigned signature block (the unknown witness's line
/// altered or dropped, a line repeated).
#[test]
fn a_mutated_note_opens_only_with_its_signed_body_unchanged() {
    let world = world();
    let (_, note) = world.checkpoint(12);
    let body_len = note.rfind("\n\n").unwrap() + 1;
    let mut rng = Rng(fuzz_seed() ^ fnv1a("signed body"));
    let (mut touched, mut opened) = (0, 0);
    for _ in 0..MUTATIONS * scale() {
        let mut ops = Vec::new();
        let input = mutate_bytes(&mut rng, note.as_bytes(), &mut ops);
        // Where the mutated text first differs from the note, and where they agree again from
        // the end: a mutation that leaves the first `body_len + 1` bytes (the body and its blank
        // line) alone did not touch the signed bytes.
        let prefix = input
            .iter()
            .zip(note.as_bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let in_body = prefix <= body_len;
        if let Ok(note_opened) = open_note(&input, &world.keys) {
            opened += 1;
            assert!(
                !in_body,
                "a note whose signed bytes changed opens ({ops:?}): {:?}",
                String::from_utf8_lossy(&input)
            );
            assert_eq!(note_opened.body, note[..body_len]);
        }
        touched += usize::from(in_body);
    }
    println!(
        "signed body: {touched} mutations touched the signed bytes (all refused), \
         {opened} others opened"
    );
    assert!(touched > MUTATIONS / 2, "{touched}");
}

// --- 3. Hostile shapes --------------------------------------------------------------------------

/// Runs `f`, failing if it panics or takes longer than the budget.
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        panic!("{what}: PANICKED: {}", panic_message(&*p));
    });
    let took = started.elapsed();
    assert!(took < CALL_BUDGET, "{what}: took {took:?}");
    out
}

#[test]
fn hostile_shapes_are_refused_within_bounded_work() {
    let world = world();
    let log: &LogSigner = &world.log;
    let body = world.checkpoint(12).0.to_body();

    // Too many signature lines are refused before any is checked; the most allowed verify.
    let many: Vec<&LogSigner> = std::iter::repeat_n(log, MAX_SIGNATURES + 1).collect();
    let note = sign_note(&body, &many).unwrap();
    assert_eq!(
        bounded("101 signatures", || open_note(note.as_bytes(), &world.keys)),
        Err(NoteError::TooManySignatures)
    );
    let note = sign_note(&body, &many[..MAX_SIGNATURES]).unwrap();
    assert!(bounded("100 signatures", || Checkpoint::open(&note, &world.keys)).is_ok());
    // A megabyte of body, and a hundred thousand extension lines.
    let long = format!("{body}{}\n\n", "x".repeat(1 << 20));
    assert!(bounded("1 MiB body", || open_note(long.as_bytes(), &world.keys)).is_err());
    let lines = format!("{body}{}", "ext\n".repeat(100_000));
    let note = sign_note(&lines, &[log]).unwrap();
    let opened = bounded("100,000 extension lines", || {
        Checkpoint::open(&note, &world.keys)
    });
    assert_eq!(opened.unwrap().checkpoint.extensions.len(), 100_002);

    // JSON nested far deeper than serde_json's recursion limit: an error, not a stack overflow.
    for (what, deep) in [
        (
            "arrays",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        ("objects", "{\"a\":".repeat(100_000)),
        (
            "entries",
            format!("{{\"checkpoint\":\"\",\"entries\":{}", "[".repeat(100_000)),
        ),
    ] {
        assert!(bounded(what, || Bundle::from_json(&deep)).is_err());
        assert!(bounded(what, || LifecycleBundle::from_json(&deep)).is_err());
        assert!(bounded(what, || serde_json::from_str::<SubjectProof>(&deep)).is_err());
    }

    // Protobuf: 100,000 nested groups of an unknown field, and a length that runs past the end.
    let groups: Vec<u8> = [0x9b, 0x06].repeat(100_000);
    assert!(bounded("nested groups", || decode_entry(&groups)).is_err());
    assert!(bounded("huge length", || decode_entry(b"\x42\xff\xff\xff\xff\x0f")).is_err());
    let unknown: Vec<u8> = [0xf8u8, 0x07, 0x01].repeat(300_000);
    assert!(bounded("900 kB of unknown fields", || decode_entry(&unknown)).is_ok());

    // Producers' times at the edges of a Timestamp, rendered in a lifecycle's timeline.
    let mut sequenced = world.valid_seeds(Decoder::Entry)[0].clone();
    for (seconds, nanos) in [
        (i64::MAX, i32::MAX),
        (i64::MIN, i32::MIN),
        (i64::MAX, -1),
        (i64::MIN, 999_999_999),
        (-62_135_596_801, 0),
        (253_402_300_800, 0),
    ] {
        let mut entry = decode_entry(&sequenced).unwrap();
        let event = entry.event.as_mut().unwrap();
        event.occurred_at = Some(prost_types::Timestamp { seconds, nanos });
        event.exemption = Some(Exemption {
            legal_ground: "eu-gdpr:A17-3-b".into(),
            until: Some(prost_types::Timestamp {
                seconds: seconds.wrapping_neg(),
                nanos,
            }),
            reason: "x".into(),
        });
        event.correction = None;
        event.deletion_method = 0;
        event.linked_identifier_kind.clear();
        sequenced = entry.encode_to_vec();
        let row = bounded("extreme times", || {
            TimelineRow::of(&VerifiedEntry {
                entry: SequencedEntry::from_bytes(sequenced.clone()).unwrap(),
                signed_by: world.log.key_id(),
            })
            .to_string()
        });
        assert!(row.contains("until"), "{row}");
    }

    // Subject proofs: the largest depth a u16 holds, and JSON with 100,000 siblings.
    assert_eq!(
        bounded("depth 65535", || SubjectProof::from_bytes(&[0, 0xff, 0xff])),
        Err(ProofDecodeError::TooManySiblings(65535))
    );
    let wide = format!("{{\"siblings\":[{}null]}}", "null,".repeat(99_999));
    assert!(
        bounded("100,000 siblings", || serde_json::from_str::<SubjectProof>(
            &wide
        ))
        .is_err()
    );

    // A bundle of 2,000 copies of an entry, each checked (signature and inclusion) in turn.
    let seed = &world.valid_seeds(Decoder::BundleJson)[0];
    let mut bundle = Bundle::from_json(std::str::from_utf8(seed).unwrap()).unwrap();
    bundle.entries = std::iter::repeat_n(bundle.entries[0].clone(), 2000).collect();
    let json = bundle.to_json();
    let verified = bounded("2,000 entries", || {
        gdpr_ledger::core::bundle::verify_bundle_json(&json, &world.keys)
    });
    assert_eq!(verified.unwrap().entries.len(), 2000);
}

// --- The harness itself -------------------------------------------------------------------------

/// A decoder that panics is caught, and reported with the seed and the input in hex; one that
/// accepts what it must not is reported too. (Shows that the tests above can fail.)
#[test]
fn the_harness_reports_a_panicking_or_misbehaving_decoder() {
    let seeds = vec![b"0123456789abcdef".to_vec()];
    let panicking = |input: &[u8]| -> Result<Verdict, String> {
        if input.len() < 16 {
            panic!("deliberate panic on a short input");
        }
        Ok(Verdict::Rejected)
    };
    let report = run("deliberate", 42, &seeds, false, 200, &panicking);
    assert_eq!(report.failures.len(), MAX_FAILURES);
    let first = &report.failures[0];
    assert!(first.contains("PANICKED: deliberate panic"), "{first}");
    assert!(first.contains("seed 0x000000000000002a"), "{first}");
    assert!(first.contains("input (hex): "), "{first}");

    let lenient = |input: &[u8]| -> Result<Verdict, String> {
        if input == seeds[0].as_slice() {
            Ok(Verdict::Accepted)
        } else {
            Err("accepted a changed input".to_owned())
        }
    };
    let report = run("lenient", 42, &seeds, false, 10, &lenient);
    assert!(report.failures[0].contains("accepted a changed input"));

    // Mutations change the input, and the same seed gives the same mutations.
    let mutate = |seed| {
        let mut rng = Rng(seed);
        (0..100)
            .map(|_| mutate_bytes(&mut rng, &seeds[0], &mut Vec::new()))
            .collect::<Vec<_>>()
    };
    assert_eq!(mutate(7), mutate(7));
    assert!(mutate(7).iter().filter(|m| **m != seeds[0]).count() > 90);
}

// --- The seed corpus of the cargo-fuzz targets ---------------------------------------------------

/// Writes every decoder's seeds to `fuzz/corpus/<target>/` (or `$FUZZ_CORPUS_DIR/<target>/`):
/// `cargo test --release --no-default-features --test integration -- --ignored fuzz_decoders::write_seed_corpus`.
#[test]
#[ignore = "writes files; run by hand to seed the cargo-fuzz corpus"]
fn write_seed_corpus() {
    let root = std::env::var_os("FUZZ_CORPUS_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus"),
        std::path::PathBuf::from,
    );
    let world = world();
    for decoder in Decoder::ALL {
        let dir = root.join(decoder.name());
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in world.seeds(decoder).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), seed).unwrap();
        }
        println!("{}: {} seeds", dir.display(), world.seeds(decoder).len());
    }
}
