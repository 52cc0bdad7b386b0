//! `gdpr-ledger audit` over a data dir: a clean log audits clean, and a corruption of each column
//! family in turn is reported at the right index.

use crate::common;

use common::{PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::entry::SequencedEntry;
use gdpr_ledger::core::merkle::NodeId;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::storage::{LedgerStore, StorageConfig, columns};
use gdpr_ledger::store_audit::{AuditThreads, StoreAuditError, audit_store, audit_store_with};

const EVENTS: u64 = 30;

/// The collection event `evt-{n}` about the subject `p{subject}@example.com`.
fn collection(n: u64, subject: u64) -> pb::EventSubmission {
    common::collection(
        &format!("evt-{n}"),
        "email",
        &format!("p{subject}@example.com"),
    )
}

/// Appends the collection events of `numbers` in one batch, event `n` about subject `subject(n)`.
async fn append_collections(
    producer: &mut common::Client,
    numbers: std::ops::Range<u64>,
    subject: impl Fn(u64) -> u64,
) {
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: numbers.map(|n| collection(n, subject(n))).collect(),
            include_bundle: false,
        })
        .await
        .expect("batch");
}

/// A stopped ledger holding 30 entries about 5 subjects, appended unary and in batches.
async fn make_log() -> TestLedger {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for n in 0..10 {
        producer
            .append(pb::AppendRequest {
                submission: Some(collection(n, n % 5)),
                include_bundle: false,
            })
            .await
            .expect("append");
    }
    for start in [10, 20] {
        append_collections(&mut producer, start..start + 10, |n| n % 5).await;
    }
    ledger.stop().await;
    ledger
}

fn audit(
    ledger: &TestLedger,
    key: &gdpr_ledger::core::signature::VerifierKey,
) -> Result<gdpr_ledger::store_audit::AuditSummary, StoreAuditError> {
    let store = LedgerStore::open_read_only(&ledger.data_dir(), &StorageConfig::default())
        .expect("opens read-only");
    audit_store(&store, std::slice::from_ref(key))
}

/// Writes `value` at `key` of `family` straight into RocksDB, as a bit flip or a tamperer would.
fn tamper(ledger: &TestLedger, family: &str, key: &[u8], value: Option<&[u8]>) {
    let db = rocksdb::DB::open_cf(
        &rocksdb::Options::default(),
        ledger.data_dir(),
        columns::ALL,
    )
    .expect("raw open");
    let cf = db.cf_handle(family).expect("column family");
    match value {
        Some(value) => db.put_cf(cf, key, value).expect("raw put"),
        None => db.delete_cf(cf, key).expect("raw delete"),
    }
}

/// A row's key and value, as RocksDB hands them over.
type RawRow = (Box<[u8]>, Box<[u8]>);

/// The data dir's RocksDB, opened read-only and raw: rows as stored, past the store's checks.
fn raw_read_only(ledger: &TestLedger) -> rocksdb::DB {
    rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        ledger.data_dir(),
        columns::ALL,
        false,
    )
    .expect("raw open")
}

/// Every row of `family`, straight from RocksDB.
fn raw_rows(ledger: &TestLedger, family: &str) -> Vec<RawRow> {
    let db = raw_read_only(ledger);
    let cf = db.cf_handle(family).expect("column family");
    db.iterator_cf(cf, rocksdb::IteratorMode::Start)
        .map(|row| row.expect("readable"))
        .collect()
}

/// The row at `key` of `family`, straight from RocksDB.
fn raw_get(ledger: &TestLedger, family: &str, key: &[u8]) -> Vec<u8> {
    let db = raw_read_only(ledger);
    let cf = db.cf_handle(family).expect("column family");
    db.get_cf(cf, key).expect("read").expect("row exists")
}

async fn key_of(ledger: &mut TestLedger) -> gdpr_ledger::core::signature::VerifierKey {
    let text = std::fs::read_to_string(ledger.config.secrets_dir.join("verifier-key"))
        .expect("verifier key file");
    gdpr_ledger::core::signature::VerifierKey::parse(text.trim()).expect("key parses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_log_audits_clean() {
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let summary = audit(&ledger, &key).expect("clean");
    assert_eq!(summary.entries, EVENTS);
    assert_eq!(summary.event_ids, EVENTS);
    assert_eq!(summary.subjects, 5);
    assert!(summary.checkpoints >= 3, "{summary:?}");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["audit", "--data-dir"])
        .arg(ledger.data_dir())
        .arg("--key")
        .arg(ledger.config.secrets_dir.join("verifier-key"))
        .output()
        .expect("audit runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    // Standard output is the verdict line alone, as before the progress bar; standard error (not
    // a terminal here) gets nothing: the bar is hidden.
    assert_eq!(
        stdout,
        format!(
            "AUDITED: log {}: {} entries replayed from index 0 (hash chain, signatures, tree), \
             {} signed checkpoints match the replayed tree, {} event ids and {} subjects' chains and heads agree, \
             {} breach count rows and {} breach case rows recomputed\n",
            key.name(),
            summary.entries,
            summary.checkpoints,
            summary.event_ids,
            summary.subjects,
            summary.breach_count_rows,
            summary.breach_case_rows
        )
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_corrupted_column_family_is_reported_at_the_right_index() {
    // entries: one byte of entry 7 changed.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let mut bytes = raw_get(&ledger, columns::ENTRIES, &7u64.to_be_bytes());
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    tamper(&ledger, columns::ENTRIES, &7u64.to_be_bytes(), Some(&bytes));
    let error = audit(&ledger, &key).expect_err("entry 7 changed");
    assert!(matches!(error, StoreAuditError::Entry(_)), "{error}");
    assert!(error.to_string().contains("entry 7"), "{error}");

    // entries: entry 5 missing.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    tamper(&ledger, columns::ENTRIES, &5u64.to_be_bytes(), None);
    let error = audit(&ledger, &key).expect_err("entry 5 missing");
    assert!(
        matches!(
            error,
            StoreAuditError::Gap {
                expected: 5,
                found: 6
            }
        ),
        "{error}"
    );

    // signatures: entry 12's signature (the front of its row) altered.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let mut row = raw_get(&ledger, columns::ENTRIES, &12u64.to_be_bytes());
    row[10] ^= 0x80;
    tamper(&ledger, columns::ENTRIES, &12u64.to_be_bytes(), Some(&row));
    let error = audit(&ledger, &key).expect_err("signature 12 changed");
    assert!(error.to_string().contains("entry 12"), "{error}");

    // entries: entry 14's row cut short of its signature.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    tamper(
        &ledger,
        columns::ENTRIES,
        &14u64.to_be_bytes(),
        Some(&[7u8; 60]),
    );
    let error = audit(&ledger, &key).expect_err("row 14 too short");
    assert!(error.to_string().contains("entry 14"), "{error}");

    // tree: a row below level 6, where the tree is kept in the chunk rows only, even one
    // holding the right hash (the leaf of entry 9).
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let leaf = gdpr_ledger::core::hash::leaf_hash(
        &raw_get(&ledger, columns::ENTRIES, &9u64.to_be_bytes())[SIGNATURE_LEN..],
    );
    let node = NodeId::leaf(9).expect("node id").to_key_bytes();
    tamper(&ledger, columns::TREE, &node, Some(leaf.as_bytes()));
    let error = audit(&ledger, &key).expect_err("a tree row too many");
    assert_eq!(
        error.to_string(),
        format!(
            "tree: 1 rows below level 6 (kept in the chunk rows only) and 0 from it up, for 0 nodes"
        )
    );

    // checkpoints: the note of size 10 replaced by the note of size 20.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let other = raw_get(&ledger, columns::CHECKPOINTS, &20u64.to_be_bytes());
    tamper(
        &ledger,
        columns::CHECKPOINTS,
        &10u64.to_be_bytes(),
        Some(&other),
    );
    let error = audit(&ledger, &key).expect_err("checkpoint 10 replaced");
    assert!(matches!(error, StoreAuditError::Checkpoint(_)), "{error}");
    assert!(error.to_string().contains("size 10"), "{error}");

    // event_ids: evt-3 pointed at entry 4.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let id_key = [b"crm".as_slice(), &[0], b"evt-3"].concat();
    let mut row = raw_get(&ledger, columns::EVENT_IDS, &id_key);
    row[..8].copy_from_slice(&4u64.to_be_bytes());
    tamper(&ledger, columns::EVENT_IDS, &id_key, Some(&row));
    let error = audit(&ledger, &key).expect_err("event id row changed");
    assert!(
        matches!(&error, StoreAuditError::EventId { index: 4, event_id, .. } if event_id == "evt-3"),
        "{error}"
    );

    // subjects: the head of entry 0's subject claims one entry more.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let entry = entry_0(&ledger);
    let token = *entry.subject_token().expect("a subject").as_bytes();
    let mut head = raw_get(&ledger, columns::SUBJECTS, &token);
    head[7] += 1;
    tamper(&ledger, columns::SUBJECTS, &token, Some(&head));
    let error = audit(&ledger, &key).expect_err("subject head changed");
    assert!(error.to_string().contains("head of token"), "{error}");

    // subjects: the same head records entry 1 as the subject's first (its row of seq 0 holds
    // entry 0); without the first entry, as a head row of an earlier version, it audits clean.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let entry = entry_0(&ledger);
    let token = *entry.subject_token().expect("a subject").as_bytes();
    let head = raw_get(&ledger, columns::SUBJECTS, &token);
    assert_eq!(head[16..], 0u64.to_be_bytes(), "the head records entry 0");
    let mut later = head.clone();
    later[23] = 1;
    tamper(&ledger, columns::SUBJECTS, &token, Some(&later));
    let error = audit(&ledger, &key).expect_err("the first entry changed");
    assert!(
        error
            .to_string()
            .contains("records entry 1 as its first, which its row of seq 0 does not hold"),
        "{error}"
    );
    tamper(&ledger, columns::SUBJECTS, &token, Some(&head[..16]));
    audit(&ledger, &key).expect("a head without its first entry audits clean");

    // subject_index_roots: the latest version's root record replaced by an earlier version's.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let earlier = raw_get(&ledger, columns::SUBJECT_INDEX_ROOTS, &10u64.to_be_bytes());
    tamper(
        &ledger,
        columns::SUBJECT_INDEX_ROOTS,
        &EVENTS.to_be_bytes(),
        Some(&earlier),
    );
    let error = audit(&ledger, &key).expect_err("index root record changed");
    assert!(
        error.to_string().contains(&format!("version {EVENTS}")),
        "{error}"
    );

    // subject_index_pages: one page written by the group that ended at size 20 loses a bit.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let (node_key, mut node) =
        first_row_with_prefix(&ledger, columns::SUBJECT_INDEX_PAGES, &20u64.to_be_bytes());
    let last = node.len() - 1;
    node[last] ^= 0x01;
    tamper(
        &ledger,
        columns::SUBJECT_INDEX_PAGES,
        &node_key,
        Some(&node),
    );
    let error = audit(&ledger, &key).expect_err("index page changed");
    assert!(
        error
            .to_string()
            .starts_with("subject_index_pages: version 20:"),
        "{error}"
    );
}

/// The threads the replay runs on: one verifier and one chunk, several verifiers and chunks of
/// every size up to a few entries, and the default.
const THREADS: [AuditThreads; 5] = [
    AuditThreads {
        verifiers: 1,
        chunk_entries: 1024,
    },
    AuditThreads {
        verifiers: 3,
        chunk_entries: 1,
    },
    AuditThreads {
        verifiers: 2,
        chunk_entries: 4,
    },
    AuditThreads {
        verifiers: 3,
        chunk_entries: 7,
    },
    AuditThreads {
        verifiers: 1,
        chunk_entries: 3,
    },
];

fn audit_with(
    ledger: &TestLedger,
    key: &gdpr_ledger::core::signature::VerifierKey,
    threads: AuditThreads,
) -> Result<gdpr_ledger::store_audit::AuditSummary, StoreAuditError> {
    let store = LedgerStore::open_read_only(&ledger.data_dir(), &StorageConfig::default())
        .expect("opens read-only");
    audit_store_with(&store, std::slice::from_ref(key), threads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_divergence_is_the_same_whatever_the_threads() {
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    for threads in THREADS {
        let summary = audit_with(&ledger, &key, threads).expect("clean");
        assert_eq!(
            (summary.entries, summary.subjects),
            (EVENTS, 5),
            "{threads:?}"
        );
    }
    // Entry 12's signature altered, then entry 25's bytes and entry 18's signature (at the front
    // of its row): the replay names entry 12, however far ahead the verifiers ran.
    for (index, at) in [(25u64, SIGNATURE_LEN + 10), (18, 10), (12, 10)] {
        let mut value = raw_get(&ledger, columns::ENTRIES, &index.to_be_bytes());
        value[at] ^= 0x80;
        tamper(
            &ledger,
            columns::ENTRIES,
            &index.to_be_bytes(),
            Some(&value),
        );
    }
    for threads in THREADS {
        let error = audit_with(&ledger, &key, threads).expect_err("tampered");
        assert_eq!(
            error.to_string(),
            "entries: entry 12: the signature does not verify under any known log key",
            "{threads:?}"
        );
    }
    // An unreadable row before the bad one is named first.
    tamper(
        &ledger,
        columns::ENTRIES,
        &9u64.to_be_bytes(),
        Some(&[9u8; 20]),
    );
    for threads in THREADS {
        let error = audit_with(&ledger, &key, threads).expect_err("tampered");
        assert!(
            error.to_string().contains("entry 9"),
            "{threads:?}: {error}"
        );
    }
}

/// Entry 0, from its row (past the signature at its front).
fn entry_0(ledger: &TestLedger) -> SequencedEntry {
    let row = raw_get(ledger, columns::ENTRIES, &0u64.to_be_bytes());
    SequencedEntry::from_bytes(row[SIGNATURE_LEN..].to_vec()).expect("entry 0")
}

/// Bytes of the signature at the front of an entry row (schema 7): key id and signature.
const SIGNATURE_LEN: usize = 68;

/// Rewrites the stopped ledger's entries as schema 6 kept them: each entry's bytes alone in its
/// row, its signature in a row of the `signatures` family, the data dir marked schema 6.
fn as_schema_6(ledger: &TestLedger) {
    let db = rocksdb::DB::open_cf(
        &rocksdb::Options::default(),
        ledger.data_dir(),
        columns::ALL,
    )
    .expect("raw open");
    let entries = db.cf_handle(columns::ENTRIES).expect("family");
    let signatures = db.cf_handle(columns::SIGNATURES).expect("family");
    let rows: Vec<RawRow> = db
        .iterator_cf(entries, rocksdb::IteratorMode::Start)
        .map(|row| row.expect("readable"))
        .collect();
    for (key, value) in rows {
        db.put_cf(signatures, &key, &value[..SIGNATURE_LEN])
            .expect("put");
        db.put_cf(entries, &key, &value[SIGNATURE_LEN..])
            .expect("put");
    }
    let meta = db.cf_handle(columns::META).expect("family");
    db.delete_cf(meta, columns::META_SIGNATURES_INLINE_FROM)
        .expect("delete");
    db.put_cf(meta, columns::META_SCHEMA_VERSION, b"6")
        .expect("put");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_of_signature_rows_upgrades_and_both_layouts_are_audited() {
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    as_schema_6(&ledger);
    // The audit asks for the upgrade first (as for every older schema), then checks entries of
    // both layouts.
    assert!(matches!(
        audit(&ledger, &key),
        Err(StoreAuditError::NeedsUpgrade(found)) if found == "6"
    ));
    ledger.restart().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    append_collections(&mut producer, EVENTS..EVENTS + 10, |n| n % 5).await;
    ledger.stop().await;
    assert_eq!(audit(&ledger, &key).expect("upgraded").entries, EVENTS + 10);
    // The entries before the upgrade keep their signature rows, the later ones have none.
    let signature_rows = raw_rows(&ledger, columns::SIGNATURES);
    assert_eq!(signature_rows.len() as u64, EVENTS);
    let later = raw_get(&ledger, columns::ENTRIES, &(EVENTS + 3).to_be_bytes());
    SequencedEntry::from_bytes(later[SIGNATURE_LEN..].to_vec()).expect("signature, then entry");

    // A signature of each layout altered: each is found, and the first one named first.
    let mut row = raw_get(&ledger, columns::ENTRIES, &(EVENTS + 5).to_be_bytes());
    row[10] ^= 0x80;
    tamper(
        &ledger,
        columns::ENTRIES,
        &(EVENTS + 5).to_be_bytes(),
        Some(&row),
    );
    let error = audit(&ledger, &key).expect_err("a later signature changed");
    assert!(
        error.to_string().contains(&format!("entry {}", EVENTS + 5)),
        "{error}"
    );
    let mut signature = raw_get(&ledger, columns::SIGNATURES, &20u64.to_be_bytes());
    signature[10] ^= 0x80;
    tamper(
        &ledger,
        columns::SIGNATURES,
        &20u64.to_be_bytes(),
        Some(&signature),
    );
    let error = audit(&ledger, &key).expect_err("an earlier signature changed");
    assert!(error.to_string().contains("entry 20"), "{error}");
    // And an earlier signature row missing.
    tamper(&ledger, columns::SIGNATURES, &9u64.to_be_bytes(), None);
    let error = audit(&ledger, &key).expect_err("signature row 9 missing");
    assert!(
        matches!(error, StoreAuditError::MissingSignature(9)),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_extra_event_id_and_subject_rows_are_reported() {
    // An event-id row deleted.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let id_key = [b"crm".as_slice(), &[0], b"evt-13"].concat();
    tamper(&ledger, columns::EVENT_IDS, &id_key, None);
    for threads in THREADS {
        let error = audit_with(&ledger, &key, threads).expect_err("row deleted");
        assert_eq!(
            error.to_string(),
            "event_ids: the row of crm/evt-13 (entry 13) is missing",
            "{threads:?}"
        );
    }

    // An event-id row no entry implies (an event id that is a prefix of another's).
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let row = raw_get(
        &ledger,
        columns::EVENT_IDS,
        &[b"crm".as_slice(), &[0], b"evt-1"].concat(),
    );
    let extra = [b"crm".as_slice(), &[0], b"evt-"].concat();
    tamper(&ledger, columns::EVENT_IDS, &extra, Some(&row));
    let error = audit(&ledger, &key).expect_err("extra row");
    assert!(
        matches!(&error, StoreAuditError::EventId { index: 1, event_id, .. } if event_id == "evt-"),
        "{error}"
    );

    // A subject's row of seq 1 deleted, then made to point at another entry.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let entry = entry_0(&ledger);
    let token = *entry.subject_token().expect("a subject").as_bytes();
    let row_key = columns::subject_entry_key(&token, 1);
    let row = raw_get(&ledger, columns::SUBJECTS, &row_key);
    let at = u64::from_be_bytes(row[..8].try_into().expect("8 bytes"));
    tamper(&ledger, columns::SUBJECTS, &row_key, None);
    let error = audit(&ledger, &key).expect_err("row deleted");
    assert_eq!(
        error.to_string(),
        format!(
            "subjects: the row (token {}, seq 1) of entry {at} is missing",
            hex::encode(token)
        )
    );
    tamper(
        &ledger,
        columns::SUBJECTS,
        &row_key,
        Some(&(at + 1).to_be_bytes()),
    );
    let error = audit(&ledger, &key).expect_err("row changed");
    assert_eq!(
        error.to_string(),
        format!(
            "subjects: row (token {}, seq 1) points at entry {}, which is not that entry",
            hex::encode(token),
            at + 1
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_missing_or_extra_tree_chunk_row_is_reported() {
    // 140 entries: chunks 0 and 1 complete, their rows written by the commits.
    async fn log_of_two_chunks() -> (TestLedger, gdpr_ledger::core::signature::VerifierKey) {
        let mut ledger = TestLedger::start().await;
        let mut producer = ledger.client(PRODUCER_TOKEN).await;
        for start in [0u64, 70] {
            append_collections(&mut producer, start..start + 70, |n| n % 7).await;
        }
        ledger.stop().await;
        let key = key_of(&mut ledger).await;
        (ledger, key)
    }

    let (ledger, key) = log_of_two_chunks().await;
    let summary = audit(&ledger, &key).expect("clean");
    assert_eq!(summary.entries, 140);

    // tree: the root of chunk 1 (leaves 64 to 127) replaced. Proofs read it from the tree
    // cache, so only the audit's row-for-row check can see it.
    let (ledger, key) = log_of_two_chunks().await;
    let node = NodeId::new(6, 1).expect("node id").to_key_bytes();
    tamper(&ledger, columns::TREE, &node, Some(&[0xAB; 32]));
    let error = audit(&ledger, &key).expect_err("interior tree node changed");
    assert!(
        matches!(error, StoreAuditError::TreeNode { index: 127, .. }),
        "{error}"
    );
    // And a node beyond the log (level 6, leaves 128 to 191, of which the log has 12).
    let (ledger, key) = log_of_two_chunks().await;
    let node = NodeId::new(6, 2).expect("node id").to_key_bytes();
    tamper(&ledger, columns::TREE, &node, Some(&[0xAB; 32]));
    let error = audit(&ledger, &key).expect_err("a tree row beyond the log");
    assert_eq!(
        error.to_string(),
        "tree: 0 rows below level 6 (kept in the chunk rows only) and 4 from it up, for 3 nodes"
    );
    let mut row = raw_get(&ledger, columns::TREE_CHUNKS, &1u64.to_be_bytes());
    assert_eq!(row.len(), 127 * 32);
    row[32 * 100] ^= 0x04;
    tamper(
        &ledger,
        columns::TREE_CHUNKS,
        &1u64.to_be_bytes(),
        Some(&row),
    );
    let error = audit(&ledger, &key).expect_err("chunk row changed");
    assert_eq!(
        error.to_string(),
        "tree_chunks: chunk 1 (completed by entry 127): the row differs from the replayed leaves"
    );

    let (ledger, key) = log_of_two_chunks().await;
    tamper(&ledger, columns::TREE_CHUNKS, &0u64.to_be_bytes(), None);
    let error = audit(&ledger, &key).expect_err("chunk row missing");
    assert_eq!(
        error.to_string(),
        "tree_chunks: chunk 0 (completed by entry 63): the row is missing"
    );

    let (ledger, key) = log_of_two_chunks().await;
    let row = raw_get(&ledger, columns::TREE_CHUNKS, &1u64.to_be_bytes());
    tamper(
        &ledger,
        columns::TREE_CHUNKS,
        &2u64.to_be_bytes(),
        Some(&row),
    );
    let error = audit(&ledger, &key).expect_err("one chunk row too many");
    assert_eq!(
        error.to_string(),
        "tree_chunks: 3 rows and a mark of 2, for 2 complete chunks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_missing_or_extra_breach_count_row_is_reported() {
    use gdpr_ledger::storage::report_index::CountGroup;
    use gdpr_ledger::storage::report_index::counts::{count_key, member_key};
    // 30 collections by crm about 5 subjects (first entries 0 to 4), each of two categories.
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let summary = audit(&ledger, &key).expect("clean");
    // (crm, all) and its two categories: 3 count rows, 15 member rows.
    assert_eq!(summary.breach_count_rows, 18, "{summary:?}");
    let all = count_key("crm", &CountGroup::All);
    let value = raw_get(&ledger, columns::REPORTS, &all);
    assert_eq!(value, [30u64.to_be_bytes(), 5u64.to_be_bytes()].concat());
    tamper(
        &ledger,
        columns::REPORTS,
        &all,
        Some(&[30u64.to_be_bytes(), 6u64.to_be_bytes()].concat()),
    );
    let error = audit(&ledger, &key).expect_err("count row changed");
    assert_eq!(
        error.to_string(),
        "reports: breach count rows: the count row of (crm, All) holds (records, subjects) Some((30, 6)), the entries give (30, 5)"
    );

    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    tamper(
        &ledger,
        columns::REPORTS,
        &member_key("crm", &CountGroup::All, 3),
        None,
    );
    let error = audit(&ledger, &key).expect_err("member row missing");
    assert_eq!(
        error.to_string(),
        "reports: breach count rows: the member row of (crm, All, the subject of entry 3) is missing"
    );

    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    tamper(
        &ledger,
        columns::REPORTS,
        &member_key("crm", &CountGroup::All, 7),
        Some(&[]),
    );
    let error = audit(&ledger, &key).expect_err("member row too many");
    assert_eq!(
        error.to_string(),
        "reports: breach count rows: the member row of (crm, All, the subject of entry 7) is one too many"
    );
}

/// The first row of `family` whose key starts with `prefix`.
fn first_row_with_prefix(ledger: &TestLedger, family: &str, prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let db = rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        ledger.data_dir(),
        columns::ALL,
        false,
    )
    .expect("raw open");
    let cf = db.cf_handle(family).expect("column family");
    let row = db
        .iterator_cf(
            cf,
            rocksdb::IteratorMode::From(prefix, rocksdb::Direction::Forward),
        )
        .next()
        .expect("a row")
        .expect("readable");
    assert!(row.0.starts_with(prefix), "no row with that prefix");
    (row.0.into_vec(), row.1.into_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_audits_clean_through_the_api() {
    let mut ledger = make_log().await;
    ledger.restart().await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["audit", "--server"])
        .arg(ledger.addr().to_string())
        .args(["--token", common::AUDITOR_TOKEN, "--key"])
        .arg(ledger.config.secrets_dir.join("verifier-key"))
        .output()
        .await
        .expect("audit runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("AUDITED"), "{stdout}");
    assert!(stdout.contains(&format!("{EVENTS} entries")), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "no progress bar drawn"
    );

    // With another log's key, the same audit fails at the first entry.
    let other = gdpr_ledger::core::signature::LogSigner::from_seed("ledger.test/gdpr", &[9; 32])
        .expect("signer")
        .verifier_key()
        .to_string();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["audit", "--server"])
        .arg(ledger.addr().to_string())
        .args(["--token", common::AUDITOR_TOKEN, "--key", &other])
        .output()
        .await
        .expect("audit runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("entry 0"), "{stdout}");
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_extra_breach_case_row_is_reported() {
    use gdpr_ledger::proto::v1::EventKind;
    use gdpr_ledger::storage::report_index::cases::TAG_BREACH_CASE;
    use gdpr_ledger::validation::example_submission;
    // A case: its first report (entry 0) and its notification (entry 1), as the examples make
    // them.
    let make = || async {
        let mut ledger = TestLedger::start().await;
        let mut producer = ledger.client(PRODUCER_TOKEN).await;
        for kind in [EventKind::Breach, EventKind::BreachNotified] {
            producer
                .append(pb::AppendRequest {
                    submission: Some(example_submission(kind)),
                    include_bundle: false,
                })
                .await
                .expect("append");
        }
        ledger.stop().await;
        ledger
    };
    let row = |breach_ref: &str, index: u64| {
        let mut key = vec![TAG_BREACH_CASE];
        key.extend_from_slice(breach_ref.as_bytes());
        key.push(0);
        key.extend_from_slice(&index.to_be_bytes());
        key
    };
    let mut ledger = make().await;
    let key = key_of(&mut ledger).await;
    let summary = audit(&ledger, &key).expect("clean");
    assert_eq!(summary.breach_case_rows, 2, "{summary:?}");
    tamper(&ledger, columns::REPORTS, &row("BR-2025-007", 1), None);
    let error = audit(&ledger, &key).expect_err("case row missing");
    assert_eq!(
        error.to_string(),
        "reports: breach case rows: the case row of (BR-2025-007, entry 1) is missing"
    );

    let mut ledger = make().await;
    let key = key_of(&mut ledger).await;
    tamper(&ledger, columns::REPORTS, &row("BR-OTHER", 1), Some(&[]));
    let error = audit(&ledger, &key).expect_err("case row too many");
    assert_eq!(
        error.to_string(),
        "reports: breach case rows: the case row of (BR-OTHER, entry 1) is one too many"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_extra_request_case_row_is_reported() {
    use gdpr_ledger::proto::v1::EventKind;
    use gdpr_ledger::storage::report_index::cases::{TAG_REQUEST_CASE, TAG_REQUEST_POLICY};
    use gdpr_ledger::validation::example_submission;
    // A request case: its receipt (entry 0) and its extension (entry 1), as the examples make
    // them.
    let make = || async {
        let mut ledger = TestLedger::start().await;
        let mut producer = ledger.client(PRODUCER_TOKEN).await;
        for kind in [EventKind::RequestReceived, EventKind::RequestExtended] {
            producer
                .append(pb::AppendRequest {
                    submission: Some(example_submission(kind)),
                    include_bundle: false,
                })
                .await
                .expect("append");
        }
        ledger.stop().await;
        ledger
    };
    let row = |request_ref: &str, index: u64| {
        let mut key = vec![TAG_REQUEST_CASE];
        key.extend_from_slice(request_ref.as_bytes());
        key.push(0);
        key.extend_from_slice(&index.to_be_bytes());
        key
    };
    let mut ledger = make().await;
    let key = key_of(&mut ledger).await;
    let summary = audit(&ledger, &key).expect("clean");
    assert_eq!(summary.breach_case_rows, 2, "{summary:?}");
    tamper(&ledger, columns::REPORTS, &row("DSR-2025-0042", 1), None);
    let error = audit(&ledger, &key).expect_err("case row missing");
    assert_eq!(
        error.to_string(),
        "reports: breach case rows: the request case row of (DSR-2025-0042, entry 1) is missing"
    );

    let mut ledger = make().await;
    let key = key_of(&mut ledger).await;
    let mut policy = vec![TAG_REQUEST_POLICY];
    policy.extend_from_slice(&0u64.to_be_bytes());
    tamper(&ledger, columns::REPORTS, &policy, Some(&[]));
    let error = audit(&ledger, &key).expect_err("policy row too many");
    assert_eq!(
        error.to_string(),
        "reports: breach case rows: the request policy row of entry 0 is one too many"
    );
}

/// The cross-checks of the event-id, subject and breach count rows run side by side; when several
/// of those families diverge, the first in the audit's order is reported, as when they ran one
/// after the other: the event ids, then the subjects, then the breach counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_several_derived_families_diverge_the_first_in_order_is_reported() {
    use gdpr_ledger::storage::report_index::CountGroup;
    use gdpr_ledger::storage::report_index::counts::member_key;
    let mut ledger = make_log().await;
    let key = key_of(&mut ledger).await;
    let id_key = [b"crm".as_slice(), &[0], b"evt-13"].concat();
    let id_row = raw_get(&ledger, columns::EVENT_IDS, &id_key);
    let entry = entry_0(&ledger);
    let token = *entry.subject_token().expect("a subject").as_bytes();
    let subject_key = columns::subject_entry_key(&token, 1);
    let subject_row = raw_get(&ledger, columns::SUBJECTS, &subject_key);
    let at = u64::from_be_bytes(subject_row[..8].try_into().expect("8 bytes"));
    let member = member_key("crm", &CountGroup::All, 3);
    tamper(&ledger, columns::EVENT_IDS, &id_key, None);
    tamper(&ledger, columns::SUBJECTS, &subject_key, None);
    tamper(&ledger, columns::REPORTS, &member, None);

    let event_ids = "event_ids: the row of crm/evt-13 (entry 13) is missing".to_string();
    let subjects = format!(
        "subjects: the row (token {}, seq 1) of entry {at} is missing",
        hex::encode(token)
    );
    let counts = "reports: breach count rows: the member row of (crm, All, the subject of entry 3) is missing".to_string();
    for expected in [event_ids, subjects, counts] {
        for threads in THREADS {
            let error = audit_with(&ledger, &key, threads).expect_err("diverges");
            assert_eq!(error.to_string(), expected, "{threads:?}");
        }
        // Mended, so that the next family's divergence is the first.
        if expected.starts_with("event_ids") {
            tamper(&ledger, columns::EVENT_IDS, &id_key, Some(&id_row));
        } else if expected.starts_with("subjects") {
            tamper(&ledger, columns::SUBJECTS, &subject_key, Some(&subject_row));
        }
    }
}

/// The audit compares each stored page with the rebuilt one byte for byte first; a page stored in
/// other bytes that hold the same content (here every page rewritten in schema 5's form, whose
/// references name versions in eight bytes) is decoded and still audits clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_in_other_bytes_of_the_same_content_audit_clean() {
    use gdpr_ledger::core::subject_index::{IndexPage, NodeKey};
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    // Enough subjects for pages below the top page, so that pages hold references.
    append_collections(&mut producer, 0..60, |n| n).await;
    ledger.stop().await;
    let key = key_of(&mut ledger).await;
    let mut rewritten = 0;
    for (row_key, value) in raw_rows(&ledger, columns::SUBJECT_INDEX_PAGES) {
        let node_key = NodeKey::from_key_bytes(&row_key).expect("a page key");
        let page =
            IndexPage::decode(node_key.version, node_key.path, &value[8..]).expect("decodes");
        let mut old_form = value[..8].to_vec();
        page.encode_as_schema_5(&mut old_form).expect("encodes");
        if old_form[..] != value[..] {
            tamper(
                &ledger,
                columns::SUBJECT_INDEX_PAGES,
                &row_key,
                Some(&old_form),
            );
            rewritten += 1;
        }
    }
    assert!(rewritten > 0, "no page holds a reference");
    for threads in THREADS {
        audit_with(&ledger, &key, threads).expect("the same pages in other bytes audit clean");
    }
}
