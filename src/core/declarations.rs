//! Declarations in the log (the controller's details, the request policy, the opt-in policy):
//! each takes effect at its own `effective_at`, so that an edit appends a declaration and never
//! rewrites what an earlier answer showed.

use prost_types::Timestamp;

/// The declaration in force at `at` among `declarations` (index and declaration, in any order):
/// of those whose `effective_at` is not after `at`, the latest `effective_at`, the later entry
/// on a tie. A declaration without `effective_at` is never in force.
pub fn in_force<'a, T>(
    declarations: impl IntoIterator<Item = (u64, &'a T)>,
    effective_at: impl Fn(&T) -> Option<&Timestamp>,
    at: &Timestamp,
) -> Option<(u64, &'a T)> {
    let key = |t: &Timestamp| (t.seconds, t.nanos);
    declarations
        .into_iter()
        .filter_map(|(index, declared)| {
            let effective = effective_at(declared)?;
            (key(effective) <= key(at)).then_some((key(effective), index, declared))
        })
        .max_by_key(|(effective, index, _)| (*effective, *index))
        .map(|(_, index, declared)| (index, declared))
}
