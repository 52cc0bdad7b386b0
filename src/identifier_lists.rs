//! Rewrites the identifier lists sealed one per line (before issue 13) into the length-prefixed
//! form ([`crate::vault::encode_identifier_list`]), once, at server start.
//!
//! In the legacy form a value holding a line feed read as two identifiers: a producer could make
//! `GetIdentifiers` return a victim's address for its own subject. The lines alone cannot say
//! which of them were one identifier, but the directory can: every identifier the ledger accepted
//! has a row keyed by its normalised form, pointing at its subject. So the lines are regrouped
//! into the identifiers whose rows point at the list's own subject. Lines that no grouping
//! explains (a directory row that no longer points here) are dropped, and counted in the log.

use crate::core::directory::{DirectorySecret, row_key_of_normalized};
use crate::storage::{LedgerStore, StorageError, StoredKey};
use crate::vault::{IdentifierList, MasterKey, VaultError};

/// The `meta` mark set once every list is length-prefixed.
pub const META_IDENTIFIER_LISTS_V2: &[u8] = b"identifier_lists_v2";

/// Why the rewrite failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentifierListError {
    /// Reading or writing the store.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A subject's key or list does not open.
    #[error("identifier list of a subject: {0}")]
    Vault(#[from] VaultError),
}

/// What the rewrite did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Lists rewritten.
    pub lists: usize,
    /// Lines dropped because no directory row of the subject explains them.
    pub dropped_lines: usize,
}

/// Rewrites every legacy list, unless the mark says it was done.
pub fn rewrite_legacy_lists(
    store: &LedgerStore,
    master_key: &MasterKey,
    directory: &DirectorySecret,
) -> Result<Rewritten, IdentifierListError> {
    let mut done = Rewritten::default();
    if store.has_meta_mark(META_IDENTIFIER_LISTS_V2)? {
        return Ok(done);
    }
    let mut rewritten = Vec::new();
    for (token, sealed) in store.sealed_identifier_rows()? {
        let StoredKey::Wrapped(wrapped) = store.data_key(&token)? else {
            continue;
        };
        let key = master_key.unwrap_key(&token, &wrapped)?;
        let IdentifierList::Legacy(lines) = key.open_identifier_list(&token, &sealed)? else {
            continue;
        };
        let owned = |candidate: &str| -> Result<bool, StorageError> {
            Ok(store.directory_token(&row_key_of_normalized(directory, candidate))? == Some(token))
        };
        let (identifiers, dropped) = regroup(&lines, owned)?;
        done.dropped_lines += dropped;
        if dropped > 0 {
            tracing::warn!(
                token = %hex::encode(token),
                dropped,
                "identifier list: lines that no directory row of the subject explains were dropped"
            );
        }
        rewritten.push((token, key.seal_identifiers(&token, &identifiers)?));
    }
    done.lists = rewritten.len();
    store.rewrite_sealed_identifiers(&rewritten, META_IDENTIFIER_LISTS_V2)?;
    if done.lists > 0 {
        tracing::info!(
            lists = done.lists,
            "identifier lists rewritten length-prefixed"
        );
    }
    Ok(done)
}

/// Groups consecutive `lines` into identifiers that `owned` accepts (joined with `\n`), covering
/// every line where that is possible; otherwise keeps the single lines `owned` accepts. Returns
/// the identifiers and how many lines were dropped.
pub fn regroup<E>(
    lines: &[String],
    mut owned: impl FnMut(&str) -> Result<bool, E>,
) -> Result<(Vec<String>, usize), E> {
    let n = lines.len();
    // next[i]: where the identifier starting at line i ends (exclusive), in a grouping that
    // covers lines i.. completely; computed from the end.
    let mut next: Vec<Option<usize>> = vec![None; n + 1];
    for start in (0..n).rev() {
        for end in start + 1..=n {
            if (end == n || next[end].is_some()) && owned(&lines[start..end].join("\n"))? {
                next[start] = Some(end);
                break;
            }
        }
    }
    if n > 0 && next[0].is_some() {
        let mut identifiers = Vec::new();
        let mut at = 0;
        while let Some(end) = next.get(at).copied().flatten() {
            identifiers.push(lines[at..end].join("\n"));
            at = end;
        }
        return Ok((identifiers, 0));
    }
    let mut identifiers = Vec::new();
    for line in lines {
        if owned(line)? {
            identifiers.push(line.clone());
        }
    }
    let dropped = n - identifiers.len();
    Ok((identifiers, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.split('\n').map(str::to_owned).collect()
    }

    fn regrouped(text: &str, known: &[&str]) -> (Vec<String>, usize) {
        regroup::<()>(&lines(text), |candidate| Ok(known.contains(&candidate))).expect("no error")
    }

    #[test]
    fn a_forged_second_identifier_is_joined_back_to_the_value_it_came_from() {
        let forged = "customer_id:C-1\nemail:victim@example.com";
        assert_eq!(
            regrouped(
                &format!("email:jane@example.com\n{forged}"),
                &["email:jane@example.com", forged]
            ),
            (
                vec!["email:jane@example.com".to_owned(), forged.to_owned()],
                0
            )
        );
    }

    #[test]
    fn honest_lists_stay_as_they_are() {
        assert_eq!(
            regrouped("email:a@b\ncustomer_id:7", &["email:a@b", "customer_id:7"]),
            (vec!["email:a@b".to_owned(), "customer_id:7".to_owned()], 0)
        );
    }

    #[test]
    fn lines_no_row_explains_are_dropped_and_counted() {
        assert_eq!(
            regrouped("email:a@b\nemail:victim@example.com", &["email:a@b"]),
            (vec!["email:a@b".to_owned()], 1)
        );
    }
}
