//! The record of processing activities (article 30), from the aggregates the commits maintain.
//!
//! The aggregates count original entries. Corrections are applied as deltas at report time: each
//! corrected entry's original tuples lose one record and its effective tuples (none if retracted)
//! gain one at the entry's time. Counts are then exact, and so are first/last seen, except where
//! a removed record was a tuple's first or last: those tuples' bounds are found again by walking
//! the system's by-system rows in time order (from the start for `first`, from the end for
//! `last`) until a live entry with that tuple appears; usually a few rows.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::Timestamp;

use super::{Corrections, Effective, ReportError};
use crate::proto::v1 as pb;
use crate::storage::LedgerStore;
use crate::storage::report_index::{
    Aggregate, AggregateKey, TAG_SYSTEM, aggregate_keys, named_prefix, time_nanos,
};
use crate::validation::{is_special_category, is_third_country};

/// Entries read together while walking a system's rows.
const READ_CHUNK: usize = 256;

fn at(event: &pb::Event) -> i64 {
    event.occurred_at.as_ref().map(time_nanos).unwrap_or(0)
}

/// The article 30 tuples and their counts over the first `size` entries, for `systems` (all when
/// empty), in key order.
pub fn aggregates(
    store: &LedgerStore,
    systems: &BTreeSet<String>,
    size: u64,
) -> Result<BTreeMap<AggregateKey, Aggregate>, ReportError> {
    super::check_indexed(store, size)?;
    let corrections = Corrections::load(store, size)?;
    let wanted = |system: &str| systems.is_empty() || systems.contains(system);
    let mut out: BTreeMap<AggregateKey, Aggregate> = store
        .report_aggregates()?
        .into_iter()
        .filter(|(key, _)| wanted(&key.system))
        .collect();
    if corrections.is_empty() {
        return Ok(out);
    }
    let targets: Vec<u64> = corrections.targets().filter(|t| *t < size).collect();
    let targets = store.decoded_entries(&targets)?;
    // Tuples whose first or last record may have been removed, by system.
    let mut suspects: BTreeMap<String, BTreeSet<AggregateKey>> = BTreeMap::new();
    for entry in &targets {
        let Some(original) = &entry.event else {
            continue;
        };
        if !wanted(&original.system) {
            continue;
        }
        let when = at(original);
        for key in aggregate_keys(original) {
            if let Some(aggregate) = out.get_mut(&key) {
                if aggregate.first == when || aggregate.last == when {
                    suspects
                        .entry(key.system.clone())
                        .or_default()
                        .insert(key.clone());
                }
                aggregate.count -= 1;
            }
        }
    }
    for entry in &targets {
        if let Effective::Live { event, .. } = corrections.effective(entry)
            && wanted(&event.system)
        {
            let when = at(&event);
            for key in aggregate_keys(&event) {
                out.entry(key)
                    .and_modify(|a| a.add(&Aggregate::one(when)))
                    .or_insert(Aggregate::one(when));
            }
        }
    }
    out.retain(|_, a| a.count > 0);
    for (system, keys) in suspects {
        let keys: BTreeSet<AggregateKey> =
            keys.into_iter().filter(|k| out.contains_key(k)).collect();
        for reverse in [false, true] {
            let found = first_live(store, &corrections, &system, &keys, size, reverse)?;
            for (key, when) in found {
                if let Some(aggregate) = out.get_mut(&key) {
                    if reverse {
                        aggregate.last = when;
                    } else {
                        aggregate.first = when;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Walks `system`'s rows in time order (latest first if `reverse`) until every key of `keys` has
/// been seen in a live entry's effective tuples; returns each key's time there.
fn first_live(
    store: &LedgerStore,
    corrections: &Corrections,
    system: &str,
    keys: &BTreeSet<AggregateKey>,
    size: u64,
    reverse: bool,
) -> Result<BTreeMap<AggregateKey, i64>, ReportError> {
    let mut pending = keys.clone();
    let mut found = BTreeMap::new();
    let mut rows = store.report_rows(&named_prefix(TAG_SYSTEM, system), reverse)?;
    while !pending.is_empty() {
        let mut chunk = Vec::with_capacity(READ_CHUNK);
        for row in rows.by_ref() {
            let index = row?;
            if index < size && chunk.last() != Some(&index) {
                chunk.push(index);
            }
            if chunk.len() >= READ_CHUNK {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        for entry in store.decoded_entries(&chunk)? {
            let Effective::Live { event, .. } = corrections.effective(&entry) else {
                continue;
            };
            if event.system != system {
                continue;
            }
            for key in aggregate_keys(&event) {
                if pending.remove(&key) {
                    found.insert(key, at(&event));
                }
            }
        }
    }
    Ok(found)
}

fn timestamp(nanos: i64) -> Timestamp {
    Timestamp {
        seconds: nanos.div_euclid(1_000_000_000),
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

/// The article 30 record as the service returns it.
pub fn records_of_processing(
    store: &LedgerStore,
    systems: &BTreeSet<String>,
    size: u64,
) -> Result<Vec<pb::ProcessingRecord>, ReportError> {
    Ok(aggregates(store, systems, size)?
        .into_iter()
        .map(|(key, aggregate)| pb::ProcessingRecord {
            special_category: is_special_category(&key.category),
            third_country: is_third_country(&key.country),
            transfer_basis: key.transfer_basis.parse().unwrap_or(0),
            system: key.system,
            data_category: key.category,
            purpose: key.purpose,
            legal_basis: key.legal_basis,
            recipient: key.recipient,
            recipient_country: key.country,
            records: aggregate.count.max(0) as u64,
            first_seen: Some(timestamp(aggregate.first)),
            last_seen: Some(timestamp(aggregate.last)),
        })
        .collect())
}
