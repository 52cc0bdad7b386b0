//! A declared system's message (`docs/data-map.md`): the system named as entries name it, who
//! owns it and where, what it is declared to hold and share, the article 30 texts, and a valid
//! `effective_at`; a withdrawal names the system and the time only.

use super::countries::is_country_code;
use super::field_checks::{check_effective_at, check_optional_text};
use super::formats::{SYSTEM_CHARS, check_reference, check_terms, check_text};
use super::{FieldError, ValidationLimits};
use crate::core::data_map::MAX_DECLARED_RECIPIENTS;
use crate::proto::v1::SystemDeclaration;

/// The declaration of a system: `name` as `event.system` and `effective_at` always; unless it
/// is a withdrawal, `owner` (short text), `country` (ISO 3166-1 alpha-2) and at least one data
/// category (DPV terms), purposes and subject categories as DPV terms, at most
/// [`MAX_DECLARED_RECIPIENTS`] recipients (as `recipient.name`), optional retention and security
/// texts; a withdrawal carries nothing else.
pub(super) fn check_system_declaration(
    declared: &SystemDeclaration,
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    const PATH: &str = "event.system_declaration";
    check_reference(&format!("{PATH}.name"), &declared.name, SYSTEM_CHARS)?;
    if declared.withdrawn {
        let set = [
            ("owner", !declared.owner.is_empty()),
            ("country", !declared.country.is_empty()),
            ("data_categories", !declared.data_categories.is_empty()),
            ("purposes", !declared.purposes.is_empty()),
            ("recipients", !declared.recipients.is_empty()),
            (
                "subject_categories",
                !declared.subject_categories.is_empty(),
            ),
            ("retention", !declared.retention.is_empty()),
            ("security_measures", !declared.security_measures.is_empty()),
        ];
        if let Some((part, _)) = set.iter().find(|(_, present)| *present) {
            return Err(FieldError::new(
                format!("{PATH}.{part}"),
                "must be absent on a withdrawal (withdrawn: true)",
            ));
        }
    } else {
        let owner = format!("{PATH}.owner");
        if declared.owner.is_empty() {
            return Err(FieldError::new(owner, "required unless withdrawn"));
        }
        check_text(&owner, &declared.owner, limits)?;
        let country = format!("{PATH}.country");
        if declared.country.is_empty() {
            return Err(FieldError::new(country, "required unless withdrawn"));
        }
        if !is_country_code(&declared.country) {
            return Err(FieldError::new(
                country,
                "must be an ISO 3166-1 alpha-2 code: two capital letters, e.g. DE, US",
            ));
        }
        let categories = format!("{PATH}.data_categories");
        if declared.data_categories.is_empty() {
            return Err(FieldError::new(
                categories,
                "required unless withdrawn: at least one category",
            ));
        }
        check_terms(&categories, &declared.data_categories, limits)?;
        check_terms(&format!("{PATH}.purposes"), &declared.purposes, limits)?;
        let recipients = format!("{PATH}.recipients");
        if declared.recipients.len() > MAX_DECLARED_RECIPIENTS {
            return Err(FieldError::new(
                recipients,
                format!(
                    "at most {MAX_DECLARED_RECIPIENTS} recipients (has {})",
                    declared.recipients.len()
                ),
            ));
        }
        for (i, recipient) in declared.recipients.iter().enumerate() {
            let path = format!("{recipients}[{i}]");
            check_text(&path, recipient, limits)?;
            if let Some(first) = declared.recipients[..i].iter().position(|r| r == recipient) {
                return Err(FieldError::new(
                    path,
                    format!("repeats {recipients}[{first}]"),
                ));
            }
        }
        check_terms(
            &format!("{PATH}.subject_categories"),
            &declared.subject_categories,
            limits,
        )?;
        check_optional_text(&format!("{PATH}.retention"), &declared.retention, limits)?;
        check_optional_text(
            &format!("{PATH}.security_measures"),
            &declared.security_measures,
            limits,
        )?;
    }
    check_effective_at(
        &format!("{PATH}.effective_at"),
        declared.effective_at.as_ref(),
    )
}
