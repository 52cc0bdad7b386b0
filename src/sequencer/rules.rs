//! The sequencer's rules, run on [`MemoryStore`]: idempotency, all-or-nothing jobs, identity
//! links, corrections, erasure ordering, fail-stop. Each runs the real sequencer thread in
//! milliseconds; `tests/` runs the same rules end to end over gRPC and RocksDB.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::{AppendError, CorrectionRights, PreparedEvent, Receipt, SequencerHandle, start};
use crate::core::entry::decode_entry;
use crate::proto::v1::{Correction, CorrectionAction, Event, EventKind};
use crate::storage::{MemoryStore, TailStore, columns};

/// A sequencer over a fresh memory store.
struct Ledger {
    store: Arc<MemoryStore>,
    handle: SequencerHandle,
    /// Ends when the last handle is dropped (its queue closes).
    _thread: std::thread::JoinHandle<()>,
}

impl Ledger {
    fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// With every group handed to the writer thread (none written by the sequencer thread), for
    /// tests that hold the writer's commits, and the configuration changed by `configure`.
    fn start_with_writer_thread(configure: impl FnOnce(&mut super::SequencerConfig)) -> Self {
        Self::start_with(|config| {
            config.write_inline_below = 0;
            configure(config);
        })
    }

    /// With the sequencer's configuration changed by `configure`.
    fn start_with(configure: impl FnOnce(&mut super::SequencerConfig)) -> Self {
        let store = Arc::new(MemoryStore::new());
        let mut parts = super::tests::parts(store.clone());
        configure(&mut parts.config);
        let (handle, thread) = start(parts).expect("start");
        Self {
            store,
            handle,
            _thread: thread,
        }
    }

    async fn append(
        &self,
        producer: &str,
        events: Vec<PreparedEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        let rights = if producer == "admin" {
            CorrectionRights::AnyEntry
        } else {
            CorrectionRights::OwnEntries
        };
        self.handle.append(producer.into(), rights, events).await
    }

    fn size(&self) -> u64 {
        self.store.tree_size().expect("size")
    }

    /// The subject token of the entry at `index`.
    fn token_of(&self, index: u64) -> [u8; 32] {
        let bytes = self.store.entry(index).expect("read").expect("entry");
        decode_entry(&bytes)
            .expect("decodes")
            .subject_token
            .try_into()
            .expect("a token")
    }
}

/// An event of `kind` about the subject whose directory row is `row`.
fn about(id: &str, kind: EventKind, row: u8) -> PreparedEvent {
    PreparedEvent {
        event: Event {
            event_id: id.into(),
            kind: kind as i32,
            system: "crm".into(),
            ..Event::default()
        },
        subject_row: Some([row; 32]),
        linked_row: None,
        content_digest: *blake3::hash(id.as_bytes()).as_bytes(),
        details: None,
        identifiers: vec![format!("email:{row}@example.com")],
        subject_token: None,
        opens_erasure: None,
    }
}

/// Events `{prefix}-{n}` of `kind`, each about the subject of row `n`, for `n` in `rows`.
fn events(prefix: &str, kind: EventKind, rows: std::ops::RangeInclusive<u8>) -> Vec<PreparedEvent> {
    rows.map(|n| about(&format!("{prefix}-{n}"), kind, n))
        .collect()
}

fn correcting(id: &str, target: u64) -> PreparedEvent {
    let mut event = about(id, EventKind::Correction, 1);
    event.subject_row = None;
    event.identifiers.clear();
    event.event.correction = Some(Correction {
        target_index: target,
        action: CorrectionAction::Retract as i32,
        reason: "test".into(),
    });
    event
}

/// A subject's first entry allocates its token, under which nothing can be stored yet: its
/// planning reads no head, data key or identifier list. A known subject's entries do read them.
#[tokio::test]
async fn a_new_subject_is_planned_without_reading_rows_under_its_token() {
    // No head kept in memory: what is not in the group before is read.
    let ledger = Ledger::start_with(|config| config.subject_head_cache_entries = 0);
    let events = (1..=40u8)
        .map(|row| about(&format!("new-{row}"), EventKind::Collection, row))
        .collect();
    let receipts = ledger.append("crm", events).await.expect("appends");
    assert_eq!(receipts.len(), 40);
    assert_eq!(ledger.store.subject_reads(), 0);
    // Each got a chain of its own, a data key and its identifier.
    assert_eq!(ledger.size(), 40);
    let token = ledger.token_of(7);
    assert!(ledger.store.data_key_row(&token).expect("read").is_some());
    assert!(
        ledger
            .store
            .sealed_identifiers(&token)
            .expect("read")
            .is_some()
    );
    // (Those two reads were the test's.)
    let checked = ledger.store.subject_reads();
    // Another group of a new subject: still nothing read.
    ledger
        .append("crm", vec![about("new-200", EventKind::Collection, 200)])
        .await
        .expect("appends");
    assert_eq!(ledger.store.subject_reads(), checked);
    // An entry about a subject of the first group (no longer the group before) reads its rows.
    let later = ledger
        .append("crm", vec![about("again-8", EventKind::Access, 8)])
        .await
        .expect("appends");
    assert_eq!(later[0].index, 41);
    assert!(ledger.store.subject_reads() > checked);
}

/// The heads the sequencer planned lately are kept in memory (`head_cache`): a subject seen a
/// few groups ago is chained without reading its head. One that the cache has turned over is
/// read from the store, and chained as well.
#[tokio::test]
async fn a_subject_planned_lately_is_chained_without_reading_its_head() {
    // A cache of 8 heads, two generations of 4.
    let ledger = Ledger::start_with(|config| config.subject_head_cache_entries = 8);
    let chained = |index: u64| {
        let entry = ledger.store.entry(index).expect("read").expect("entry");
        let entry = decode_entry(&entry).expect("decodes");
        (entry.subject_seq, entry.subject_prev_index)
    };
    ledger
        .append("crm", events("one", EventKind::Collection, 1..=3))
        .await
        .expect("appends");
    ledger
        .append("crm", vec![about("two-9", EventKind::Collection, 9)])
        .await
        .expect("appends");
    let before = ledger.store.subject_reads();
    // Subject of row 2: two groups back, not the group in flight.
    let later = ledger
        .append("crm", vec![about("three-2", EventKind::Access, 2)])
        .await
        .expect("appends");
    assert_eq!(ledger.store.subject_reads(), before, "its head was kept");
    assert_eq!(later[0].index, 4);
    assert_eq!(chained(4), (1, 1));
    // Once more after a group without it: chained to the head the cache took from entry 4.
    ledger
        .append("crm", vec![about("four-20", EventKind::Collection, 20)])
        .await
        .expect("appends");
    let again = ledger
        .append("crm", vec![about("five-2", EventKind::Access, 2)])
        .await
        .expect("appends");
    assert_eq!(ledger.store.subject_reads(), before, "its head was kept");
    assert_eq!(again[0].index, 6);
    assert_eq!(chained(6), (2, 4));
    // Eight new subjects turn the cache over twice: row 3's head (entry 2) is gone from it.
    ledger
        .append("crm", events("six", EventKind::Collection, 10..=17))
        .await
        .expect("appends");
    let before = ledger.store.subject_reads();
    let last = ledger
        .append("crm", vec![about("seven-3", EventKind::Access, 3)])
        .await
        .expect("appends");
    assert!(ledger.store.subject_reads() > before, "its head was read");
    assert_eq!(last[0].index, 15);
    assert_eq!(chained(15), (1, 2));
    // And the heads written are the chains'.
    let head = |index| {
        let head = ledger.store.subject_head(&ledger.token_of(index));
        head.expect("read").map(|h| (h.count, h.last_index))
    };
    assert_eq!(head(2), Some((2, 15)));
    assert_eq!(head(1), Some((3, 6)));
}

/// A subject's head records its first entry: its first entry sets it and later ones carry it,
/// from the group before as from the store; a head from before heads recorded it (none) is
/// carried as it is, never given a later entry as the first.
#[tokio::test]
async fn a_head_records_the_first_entry_of_its_subject() {
    // No head kept in memory: the store's head row, as the test leaves it, is what is read.
    let ledger = Ledger::start_with(|config| config.subject_head_cache_entries = 0);
    let head = |index: u64| {
        let head = ledger.store.subject_head(&ledger.token_of(index));
        let head = head.expect("read").expect("a head");
        (head.count, head.last_index, head.first_index)
    };
    // Entries 0 to 2: rows 1 to 3; then the subject of row 2 in the next group (its head from
    // the group before), and once more with the subject of row 9 after a group without it (from
    // the store).
    let one = events("one", EventKind::Collection, 1..=3);
    ledger.append("crm", one).await.expect("appends");
    let two = vec![about("two-2", EventKind::Access, 2)];
    ledger.append("crm", two).await.expect("appends");
    let three = vec![about("three-9", EventKind::Collection, 9)];
    ledger.append("crm", three).await.expect("appends");
    let four = vec![
        about("four-2", EventKind::Access, 2),
        about("four-3", EventKind::Access, 3),
    ];
    ledger.append("crm", four).await.expect("appends");
    assert_eq!(head(0), (1, 0, Some(0)));
    assert_eq!(head(1), (3, 5, Some(1)));
    assert_eq!(head(2), (2, 6, Some(2)));
    assert_eq!(head(4), (1, 4, Some(4)));
    // Row 9's head as a head row of an earlier version stores it, then a group without it.
    ledger.store.forget_first_entry(&ledger.token_of(4));
    let five = vec![about("five-1", EventKind::Access, 1)];
    ledger.append("crm", five).await.expect("appends");
    let six = vec![about("six-9", EventKind::Access, 9)];
    ledger.append("crm", six).await.expect("appends");
    assert_eq!(head(4), (2, 8, None));
}

#[tokio::test]
async fn a_retry_is_answered_with_the_first_receipt_and_a_reuse_is_refused() {
    let ledger = Ledger::start();
    let first = ledger
        .append("crm", vec![about("e-1", EventKind::Collection, 1)])
        .await
        .expect("appends");
    let retry = ledger
        .append("crm", vec![about("e-1", EventKind::Collection, 1)])
        .await
        .expect("a retry");
    assert_eq!((retry[0].index, retry[0].duplicate), (first[0].index, true));
    assert_eq!(retry[0].signature, first[0].signature);
    // Both receipts carry the entry's subject token, for the service's use.
    let token = ledger.token_of(first[0].index);
    assert_eq!(first[0].subject_token, Some(token));
    assert_eq!(retry[0].subject_token, Some(token));
    // Another producer's event id is its own.
    let other = ledger
        .append("billing", vec![about("e-1", EventKind::Collection, 1)])
        .await
        .expect("another producer");
    assert!(!other[0].duplicate);
    // The same id for other content, or for another subject, is refused.
    let mut changed = about("e-1", EventKind::Collection, 1);
    changed.content_digest = [9; 32];
    let refused = ledger
        .append("crm", vec![changed])
        .await
        .expect_err("reuse");
    assert!(
        matches!(refused, AppendError::EventIdConflict { position: 0, .. }),
        "{refused}"
    );
    let mut elsewhere = about("e-1", EventKind::Collection, 2);
    elsewhere.content_digest = about("e-1", EventKind::Collection, 1).content_digest;
    let refused = ledger
        .append("crm", vec![elsewhere])
        .await
        .expect_err("reuse");
    assert!(
        matches!(refused, AppendError::EventIdConflict { .. }),
        "{refused}"
    );
    // Twice in one request: one entry, the second answered as its duplicate.
    let twice = ledger
        .append(
            "crm",
            vec![
                about("e-2", EventKind::Collection, 1),
                about("e-2", EventKind::Collection, 1),
            ],
        )
        .await
        .expect("appends");
    assert_eq!(twice[0].index, twice[1].index);
    assert!(twice[1].duplicate);
    assert_eq!(ledger.size(), 3);
}

#[tokio::test]
async fn a_job_is_all_or_nothing() {
    let ledger = Ledger::start();
    ledger
        .append("crm", vec![about("e-1", EventKind::Collection, 1)])
        .await
        .expect("appends");
    let mut conflicting = about("e-1", EventKind::Collection, 1);
    conflicting.content_digest = [7; 32];
    let refused = ledger
        .append(
            "crm",
            vec![
                about("e-2", EventKind::Collection, 2),
                about("e-3", EventKind::Collection, 3),
                conflicting,
            ],
        )
        .await
        .expect_err("the third event conflicts");
    assert!(
        matches!(refused, AppendError::EventIdConflict { position: 2, .. }),
        "{refused}"
    );
    assert_eq!(ledger.size(), 1, "nothing of the refused job is appended");
    assert_eq!(ledger.store.directory_token(&[2; 32]).expect("read"), None);
    assert_eq!(ledger.store.event_id("crm", "e-2").expect("read"), None);
    // Its events can be sent again, and get the indexes the refused job would have had.
    let again = ledger
        .append("crm", vec![about("e-2", EventKind::Collection, 2)])
        .await
        .expect("appends");
    assert_eq!(again[0].index, 1);
}

#[tokio::test]
async fn identity_links_join_known_subjects_only_and_never_steal_an_identifier() {
    let ledger = Ledger::start();
    ledger
        .append(
            "crm",
            vec![
                about("a", EventKind::Collection, 1),
                about("b", EventKind::Collection, 2),
            ],
        )
        .await
        .expect("appends");
    let link = |id: &str, from: u8, to: u8| {
        let mut event = about(id, EventKind::IdentityLink, from);
        event.linked_row = Some([to; 32]);
        event.identifiers.push(format!("phone:{to}"));
        event
    };
    let unknown = ledger
        .append("crm", vec![link("l-1", 9, 3)])
        .await
        .expect_err("unknown");
    assert!(
        matches!(unknown, AppendError::UnknownSubject { position: 0 }),
        "{unknown}"
    );
    let stolen = ledger
        .append("crm", vec![link("l-2", 1, 2)])
        .await
        .expect_err("taken");
    assert!(
        matches!(stolen, AppendError::IdentityConflict { position: 0 }),
        "{stolen}"
    );
    ledger
        .append("crm", vec![link("l-3", 1, 3)])
        .await
        .expect("links");
    let token = ledger.token_of(0);
    assert_eq!(
        ledger.store.directory_token(&[3; 32]).expect("read"),
        Some(token)
    );
    assert_ne!(ledger.token_of(1), token);
}

#[tokio::test]
async fn corrections_of_others_corrections_and_the_unknown_are_refused() {
    let ledger = Ledger::start();
    ledger
        .append("crm", vec![about("e-0", EventKind::Collection, 1)])
        .await
        .expect("appends");
    let denied = ledger
        .append("billing", vec![correcting("c-1", 0)])
        .await
        .expect_err("not its entry");
    assert!(
        matches!(denied, AppendError::CorrectionDenied { target: 0, .. }),
        "{denied}"
    );
    let beyond = ledger
        .append("crm", vec![correcting("c-2", 5)])
        .await
        .expect_err("no such entry");
    assert!(
        matches!(
            beyond,
            AppendError::BadCorrectionTarget {
                target: 5,
                reason: "no such entry",
                ..
            }
        ),
        "{beyond}"
    );
    // Its producer may, and an admin may; a correction itself may not be corrected.
    ledger
        .append("crm", vec![correcting("c-3", 0)])
        .await
        .expect("own entry");
    ledger
        .append("admin", vec![correcting("c-4", 0)])
        .await
        .expect("admin");
    let again = ledger
        .append("admin", vec![correcting("c-5", 1)])
        .await
        .expect_err("a correction");
    assert!(
        matches!(again, AppendError::BadCorrectionTarget { target: 1, .. }),
        "{again}"
    );
    // A correction of an entry earlier in the same job is judged like any other.
    let same_job = ledger
        .append(
            "billing",
            vec![about("e-9", EventKind::Collection, 2), correcting("c-6", 3)],
        )
        .await
        .expect("its own entry, appended just before");
    assert_eq!(same_job[1].index, 4);
}

#[tokio::test]
async fn nothing_new_is_sealed_for_a_subject_once_its_erasure_opened() {
    let ledger = Ledger::start();
    let mut with_details = about("e-0", EventKind::Collection, 1);
    with_details.details = Some(super::Details::Plain(zeroize::Zeroizing::new(
        b"ticket 17".to_vec(),
    )));
    ledger
        .append("crm", vec![with_details])
        .await
        .expect("appends");
    let token = ledger.token_of(0);
    assert!(
        ledger
            .store
            .sealed_details(&token, 0)
            .expect("read")
            .is_some()
    );

    // Details sealed in the same job as the erasure request, before it, are destroyed with the
    // subject's key.
    let mut more = about("e-1", EventKind::Collection, 1);
    more.details = Some(super::Details::Plain(zeroize::Zeroizing::new(
        b"ticket 18".to_vec(),
    )));
    let mut erasure = about("e-2", EventKind::ErasureRequested, 1);
    erasure.opens_erasure = Some("admin".into());
    ledger
        .append("crm", vec![more, erasure])
        .await
        .expect("appends");
    assert_eq!(
        ledger.store.data_key_row(&token).expect("read").as_deref(),
        Some(columns::SHREDDED_KEY)
    );
    assert_eq!(ledger.store.sealed_details(&token, 0).expect("read"), None);
    assert_eq!(ledger.store.sealed_details(&token, 1).expect("read"), None);
    assert_eq!(ledger.store.sealed_identifiers(&token).expect("read"), None);
    assert!(ledger.store.erasure_record(&token).is_some());

    let mut late = about("e-3", EventKind::Collection, 1);
    late.details = Some(super::Details::Plain(zeroize::Zeroizing::new(
        b"ticket 19".to_vec(),
    )));
    let refused = ledger.append("crm", vec![late]).await.expect_err("erased");
    assert!(
        matches!(
            refused,
            AppendError::SubjectErased {
                position: 0,
                what: "new details"
            }
        ),
        "{refused}"
    );
    let mut second = about("e-4", EventKind::ErasureRequested, 1);
    second.opens_erasure = Some("admin".into());
    let refused = ledger
        .append("crm", vec![second])
        .await
        .expect_err("erased");
    assert!(
        matches!(refused, AppendError::SubjectErased { .. }),
        "{refused}"
    );
    // Events without anything to seal are still recorded: the subject's history goes on.
    ledger
        .append("crm", vec![about("e-5", EventKind::DeletionDone, 1)])
        .await
        .expect("a deletion is recorded");
    assert_eq!(ledger.store.subject_entries(&token).len(), 4);
}

#[tokio::test]
async fn a_failed_write_stops_the_sequencer_for_good() {
    let ledger = Ledger::start();
    ledger
        .append("crm", vec![about("e-0", EventKind::Collection, 1)])
        .await
        .expect("appends");
    ledger.store.fail_next_commit();
    let failed = ledger
        .append("crm", vec![about("e-1", EventKind::Collection, 1)])
        .await
        .expect_err("the write fails");
    assert!(matches!(failed, AppendError::Unavailable(_)), "{failed}");
    assert!(ledger.handle.shared().has_failed());
    assert_eq!(ledger.handle.shared().latest_checkpoint().size, 1);
    let refused = ledger
        .append("crm", vec![about("e-2", EventKind::Collection, 2)])
        .await
        .expect_err("fail-stop");
    assert!(matches!(refused, AppendError::Unavailable(_)), "{refused}");
    assert_eq!(ledger.size(), 1);
}

/// Appends `events` as `crm` in a task of its own.
fn spawn_append(
    ledger: &Arc<Ledger>,
    events: Vec<PreparedEvent>,
) -> tokio::task::JoinHandle<Result<Vec<Receipt>, AppendError>> {
    let ledger = ledger.clone();
    tokio::spawn(async move { ledger.append("crm", events).await })
}

/// One of the sequencer's counters, as it is now.
fn count(ledger: &Ledger, counter: fn(&super::SequencerStats) -> &AtomicU64) -> u64 {
    counter(&ledger.handle.shared().stats).load(std::sync::atomic::Ordering::Relaxed)
}

/// Waits (boundedly) until one of the sequencer's counters reaches `n`.
async fn counted(
    ledger: &Ledger,
    counter: fn(&super::SequencerStats) -> &AtomicU64,
    n: u64,
) -> bool {
    for _ in 0..500 {
        if count(ledger, counter) >= n {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// Waits (boundedly) until the sequencer has planned `jobs` jobs.
async fn planned(ledger: &Ledger, jobs: u64) -> bool {
    counted(ledger, |stats| &stats.jobs_planned, jobs).await
}

/// Waits (boundedly) until the sequencer has finished `groups` commit groups.
async fn finished(ledger: &Ledger, groups: u64) -> bool {
    counted(ledger, |stats| &stats.groups_planned, groups).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_planned_on_the_one_still_being_written() {
    // No index node cached for long: the second version is made from nodes of the first that
    // only the planner has; no head kept but the group in flight's.
    let ledger = Arc::new(Ledger::start_with_writer_thread(|config| {
        config.subject_index_cache_depth = 0;
        config.subject_head_cache_entries = 0;
    }));
    let permits = ledger.store.hold_commits();
    let first = spawn_append(
        &ledger,
        vec![
            about("a-1", EventKind::Collection, 1),
            about("a-2", EventKind::Collection, 2),
        ],
    );
    assert!(planned(&ledger, 1).await, "the first job is planned");
    // The first group's write is held: the second is planned on top of it, reading nothing of
    // it from the store.
    let second = spawn_append(
        &ledger,
        vec![
            about("a-1", EventKind::Collection, 1),
            about("b-1", EventKind::Access, 1),
            correcting("b-2", 1),
        ],
    );
    assert!(planned(&ledger, 2).await, "the second job is planned");
    assert_eq!(ledger.size(), 0, "nothing is written yet");
    assert_eq!(ledger.handle.shared().latest_checkpoint().size, 0);
    drop(permits);

    let first = first.await.expect("joins").expect("appends");
    let second = second.await.expect("joins").expect("appends");
    // The retry is answered with the first receipt, not appended again.
    assert_eq!(
        (second[0].index, second[0].duplicate),
        (first[0].index, true)
    );
    assert_eq!(second[0].signature, first[0].signature);
    // The subject's chain goes on from the entry still in flight when it was planned.
    assert_eq!(second[1].index, 2);
    let entry =
        decode_entry(&ledger.store.entry(2).expect("read").expect("entry")).expect("decodes");
    assert_eq!(
        (entry.subject_seq, entry.subject_prev_index),
        (1, first[0].index)
    );
    assert_eq!(ledger.token_of(2), ledger.token_of(first[0].index));
    // The entry in flight could be corrected, and the checkpoints name every entry.
    assert_eq!(second[2].index, 3);
    assert_eq!(ledger.size(), 4);
    assert_eq!(second[2].checkpoint.size, 4);
    assert_eq!(first[0].checkpoint.size, 2);
}

/// The subject's head in the subject index's version `version`: (entries, latest index).
fn indexed_head(ledger: &Ledger, version: u64, token: [u8; 32]) -> (u64, u64) {
    use crate::core::subject_index::{ProofTerminal, prove};
    let token = crate::core::directory::SubjectToken::from_bytes(token);
    match prove(&*ledger.store, version, &token)
        .expect("proves")
        .terminal
    {
        ProofTerminal::Leaf { head, .. } => (head.count, head.last_index),
        other => panic!("no head for the subject at version {version}: {other:?}"),
    }
}

/// While the writer makes a group's rows, the next group stays open; once only the write is
/// left (held here, as a slow sync), the writer wakes the sequencer, which finishes the next
/// group if it is big enough (`group::FINISH_EARLY_FROM` entries): its subject-index version is
/// made from the pages of the version in flight, its checkpoint signed, and the jobs that arrive
/// after it go into the group after it. The writer takes it once the write returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_group_is_finished_while_the_one_before_is_written() {
    // No index node cached for long: the second version is made from pages of the first that
    // only the planner has.
    let ledger = Arc::new(Ledger::start_with_writer_thread(|config| {
        config.subject_index_cache_depth = 0;
    }));
    let rows_permits = ledger.store.hold_commits();
    let write_permits = ledger.store.hold_writes();
    let first = spawn_append(&ledger, vec![about("a-1", EventKind::Collection, 1)]);
    assert!(finished(&ledger, 1).await, "the first group is finished");
    // 256 entries: subject 1's second, and the first of subjects 2 to 255 and 2 again.
    let mut big = vec![about("a-2", EventKind::Access, 1)];
    big.extend((2..=256u16).map(|n| {
        let row = u8::try_from(n).unwrap_or(2);
        about(&format!("b-{n}"), EventKind::Collection, row)
    }));
    let second = spawn_append(&ledger, big);
    assert!(planned(&ledger, 2).await, "the second job is planned");
    assert_eq!(
        count(&ledger, |stats| &stats.groups_planned),
        1,
        "open while the writer makes the first group's rows"
    );
    drop(rows_permits);
    assert!(
        finished(&ledger, 2).await,
        "the second group is finished while the first is in its write"
    );
    assert_eq!(ledger.size(), 0, "nothing is written yet");
    let third = spawn_append(&ledger, vec![about("a-3", EventKind::Access, 1)]);
    drop(write_permits);

    let first = first.await.expect("joins").expect("appends");
    let second = second.await.expect("joins").expect("appends");
    let third = third.await.expect("joins").expect("appends");
    assert_eq!(ledger.size(), 258);
    assert_eq!((first[0].index, first[0].checkpoint.size), (0, 1));
    assert!(
        second
            .iter()
            .zip(1..)
            .all(|(r, index)| (r.index, r.checkpoint.size) == (index, 257)),
        "a group of its own"
    );
    assert_eq!((third[0].index, third[0].checkpoint.size), (257, 258));
    // Each version holds the heads as its group left them.
    let subject = ledger.token_of(0);
    assert_eq!(indexed_head(&ledger, 1, subject), (1, 0));
    assert_eq!(indexed_head(&ledger, 257, subject), (2, 1));
    assert_eq!(indexed_head(&ledger, 257, ledger.token_of(2)), (2, 256));
    assert_eq!(indexed_head(&ledger, 258, subject), (3, 257));
    let entry =
        decode_entry(&ledger.store.entry(257).expect("read").expect("entry")).expect("decodes");
    assert_eq!((entry.subject_seq, entry.subject_prev_index), (2, 1));
}

/// A small group is not finished during the write of the one before: it waits for that write
/// to return, and takes the jobs that arrive meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_group_takes_the_jobs_that_arrive_during_the_write_before_it() {
    let ledger = Arc::new(Ledger::start_with_writer_thread(|_| {}));
    let write_permits = ledger.store.hold_writes();
    let first = spawn_append(&ledger, vec![about("a-1", EventKind::Collection, 1)]);
    assert!(finished(&ledger, 1).await, "the first group is finished");
    let second = spawn_append(&ledger, vec![about("a-2", EventKind::Access, 1)]);
    assert!(planned(&ledger, 2).await, "the second job is planned");
    let third = spawn_append(&ledger, vec![about("b-1", EventKind::Collection, 2)]);
    assert!(
        planned(&ledger, 3).await,
        "the third job joins the open group while the first group's write is held"
    );
    drop(write_permits);
    let first = first.await.expect("joins").expect("appends");
    let second = second.await.expect("joins").expect("appends");
    let third = third.await.expect("joins").expect("appends");
    assert_eq!(first[0].checkpoint.size, 1);
    assert_eq!((second[0].index, second[0].checkpoint.size), (1, 3));
    assert_eq!((third[0].index, third[0].checkpoint.size), (2, 3));
}

/// A small group finished while the writer thread is idle and no other job waits is written by
/// the sequencer thread itself; a group as big as `write_inline_below` goes to the writer
/// thread, and so does nothing else while that thread is busy: a small group planned meanwhile
/// waits for it, and is then written by the sequencer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_small_group_is_written_by_the_sequencer_thread() {
    let ledger = Arc::new(Ledger::start_with(|config| config.write_inline_below = 4));
    let lone = ledger
        .append("crm", vec![about("a-1", EventKind::Collection, 1)])
        .await
        .expect("appends");
    assert_eq!(lone[0].checkpoint.size, 1);
    assert_eq!(ledger.store.commit_threads(), ["sequencer"]);

    let permits = ledger.store.hold_commits();
    let big = spawn_append(&ledger, events("a", EventKind::Collection, 2..=5));
    assert!(finished(&ledger, 2).await, "the group of four is finished");
    let small = spawn_append(&ledger, vec![about("b-1", EventKind::Access, 1)]);
    assert!(planned(&ledger, 3).await, "the small job is planned");
    drop(permits);
    big.await.expect("joins").expect("appends");
    let small = small.await.expect("joins").expect("appends");
    assert_eq!((small[0].index, small[0].checkpoint.size), (5, 6));
    assert_eq!(
        ledger.store.commit_threads(),
        ["sequencer", "ledger-writer", "sequencer"],
        "the group of four on the writer thread, the one event after it on the sequencer's"
    );
}

/// A small group of concurrent producers' jobs goes to the writer thread even when the writer is
/// idle and nothing else waits (the jobs arriving during its write are then planned meanwhile),
/// and so does the next one-job group after it; a one-job group after a one-job group (a lone
/// producer) is written by the sequencer thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_lone_producers_small_group_is_written_by_the_sequencer_thread() {
    let ledger = Arc::new(Ledger::start_with(|config| config.write_inline_below = 4));
    let permits = ledger.store.hold_commits();
    let big = spawn_append(&ledger, events("a", EventKind::Collection, 1..=4));
    assert!(finished(&ledger, 1).await, "the group of four is finished");
    let first = spawn_append(&ledger, vec![about("b-1", EventKind::Access, 1)]);
    assert!(planned(&ledger, 2).await, "the first small job is planned");
    let second = spawn_append(&ledger, vec![about("c-1", EventKind::Access, 2)]);
    assert!(planned(&ledger, 3).await, "the second joins the open group");
    drop(permits);
    big.await.expect("joins").expect("appends");
    let first = first.await.expect("joins").expect("appends");
    let second = second.await.expect("joins").expect("appends");
    assert_eq!(first[0].checkpoint.size, 6);
    assert_eq!(second[0].checkpoint.size, 6, "one group of two jobs");
    for id in ["d-1", "e-1"] {
        ledger
            .append("crm", vec![about(id, EventKind::Access, 1)])
            .await
            .expect("appends");
    }
    assert_eq!(
        ledger.store.commit_threads(),
        [
            "ledger-writer",
            "ledger-writer",
            "ledger-writer",
            "sequencer"
        ],
        "the group of two jobs and the one-job group after it on the writer thread, the next on the sequencer's"
    );
}

/// A small group finished while the writer thread is busy (here: full, at one entry a group)
/// goes to the writer thread after the group it writes, never beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_group_finished_while_the_writer_is_busy_is_handed_to_it() {
    let ledger = Arc::new(Ledger::start_with(|config| {
        config.write_inline_below = 4;
        config.max_group_entries = 1;
    }));
    let permits = ledger.store.hold_commits();
    let big = spawn_append(&ledger, events("a", EventKind::Collection, 1..=4));
    assert!(finished(&ledger, 1).await, "the group of four is finished");
    let small = spawn_append(&ledger, vec![about("b-1", EventKind::Access, 1)]);
    assert!(
        finished(&ledger, 2).await,
        "the full group of one is finished while the writer is busy"
    );
    drop(permits);
    big.await.expect("joins").expect("appends");
    let small = small.await.expect("joins").expect("appends");
    assert_eq!((small[0].index, small[0].checkpoint.size), (4, 5));
    assert_eq!(
        ledger.store.commit_threads(),
        ["ledger-writer", "ledger-writer"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_sheds_its_levels_without_losing_the_pages_in_flight() {
    // No memory for the index's pages: the first version takes the cache over budget, and it
    // stops keeping every level but the root's while that version is not in the store yet. The
    // second version (each job fills a group, so it is made at once) rewrites the same 64
    // subjects' paths from those pages.
    let ledger = Arc::new(Ledger::start_with_writer_thread(|config| {
        config.subject_index_cache_mib = 0;
        config.max_group_entries = 64;
    }));
    let permits = ledger.store.hold_commits();
    let job = |prefix: &str, kind: EventKind| events(prefix, kind, 1..=64);
    let first = spawn_append(&ledger, job("c", EventKind::Collection));
    assert!(planned(&ledger, 1).await, "the first job is planned");
    let second = spawn_append(&ledger, job("a", EventKind::Access));
    assert!(planned(&ledger, 2).await, "the second job is planned");
    assert_eq!(ledger.size(), 0, "nothing is written yet");
    drop(permits);
    let first = first.await.expect("joins").expect("appends");
    let second = second.await.expect("joins").expect("appends");
    assert_eq!(ledger.size(), 128);
    for (a, b) in first.iter().zip(&second) {
        let entry = decode_entry(&ledger.store.entry(b.index).expect("read").expect("entry"))
            .expect("decodes");
        assert_eq!((entry.subject_seq, entry.subject_prev_index), (1, a.index));
    }
}

/// A group's entries are sent to the signing threads job by job as they are planned, and the
/// group's hand-over waits for those parts: three jobs of 70 events (each a part of its own), a
/// job refused after it planned entries (its savepoint restored before its entries could be
/// sent), and a job too small for the threads, signed at the hand-over. Every entry carries the
/// signature of its own leaf, as one thread signing the group in order would give it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_signed_while_their_group_is_planned_each_carry_their_own_signature() {
    let ledger = Arc::new(Ledger::start_with_writer_thread(|_| {}));
    let permits = ledger.store.hold_commits();
    let job = |prefix: &str, count: u8| events(prefix, EventKind::Collection, 1..=count);
    // The first group, held in the writer: the next jobs are planned into the second one.
    let held = spawn_append(&ledger, job("held", 1));
    assert!(planned(&ledger, 1).await, "the first job is planned");
    let mut refused_job = job("r", 10);
    let mut conflicting = about("a-5", EventKind::Collection, 5);
    conflicting.content_digest = [7; 32];
    refused_job.push(conflicting);
    let jobs = [
        job("a", 70),
        refused_job,
        job("b", 70),
        job("c", 70),
        job("d", 5),
    ];
    let mut appends = Vec::new();
    for (n, events) in (2..).zip(jobs) {
        appends.push(spawn_append(&ledger, events));
        assert!(planned(&ledger, n).await, "job {n} is planned");
    }
    assert_eq!(ledger.size(), 0, "nothing is written yet");
    drop(permits);
    held.await.expect("joins").expect("appends");
    let mut receipts = Vec::new();
    for (n, append) in appends.into_iter().enumerate() {
        let outcome = append.await.expect("joins");
        if n == 1 {
            assert!(
                outcome.is_err(),
                "the conflicting job is refused: {outcome:?}"
            );
        } else {
            receipts.extend(outcome.expect("appends"));
        }
    }
    assert_eq!(receipts.len(), 215);
    assert_eq!(ledger.size(), 216);
    let signer = crate::core::signature::LogSigner::from_seed(super::tests::ORIGIN, &[3u8; 32])
        .expect("signer");
    for receipt in &receipts {
        let bytes = ledger
            .store
            .entry(receipt.index)
            .expect("read")
            .expect("entry");
        let leaf = crate::core::hash::leaf_hash(&bytes);
        let stored = ledger
            .store
            .signature(receipt.index)
            .expect("read")
            .expect("signed");
        let own = signer.sign_entry(&leaf);
        assert_eq!(receipt.leaf_hash, leaf, "entry {}", receipt.index);
        assert_eq!(stored.signature, *own.as_bytes(), "entry {}", receipt.index);
        assert_eq!(receipt.signature, stored, "entry {}", receipt.index);
    }
}

/// One job of [`replicated_workload`]: producer, events, arrival.
type ReplicatedJob = (&'static str, Vec<PreparedEvent>, super::Arrival);

/// A mixed workload as a replicated log would deliver it: every job a group of its own, at the
/// time the stream gives it (one of them earlier than the job before: clocks differ).
fn replicated_workload(details: &super::Details) -> Vec<ReplicatedJob> {
    let at = |seconds: u64| super::Arrival {
        received_at: std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
        own_group: true,
        input_seq: Some(seconds),
        closes: None,
    };
    let mut with_details = about("e-1", EventKind::Collection, 1);
    with_details.details = Some(details.clone());
    let mut conflicting = about("e-1", EventKind::Collection, 1);
    conflicting.content_digest = [7; 32];
    let mut link = about("e-4", EventKind::IdentityLink, 1);
    link.linked_row = Some([9; 32]);
    link.identifiers.push("customer_id:9".into());
    let mut erasure = about("e-7", EventKind::ErasureRequested, 2);
    erasure.opens_erasure = Some("dpo".into());
    let mut too_late = about("e-8", EventKind::Collection, 2);
    too_late.details = Some(details.clone());
    let first_token = crate::core::directory::deterministic_pseudonym(
        &crate::core::directory::PseudonymSecret::from_bytes([4; 32]),
        0,
    );
    let mut by_token = about("access.1", EventKind::Access, 1);
    by_token.subject_row = None;
    by_token.identifiers.clear();
    by_token.subject_token = Some(*first_token.as_bytes());
    vec![
        ("crm", vec![with_details.clone()], at(1_000)),
        (
            "crm",
            vec![
                about("e-2", EventKind::Collection, 2),
                about("e-3", EventKind::Collection, 1),
            ],
            at(1_001),
        ),
        ("crm", vec![conflicting], at(1_002)),
        ("crm", vec![link], at(1_003)),
        ("crm", vec![with_details], at(1_004)),
        ("crm", vec![correcting("e-5", 1)], at(990)),
        ("admin", vec![erasure], at(1_006)),
        ("crm", vec![too_late], at(1_007)),
        ("gdpr-ledger", vec![by_token], at(1_008)),
    ]
}

/// What a job's outcome shows a caller: each receipt's index, leaf, signature, checkpoint size
/// and duplicate flag, or the refusal's text.
type Outcome = Result<Vec<(u64, [u8; 32], [u8; 64], u64, bool)>, String>;

fn outcome(result: Result<Vec<Receipt>, AppendError>) -> Outcome {
    result
        .map(|receipts| {
            receipts
                .iter()
                .map(|r| {
                    (
                        r.index,
                        *r.leaf_hash.as_bytes(),
                        r.signature.signature,
                        r.checkpoint.size,
                        r.duplicate,
                    )
                })
                .collect()
        })
        .map_err(|refusal| refusal.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_jobs_and_arrivals_make_the_same_log_byte_for_byte() {
    // The node that received the request sealed the details once; both replicas get those bytes.
    let details_key = crate::vault::DetailsKey::from_bytes([6; 32]);
    let details = super::Details::Sealed {
        sealed: details_key.seal(b"ticket 17").expect("seals"),
        key: details_key,
    };
    let jobs = replicated_workload(&details);

    // One replica finds every job queued at once (its applier caught up from far behind)...
    let queued = Ledger::start();
    let mut replies = Vec::new();
    for (producer, events, arrival) in jobs.clone() {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let rights = if producer == "admin" {
            CorrectionRights::AnyEntry
        } else {
            CorrectionRights::OwnEntries
        };
        queued
            .handle
            .queue
            .try_send(super::Message::Job(super::AppendJob {
                producer: producer.into(),
                corrects: rights,
                events,
                arrival,
                retry_only: false,
                reply,
            }))
            .expect("room in the queue");
        replies.push(outcome);
    }
    let mut queued_outcomes = Vec::new();
    for reply in replies {
        queued_outcomes.push(outcome(reply.await.expect("answered")));
    }
    // ...the other gets them one at a time.
    let paced = Ledger::start();
    let mut paced_outcomes = Vec::new();
    for (producer, events, arrival) in jobs {
        let rights = if producer == "admin" {
            CorrectionRights::AnyEntry
        } else {
            CorrectionRights::OwnEntries
        };
        let result = paced
            .handle
            .append_at(producer.into(), rights, events, arrival)
            .await;
        paced_outcomes.push(outcome(result));
    }

    assert_eq!(queued_outcomes, paced_outcomes);
    let refusals: Vec<usize> = paced_outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.is_err().then_some(i))
        .collect();
    assert_eq!(
        refusals,
        [2, 7],
        "the conflict and the details after the erasure"
    );
    let size = paced.size();
    assert_eq!((queued.size(), size), (7, 7));
    for index in 0..size {
        assert_eq!(
            queued.store.entry(index).expect("read"),
            paced.store.entry(index).expect("read"),
            "entry {index}"
        );
        assert_eq!(
            queued.store.signature(index).expect("read"),
            paced.store.signature(index).expect("read"),
            "signature {index}"
        );
    }
    // Every job that appended is a group of its own: a checkpoint (carrying the subject index's
    // root) at the end of each, the same note on both, and none between.
    let mut ends = vec![0];
    for receipts in paced_outcomes.iter().flatten() {
        if receipts.iter().any(|r| !r.4) {
            ends.push(receipts.iter().map(|r| r.0).max().expect("receipts") + 1);
        }
    }
    let mut checkpointed = Vec::new();
    for at in 0..=size {
        let note = paced.store.checkpoint_at(at).expect("read");
        assert_eq!(queued.store.checkpoint_at(at).expect("read"), note, "{at}");
        if note.is_some() {
            checkpointed.push(at);
        }
    }
    assert_eq!(checkpointed, ends);

    // Received times come from the arrivals, never going back along the log.
    let received: Vec<i64> = (0..size)
        .map(|index| {
            let bytes = paced.store.entry(index).expect("read").expect("entry");
            decode_entry(&bytes)
                .expect("decodes")
                .received_at
                .expect("a time")
                .seconds
        })
        .collect();
    assert_eq!(received, [1_000, 1_001, 1_001, 1_003, 1_003, 1_006, 1_008]);
    // The erasure record takes its time from the log too.
    let erased = paced.token_of(1);
    let record = crate::storage::ErasureRecord::from_bytes(
        &paced.store.erasure_record(&erased).expect("a case"),
    )
    .expect("decodes");
    assert_eq!(record.requested_at, 1_006);

    // The details row is the v2 form and opens with the subject's own data key, which differs
    // between the replicas (made locally) while the entries agree.
    let token = paced.token_of(0);
    let entry = decode_entry(&paced.store.entry(0).expect("read").expect("entry")).expect("ok");
    let digest = entry.event.expect("event").details_digest;
    let master = crate::vault::MasterKey::from_bytes([5; 32]);
    let mut keys = Vec::new();
    for ledger in [&queued, &paced] {
        let row = ledger
            .store
            .sealed_details(&token, 0)
            .expect("read")
            .expect("sealed details");
        let data_key = master
            .unwrap_key(
                &token,
                &ledger
                    .store
                    .data_key_row(&token)
                    .expect("read")
                    .expect("key"),
            )
            .expect("unwraps");
        let recognised = crate::vault::DetailsRow::recognise(&row, &digest).expect("matches");
        assert!(matches!(recognised, crate::vault::DetailsRow::V2 { .. }));
        assert_eq!(
            data_key
                .open_details_row(&token, 0, recognised)
                .expect("opens")
                .as_slice(),
            b"ticket 17"
        );
        keys.push(ledger.store.data_key_row(&token).expect("read"));
    }
    assert_ne!(keys[0], keys[1], "each replica made its own data key");
}
