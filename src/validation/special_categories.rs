//! GDPR article 9(1) special categories of personal data, as DPV-PD terms: the terms of class
//! [`TermClass::SpecialCategory`] of the vocabulary table ([`super::vocabulary::TERMS`], which
//! says which and why).

use super::vocabulary::{TermClass, is_term_of, terms_of};

/// The `data_categories` terms that are article 9(1) special categories, in the table's order.
pub fn special_category_terms() -> impl Iterator<Item = &'static str> {
    terms_of(TermClass::SpecialCategory)
}

/// Whether `term` (a `data_categories` CURIE, compared exactly) is an article 9 special category.
pub fn is_special_category(term: &str) -> bool {
    is_term_of(term, TermClass::SpecialCategory)
}
