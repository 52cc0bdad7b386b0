//! Epoch closes (`docs/replication.md` section 3): the control message `close(e)` that ends a
//! transit epoch in the stream, and the rule every replica applies to it.
//!
//! Once the stream holds `close(e)`, every request of an epoch up to `e` that comes after it is
//! refused unopened, on every replica alike (the stream's order decides, not a clock), and the
//! receiving node seals it again under an open epoch. A replica that applied `close(e)` has applied
//! every request of `e` it will ever apply, so once it has applied `close(e + keep)` it destroys
//! `T_e`: the ratchet moves past it and its file is rewritten.
//!
//! The message is not sealed (it holds nothing personal) but its id carries a tag only a holder of
//! `T_e` can make (`transit::close_msg_id`), so a publisher without the ratchet cannot close an
//! epoch early and have its requests refused. Every replica makes the same id, so the replicas'
//! copies of one close deduplicate in the stream, and a late copy applies as nothing.

use prost::Message as _;

use super::input_log::Outgoing;
use super::transit::{
    LEDGER_FORMAT, TransitError, TransitKey, TransitRatchet, close_msg_id, parse_close_msg_id,
};
use crate::proto::v1 as pb;
use crate::storage::ClosedEpoch;

/// The message `close(e)`, made with `T_e`.
pub fn close_message(key: &TransitKey) -> Outgoing {
    let control = pb::ReplicationControl {
        control: Some(pb::replication_control::Control::CloseEpoch(key.epoch())),
    };
    Outgoing {
        msg_id: close_msg_id(key),
        format: LEDGER_FORMAT.to_string(),
        epoch: key.epoch().to_string(),
        body: control.encode_to_vec(),
    }
}

/// What a replica does with a message whose id has the close form.
#[derive(Debug, PartialEq, Eq)]
pub enum CloseDecision {
    /// It closes a new epoch: write this record with the message's sequence, then destroy the
    /// keys before `oldest_kept` once the write is durable.
    Apply(ClosedEpoch),
    /// It closes an epoch already closed (a replica's late copy): nothing to do.
    AlreadyClosed,
    /// No replica of the deployment made it: its tag, headers or body are not a close's.
    NotMadeByUs(String),
    /// Its epoch's key is gone here while the epoch is not closed: this replica cannot tell.
    Unusable(String),
}

/// The rule, the same on every replica: `closed` is the latest epoch closed before this message
/// in the stream, `keep` the epochs whose keys are kept after a close (`transit_keep_epochs`),
/// and `first_epoch` the deployment's first epoch once the genesis matched.
pub fn decide(
    message: &Outgoing,
    ratchet: &TransitRatchet,
    closed: Option<u64>,
    keep: u64,
    first_epoch: Option<u64>,
) -> CloseDecision {
    let Some((epoch, tag)) = parse_close_msg_id(&message.msg_id) else {
        return CloseDecision::NotMadeByUs("an id that is not a close's".into());
    };
    let well_formed = message.format == LEDGER_FORMAT.to_string()
        && message.epoch == epoch.to_string()
        && pb::ReplicationControl::decode(message.body.as_slice()).is_ok_and(|control| {
            control.control == Some(pb::replication_control::Control::CloseEpoch(epoch))
        });
    if !well_formed {
        return CloseDecision::NotMadeByUs(format!(
            "a close of epoch {epoch} whose headers or body are not a close's"
        ));
    }
    // Decided before any key is asked for, so that it does not depend on which keys this
    // replica still holds.
    if closed.is_some_and(|closed| epoch <= closed) {
        return CloseDecision::AlreadyClosed;
    }
    let key = match ratchet.key(epoch) {
        Ok(key) => key,
        Err(error @ TransitError::EpochTooFar { .. }) => {
            return CloseDecision::NotMadeByUs(error.to_string());
        }
        Err(error @ TransitError::EpochDestroyed { epoch, .. })
            if first_epoch.is_some_and(|first| epoch < first) =>
        {
            return CloseDecision::NotMadeByUs(format!(
                "{error}, and before the deployment's first"
            ));
        }
        Err(error) => return CloseDecision::Unusable(error.to_string()),
    };
    // blake3::Hash compares in constant time.
    if key.close_tag() != tag {
        return CloseDecision::NotMadeByUs(format!(
            "a close of epoch {epoch} whose tag was not made with its transit key"
        ));
    }
    let oldest_kept = ratchet.oldest_epoch().max((epoch + 1).saturating_sub(keep));
    match ratchet.check_value(oldest_kept) {
        Ok(oldest_kept_check) => CloseDecision::Apply(ClosedEpoch {
            epoch,
            oldest_kept,
            oldest_kept_check,
        }),
        Err(error) => CloseDecision::Unusable(error.to_string()),
    }
}

/// The latest epoch whose close is due at `now` (Unix seconds): every epoch that ended at least
/// `grace_secs` ago. `None` before the first such epoch.
pub fn due(now: i64, epoch_secs: u64, grace_secs: u64) -> Option<u64> {
    let ended_by = now.checked_sub(i64::try_from(grace_secs).ok()?)?;
    super::transit::epoch_of(ended_by, epoch_secs).checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratchet() -> TransitRatchet {
        TransitRatchet::new(10, [5; 32])
    }

    #[test]
    fn a_close_made_with_the_epochs_key_applies_once_and_keeps_the_window() {
        let message = close_message(&ratchet().key(12).expect("key"));
        let CloseDecision::Apply(record) = decide(&message, &ratchet(), None, 1, Some(10)) else {
            panic!("not applied");
        };
        assert_eq!((record.epoch, record.oldest_kept), (12, 12));
        assert_eq!(
            record.oldest_kept_check,
            ratchet().check_value(12).expect("check")
        );
        // Keep 0: nothing of epoch 12 is kept; keep 5: nothing before the ratchet's oldest.
        let CloseDecision::Apply(none_kept) = decide(&message, &ratchet(), None, 0, Some(10))
        else {
            panic!("not applied");
        };
        assert_eq!(none_kept.oldest_kept, 13);
        let CloseDecision::Apply(all_kept) = decide(&message, &ratchet(), Some(11), 5, Some(10))
        else {
            panic!("not applied");
        };
        assert_eq!(all_kept.oldest_kept, 10);
        // A late copy, or a close of an earlier epoch, does nothing, whatever keys are left.
        assert_eq!(
            decide(&message, &ratchet(), Some(12), 1, Some(10)),
            CloseDecision::AlreadyClosed
        );
        let mut destroyed = ratchet();
        destroyed.advance_to(20).expect("advances");
        assert_eq!(
            decide(&message, &destroyed, Some(19), 1, Some(10)),
            CloseDecision::AlreadyClosed
        );
    }

    #[test]
    fn a_close_no_replica_made_is_told_apart() {
        let other = TransitRatchet::new(10, [6; 32]);
        let forged = close_message(&other.key(12).expect("key"));
        assert!(matches!(
            decide(&forged, &ratchet(), None, 1, Some(10)),
            CloseDecision::NotMadeByUs(why) if why.contains("tag")
        ));
        let genuine = close_message(&ratchet().key(12).expect("key"));
        let mut wrong_header = genuine.clone();
        wrong_header.epoch = "13".into();
        let mut wrong_body = genuine.clone();
        wrong_body.body = pb::ReplicationControl {
            control: Some(pb::replication_control::Control::CloseEpoch(13)),
        }
        .encode_to_vec();
        let mut wrong_format = genuine.clone();
        wrong_format.format = "2".into();
        let mut not_an_id = genuine;
        not_an_id.msg_id = "close.12".into();
        for message in [wrong_header, wrong_body, wrong_format, not_an_id] {
            assert!(
                matches!(
                    decide(&message, &ratchet(), None, 1, Some(10)),
                    CloseDecision::NotMadeByUs(_)
                ),
                "{message:?}"
            );
        }
        let far = close_message(
            &TransitRatchet::new(200_010, [5; 32])
                .key(200_010)
                .expect("key"),
        );
        assert!(matches!(
            decide(&far, &ratchet(), None, 1, Some(10)),
            CloseDecision::NotMadeByUs(_)
        ));
    }

    #[test]
    fn closes_fall_due_a_grace_after_their_epoch_ends() {
        // Epochs of 10 s, grace 3 s: epoch 4 is [40, 50), due from 53 on.
        assert_eq!(due(52, 10, 3), Some(3));
        assert_eq!(due(53, 10, 3), Some(4));
        assert_eq!(due(12, 10, 3), None);
        assert_eq!(due(2, 10, 3), None);
    }
}
