//! The table of which fields each kind of event requires, allows or forbids:
//! `proto/gdpr_ledger/v1/event_requirements.toml`, compiled in and parsed at first use into typed
//! rules.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::fields::Field;
use crate::proto::v1::EventKind;

/// The requirement table's text, as shipped in `proto/gdpr_ledger/v1/event_requirements.toml`.
pub const EVENT_REQUIREMENTS_TOML: &str =
    include_str!("../../proto/gdpr_ledger/v1/event_requirements.toml");

/// The table format version this build reads.
pub const TABLE_VERSION: u32 = 1;

/// What the table says about one field for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Must be present and well-formed.
    Required,
    /// Must be well-formed if present.
    Optional,
    /// Must be absent.
    Forbidden,
}

/// The rules of one event kind.
#[derive(Debug, Clone)]
pub struct KindRequirements {
    kind: EventKind,
    name: String,
    summary: String,
    gdpr: String,
    presence: BTreeMap<Field, Presence>,
}

impl KindRequirements {
    /// The kind these rules are for.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The kind's name in the table: `share`, `consent_given`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One sentence saying what the kind records.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The GDPR articles the kind answers to.
    pub fn gdpr(&self) -> &str {
        &self.gdpr
    }

    /// What the table says about `field` for this kind.
    pub fn presence(&self, field: Field) -> Presence {
        // The parser checks that every field is classified for every kind.
        self.presence
            .get(&field)
            .copied()
            .unwrap_or(Presence::Forbidden)
    }

    /// The fields with the given presence, in validation order.
    pub fn fields(&self, presence: Presence) -> impl Iterator<Item = Field> + '_ {
        Field::ALL
            .into_iter()
            .filter(move |field| self.presence(*field) == presence)
    }
}

/// The parsed table: the rules of every event kind.
#[derive(Debug, Clone)]
pub struct RequirementTable {
    kinds: BTreeMap<i32, KindRequirements>,
}

/// Why a requirement table was refused.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Not TOML, or not the table's schema (unknown keys are refused).
    #[error("the event requirement table does not parse: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A version this build does not read.
    #[error(
        "the event requirement table has version {0}; this build reads version {TABLE_VERSION}"
    )]
    Version(u32),
    /// A section for a kind `EventKind` does not have.
    #[error("`kinds.{0}` names no event kind")]
    UnknownKind(String),
    /// An `EventKind` without a section.
    #[error("event kind `{0}` has no section `kinds.{0}`")]
    MissingKind(String),
    /// A field path the validator does not know.
    #[error("`{section}` names the unknown field `{path}`")]
    UnknownField {
        /// `every_kind` or `kinds.<name>`.
        section: String,
        /// The unknown path.
        path: String,
    },
    /// A field classified twice for one kind.
    #[error("field `{path}` is classified more than once for kind `{kind}`")]
    DuplicateField {
        /// The kind's name.
        kind: String,
        /// The field's path.
        path: String,
    },
    /// A field not classified for one kind.
    #[error("field `{path}` is neither required, optional nor forbidden for kind `{kind}`")]
    UnclassifiedField {
        /// The kind's name.
        kind: String,
        /// The field's path.
        path: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableText {
    version: u32,
    every_kind: SectionText,
    kinds: BTreeMap<String, KindText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionText {
    required: Vec<String>,
    optional: Vec<String>,
    forbidden: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindText {
    summary: String,
    gdpr: String,
    required: Vec<String>,
    optional: Vec<String>,
    forbidden: Vec<String>,
}

impl KindText {
    fn fields(&self) -> SectionLists<'_> {
        SectionLists {
            required: &self.required,
            optional: &self.optional,
            forbidden: &self.forbidden,
        }
    }
}

impl SectionText {
    fn fields(&self) -> SectionLists<'_> {
        SectionLists {
            required: &self.required,
            optional: &self.optional,
            forbidden: &self.forbidden,
        }
    }
}

/// The three lists of one section.
struct SectionLists<'a> {
    required: &'a [String],
    optional: &'a [String],
    forbidden: &'a [String],
}

impl RequirementTable {
    /// Parses and checks a table: every `EventKind` but UNSPECIFIED has a section, and together
    /// with `every_kind` each section classifies every [`Field`] exactly once.
    pub fn parse(text: &str) -> Result<RequirementTable, TableError> {
        let table: TableText = toml::from_str(text)?;
        if table.version != TABLE_VERSION {
            return Err(TableError::Version(table.version));
        }
        let shared = classify("every_kind", table.every_kind.fields())?;
        let mut kinds = BTreeMap::new();
        for (name, section) in &table.kinds {
            let kind = kind_from_name(name).ok_or_else(|| TableError::UnknownKind(name.clone()))?;
            let own = classify(&format!("kinds.{name}"), section.fields())?;
            let mut presence = BTreeMap::new();
            for (field, value) in shared.iter().chain(own.iter()) {
                if presence.insert(*field, *value).is_some() {
                    return Err(TableError::DuplicateField {
                        kind: name.clone(),
                        path: field.path().to_owned(),
                    });
                }
            }
            if let Some(field) = Field::ALL.iter().find(|f| !presence.contains_key(f)) {
                return Err(TableError::UnclassifiedField {
                    kind: name.clone(),
                    path: field.path().to_owned(),
                });
            }
            let rules = KindRequirements {
                kind,
                name: name.clone(),
                summary: section.summary.clone(),
                gdpr: section.gdpr.clone(),
                presence,
            };
            kinds.insert(kind as i32, rules);
        }
        if let Some(missing) = all_kinds().find(|kind| !kinds.contains_key(&(*kind as i32))) {
            return Err(TableError::MissingKind(kind_name(missing)));
        }
        Ok(RequirementTable { kinds })
    }

    /// The rules of `kind` (none for UNSPECIFIED).
    pub fn for_kind(&self, kind: EventKind) -> Option<&KindRequirements> {
        self.kinds.get(&(kind as i32))
    }

    /// Every kind's rules, in `EventKind` order.
    pub fn kinds(&self) -> impl Iterator<Item = &KindRequirements> {
        self.kinds.values()
    }
}

/// Classifies the fields one section names; within the section, each at most once.
fn classify(section: &str, lists: SectionLists<'_>) -> Result<Vec<(Field, Presence)>, TableError> {
    let lists = [
        (lists.required, Presence::Required),
        (lists.optional, Presence::Optional),
        (lists.forbidden, Presence::Forbidden),
    ];
    let mut out = Vec::new();
    for (paths, presence) in lists {
        for path in paths {
            let field = Field::from_path(path).ok_or_else(|| TableError::UnknownField {
                section: section.to_owned(),
                path: path.clone(),
            })?;
            out.push((field, presence));
        }
    }
    Ok(out)
}

/// Every `EventKind` except UNSPECIFIED, in number order. The numbers may have gaps (a number
/// kept for a kind of another branch of work), so every number up to 255 is tried.
pub fn all_kinds() -> impl Iterator<Item = EventKind> {
    (1..=255).filter_map(|number| EventKind::try_from(number).ok())
}

/// A kind's name in the table: `EVENT_KIND_CONSENT_GIVEN` is `consent_given`.
pub fn kind_name(kind: EventKind) -> String {
    let full = kind.as_str_name();
    full.strip_prefix("EVENT_KIND_")
        .unwrap_or(full)
        .to_ascii_lowercase()
}

/// The kind a table name stands for.
pub fn kind_from_name(name: &str) -> Option<EventKind> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let kind = EventKind::from_str_name(&format!("EVENT_KIND_{}", name.to_ascii_uppercase()));
    kind.filter(|kind| valid && *kind != EventKind::Unspecified)
}

static TABLE: LazyLock<RequirementTable> = LazyLock::new(|| {
    // The table is part of the source, not input: the test `shipped_table_parses` parses it.
    RequirementTable::parse(EVENT_REQUIREMENTS_TOML)
        .unwrap_or_else(|error| panic!("event_requirements.toml is broken: {error}"))
});

/// The shipped requirement table, parsed at first use.
///
/// # Panics
/// Never for the table this crate ships, which its tests parse; only a broken edit of
/// `event_requirements.toml` could, at first use.
pub fn requirement_table() -> &'static RequirementTable {
    &TABLE
}

/// The proto paths a `kind` requires, for tests that clear each in turn and expect a
/// `FieldError` naming it: the table's required fields in validation order, each message field
/// followed by its required parts ([`Field::required_parts`]). Empty for UNSPECIFIED.
pub fn required_field_paths(kind: EventKind) -> Vec<&'static str> {
    let Some(rules) = requirement_table().for_kind(kind) else {
        return Vec::new();
    };
    rules
        .fields(Presence::Required)
        .flat_map(|field| {
            std::iter::once(field.path()).chain(field.required_parts().iter().copied())
        })
        .collect()
}
