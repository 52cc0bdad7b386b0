//! Who is calling, once authenticated: the caller's identity, role and the systems it may report
//! for. A leaf: authentication (`service::auth`) and the client-certificate map (`tls`) both
//! produce a [`Caller`]; neither is needed to read one.

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Appends events; reads nothing.
    Producer,
    /// Reads entries, checkpoints and proofs; appends nothing.
    Auditor,
    /// Everything.
    Admin,
}

impl Role {
    /// Whether this role may append events.
    pub fn may_append(self) -> bool {
        matches!(self, Role::Producer | Role::Admin)
    }

    /// Whether this role may read entries and proofs.
    pub fn may_read(self) -> bool {
        matches!(self, Role::Auditor | Role::Admin)
    }
}

/// The systems a caller may speak for: an event's `system` is evidence of what that system did
/// (collected, deleted, confirmed, kept), so only the system's own credential may name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Systems {
    /// Any system (admins).
    Any,
    /// These systems only.
    Listed(Vec<String>),
}

impl Systems {
    /// The systems of a credential of `identity` and `role` that lists `systems` (or none).
    pub fn of(identity: &str, role: Role, systems: Option<&[String]>) -> Self {
        match (role, systems) {
            (Role::Admin, _) => Systems::Any,
            (_, Some(listed)) => Systems::Listed(listed.to_vec()),
            (_, None) => Systems::Listed(vec![identity.to_owned()]),
        }
    }

    /// Checks a configured list: names of 1 to 128 characters, no spaces around them.
    pub fn check_config(identity: &str, systems: Option<&[String]>) -> Result<(), String> {
        for system in systems.unwrap_or_default() {
            if system.is_empty() || system.len() > 128 || system.trim() != system {
                return Err(format!(
                    "{identity}: system {system:?}: use 1 to 128 characters, no surrounding spaces"
                ));
            }
        }
        Ok(())
    }
}

/// The authenticated caller, put into each request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Identity, written into entries as `producer`.
    pub identity: String,
    /// Role.
    pub role: Role,
    /// The systems it may report for.
    pub systems: Systems,
}

impl Caller {
    /// Whether the caller may report events of `system`.
    pub fn may_report_for(&self, system: &str) -> bool {
        match &self.systems {
            Systems::Any => true,
            Systems::Listed(listed) => listed.iter().any(|s| s == system),
        }
    }

    /// Which entries the caller may correct: its own; an admin, any (but the ledger's own).
    pub fn correction_rights(&self) -> crate::sequencer::CorrectionRights {
        if self.role == Role::Admin {
            crate::sequencer::CorrectionRights::AnyEntry
        } else {
            crate::sequencer::CorrectionRights::OwnEntries
        }
    }

    /// Refuses an event whose `system` (at `field`) is not one of the caller's, or is the
    /// ledger's own (reserved for everyone, admins too):
    /// `PERMISSION_DENIED` naming the field.
    pub fn check_system(&self, field: &str, system: &str) -> Result<(), SystemRefused> {
        if system == crate::validation::LEDGER_SYSTEM {
            return Err(SystemRefused::Reserved {
                field: field.to_owned(),
                system: system.to_owned(),
            });
        }
        if system.is_empty() || self.may_report_for(system) {
            return Ok(());
        }
        let listed = match &self.systems {
            Systems::Any => String::new(),
            Systems::Listed(listed) => listed.join(", "),
        };
        Err(SystemRefused::NotListed {
            field: field.to_owned(),
            identity: self.identity.clone(),
            system: system.to_owned(),
            listed,
        })
    }
}

/// Whether an identity is acceptable as an entry's `producer`.
pub fn valid_identity(identity: &str) -> bool {
    (1..=64).contains(&identity.len())
        && identity
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An event names a system its caller may not report for.
#[derive(Debug, thiserror::Error)]
pub enum SystemRefused {
    /// The event names the ledger's own system.
    #[error("{field}: the system {system:?} is reserved for the entries the ledger writes itself")]
    Reserved {
        /// The field naming the system.
        field: String,
        /// The system.
        system: String,
    },
    /// The event names a system the caller's credential does not list.
    #[error(
        "{field}: {identity} may not report for system {system:?}; its credential lists [{listed}]"
    )]
    NotListed {
        /// The field naming the system.
        field: String,
        /// Who.
        identity: String,
        /// The system.
        system: String,
        /// The credential's systems, joined.
        listed: String,
    },
    /// The event states a breach case's facts or notifications for a case another system
    /// opened (`docs/breach-cases.md`): only the opener's system, or an admin, speaks for a case.
    #[error(
        "{field}: breach case {breach_ref:?} was opened by {owner}: its facts (breach_details) \
         and notifications come from that system or an admin, not from system {system:?}"
    )]
    NotCaseOwner {
        /// The field naming the system.
        field: String,
        /// The case.
        breach_ref: String,
        /// The event's system.
        system: String,
        /// Who opened the case, in words (`system "soc"`).
        owner: String,
    },
    /// The event extends, answers or refuses a data subject request case another system opened
    /// (`docs/requests.md`): only the opener's system, or an admin, adds to a request case.
    #[error(
        "{field}: request case {request_ref:?} was opened by system {owner:?}: its extensions, \
         answers and refusals come from that system or an admin, not from system {system:?}"
    )]
    NotRequestCaseOwner {
        /// The field naming the system.
        field: String,
        /// The case.
        request_ref: String,
        /// The event's system.
        system: String,
        /// The system that opened the case.
        owner: String,
    },
}

impl SystemRefused {
    /// The field the refusal names (the event's `system`).
    pub fn field(&self) -> &str {
        match self {
            SystemRefused::Reserved { field, .. }
            | SystemRefused::NotListed { field, .. }
            | SystemRefused::NotCaseOwner { field, .. }
            | SystemRefused::NotRequestCaseOwner { field, .. } => field,
        }
    }
}
