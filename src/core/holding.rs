//! What a holder of a subject's data has answered since the data last arrived there: the one
//! definition of "deletion confirmed" and "exemption in force", shared by the erasure status
//! (`erasure::status`, per holder) and the retention rule (`core::retention`, per holder, data
//! category and purpose).
//!
//! - Data arriving again (a collection in the system, a share to the recipient) must be deleted
//!   again: it clears what was answered before.
//! - A `deletion_done` from the holder confirms the deletion and ends any exemption.
//! - An `erasure_exempted` from the holder, unless a deletion is already confirmed, is the
//!   exemption (the latest one replaces an earlier one).
//! - The holder still owes a deletion at `now` when none is confirmed and no exemption is in
//!   force: an exemption is in force until its `until` (exclusive), or for good without one.

/// An entry that did something for a holder: its index and the event's `occurred_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolderConfirmation {
    /// The entry.
    pub index: u64,
    /// When it happened (Unix seconds, the event's `occurred_at`).
    pub at: i64,
}

/// An exemption a holder answered with instead of a deletion (article 17(3)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderExemption {
    /// The `erasure_exempted` entry and when it happened.
    pub stamp: HolderConfirmation,
    /// Its ground (`eu-gdpr:JustificationA17LegalClaims` and the other `validation` exemption grounds).
    pub legal_ground: String,
    /// Until when (Unix seconds); `None`: until further notice.
    pub until: Option<i64>,
    /// Its short reference.
    pub reason: String,
}

impl HolderExemption {
    /// The exemption an `erasure_exempted` entry carries.
    pub fn of(stamp: HolderConfirmation, exemption: &crate::proto::v1::Exemption) -> Self {
        HolderExemption {
            stamp,
            legal_ground: exemption.legal_ground.clone(),
            until: exemption.until.as_ref().map(|t| t.seconds),
            reason: exemption.reason.clone(),
        }
    }

    /// Whether the exemption still holds at `now` (Unix seconds).
    pub fn in_force(&self, now: i64) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

/// A holder's answers since its data last arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolderAnswer {
    /// The `deletion_done` from this holder after the data last arrived.
    pub confirmed: Option<HolderConfirmation>,
    /// The latest `erasure_exempted` from this holder after the data last arrived, unless a
    /// deletion followed it.
    pub exempted: Option<HolderExemption>,
}

impl HolderAnswer {
    /// Data arrived (again): it must be deleted again.
    pub fn arrived(&mut self) {
        self.confirmed = None;
        self.exempted = None;
    }

    /// The holder confirmed a deletion.
    pub fn deleted(&mut self, stamp: HolderConfirmation) {
        self.confirmed = Some(stamp);
        self.exempted = None;
    }

    /// The holder answered with an exemption; ignored once a deletion is confirmed.
    pub fn exempted(&mut self, exemption: HolderExemption) {
        if self.confirmed.is_none() {
            self.exempted = Some(exemption);
        }
    }

    /// The entry that answered an erasure request for the holder: its deletion confirmed, or
    /// its exemption recorded (article 17(3)), even one that has ended since; `None` while it
    /// has answered neither.
    pub fn answered_by(&self) -> Option<HolderConfirmation> {
        self.confirmed
            .or_else(|| self.exempted.as_ref().map(|exemption| exemption.stamp))
    }

    /// Whether the holder still owes a deletion at `now` (Unix seconds): none confirmed, and no
    /// exemption in force (an exemption whose end date has passed opens the item again).
    pub fn pending(&self, now: i64) -> bool {
        self.confirmed.is_none() && !self.exempted.as_ref().is_some_and(|e| e.in_force(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(index: u64) -> HolderConfirmation {
        HolderConfirmation { index, at: 0 }
    }

    fn exemption(until: Option<i64>) -> HolderExemption {
        HolderExemption {
            stamp: stamp(2),
            legal_ground: "eu-gdpr:JustificationA17LegalClaims".into(),
            until,
            reason: "legal hold".into(),
        }
    }

    #[test]
    fn an_exemption_holds_until_its_end_and_not_after_a_deletion() {
        let mut answer = HolderAnswer::default();
        assert!(answer.pending(0));
        answer.exempted(exemption(Some(100)));
        assert!(!answer.pending(99));
        assert!(answer.pending(100), "an exemption ends at its until");
        answer.deleted(stamp(3));
        assert!(!answer.pending(1_000));
        answer.exempted(exemption(None));
        assert_eq!(
            answer.exempted, None,
            "no exemption after a confirmed deletion"
        );
        answer.arrived();
        assert!(
            answer.pending(1_000),
            "data that arrives again is owed again"
        );
    }
}
