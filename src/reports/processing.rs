//! The record of processing activities (article 30), from the aggregates the commits maintain.
//!
//! The aggregates count original entries. Systems that a correction touched are recomputed
//! exactly from their by-system rows and the effective events (corrections are rare; their cost
//! is one scan of the systems concerned), every other system is read from its aggregates.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::Timestamp;

use super::{Corrections, Effective, ReportError};
use crate::proto::v1 as pb;
use crate::storage::LedgerStore;
use crate::storage::report_index::{Aggregate, AggregateKey, TAG_SYSTEM, aggregate_keys, named_prefix, time_nanos};
use crate::validation::is_eea_country;
use crate::validation::is_special_category;

/// Entries read together while recomputing a corrected system.
const READ_CHUNK: usize = 4096;

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
    // The systems of corrected entries: recomputed exactly.
    let targets: Vec<u64> = corrections.targets().filter(|t| *t < size).collect();
    let mut dirty = BTreeSet::new();
    for entry in store.decoded_entries(&targets)? {
        if let Some(event) = entry.event
            && wanted(&event.system)
        {
            dirty.insert(event.system);
        }
    }
    let mut out = BTreeMap::new();
    for (key, aggregate) in store.report_aggregates()? {
        if wanted(&key.system) && !dirty.contains(&key.system) {
            out.insert(key, aggregate);
        }
    }
    for system in &dirty {
        let mut indexes = store.report_scan_all(&named_prefix(TAG_SYSTEM, system))?;
        indexes.sort_unstable();
        indexes.dedup();
        indexes.retain(|i| *i < size);
        for chunk in indexes.chunks(READ_CHUNK) {
            for entry in store.decoded_entries(chunk)? {
                let Effective::Live { event, .. } = corrections.effective(&entry) else {
                    continue;
                };
                if &event.system != system {
                    continue;
                }
                let at = event.occurred_at.as_ref().map(time_nanos).unwrap_or(0);
                for key in aggregate_keys(&event) {
                    out.entry(key)
                        .and_modify(|a: &mut Aggregate| a.add(&Aggregate::one(at)))
                        .or_insert(Aggregate::one(at));
                }
            }
        }
    }
    out.retain(|_, a| a.count > 0);
    Ok(out)
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
            third_country: !key.country.is_empty() && !is_eea_country(&key.country),
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
