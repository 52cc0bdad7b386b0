//! The stream's first message (`docs/replication.md` section 5): what every replica must match
//! before it applies anything, and what lets a replica skip a message that no correctly
//! provisioned replica can open.
//!
//! The first replica to join an empty stream publishes the genesis, only while the stream is
//! empty (a publish that expects last sequence 0), under a fixed message id, so that replicas
//! starting together store one. It is not sealed (it holds nothing secret): the log's origin, its
//! verifier key ids, and a check value of each shared secret (`BLAKE3-keyed(secret,
//! "gdpr-ledger:replica-check:v1")`: directory, pseudonym and master secrets, then the transit
//! key of the ratchet's oldest epoch, with that epoch). Every replica compares them with its own:
//! a replica provisioned with other secrets stops before applying anything, naming what differs.
//!
//! A replica whose genesis matched holds the deployment's transit ratchet, so a later message
//! that does not open under its epoch's key was sealed by no replica of this deployment: every
//! correctly provisioned replica refuses it the same way and skips it, and the logs stay the
//! same. Without a matching genesis (a stream made before it, or whose first message retention
//! dropped) a replica cannot tell, and stops at such a message instead.

use prost::Message as _;

use super::input_log::Outgoing;
use super::transit::{LEDGER_FORMAT, TransitError, TransitRatchet, check_value};
use crate::proto::v1 as pb;
use crate::storage::ClosedEpoch;

/// The `Nats-Msg-Id` of the genesis message.
pub const GENESIS_MSG_ID: &str = "gdpr-ledger.genesis";

/// What a replica was provisioned with, as a genesis message shows it (no secret in it).
#[derive(Clone, PartialEq, Eq)]
pub struct Provisioning {
    /// The log's origin.
    pub origin: String,
    /// Key ids (hex) of the log keys that sign its checkpoints.
    pub verifier_key_ids: Vec<String>,
    /// The check values of the directory, pseudonym and master secrets, in that order.
    pub secrets_check: [[u8; 32]; 3],
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioning")
            .field("origin", &self.origin)
            .field("verifier_key_ids", &self.verifier_key_ids)
            .finish_non_exhaustive()
    }
}

impl Provisioning {
    /// From the shared secrets themselves.
    pub fn new(
        origin: &str,
        verifier_key_ids: Vec<String>,
        directory_secret: &[u8; 32],
        pseudonym_secret: &[u8; 32],
        master_key: &crate::vault::MasterKey,
    ) -> Self {
        Self {
            origin: origin.to_owned(),
            verifier_key_ids,
            secrets_check: [
                check_value(directory_secret),
                check_value(pseudonym_secret),
                master_key.keyed_check(super::transit::REPLICA_CHECK),
            ],
        }
    }

    /// The genesis message of a stream this replica makes.
    pub fn genesis(&self, ratchet: &TransitRatchet) -> Result<Outgoing, TransitError> {
        let epoch = ratchet.oldest_epoch();
        let genesis = pb::Genesis {
            origin: self.origin.clone(),
            verifier_key_ids: self.verifier_key_ids.clone(),
            secrets_check: self.secrets_check.concat(),
            tree_size: 0,
            ratchet_epoch: epoch,
            ratchet_check: ratchet.check_value(epoch)?.to_vec(),
        };
        let control = pb::ReplicationControl {
            control: Some(pb::replication_control::Control::Genesis(genesis)),
        };
        Ok(Outgoing {
            msg_id: GENESIS_MSG_ID.to_owned(),
            format: LEDGER_FORMAT.to_string(),
            epoch: epoch.to_string(),
            body: control.encode_to_vec(),
        })
    }

    /// Whether the genesis `message` was made by a replica provisioned as this one and
    /// `ratchet`: the deployment's first transit epoch (no replica seals under an earlier one), or
    /// what differs. `recorded` is this replica's latest applied close (its data dir's record):
    /// once the ratchet has moved past the genesis epoch (its key destroyed), the ratchet is
    /// checked against the key check that close recorded instead.
    pub fn check(
        &self,
        message: &Outgoing,
        ratchet: &TransitRatchet,
        recorded: Option<&ClosedEpoch>,
    ) -> Result<u64, GenesisError> {
        let control = pb::ReplicationControl::decode(message.body.as_slice())
            .map_err(|e| GenesisError::Malformed(e.to_string()))?;
        let Some(pb::replication_control::Control::Genesis(genesis)) = control.control else {
            return Err(GenesisError::Malformed("not a genesis".into()));
        };
        if genesis.origin != self.origin {
            return Err(GenesisError::Differs(format!(
                "the stream's log is {:?}, this replica's {:?}",
                genesis.origin, self.origin
            )));
        }
        if genesis.verifier_key_ids != self.verifier_key_ids {
            return Err(GenesisError::Differs(format!(
                "the stream's log keys are {:?}, this replica's {:?}",
                genesis.verifier_key_ids, self.verifier_key_ids
            )));
        }
        if genesis.tree_size != 0 {
            return Err(GenesisError::Differs(format!(
                "the stream continues a log of {} entries, which this version cannot join",
                genesis.tree_size
            )));
        }
        if genesis.secrets_check.len() != 96 {
            return Err(GenesisError::Malformed(format!(
                "secrets_check of {} bytes, not 96",
                genesis.secrets_check.len()
            )));
        }
        for (position, name) in ["directory secret", "pseudonym secret", "master key"]
            .iter()
            .enumerate()
        {
            let theirs = &genesis.secrets_check[position * 32..position * 32 + 32];
            if theirs != self.secrets_check[position].as_slice() {
                return Err(GenesisError::Differs(format!(
                    "this replica's {name} is not the one the stream was made with"
                )));
            }
        }
        match ratchet.check_value(genesis.ratchet_epoch) {
            Ok(mine) if mine.as_slice() == genesis.ratchet_check => Ok(genesis.ratchet_epoch),
            Ok(_) => Err(GenesisError::Differs(
                "this replica's transit ratchet is not the one the stream was made with".into(),
            )),
            Err(error) => match recorded.filter(|r| r.oldest_kept >= genesis.ratchet_epoch) {
                Some(recorded) => match ratchet.check_value(recorded.oldest_kept) {
                    Ok(mine) if mine == recorded.oldest_kept_check => Ok(genesis.ratchet_epoch),
                    Ok(_) => Err(GenesisError::Differs(format!(
                        "this replica's transit ratchet is not the one its data dir recorded at \
                         epoch {} (when it applied the close of epoch {})",
                        recorded.oldest_kept, recorded.epoch
                    ))),
                    Err(error) => Err(GenesisError::Unverifiable(error.to_string())),
                },
                None => Err(GenesisError::Unverifiable(error.to_string())),
            },
        }
    }
}

/// Why a genesis message does not let a replica apply the stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenesisError {
    /// The replica was provisioned with other secrets or another log than the stream's.
    #[error("the stream's genesis does not match this replica: {0}")]
    Differs(String),
    /// Not a genesis message.
    #[error("the stream's genesis does not decode: {0}")]
    Malformed(String),
    /// The ratchet can no longer make the genesis epoch's key (it was destroyed).
    #[error("the stream's genesis cannot be checked: {0}")]
    Unverifiable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provisioning(directory: u8) -> Provisioning {
        Provisioning::new(
            "ledger.test/gdpr",
            vec!["0a0b0c0d".into()],
            &[directory; 32],
            &[2; 32],
            &crate::vault::MasterKey::from_bytes([3; 32]),
        )
    }

    #[test]
    fn a_replica_provisioned_alike_matches_and_every_difference_is_named() {
        let ratchet = TransitRatchet::new(100, [9; 32]);
        let genesis = provisioning(1).genesis(&ratchet).expect("genesis");
        assert_eq!(genesis.msg_id, GENESIS_MSG_ID);
        assert_eq!(provisioning(1).check(&genesis, &ratchet, None), Ok(100));
        // A ratchet copied later, at a later oldest epoch, still makes the genesis epoch's key
        // only if it is not past it.
        let later = TransitRatchet::new(101, [9; 32]);
        assert!(matches!(
            provisioning(1).check(&genesis, &later, None),
            Err(GenesisError::Unverifiable(_))
        ));

        // Past the genesis epoch, the ratchet is checked against what this replica's data dir
        // recorded when it applied its latest close.
        let mut advanced = TransitRatchet::new(100, [9; 32]);
        advanced.advance_to(101).expect("advances");
        let recorded = ClosedEpoch {
            epoch: 100,
            oldest_kept: 101,
            oldest_kept_check: advanced.check_value(101).expect("check"),
        };
        assert!(matches!(
            provisioning(1).check(&genesis, &advanced, None),
            Err(GenesisError::Unverifiable(_))
        ));
        assert_eq!(
            provisioning(1).check(&genesis, &advanced, Some(&recorded)),
            Ok(100)
        );
        let wrong_later = TransitRatchet::new(101, [8; 32]);
        assert!(matches!(
            provisioning(1).check(&genesis, &wrong_later, Some(&recorded)),
            Err(GenesisError::Differs(why)) if why.contains("recorded at epoch 101")
        ));
        let beyond = TransitRatchet::new(102, [9; 32]);
        assert!(matches!(
            provisioning(1).check(&genesis, &beyond, Some(&recorded)),
            Err(GenesisError::Unverifiable(_))
        ));

        let other_directory = provisioning(7).check(&genesis, &ratchet, None);
        assert!(
            matches!(&other_directory, Err(GenesisError::Differs(why)) if why.contains("directory secret")),
            "{other_directory:?}"
        );
        let mut other_master = provisioning(1);
        other_master.secrets_check[2] = [0; 32];
        assert!(matches!(
            other_master.check(&genesis, &ratchet, None),
            Err(GenesisError::Differs(why)) if why.contains("master key")
        ));
        let other_ratchet = TransitRatchet::new(100, [8; 32]);
        assert!(matches!(
            provisioning(1).check(&genesis, &other_ratchet, None),
            Err(GenesisError::Differs(why)) if why.contains("transit ratchet")
        ));
        let mut other_origin = provisioning(1);
        other_origin.origin = "another.example/log".into();
        assert!(matches!(
            other_origin.check(&genesis, &ratchet, None),
            Err(GenesisError::Differs(why)) if why.contains("another.example/log")
        ));
        let mut other_keys = provisioning(1);
        other_keys.verifier_key_ids = vec!["ffffffff".into()];
        assert!(matches!(
            other_keys.check(&genesis, &ratchet, None),
            Err(GenesisError::Differs(_))
        ));
        let garbage = Outgoing {
            body: vec![0xff; 16],
            ..genesis
        };
        assert!(matches!(
            provisioning(1).check(&garbage, &ratchet, None),
            Err(GenesisError::Malformed(_))
        ));
    }
}
