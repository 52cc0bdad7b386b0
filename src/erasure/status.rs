//! A subject's erasure status, derived from its chain of entries (as corrected): every system that collected its
//! data and every recipient that received it in a share, with the entry that notified each
//! recipient of the erasure (article 19) and the deletion that confirmed each.

use std::collections::BTreeMap;

use crate::core::entry::decode_entry;
pub use crate::core::holding::{HolderAnswer, HolderConfirmation, HolderExemption};
use crate::proto::v1::{EventKind, RecipientRole};
pub use crate::reports::Corrections;
use crate::reports::Effective;
use crate::storage::{ErasureRecord, LedgerStore, StorageError};

/// One system or recipient that held the subject's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The system (`event.system` of a collection) or recipient (`event.recipient.name`).
    pub name: String,
    /// A recipient outside the company.
    pub recipient: bool,
    /// For recipients: their role and country (from the latest share).
    pub role: RecipientRole,
    /// For recipients: their country.
    pub country: String,
    /// The first entry that put the data there.
    pub first_index: u64,
    /// The latest entry that put the data there.
    pub last_index: u64,
    /// For recipients: the erasure request passed on to them (naming them as `recipient`).
    pub notified: Option<HolderConfirmation>,
    /// The deletion confirmed and the exemption answered after `last_index`
    /// (`core::holding`).
    pub answer: HolderAnswer,
}

impl Holder {
    /// Whether this holder still owes an answer at `now`: no deletion confirmed, and no exemption
    /// in force (an exemption whose end date has passed opens the item again).
    pub fn pending(&self, now: i64) -> bool {
        self.answer.pending(now)
    }
}

/// When the holders had all answered an erasure request made at `requested` (an entry and its
/// time), for the register of requests (`docs/requests.md`): each holder answers with a deletion
/// confirmed or an exemption recorded (article 17(3)) after its latest data, whether or not the
/// exemption has ended since. The answer is the latest of those entries, and never earlier than
/// the request (data deleted before it was asked for is answered by the request itself); `None`
/// while a holder has not answered. Every entry that answered is returned, in log order.
pub fn answered_request(
    holders: &[Holder],
    requested: HolderConfirmation,
) -> Option<(Vec<u64>, HolderConfirmation)> {
    let mut latest = requested;
    let mut indexes = Vec::with_capacity(holders.len());
    for holder in holders {
        let answer = holder.answer.answered_by()?;
        indexes.push(answer.index);
        if (answer.at, answer.index) > (latest.at, latest.index) {
            latest = answer;
        }
    }
    indexes.sort_unstable();
    Some((indexes, latest))
}

/// A subject's erasure case and the holders of its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureStatus {
    /// The subject.
    pub token: [u8; 32],
    /// The case, if the subject's erasure was requested through the ledger.
    pub record: Option<ErasureRecord>,
    /// Every holder, by name.
    pub holders: Vec<Holder>,
}

impl ErasureStatus {
    /// Holders that owe an answer at `now` (Unix seconds).
    pub fn pending(&self, now: i64) -> usize {
        self.holders.iter().filter(|h| h.pending(now)).count()
    }

    /// Whether every holder has confirmed its deletion (exempted holders keep the case open: they
    /// must still delete, naming the subject by identifier, when the exemption ends).
    pub fn all_deleted(&self) -> bool {
        self.holders.iter().all(|h| h.answer.confirmed.is_some())
    }
}

/// Reads the subject's entries and derives its status, with `corrections` (loaded once by the
/// caller, however many subjects it asks about) applied.
pub fn compute_status(
    store: &LedgerStore,
    token: [u8; 32],
    corrections: &Corrections,
) -> Result<ErasureStatus, StorageError> {
    let record = store
        .erasure_record(&token)?
        .map(|bytes| ErasureRecord::from_bytes(&bytes))
        .transpose()?;
    Ok(ErasureStatus {
        token,
        record,
        holders: holders_below(store, token, corrections, u64::MAX)?,
    })
}

/// The holders of the subject's data among its entries below index `size`, with `corrections`
/// (loaded for at least those entries) applied.
pub fn holders_below(
    store: &LedgerStore,
    token: [u8; 32],
    corrections: &Corrections,
    size: u64,
) -> Result<Vec<Holder>, StorageError> {
    let mut holders: BTreeMap<String, Holder> = BTreeMap::new();
    // A retracted collection or share put no data anywhere; an amended one counts as amended.
    for index in store.subject_entries(&token)? {
        if index >= size {
            break;
        }
        let bytes = store
            .entry(index)?
            .ok_or_else(|| StorageError::missing_entry(index))?;
        let entry = decode_entry(&bytes).map_err(|e| StorageError::undecodable_entry(index, e))?;
        let event = match corrections.effective(&entry) {
            Effective::Retracted => continue,
            Effective::Live { event, .. } => *event,
        };
        let at = event.occurred_at.map_or(0, |t| t.seconds);
        let stamp = HolderConfirmation { index, at };
        let mut hold = |name: &str, recipient: Option<&crate::proto::v1::Recipient>| {
            let holder = holders.entry(name.to_owned()).or_insert_with(|| Holder {
                name: name.to_owned(),
                recipient: recipient.is_some(),
                role: RecipientRole::Unspecified,
                country: String::new(),
                first_index: index,
                last_index: index,
                notified: None,
                answer: HolderAnswer::default(),
            });
            holder.last_index = index;
            holder.answer.arrived();
            if let Some(recipient) = recipient {
                holder.recipient = true;
                holder.role = recipient.role();
                holder.country.clone_from(&recipient.country);
            }
        };
        match event.kind() {
            EventKind::Collection => hold(&event.system, None),
            EventKind::Share => {
                if let Some(recipient) = &event.recipient {
                    hold(&recipient.name, Some(recipient));
                }
            }
            EventKind::ErasureRequested => {
                if let Some(recipient) = &event.recipient
                    && let Some(holder) = holders.get_mut(&recipient.name)
                {
                    holder.notified = Some(stamp);
                }
            }
            EventKind::DeletionDone => {
                if let Some(holder) = holders.get_mut(&event.system) {
                    holder.answer.deleted(stamp);
                }
            }
            EventKind::ErasureExempted => {
                if let (Some(holder), Some(exemption)) =
                    (holders.get_mut(&event.system), &event.exemption)
                {
                    holder
                        .answer
                        .exempted(HolderExemption::of(stamp, exemption));
                }
            }
            _ => {}
        }
    }
    Ok(holders.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(name: &str, confirmed: Option<(u64, i64)>, exempted: Option<(u64, i64)>) -> Holder {
        let stamp = |(index, at)| HolderConfirmation { index, at };
        Holder {
            name: name.into(),
            recipient: false,
            role: RecipientRole::Unspecified,
            country: String::new(),
            first_index: 1,
            last_index: 1,
            notified: None,
            answer: HolderAnswer {
                confirmed: confirmed.map(stamp),
                exempted: exempted.map(|answer| HolderExemption {
                    stamp: stamp(answer),
                    legal_ground: "eu-gdpr:A17-3-b".into(),
                    // Ended long ago: an exemption answered the request even once it has ended.
                    until: Some(1),
                    reason: "invoices".into(),
                }),
            },
        }
    }

    #[test]
    fn a_request_is_answered_once_every_holder_has_deleted_or_claimed_an_exemption() {
        let requested = HolderConfirmation { index: 5, at: 100 };
        let crm = holder("crm", Some((8, 300)), None);
        let billing = holder("billing", None, Some((6, 200)));
        let mailer = holder("mailer-eu", None, None);
        assert_eq!(
            answered_request(&[crm.clone(), billing.clone()], requested),
            Some((vec![6, 8], HolderConfirmation { index: 8, at: 300 }))
        );
        assert_eq!(answered_request(&[crm, billing, mailer], requested), None);
        // Data deleted before the request was made is answered by the request itself.
        let early = holder("crm", Some((3, 50)), None);
        assert_eq!(
            answered_request(&[early], requested),
            Some((vec![3], requested))
        );
        // Nobody held anything: the request answers itself.
        assert_eq!(answered_request(&[], requested), Some((vec![], requested)));
    }
}
