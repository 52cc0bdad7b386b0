//! Which `dpv:`, `pd:` and `eu-gdpr:` CURIEs are terms of the W3C Data Privacy Vocabulary: the
//! term lists of `src/validation/dpv/` (one CURIE per line, taken from the W3C DPV repository; its
//! README gives the source, version and how to refresh them). A term in one of those namespaces
//! that the lists do not hold is most often a typo (`pd:EmailAdress`) that no report can label or
//! group: the receipt carries a warning (`Receipt.vocabulary_warning`), and with
//! `limits.strict_vocabulary` the event is refused, naming the field. Terms of other prefixes (a
//! controller's own vocabulary) are not this module's concern.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::proto::v1::Event;

/// The DPV release the lists are from.
pub const DPV_VERSION: &str = include_str!("dpv/VERSION");

/// The namespaces the lists cover, as CURIE prefixes.
pub const DPV_PREFIXES: [&str; 3] = ["dpv:", "pd:", "eu-gdpr:"];

const LISTS: [&str; 3] = [
    include_str!("dpv/dpv.txt"),
    include_str!("dpv/pd.txt"),
    include_str!("dpv/eu-gdpr.txt"),
];

/// Terms DPV does not define that the ledger accepts without a warning: `pd:Racial` and
/// `pd:SexualOrientation`, names producers reach for that the ledger counts as special categories
/// of article 9, to fail safe (`validation::vocabulary`). Warning on them would push a producer to
/// a term that is not special (`pd:Sexual` is; a producer may not know it).
const LEDGER_TERMS: [&str; 2] = ["pd:Racial", "pd:SexualOrientation"];

/// Terms earlier versions of the ledger named, each with the DPV term that replaces it. They are
/// still accepted and labelled (old entries stay readable), and a new event that uses one is
/// warned (refused in strict mode) with the replacement. The article 17(3) grounds were the
/// ledger's own spelling (`eu-gdpr:A17-3-a` .. `e`); DPV names them as justifications (17(3)(b)
/// has three: a legal obligation, a task in the public interest, official authority).
pub const SUPERSEDED: [(&str, &str); 7] = [
    ("pd:PostalAddress", "pd:PhysicalAddress"),
    ("pd:PurchaseHistory", "pd:PurchasesAndSpendingHabit"),
    (
        "eu-gdpr:A17-3-a",
        "eu-gdpr:JustificationA17FreedomOfExpression",
    ),
    ("eu-gdpr:A17-3-b", "eu-gdpr:JustificationA17LegallyRequired"),
    ("eu-gdpr:A17-3-c", "eu-gdpr:JustificationA17PublicHealth"),
    ("eu-gdpr:A17-3-d", "eu-gdpr:JustificationA17Archiving"),
    ("eu-gdpr:A17-3-e", "eu-gdpr:JustificationA17LegalClaims"),
];

/// The DPV term that replaces `curie`, when `curie` is a spelling of an earlier version.
pub fn replacement(curie: &str) -> Option<&'static str> {
    SUPERSEDED
        .iter()
        .find(|(old, _)| *old == curie)
        .map(|(_, new)| *new)
}

/// The terms of the lists with their labels, and the ledger's own terms (without one).
fn terms() -> &'static HashMap<&'static str, Option<&'static str>> {
    static TERMS: OnceLock<HashMap<&'static str, Option<&'static str>>> = OnceLock::new();
    TERMS.get_or_init(|| {
        LISTS
            .iter()
            .flat_map(|list| entries(list))
            .map(|(curie, label)| (curie, Some(label)))
            .chain(LEDGER_TERMS.iter().map(|curie| (*curie, None)))
            .collect()
    })
}

/// The (CURIE, label) lines of one list: a tab between them, `#` lines and blank lines skipped.
fn entries(list: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    list.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split_once('\t').unwrap_or((line, "")))
}

/// DPV's label of `curie` (`pd:EmailAddress`: "Email Address"), when DPV defines it.
pub fn dpv_label(curie: &str) -> Option<&'static str> {
    terms()
        .get(curie)
        .copied()
        .flatten()
        .filter(|label| !label.is_empty())
}

/// Whether `curie` is in a DPV namespace and not one of its terms.
pub fn is_unknown_dpv_term(curie: &str) -> bool {
    DPV_PREFIXES.iter().any(|prefix| curie.starts_with(prefix)) && !terms().contains_key(curie)
}

/// Every term of `event` in a DPV namespace that DPV does not define, with its field's path
/// (`event.data_categories[1]`), in proto order.
pub fn unknown_dpv_terms(event: &Event) -> Vec<(String, String)> {
    let mut unknown = Vec::new();
    let mut list = |path: &str, terms: &[String]| {
        for (index, term) in terms.iter().enumerate() {
            if is_unknown_dpv_term(term) {
                unknown.push((format!("{path}[{index}]"), term.clone()));
            }
        }
    };
    list("event.data_categories", &event.data_categories);
    list("event.purposes", &event.purposes);
    list("event.legal_bases", &event.legal_bases);
    if let Some(details) = &event.breach_details {
        list(
            "event.breach_details.subject_categories",
            &details.subject_categories,
        );
    }
    if let Some(policy) = &event.consent_policy {
        // A misspelt purpose in the opt-in policy would never match a collection.
        for (index, rule) in policy.rules.iter().enumerate() {
            list(
                &format!("event.consent_policy.rules[{index}].purposes"),
                &rule.purposes,
            );
        }
    }
    if let Some(declared) = &event.system_declaration {
        // A misspelt category of a declaration would flag every entry of the system.
        list(
            "event.system_declaration.data_categories",
            &declared.data_categories,
        );
        list("event.system_declaration.purposes", &declared.purposes);
        list(
            "event.system_declaration.subject_categories",
            &declared.subject_categories,
        );
    }
    if let Some(policy) = &event.retention_policy {
        // A misspelt category or purpose of a retention rule would never match an item.
        for (index, rule) in policy.rules.iter().enumerate() {
            for (part, term) in [
                ("data_category", &rule.data_category),
                ("purpose", &rule.purpose),
            ] {
                if term != crate::core::retention::WILDCARD && is_unknown_dpv_term(term) {
                    unknown.push((
                        format!("event.retention_policy.rules[{index}].{part}"),
                        term.clone(),
                    ));
                }
            }
        }
    }
    if let Some(exemption) = &event.exemption
        && is_unknown_dpv_term(&exemption.legal_ground)
    {
        unknown.push((
            "event.exemption.legal_ground".to_owned(),
            exemption.legal_ground.clone(),
        ));
    }
    unknown
}

/// What a field holding `term` is told: the term is not DPV's, and which term replaces it when
/// it is an earlier version's spelling.
pub fn not_a_dpv_term(term: &str) -> String {
    match replacement(term) {
        Some(new) => format!(
            "{term} is not a term of DPV {}: use {new} (the old spelling stays readable)",
            DPV_VERSION.trim()
        ),
        None => format!(
            "{term} is not a term of DPV {} (prefixes {}; src/validation/dpv/)",
            DPV_VERSION.trim(),
            DPV_PREFIXES.join(" ")
        ),
    }
}

/// The receipt's warning for `event`: every unknown term with its field, or `None`.
pub fn vocabulary_warning(event: &Event) -> Option<String> {
    let unknown = unknown_dpv_terms(event);
    (!unknown.is_empty()).then(|| {
        unknown
            .iter()
            .map(|(path, term)| format!("{path}: {}", not_a_dpv_term(term)))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn each_list_holds_curies_of_its_own_prefix_once_each_with_a_label() {
        for (list, prefix) in LISTS.iter().zip(["dpv:", "pd:", "eu-gdpr:"]) {
            let terms: Vec<(&str, &str)> = entries(list).collect();
            assert!(terms.len() > 10, "{prefix}: {} terms", terms.len());
            let unique: HashSet<&str> = terms.iter().map(|(curie, _)| *curie).collect();
            assert_eq!(unique.len(), terms.len(), "{prefix}: a term twice");
            for (term, label) in terms {
                assert!(
                    term.starts_with(prefix) && crate::validation::is_curie(term),
                    "{term} in the {prefix} list"
                );
                assert!(
                    !label.is_empty() && label.trim() == label,
                    "{term}: label {label:?}"
                );
            }
        }
        assert_eq!(dpv_label("pd:EmailAddress"), Some("Email Address"));
        assert_eq!(
            dpv_label("eu-gdpr:JustificationA17LegalClaims"),
            Some("Justification A17 - Legal Claims")
        );
        assert_eq!(dpv_label("pd:Racial"), None, "the ledger's own term");
        assert_eq!(dpv_label("acme:LoyaltyTier"), None);
    }

    #[test]
    fn dpv_terms_pass_typos_do_not_and_other_prefixes_are_not_judged() {
        for known in [
            "dpv:Marketing",
            "dpv:ServiceProvision",
            "pd:EmailAddress",
            "pd:Health",
            "eu-gdpr:A6-1-a",
            "eu-gdpr:A9-2-j",
        ] {
            assert!(!is_unknown_dpv_term(known), "{known}");
        }
        for typo in ["pd:EmailAdress", "dpv:Markting", "eu-gdpr:A6-1-z"] {
            assert!(is_unknown_dpv_term(typo), "{typo}");
        }
        assert!(!is_unknown_dpv_term("acme:LoyaltyTier"));
        assert!(!is_unknown_dpv_term("pd:Racial"));
    }

    #[test]
    fn superseded_spellings_are_warned_with_a_dpv_replacement() {
        for (old, new) in SUPERSEDED {
            assert!(is_unknown_dpv_term(old), "{old} is DPV's: not superseded");
            assert!(!is_unknown_dpv_term(new), "{new} is not DPV's");
            assert!(not_a_dpv_term(old).contains(new), "{}", not_a_dpv_term(old));
        }
        assert_eq!(replacement("pd:EmailAddress"), None);
    }

    #[test]
    fn every_term_the_ledger_labels_is_dpv_s_or_one_it_keeps_readable() {
        for term in crate::validation::TERMS {
            assert!(
                !is_unknown_dpv_term(term.curie) || replacement(term.curie).is_some(),
                "{} is in validation::vocabulary but not in DPV {}: add it to LEDGER_TERMS or \
                 SUPERSEDED with why",
                term.curie,
                DPV_VERSION.trim()
            );
        }
    }

    #[test]
    fn a_misspelt_purpose_of_the_opt_in_policy_is_named() {
        let mut event = crate::validation::example_submission(
            crate::proto::v1::EventKind::ConsentPolicyDeclared,
        )
        .event
        .unwrap_or_default();
        assert_eq!(unknown_dpv_terms(&event), []);
        if let Some(policy) = event.consent_policy.as_mut() {
            policy.rules[1].purposes = vec!["dpv:Marketting".to_owned()];
        }
        assert_eq!(
            unknown_dpv_terms(&event),
            [(
                "event.consent_policy.rules[1].purposes[0]".to_owned(),
                "dpv:Marketting".to_owned()
            )]
        );
    }
}
