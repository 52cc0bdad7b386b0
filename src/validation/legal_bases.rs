//! The legal bases an event may name: GDPR article 6(1) points and article 9(2) conditions, the
//! terms of those classes in the vocabulary table ([`super::vocabulary::TERMS`]).

use super::vocabulary::{TermClass, is_term_of};

/// The bases that are consent (article 6(1)(a), 9(2)(a)): the only ones a consent_given or
/// consent_withdrawn event may name.
pub use crate::core::opt_in::CONSENT_BASES;

/// Whether `term` is an article 6(1) basis.
pub fn is_article_6_basis(term: &str) -> bool {
    is_term_of(term, TermClass::Article6Basis)
}

/// Whether `term` is an article 9(2) condition.
pub fn is_article_9_condition(term: &str) -> bool {
    is_term_of(term, TermClass::Article9Condition)
}

/// Whether `term` is any legal basis the ledger accepts.
pub fn is_legal_basis(term: &str) -> bool {
    is_article_6_basis(term) || is_article_9_condition(term)
}
