//! Format rules for single values: identifiers and references, free text, vocabulary terms and
//! timestamps. Each check names the field it failed and never echoes text that could be personal
//! data.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::{FieldError, ValidationLimits};

/// Longest event id, system name or reference, in characters (event.proto).
pub const MAX_REFERENCE_LEN: usize = 128;
/// Longest subject identifier kind (`[a-z0-9_]{1,32}`).
pub const MAX_IDENTIFIER_KIND_LEN: usize = 32;

/// The character set of one family of references, as a rule text and a predicate.
#[derive(Debug, Clone, Copy)]
pub struct Charset {
    /// The set, as documented: `[A-Za-z0-9._:-]`.
    pub rule: &'static str,
    /// Punctuation allowed besides ASCII letters and digits.
    punctuation: &'static [u8],
}

/// `event.event_id`: `[A-Za-z0-9._:-]`.
pub const EVENT_ID_CHARS: Charset = Charset {
    rule: "[A-Za-z0-9._:-]",
    punctuation: b"._:-",
};
/// `event.system`: `[A-Za-z0-9._:/-]`.
pub const SYSTEM_CHARS: Charset = Charset {
    rule: "[A-Za-z0-9._:/-]",
    punctuation: b"._:/-",
};
/// Actor, consent, breach and channel references: `[A-Za-z0-9._:/@-]`.
pub const REFERENCE_CHARS: Charset = Charset {
    rule: "[A-Za-z0-9._:/@-]",
    punctuation: b"._:/@-",
};

impl Charset {
    fn allows(&self, byte: u8) -> bool {
        byte.is_ascii_alphanumeric() || self.punctuation.contains(&byte)
    }
}

/// Checks that `value` is 1 to [`MAX_REFERENCE_LEN`] characters from `charset`.
pub fn check_reference(field: &str, value: &str, charset: Charset) -> Result<(), FieldError> {
    let rule = || {
        format!(
            "must be 1 to {MAX_REFERENCE_LEN} characters from {}",
            charset.rule
        )
    };
    if value.is_empty() || value.len() > MAX_REFERENCE_LEN {
        return Err(FieldError::new(
            field,
            format!("{} (has {})", rule(), value.chars().count()),
        ));
    }
    if let Some(position) = value.bytes().position(|b| !charset.allows(b)) {
        return Err(FieldError::new(
            field,
            format!("{}; character {} is not", rule(), position + 1),
        ));
    }
    Ok(())
}

/// Checks an identifier kind: `[a-z0-9_]{1,32}`.
pub fn check_identifier_kind(field: &str, kind: &str) -> Result<(), FieldError> {
    let well_formed = !kind.is_empty()
        && kind.len() <= MAX_IDENTIFIER_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be an identifier kind: 1 to 32 characters from [a-z0-9_]",
        ))
    }
}

/// Checks stored free text (`recipient.name`, `correction.reason`): 1 to `limits.max_text_len`
/// characters, no control characters, no white space at either end.
pub fn check_text(field: &str, text: &str, limits: &ValidationLimits) -> Result<(), FieldError> {
    let length = text.chars().count();
    if length == 0 || length > limits.max_text_len {
        return Err(FieldError::new(
            field,
            format!(
                "must be 1 to {} characters (has {length})",
                limits.max_text_len
            ),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if text.trim() != text {
        return Err(FieldError::new(
            field,
            "must not start or end with white space",
        ));
    }
    Ok(())
}

/// Checks a list of vocabulary terms: at most `limits.max_terms_per_list`, each a CURIE of at most
/// `limits.max_term_len` characters, none repeated. Errors on an element name it: `field[i]`.
pub fn check_terms(
    field: &str,
    terms: &[String],
    limits: &ValidationLimits,
) -> Result<(), FieldError> {
    if terms.len() > limits.max_terms_per_list {
        return Err(FieldError::new(
            field,
            format!(
                "at most {} terms (has {})",
                limits.max_terms_per_list,
                terms.len()
            ),
        ));
    }
    let mut seen = HashMap::with_capacity(terms.len());
    for (index, term) in terms.iter().enumerate() {
        // Made only for an error: every term of every accepted event passes here.
        let element = || format!("{field}[{index}]");
        if term.len() > limits.max_term_len {
            return Err(FieldError::new(
                element(),
                format!("a term has at most {} characters", limits.max_term_len),
            ));
        }
        if !is_curie(term) {
            return Err(FieldError::new(
                element(),
                "must be a vocabulary term `prefix:Name`: prefix from [a-z0-9-] starting with a \
                 letter, name from [A-Za-z0-9_-] starting with a letter or digit",
            ));
        }
        if let Some(first) = seen.insert(term.as_str(), index) {
            return Err(FieldError::new(
                element(),
                format!("repeats {field}[{first}]"),
            ));
        }
    }
    Ok(())
}

/// Whether `term` is a compact IRI as DPV writes them: `dpv:Marketing`, `pd:EmailAddress`,
/// `eu-gdpr:A6-1-a`.
pub fn is_curie(term: &str) -> bool {
    let Some((prefix, name)) = term.split_once(':') else {
        return false;
    };
    let prefix_ok = prefix
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let name_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    prefix_ok && name_ok
}

/// Checks `occurred_at`: valid nanos, not before 1970, not later than `now` plus
/// `limits.max_clock_skew`.
pub fn check_occurred_at(
    field: &str,
    timestamp: &prost_types::Timestamp,
    limits: &ValidationLimits,
    now: SystemTime,
) -> Result<(), FieldError> {
    let nanos = u32::try_from(timestamp.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .ok_or_else(|| FieldError::new(field, "nanos must be 0 to 999,999,999"))?;
    let seconds = u64::try_from(timestamp.seconds)
        .map_err(|_| FieldError::new(field, "must not be before 1970-01-01T00:00:00Z"))?;
    let occurred = Duration::new(seconds, nanos);
    let now = crate::unix_time::since_epoch(now);
    if occurred > now.saturating_add(limits.max_clock_skew) {
        return Err(FieldError::new(
            field,
            format!(
                "is in the future: more than {} s ahead of the ledger's clock",
                limits.max_clock_skew.as_secs()
            ),
        ));
    }
    Ok(())
}
