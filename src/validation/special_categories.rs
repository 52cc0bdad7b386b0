//! GDPR article 9(1) special categories of personal data, as DPV-PD terms.

/// The `data_categories` terms that are article 9(1) special categories: processing them needs an
/// article 9(2) condition besides an article 6(1) basis.
///
/// These are the DPV-PD 2.2 terms (https://w3id.org/dpv/pd) typed `dpv:SpecialCategoryPersonalData`,
/// by the article's headings: racial or ethnic origin; political opinions; religious or
/// philosophical beliefs; trade union membership; genetic and biometric data; health; sex life or
/// sexual orientation. Three more names fail safe: `pd:Ethnicity` (a DPV-PD term for "ethnic
/// origins and lineage", which DPV does not type as special but article 9 covers), and
/// `pd:Racial`, `pd:SexualOrientation`, which DPV-PD does not define but producers reach for.
/// Criminal data (`pd:Criminal`, article 10) is not an article 9 category.
pub const SPECIAL_CATEGORY_TERMS: &[&str] = &[
    "dpv:SpecialCategoryPersonalData",
    // Racial or ethnic origin.
    "pd:Race",
    "pd:EthnicOrigin",
    "pd:Ethnicity",
    "pd:Racial",
    // Political opinions.
    "pd:PoliticalOpinion",
    "pd:PoliticalAffiliation",
    // Religious or philosophical beliefs.
    "pd:Religion",
    "pd:ReligiousBelief",
    "pd:PhilosophicalBelief",
    // Trade union membership.
    "pd:TradeUnionMembership",
    // Genetic data.
    "pd:Genetic",
    "pd:DNACode",
    // Biometric data.
    "pd:Biometric",
    "pd:FacialPrint",
    "pd:FacialExpression",
    "pd:Fingerprint",
    "pd:Retina",
    // Health.
    "pd:MedicalHealth",
    "pd:Health",
    "pd:HealthHistory",
    "pd:HealthRecord",
    "pd:FamilyHealthHistory",
    "pd:IndividualHealthHistory",
    "pd:MentalHealth",
    "pd:PhysicalHealth",
    "pd:BloodType",
    "pd:Disability",
    "pd:DrugTestResult",
    "pd:Prescription",
    // Sex life or sexual orientation.
    "pd:Sexual",
    "pd:SexualHistory",
    "pd:SexualPreference",
    "pd:SexualOrientation",
    "pd:Fetish",
    "pd:Proclivity",
];

/// Whether `term` (a `data_categories` CURIE, compared exactly) is an article 9 special category.
pub fn is_special_category(term: &str) -> bool {
    SPECIAL_CATEGORY_TERMS.contains(&term)
}
