//! Fail-stop: after a failed commit the sequencer refuses every append, reports itself failed,
//! and the disk holds nothing of the failed group.

use std::sync::Arc;

use super::{AppendError, CorrectionRights, PreparedEvent, SequencerConfig, SequencerParts, start};
use crate::core::directory::PseudonymSecret;
use crate::core::signature::LogSigner;
use crate::proto::v1::Event;
use crate::storage::LedgerStore;

pub(super) const ORIGIN: &str = "ledger.test/fail-stop";

fn event(id: &str) -> PreparedEvent {
    PreparedEvent {
        event: Event {
            event_id: id.into(),
            ..Event::default()
        },
        subject_row: None,
        linked_row: None,
        content_digest: *blake3::hash(id.as_bytes()).as_bytes(),
        details: None,
        identifiers: Vec::new(),
        subject_token: None,
        opens_erasure: None,
    }
}

/// The parts of a test sequencer over `store`, with fixed keys and secrets.
pub(super) fn parts(store: Arc<dyn crate::storage::TailStore>) -> SequencerParts {
    SequencerParts {
        store,
        signer: Arc::new(LogSigner::from_seed(ORIGIN, &[3u8; 32]).expect("signer")),
        cosigners: Vec::new(),
        pseudonym_secret: PseudonymSecret::from_bytes([4u8; 32]),
        master_key: Arc::new(crate::vault::MasterKey::from_bytes([5u8; 32])),
        origin: ORIGIN.into(),
        config: SequencerConfig::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_stops_the_sequencer_and_nothing_of_it_is_on_disk() {
    let (_dir, store) = LedgerStore::temporary(ORIGIN);
    let store = Arc::new(store);
    let (handle, thread) = start(parts(store.clone())).expect("start");

    let first = handle
        .append(
            "crm".into(),
            CorrectionRights::OwnEntries,
            vec![event("e-1")],
        )
        .await
        .expect("the first append commits");
    assert_eq!(first[0].index, 0);

    store
        .fail_next_commit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = handle
        .append(
            "crm".into(),
            CorrectionRights::OwnEntries,
            vec![event("e-2"), event("e-3")],
        )
        .await
        .expect_err("the commit fails");
    assert!(matches!(failed, AppendError::Unavailable(_)), "{failed:?}");
    assert!(handle.shared().has_failed());
    // The latest checkpoint is still the last durable state.
    assert_eq!(handle.shared().latest_checkpoint().size, 1);

    // Fail-stop: later appends are refused even though the disk would take them now.
    let refused = handle
        .append(
            "crm".into(),
            CorrectionRights::OwnEntries,
            vec![event("e-4")],
        )
        .await
        .expect_err("refused after the failure");
    assert!(
        matches!(refused, AppendError::Unavailable(_)),
        "{refused:?}"
    );
    assert_eq!(store.tree_size().expect("size"), 1);

    handle.stop().await;
    drop(handle);
    thread.join().expect("the sequencer thread stops");

    // A restart continues from the durable tail, not from the failed group.
    let (handle, thread) = start(parts(store.clone())).expect("restart");
    let next = handle
        .append(
            "crm".into(),
            CorrectionRights::OwnEntries,
            vec![event("e-2")],
        )
        .await
        .expect("appends resume after a restart");
    assert_eq!(next[0].index, 1);
    assert!(!next[0].duplicate, "e-2 was never committed");
    handle.stop().await;
    drop(handle);
    thread.join().expect("stops");
}
