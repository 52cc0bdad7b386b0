//! The legal bases an event may name: GDPR article 6(1) points and article 9(2) conditions.

/// Article 6(1)(a) to (f): consent, contract, legal obligation, vital interests, public task,
/// legitimate interests.
pub const ARTICLE_6_BASES: [&str; 6] = [
    "eu-gdpr:A6-1-a",
    "eu-gdpr:A6-1-b",
    "eu-gdpr:A6-1-c",
    "eu-gdpr:A6-1-d",
    "eu-gdpr:A6-1-e",
    "eu-gdpr:A6-1-f",
];

/// Article 9(2)(a) to (j): the conditions that lift the prohibition on special categories.
pub const ARTICLE_9_CONDITIONS: [&str; 10] = [
    "eu-gdpr:A9-2-a",
    "eu-gdpr:A9-2-b",
    "eu-gdpr:A9-2-c",
    "eu-gdpr:A9-2-d",
    "eu-gdpr:A9-2-e",
    "eu-gdpr:A9-2-f",
    "eu-gdpr:A9-2-g",
    "eu-gdpr:A9-2-h",
    "eu-gdpr:A9-2-i",
    "eu-gdpr:A9-2-j",
];

/// The bases that are consent: article 6(1)(a) and explicit consent, article 9(2)(a). The only
/// ones a consent_given or consent_withdrawn event may name.
pub const CONSENT_BASES: [&str; 2] = ["eu-gdpr:A6-1-a", "eu-gdpr:A9-2-a"];

/// Whether `term` is an article 6(1) basis.
pub fn is_article_6_basis(term: &str) -> bool {
    ARTICLE_6_BASES.contains(&term)
}

/// Whether `term` is an article 9(2) condition.
pub fn is_article_9_condition(term: &str) -> bool {
    ARTICLE_9_CONDITIONS.contains(&term)
}

/// Whether `term` is any legal basis the ledger accepts.
pub fn is_legal_basis(term: &str) -> bool {
    is_article_6_basis(term) || is_article_9_condition(term)
}
