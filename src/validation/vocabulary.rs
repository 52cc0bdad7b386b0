//! The vocabulary terms the ledger knows, each with its label: the one table of them. Which
//! `data_categories` are article 9 special categories, which `legal_bases` are article 6(1)
//! bases or article 9(2) conditions, and the label a report prints beside a CURIE all come from
//! [`TERMS`].
//!
//! Labels are DPV 2.x's (`skos:prefLabel` of https://w3id.org/dpv, https://w3id.org/dpv/pd and
//! https://w3id.org/dpv/legal/eu/gdpr). A producer may use a term that is not here (a
//! controller's own vocabulary, or a DPV term the ledger does not list): it is accepted as any
//! well-formed CURIE is, and reports show it without a label.

/// What a known term is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermClass {
    /// A category of personal data (`data_categories`) that is not an article 9 category.
    DataCategory,
    /// An article 9(1) special category of personal data: processing it needs an article 9(2)
    /// condition besides an article 6(1) basis.
    SpecialCategory,
    /// A purpose of processing (`purposes`).
    Purpose,
    /// An article 6(1) legal basis, points (a) to (f).
    Article6Basis,
    /// An article 9(2) condition, points (a) to (j).
    Article9Condition,
}

/// A known term: its CURIE, its label and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The CURIE as events carry it, e.g. `pd:EmailAddress`.
    pub curie: &'static str,
    /// Its label, e.g. `Email Address`.
    pub label: &'static str,
    /// What it is.
    pub class: TermClass,
}

const fn term(curie: &'static str, label: &'static str, class: TermClass) -> Term {
    Term {
        curie,
        label,
        class,
    }
}

use TermClass::{Article6Basis, Article9Condition, DataCategory, Purpose, SpecialCategory};

/// Every term the ledger knows, each once.
///
/// The special categories are the DPV-PD 2.2 terms typed `dpv:SpecialCategoryPersonalData`, by
/// the article's headings: racial or ethnic origin; political opinions; religious or
/// philosophical beliefs; trade union membership; genetic and biometric data; health; sex life or
/// sexual orientation. Three more names fail safe: `pd:Ethnicity` (a DPV-PD term for "ethnic
/// origins and lineage", which DPV does not type as special but article 9 covers), and
/// `pd:Racial`, `pd:SexualOrientation`, which DPV-PD does not define but producers reach for
/// (their labels are the ledger's). Criminal data (`pd:Criminal`, article 10) is not an article 9
/// category.
pub const TERMS: &[Term] = &[
    // Article 9(1) special categories.
    term(
        "dpv:SpecialCategoryPersonalData",
        "Special Category Personal Data",
        SpecialCategory,
    ),
    // Racial or ethnic origin.
    term("pd:Race", "Race", SpecialCategory),
    term("pd:EthnicOrigin", "Ethnic Origin", SpecialCategory),
    term("pd:Ethnicity", "Ethnicity", SpecialCategory),
    term("pd:Racial", "Racial", SpecialCategory),
    // Political opinions.
    term("pd:PoliticalOpinion", "Political Opinion", SpecialCategory),
    term(
        "pd:PoliticalAffiliation",
        "Political Affiliation",
        SpecialCategory,
    ),
    // Religious or philosophical beliefs.
    term("pd:Religion", "Religion", SpecialCategory),
    term("pd:ReligiousBelief", "Religious Belief", SpecialCategory),
    term(
        "pd:PhilosophicalBelief",
        "Philosophical Belief",
        SpecialCategory,
    ),
    // Trade union membership.
    term(
        "pd:TradeUnionMembership",
        "Trade Union Membership",
        SpecialCategory,
    ),
    // Genetic data.
    term("pd:Genetic", "Genetic", SpecialCategory),
    term("pd:DNACode", "DNA Code", SpecialCategory),
    // Biometric data.
    term("pd:Biometric", "Biometric", SpecialCategory),
    term("pd:FacialPrint", "Facial Print", SpecialCategory),
    term("pd:FacialExpression", "Facial Expression", SpecialCategory),
    term("pd:Fingerprint", "Fingerprint", SpecialCategory),
    term("pd:Retina", "Retina", SpecialCategory),
    // Health.
    term("pd:MedicalHealth", "Medical Health", SpecialCategory),
    term("pd:Health", "Health", SpecialCategory),
    term("pd:HealthHistory", "Health History", SpecialCategory),
    term("pd:HealthRecord", "Health Record", SpecialCategory),
    term(
        "pd:FamilyHealthHistory",
        "Family Health History",
        SpecialCategory,
    ),
    term(
        "pd:IndividualHealthHistory",
        "Individual Health History",
        SpecialCategory,
    ),
    term("pd:MentalHealth", "Mental Health", SpecialCategory),
    term("pd:PhysicalHealth", "Physical Health", SpecialCategory),
    term("pd:BloodType", "Blood Type", SpecialCategory),
    term("pd:Disability", "Disability", SpecialCategory),
    term("pd:DrugTestResult", "Drug Test Result", SpecialCategory),
    term("pd:Prescription", "Prescription", SpecialCategory),
    // Sex life or sexual orientation.
    term("pd:Sexual", "Sexual", SpecialCategory),
    term("pd:SexualHistory", "Sexual History", SpecialCategory),
    term("pd:SexualPreference", "Sexual Preference", SpecialCategory),
    term(
        "pd:SexualOrientation",
        "Sexual Orientation",
        SpecialCategory,
    ),
    term("pd:Fetish", "Fetish", SpecialCategory),
    term("pd:Proclivity", "Proclivity", SpecialCategory),
    // Other categories of personal data.
    term("dpv:PersonalData", "Personal Data", DataCategory),
    term("pd:Name", "Name", DataCategory),
    term("pd:EmailAddress", "Email Address", DataCategory),
    term("pd:TelephoneNumber", "Telephone Number", DataCategory),
    term("pd:PhysicalAddress", "Physical Address", DataCategory),
    term("pd:PostalAddress", "Postal Address", DataCategory),
    term("pd:Age", "Age", DataCategory),
    term("pd:Gender", "Gender", DataCategory),
    term("pd:Location", "Location", DataCategory),
    term("pd:Purchase", "Purchase", DataCategory),
    term("pd:PurchaseHistory", "Purchase History", DataCategory),
    term(
        "pd:PurchasesAndSpendingHabit",
        "Purchases and Spending Habit",
        DataCategory,
    ),
    term("pd:Transaction", "Transaction", DataCategory),
    term("pd:PaymentCard", "Payment Card", DataCategory),
    term("pd:PaymentCardNumber", "Payment Card Number", DataCategory),
    term("pd:BrowsingBehaviour", "Browsing Behaviour", DataCategory),
    term("pd:Criminal", "Criminal", DataCategory),
    // Purposes.
    term("dpv:ServiceProvision", "Service Provision", Purpose),
    term("dpv:CustomerCare", "Customer Care", Purpose),
    term("dpv:Marketing", "Marketing", Purpose),
    term("dpv:DirectMarketing", "Direct Marketing", Purpose),
    term("dpv:Personalisation", "Personalisation", Purpose),
    term("dpv:LegalCompliance", "Legal Compliance", Purpose),
    term(
        "dpv:FraudPreventionAndDetection",
        "Fraud Prevention and Detection",
        Purpose,
    ),
    // Article 6(1) legal bases.
    term("eu-gdpr:A6-1-a", "Art 6(1-a) consent", Article6Basis),
    term("eu-gdpr:A6-1-b", "Art 6(1-b) contract", Article6Basis),
    term(
        "eu-gdpr:A6-1-c",
        "Art 6(1-c) legal obligation",
        Article6Basis,
    ),
    term(
        "eu-gdpr:A6-1-d",
        "Art 6(1-d) protect vital interest",
        Article6Basis,
    ),
    term(
        "eu-gdpr:A6-1-e",
        "Art 6(1-e) public interest or official authority",
        Article6Basis,
    ),
    term(
        "eu-gdpr:A6-1-f",
        "Art 6(1-f) legitimate interest",
        Article6Basis,
    ),
    // Article 9(2) conditions.
    term(
        "eu-gdpr:A9-2-a",
        "Art 9(2-a) explicit consent",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-b",
        "Art 9(2-b) employment, social security, social protection law",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-c",
        "Art 9(2-c) protect vital interest",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-d",
        "Art 9(2-d) legitimate activities",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-e",
        "Art 9(2-e) data made public",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-f",
        "Art 9(2-f) judicial activities",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-g",
        "Art 9(2-g) public interest",
        Article9Condition,
    ),
    term("eu-gdpr:A9-2-h", "Art 9(2-h) medicine", Article9Condition),
    term(
        "eu-gdpr:A9-2-i",
        "Art 9(2-i) public interest in public health",
        Article9Condition,
    ),
    term(
        "eu-gdpr:A9-2-j",
        "Art 9(2-j) public interest, or research",
        Article9Condition,
    ),
];

/// The known term `curie` (compared exactly), if it is one.
pub fn known_term(curie: &str) -> Option<&'static Term> {
    TERMS.iter().find(|term| term.curie == curie)
}

/// The label of `curie`: the ledger's, for a known term, or else DPV's (`validation::dpv`), for
/// any term of the DPV release's lists.
pub fn term_label(curie: &str) -> Option<&'static str> {
    known_term(curie)
        .map(|term| term.label)
        .or_else(|| super::dpv::dpv_label(curie))
}

/// Whether `curie` is a known term of `class`.
pub fn is_term_of(curie: &str, class: TermClass) -> bool {
    known_term(curie).is_some_and(|term| term.class == class)
}

/// The CURIEs of the known terms of `class`, in the table's order.
pub fn terms_of(class: TermClass) -> impl Iterator<Item = &'static str> {
    TERMS
        .iter()
        .filter(move |term| term.class == class)
        .map(|term| term.curie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_term_once_each_a_curie_with_a_label() {
        let mut seen = std::collections::BTreeSet::new();
        for term in TERMS {
            assert!(seen.insert(term.curie), "{} twice", term.curie);
            assert!(super::super::is_curie(term.curie), "{}", term.curie);
            assert!(!term.label.is_empty(), "{}", term.curie);
        }
        assert_eq!(terms_of(TermClass::SpecialCategory).count(), 36);
        assert_eq!(terms_of(TermClass::Article6Basis).count(), 6);
        assert_eq!(terms_of(TermClass::Article9Condition).count(), 10);
        assert_eq!(term_label("pd:EmailAddress"), Some("Email Address"));
        assert_eq!(term_label("pd:emailaddress"), None);
        assert_eq!(term_label("acme:Loyalty"), None);
    }
}
