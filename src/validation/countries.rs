//! Recipient countries: ISO 3166-1 alpha-2 codes, and which of them are in the EEA (GDPR chapter
//! V applies to transfers to any other country).

/// The 30 countries of the European Economic Area: the 27 EU member states, Iceland,
/// Liechtenstein and Norway. Greece is `GR` (ISO), not the EU's `EL`.
pub const EEA_COUNTRIES: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Whether `code` has the form of an ISO 3166-1 alpha-2 code: two ASCII capital letters. (Which
/// codes are assigned is not checked; a code outside the EEA list is a third country.)
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether `code` is an EEA country, where no transfer instrument is needed.
pub fn is_eea_country(code: &str) -> bool {
    EEA_COUNTRIES.contains(&code)
}

/// Whether sharing with a recipient in `code` is a third-country transfer (GDPR chapter V): a
/// country is named and it is outside the EEA. What the reports count as a transfer.
pub fn is_third_country(code: &str) -> bool {
    !code.is_empty() && !is_eea_country(code)
}
