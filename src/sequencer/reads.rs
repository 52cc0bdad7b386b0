//! What a group's jobs name, read from the store before planning: one batched read per family
//! (event ids and directory rows, then the heads and data keys of the subjects found; not the
//! heads the sequencer planned lately, which it keeps, `sequencer::head_cache`), instead of point
//! reads interleaved with planning, job by job. The planner consults the group's own state first
//! (what earlier jobs of the group changed), then what it planned before, these reads next, and
//! the store only for what they do not cover.

use std::collections::HashMap;

use super::AppendJob;
use crate::storage::{EventIdRecord, StorageError, SubjectHead, TailStore};

/// The durable state a group's jobs name, as it was before the group.
#[derive(Debug, Default)]
pub(super) struct GroupReads {
    /// By producer, then event id: looked up by `&str` without allocating.
    event_ids: HashMap<String, HashMap<String, Option<EventIdRecord>>>,
    directory: HashMap<[u8; 32], Option<[u8; 32]>>,
    heads: HashMap<[u8; 32], Option<SubjectHead>>,
    data_keys: HashMap<[u8; 32], Option<Vec<u8>>>,
}

impl GroupReads {
    /// Reads what `jobs` name, adding to what earlier jobs of the group read, but for the heads
    /// of the subjects `head_planned` says the sequencer has in memory. A failed read adds
    /// nothing to its family: the planner then reads per job, and refuses the job whose read
    /// fails.
    pub(super) fn gather(
        &mut self,
        store: &dyn TailStore,
        jobs: &[AppendJob],
        head_planned: impl Fn(&[u8; 32]) -> bool,
    ) {
        let reads = self;
        let events = || {
            jobs.iter()
                .flat_map(|job| job.events.iter().map(move |e| (job, e)))
        };

        let mut id_keys: Vec<(&str, &str)> = events()
            .map(|(job, e)| (job.producer.as_str(), e.event.event_id.as_str()))
            .collect();
        id_keys.sort_unstable();
        id_keys.dedup();
        if let Ok(found) = store.event_ids(&id_keys) {
            for ((producer, id), record) in id_keys.iter().zip(found) {
                reads
                    .event_ids
                    .entry((*producer).to_owned())
                    .or_default()
                    .insert((*id).to_owned(), record);
            }
        }

        let mut rows: Vec<[u8; 32]> = events()
            .flat_map(|(_, e)| e.subject_row.into_iter().chain(e.linked_row))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        if let Ok(found) = store.directory_tokens(&rows) {
            reads.directory.extend(rows.into_iter().zip(found));
        }

        // The subjects these events concern, as far as the directory knows them already.
        let token_of = |e: &super::PreparedEvent| {
            e.subject_token.or_else(|| {
                e.subject_row
                    .and_then(|row| reads.directory.get(&row).copied().flatten())
            })
        };
        let mut tokens: Vec<[u8; 32]> = events()
            .filter_map(|(_, e)| token_of(e))
            .filter(|token| !head_planned(token))
            .collect();
        let mut sealing: Vec<[u8; 32]> = events()
            .filter(|(_, e)| e.details.is_some() || e.opens_erasure.is_some())
            .filter_map(|(_, e)| token_of(e))
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        sealing.sort_unstable();
        sealing.dedup();
        if let Ok(found) = store.subject_heads(&tokens) {
            reads.heads.extend(tokens.into_iter().zip(found));
        }
        if let Ok(found) = store.data_key_rows(&sealing) {
            reads.data_keys.extend(sealing.into_iter().zip(found));
        }
    }

    /// The event-id row of `(producer, event id)`, read or from the store.
    pub(super) fn event_id(
        &self,
        store: &dyn TailStore,
        producer: &str,
        event_id: &str,
    ) -> Result<Option<EventIdRecord>, StorageError> {
        match self
            .event_ids
            .get(producer)
            .and_then(|ids| ids.get(event_id))
        {
            Some(found) => Ok(*found),
            None => store.event_id(producer, event_id),
        }
    }

    /// The token of a directory row, read or from the store.
    pub(super) fn directory_token(
        &self,
        store: &dyn TailStore,
        row: &[u8; 32],
    ) -> Result<Option<[u8; 32]>, StorageError> {
        match self.directory.get(row) {
            Some(found) => Ok(*found),
            None => store.directory_token(row),
        }
    }

    /// A subject's head, read or from the store.
    pub(super) fn subject_head(
        &self,
        store: &dyn TailStore,
        token: &[u8; 32],
    ) -> Result<Option<SubjectHead>, StorageError> {
        match self.heads.get(token) {
            Some(found) => Ok(*found),
            None => store.subject_head(token),
        }
    }

    /// A subject's data key row, read or from the store.
    pub(super) fn data_key_row(
        &self,
        store: &dyn TailStore,
        token: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        match self.data_keys.get(token) {
            Some(found) => Ok(found.clone()),
            None => store.data_key_row(token),
        }
    }
}
