//! The writer thread: makes each planned group durable (one synced write, which holds the
//! group's checkpoint, signed by the sequencer), publishes the checkpoint, and answers the
//! group's jobs. It takes the groups one at a time, in the order they were planned, so that the
//! sequencer plans group n + 1 while group n's rows are made, and finishes it while group n's
//! write and WAL sync are in flight (the writer says when only that write is left:
//! [`WriterProgress::writing`]). No job is answered before its group's write has returned.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::group::{PlannedGroup, ReceiptSource, WriterProgress};
use super::{
    AppendError, AppendJob, Message, Receipt, SequencerParts, SequencerShared, SignedCheckpoint,
};
use crate::core::entry::decode_entry;
use crate::core::hash::leaf_hash;
use crate::storage::StorageError;

/// Writes the groups handed over until the sequencer drops its end. Once a group's rows are made
/// (only their write is left), and again once it is written or refused, it says so to
/// `progress`, and wakes the sequencer if it waits for that to finish the next group.
pub(super) fn run(
    parts: &SequencerParts,
    shared: &SequencerShared,
    groups: std::sync::mpsc::Receiver<PlannedGroup>,
    progress: &WriterProgress,
    wake: &tokio::sync::mpsc::WeakSender<Message>,
) {
    // Wakes the sequencer if it waits for the writer. A full queue needs no wake-up: the
    // sequencer is busy with the jobs in it, and looks at the progress after each batch.
    let wake_if_wanted = |wanted: bool| {
        if wanted && let Some(queue) = wake.upgrade() {
            let _ = queue.try_send(Message::WriterReady);
        }
    };
    for group in groups {
        write_group(parts, shared, group, &|| wake_if_wanted(progress.writing()));
        wake_if_wanted(progress.written());
    }
}

/// Commits one group and answers its jobs, calling `writing` once the group's rows are made,
/// before their write. A group planned on top of one whose write failed is refused: the
/// sequencer has failed, and what the group was planned on is not in the log.
pub(super) fn write_group(
    parts: &SequencerParts,
    shared: &SequencerShared,
    group: PlannedGroup,
    writing: &dyn Fn(),
) {
    if shared.has_failed() {
        let why = shared.failure().unwrap_or_default();
        refuse_all(shared, group.accepted, &why);
        return;
    }
    let checkpoint = match (&group.commit, &group.checkpoint) {
        (None, _) => shared.latest_checkpoint(),
        (Some(commit), _) if commit.entries.is_empty() => {
            // A replica's close of a transit epoch: durable rows, no entry, no new checkpoint.
            if let Err(error) = parts.store.commit(commit) {
                let why = format!("commit of a transit epoch's close failed: {error}");
                refuse_all(shared, group.accepted, &why);
                return;
            }
            shared.latest_checkpoint()
        }
        (Some(_), None) => {
            let why = format!(
                "entries up to {} were planned without a checkpoint",
                group.tail.size
            );
            refuse_all(shared, group.accepted, &why);
            return;
        }
        (Some(commit), Some(checkpoint)) => {
            let first = commit.entries.first().map_or(group.tail.size, |e| e.index);
            let commit_started = Instant::now();
            let committed = parts.store.commit_signalling(commit, writing);
            shared
                .stats
                .store_commit_duration
                .observe(commit_started.elapsed());
            if let Err(error) = committed {
                let why = format!(
                    "commit of entries {first}..{} failed: {error}",
                    group.tail.size
                );
                refuse_all(shared, group.accepted, &why);
                return;
            }
            shared.set_latest(checkpoint.clone());
            shared.stats.checkpoint_signed.mark();
            shared.stats.group_entries.observe(commit.entries.len());
            shared
                .stats
                .groups_committed
                .fetch_add(1, Ordering::Relaxed);
            shared
                .stats
                .entries_appended
                .fetch_add(commit.entries.len() as u64, Ordering::Relaxed);
            checkpoint.clone()
        }
    };

    for (job, sources) in group.accepted {
        let receipts: Result<Vec<Receipt>, AppendError> = sources
            .iter()
            .map(|source| match source {
                ReceiptSource::New {
                    position,
                    duplicate,
                } => {
                    let entry = group
                        .commit
                        .as_ref()
                        .and_then(|commit| commit.entries.get(*position))
                        .zip(group.leaves.get(*position));
                    let Some((entry, (leaf, token))) = entry else {
                        return Err(AppendError::Storage(StorageError::inconsistent(format!(
                            "receipt of position {position} outside the group"
                        ))));
                    };
                    Ok(Receipt {
                        index: entry.index,
                        leaf_hash: *leaf,
                        signature: entry.signature,
                        checkpoint: checkpoint.clone(),
                        duplicate: *duplicate,
                        subject_token: *token,
                    })
                }
                ReceiptSource::Existing(index) => existing_receipt(parts, *index, &checkpoint),
            })
            .collect();
        if receipts.is_ok() {
            shared
                .stats
                .jobs_acknowledged
                .fetch_add(1, Ordering::Relaxed);
        }
        let _ = job.reply.send(receipts);
    }
}

/// Fail-stop: marks the sequencer failed, then answers every job of the group `Unavailable`. In
/// that order, so that no caller sees its refusal while health still says serving.
pub(super) fn refuse_all(
    shared: &SequencerShared,
    accepted: Vec<(AppendJob, Vec<ReceiptSource>)>,
    why: &str,
) {
    shared.fail(why.to_owned());
    for (job, _) in accepted {
        let _ = job
            .reply
            .send(Err(AppendError::Unavailable(why.to_owned())));
    }
}

/// The receipt of an entry committed earlier; the checkpoint given is the latest, which includes
/// it (the writer answers groups in order, after the earlier groups' writes).
fn existing_receipt(
    parts: &SequencerParts,
    index: u64,
    checkpoint: &Arc<SignedCheckpoint>,
) -> Result<Receipt, AppendError> {
    let bytes = parts
        .store
        .entry(index)?
        .ok_or_else(|| StorageError::missing_entry(index))?;
    let signature = parts
        .store
        .signature(index)?
        .ok_or_else(|| StorageError::missing_signature(index))?;
    let subject_token = decode_entry(&bytes)
        .map_err(|e| StorageError::undecodable_entry(index, e))?
        .subject_token
        .try_into()
        .ok();
    Ok(Receipt {
        index,
        leaf_hash: leaf_hash(&bytes),
        signature,
        checkpoint: checkpoint.clone(),
        duplicate: true,
        subject_token,
    })
}
