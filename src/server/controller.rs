//! The controller's details as events of the log (docs/breach-cases.md): at start, when
//! `[controller]` names them and they differ from the latest `controller_declared` entry, the
//! server appends one, in force from now, as the ledger's own entry (system and producer
//! `gdpr-ledger`). Drafts read the declaration in force at their `as_of`, so an edit of the
//! configuration never rewrites what an earlier answer showed. The request policy of
//! `[requests]` (docs/requests.md) is declared the same way, as `request_policy_declared`, and so
//! is the opt-in policy of `[consent]` (docs/erasure.md section 6), as `consent_policy_declared`,
//! and the retention schedule of `[retention]` (docs/retention.md), as
//! `retention_policy_declared`, and each system of `[[data_map.systems]]` (docs/data-map.md), as `system_declared`.

use std::time::SystemTime;

use super::ServerError;
use crate::consent::{ConsentPolicyConfig, latest_consent_policy};
use crate::proto::v1 as pb;
use crate::proto::v1::SystemDeclaration;
use crate::reports::breach_case::{ControllerConfig, latest_declaration};
use crate::reports::data_map::{DataMapConfig, live_system_declarations};
use crate::reports::request_case::{RequestPolicyConfig, latest_request_policy};
use crate::reports::retention::{RetentionConfig, latest_retention_policy};
use crate::sequencer::{CorrectionRights, PreparedEvent, SequencerHandle};
use crate::storage::LedgerStore;
use crate::validation::{LEDGER_SYSTEM, ValidationLimits, validate_submission};

/// Declares `configured` in the log unless it is empty or already the latest declaration.
/// Returns the index of the entry appended, if one was.
pub async fn seed_controller(
    configured: &ControllerConfig,
    store: &LedgerStore,
    sequencer: &SequencerHandle,
    digest_key: &[u8; 32],
) -> Result<Option<u64>, ServerError> {
    if configured.name.is_empty() && configured.dpo_contact.is_empty() {
        return Ok(None);
    }
    let latest = latest_declaration(store).map_err(|e| ServerError::Controller(e.to_string()))?;
    if latest.is_some_and(|declared| {
        declared.name == configured.name && declared.dpo_contact == configured.dpo_contact
    }) {
        return Ok(None);
    }
    let now = SystemTime::now();
    let event = pb::Event {
        controller_declaration: Some(pb::ControllerDeclaration {
            name: configured.name.clone(),
            dpo_contact: configured.dpo_contact.clone(),
            effective_at: Some(prost_types::Timestamp::from(now)),
        }),
        ..ledger_event(
            pb::EventKind::ControllerDeclared,
            "controller",
            "controller",
            now,
        )
    };
    let keys = [("event.controller_declaration", "")];
    declare(event, now, "controller", &keys, sequencer, digest_key).await
}

/// Declares the request policy of `[requests]` in the log unless its time zone is empty or it is
/// already the latest declaration (`docs/requests.md`). Returns the index of the entry appended.
pub async fn seed_request_policy(
    configured: &RequestPolicyConfig,
    store: &LedgerStore,
    sequencer: &SequencerHandle,
    digest_key: &[u8; 32],
) -> Result<Option<u64>, ServerError> {
    if configured.time_zone.is_empty() && configured.public_holidays.is_empty() {
        return Ok(None);
    }
    let latest =
        latest_request_policy(store).map_err(|e| ServerError::Controller(e.to_string()))?;
    if latest.is_some_and(|declared| {
        declared.time_zone == configured.time_zone
            && declared.public_holidays == configured.public_holidays
    }) {
        return Ok(None);
    }
    let now = SystemTime::now();
    let event = pb::Event {
        request_policy: Some(pb::RequestPolicy {
            time_zone: configured.time_zone.clone(),
            public_holidays: configured.public_holidays.clone(),
            effective_at: Some(prost_types::Timestamp::from(now)),
        }),
        ..ledger_event(
            pb::EventKind::RequestPolicyDeclared,
            "requests",
            "requests",
            now,
        )
    };
    let keys = [("event.request_policy", "")];
    declare(event, now, "requests", &keys, sequencer, digest_key).await
}

/// The fields every declaration the server makes from its configuration shares: the ledger's
/// own system, the actor `config:<section>`, an event id `<id>.<nanos>` and `now` as its time.
fn ledger_event(kind: pb::EventKind, id: &str, section: &str, now: SystemTime) -> pb::Event {
    pb::Event {
        event_id: format!("{id}.{}", crate::unix_time::nanos(now)),
        kind: kind as i32,
        occurred_at: Some(prost_types::Timestamp::from(now)),
        system: LEDGER_SYSTEM.into(),
        actor: format!("config:{section}"),
        ..pb::Event::default()
    }
}

/// Declares the opt-in policy of `[consent]` in the log unless `opt_in` is absent or its rules
/// are already the latest declaration's (`docs/erasure.md` section 6). Returns the index of the
/// entry appended.
pub async fn seed_consent_policy(
    configured: &ConsentPolicyConfig,
    store: &LedgerStore,
    sequencer: &SequencerHandle,
    digest_key: &[u8; 32],
) -> Result<Option<u64>, ServerError> {
    let Some(rules) = configured.rules() else {
        return Ok(None);
    };
    let latest =
        latest_consent_policy(store).map_err(|e| ServerError::Controller(e.to_string()))?;
    if latest.is_some_and(|declared| declared.rules == rules) {
        return Ok(None);
    }
    let now = SystemTime::now();
    let event = pb::Event {
        consent_policy: Some(pb::OptInPolicy {
            rules,
            effective_at: Some(prost_types::Timestamp::from(now)),
        }),
        ..ledger_event(
            pb::EventKind::ConsentPolicyDeclared,
            "consent",
            "consent",
            now,
        )
    };
    let keys = [
        ("event.consent_policy.rules", "opt_in"),
        ("event.consent_policy", ""),
    ];
    declare(event, now, "consent", &keys, sequencer, digest_key).await
}

/// Declares the retention schedule of `[retention]` in the log unless `rules` is absent or they
/// are already the latest declaration's (`docs/retention.md`). Returns the index of the entry
/// appended.
pub async fn seed_retention_policy(
    configured: &RetentionConfig,
    store: &LedgerStore,
    sequencer: &SequencerHandle,
    digest_key: &[u8; 32],
) -> Result<Option<u64>, ServerError> {
    let Some(rules) = configured.rules() else {
        return Ok(None);
    };
    let latest =
        latest_retention_policy(store).map_err(|e| ServerError::Controller(e.to_string()))?;
    if latest.is_some_and(|declared| declared.rules == rules) {
        return Ok(None);
    }
    let now = SystemTime::now();
    let event = pb::Event {
        retention_policy: Some(pb::RetentionPolicy {
            rules,
            effective_at: Some(prost_types::Timestamp::from(now)),
        }),
        ..ledger_event(
            pb::EventKind::RetentionPolicyDeclared,
            "retention",
            "retention",
            now,
        )
    };
    let keys = [
        ("event.retention_policy.rules", "rules"),
        ("event.retention_policy", ""),
    ];
    declare(event, now, "retention", &keys, sequencer, digest_key).await
}

/// Declares each system of `[[data_map.systems]]` whose declaration in force now differs from
/// the configured one (or that has none), in force from now (`docs/data-map.md` section 4). A
/// system the log declares and the configuration does not name is left as the log has it.
/// Returns the indexes of the entries appended.
pub async fn seed_systems(
    configured: &DataMapConfig,
    store: &LedgerStore,
    sequencer: &SequencerHandle,
    digest_key: &[u8; 32],
) -> Result<Vec<u64>, ServerError> {
    if configured.systems.is_empty() {
        return Ok(Vec::new());
    }
    let now = SystemTime::now();
    let at = prost_types::Timestamp::from(now);
    let error = |e: crate::reports::ReportError| ServerError::Controller(e.to_string());
    let size = store
        .tree_size()
        .map_err(|e| ServerError::Controller(e.to_string()))?;
    let declared = live_system_declarations(store, size).map_err(error)?;
    let mut appended = Vec::new();
    for (i, system) in configured.systems.iter().enumerate() {
        let wanted = system.declaration();
        let in_force = crate::core::declarations::in_force(
            declared
                .iter()
                .filter(|(_, d)| d.name == wanted.name)
                .map(|(index, d)| (*index, d)),
            |d| d.effective_at.as_ref(),
            &at,
        );
        let same = in_force.is_some_and(|(_, d)| {
            SystemDeclaration {
                effective_at: None,
                ..d.clone()
            } == wanted
        });
        if same {
            continue;
        }
        let event = pb::Event {
            system_declaration: Some(SystemDeclaration {
                effective_at: Some(at),
                ..wanted
            }),
            ..ledger_event(
                pb::EventKind::SystemDeclared,
                &format!("data-map.{i}"),
                "data_map",
                now,
            )
        };
        let key = format!("systems[{i}]");
        let keys = [("event.system_declaration", key.as_str())];
        appended.extend(declare(event, now, "data_map", &keys, sequencer, digest_key).await?);
    }
    Ok(appended)
}

/// The key in its section of the configuration of a field of a declaration: the first of `keys`
/// (field path prefix, key) whose prefix the path starts with, e.g. with
/// `("event.consent_policy.rules", "opt_in")`, `event.consent_policy.rules[0].channels[1]` is
/// `opt_in[0].channels[1]`; an empty key stands for the section itself.
fn config_key(path: &str, keys: &[(&str, &str)]) -> String {
    keys.iter()
        .find_map(|(prefix, key)| {
            path.strip_prefix(prefix)
                .filter(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
                .map(|rest| {
                    let key = format!("{key}{rest}");
                    key.strip_prefix('.').map(str::to_owned).unwrap_or(key)
                })
        })
        .unwrap_or_else(|| path.to_owned())
}

/// Appends `event`, a declaration of the configuration's section `[section]`, as the ledger's
/// own entry, after checking it by the event's rules; an error names the section's key (`keys`:
/// field path prefixes and the keys they come from, [`config_key`]).
async fn declare(
    event: pb::Event,
    now: SystemTime,
    section: &str,
    keys: &[(&str, &str)],
    sequencer: &SequencerHandle,
    digest_key: &[u8; 32],
) -> Result<Option<u64>, ServerError> {
    let submission = pb::EventSubmission {
        event: Some(event.clone()),
        ..pb::EventSubmission::default()
    };
    // The configuration's values follow the event's rules.
    validate_submission(&submission, &ValidationLimits::default(), now).map_err(|e| {
        ServerError::Controller(format!(
            "[{section}] {}: {}",
            config_key(&e.field, keys),
            e.reason
        ))
    })?;
    let prepared = PreparedEvent {
        event,
        subject_row: None,
        linked_row: None,
        content_digest: crate::service::submission_digest(digest_key, &submission),
        details: None,
        identifiers: Vec::new(),
        subject_token: None,
        opens_erasure: None,
    };
    let receipts = sequencer
        .append(
            LEDGER_SYSTEM.into(),
            CorrectionRights::OwnEntries,
            vec![prepared],
        )
        .await
        .map_err(|e| ServerError::Controller(e.to_string()))?;
    let index = receipts.first().map(|r| r.index);
    tracing::info!(
        ?index,
        "declared [{section}] of the configuration in the log"
    );
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::config_key;

    #[test]
    fn a_field_is_named_by_its_key_in_the_section() {
        let keys = [
            ("event.consent_policy.rules", "opt_in"),
            ("event.consent_policy", ""),
        ];
        assert_eq!(
            config_key("event.consent_policy.rules[0].channels[1]", &keys),
            "opt_in[0].channels[1]"
        );
        assert_eq!(config_key("event.consent_policy.rules", &keys), "opt_in");
        assert_eq!(
            config_key("event.consent_policy.effective_at", &keys),
            "effective_at"
        );
        let requests = [("event.request_policy", "")];
        assert_eq!(
            config_key("event.request_policy.time_zone", &requests),
            "time_zone"
        );
        assert_eq!(config_key("event.system", &keys), "event.system");
        let retention = [
            ("event.retention_policy.rules", "rules"),
            ("event.retention_policy", ""),
        ];
        assert_eq!(
            config_key("event.retention_policy.rules[2].months", &retention),
            "rules[2].months"
        );
    }
}
