//! Proofs of a token's head, or of its absence, at one version, and their verification
//! (docs/subject-index.md, "Verification").

use super::hashing::{TOKEN_BITS, common_prefix_bits, subject_interior_hash, token_bit};
use super::head::SubjectHead;
use super::node::{IndexNode, SubtreeRef};
use super::node_key::{NodeKey, NodePath};
use super::page::IndexPage;
use super::store::{SubjectIndexStoreError, SubjectNodeStore, read_all, read_root};
use super::update::check_page;
use crate::core::directory::SubjectToken;
use crate::core::hash::{NodeHash, RootHash};

/// Where a token's path from the root ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofTerminal {
    /// An empty subtree: the token is absent.
    Empty,
    /// The only leaf of the subtree: the token's own (membership) or another token's that shares
    /// the path so far (absence).
    Leaf {
        /// The leaf's token.
        token: SubjectToken,
        /// The leaf's head.
        head: SubjectHead,
    },
}

/// A proof of the head of a token, or of its absence, against a subject-index root.
///
/// `siblings[i]` is the hash of the sibling subtree at depth `i + 1` along the token's path (root
/// first), [`super::EMPTY_SUBTREE_HASH`] for an empty one; the path ends after
/// `siblings.len()` bits in `terminal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectProof {
    /// Where the path ends.
    pub terminal: ProofTerminal,
    /// The sibling hashes from the root down.
    pub siblings: Vec<NodeHash>,
}

/// Why a subject-index proof does not verify. Each variant names the failed check of
/// docs/subject-index.md, "Verification".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubjectIndexError {
    /// More siblings than a token has bits (check `too_many_siblings`).
    #[error("the proof has {0} siblings; a path has at most {TOKEN_BITS}")]
    TooManySiblings(usize),
    /// The terminal leaf is another token's, and that token does not share the path's bits with
    /// the proved token (check `leaf_off_path`).
    #[error(
        "the proof's leaf is not on the token's path: it shares {shared} bits, the path has {depth}"
    )]
    LeafOffPath {
        /// The path's length (the number of siblings).
        depth: usize,
        /// How many leading bits the leaf's token shares with the proved token.
        shared: u16,
    },
    /// The hashes do not fold to the root (check `root_mismatch`).
    #[error("the proof does not lead to the subject-index root")]
    RootMismatch,
}

impl SubjectIndexError {
    /// The failed check (docs/subject-index.md section 11).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::TooManySiblings(_) => Check::SubjectProofTooManySiblings,
            Self::LeafOffPath { .. } => Check::SubjectProofLeafOffPath,
            Self::RootMismatch => Check::SubjectProofRootMismatch,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// Verifies `proof` for `token` against `root`: `Some(head)` when it proves the token's head,
/// `None` when it proves the token absent. Pure; what an auditor runs.
///
/// 1. at most 256 siblings;
/// 2. a terminal leaf of another token must share the first `siblings.len()` bits with `token`;
/// 3. folding from the terminal's hash up through the siblings, on the side that `token`'s bit at
///    each depth says, must give `root`.
pub fn verify(
    root: &RootHash,
    token: &SubjectToken,
    proof: &SubjectProof,
) -> Result<Option<SubjectHead>, SubjectIndexError> {
    let depth = proof.siblings.len();
    if depth > usize::from(TOKEN_BITS) {
        return Err(SubjectIndexError::TooManySiblings(depth));
    }
    let (mut hash, proved) = match &proof.terminal {
        ProofTerminal::Empty => (SubtreeRef::Empty.hash(), None),
        ProofTerminal::Leaf {
            token: leaf_token,
            head,
        } => {
            let leaf = IndexNode::Leaf {
                token: *leaf_token,
                head: *head,
            };
            if leaf_token == token {
                (leaf.hash(), Some(*head))
            } else {
                let shared = common_prefix_bits(leaf_token, token);
                if usize::from(shared) < depth {
                    return Err(SubjectIndexError::LeafOffPath { depth, shared });
                }
                (leaf.hash(), None)
            }
        }
    };
    for (i, sibling) in (0..TOKEN_BITS).zip(&proof.siblings).rev() {
        hash = if token_bit(token, i) == 0 {
            subject_interior_hash(&hash, sibling)
        } else {
            subject_interior_hash(sibling, &hash)
        };
    }
    if hash.as_bytes() != root.as_bytes() {
        return Err(SubjectIndexError::RootMismatch);
    }
    Ok(proved)
}

/// The proof of `token`'s head, or of its absence, at `version`: one `read_pages` call per page
/// level of the token's path, each page's nodes checked against the hashes their parents hold.
pub fn prove<S: SubjectNodeStore>(
    store: &S,
    version: u64,
    token: &SubjectToken,
) -> Result<SubjectProof, SubjectIndexStoreError<S::Error>> {
    let mut current = read_root(store, version)?;
    let mut path = NodePath::ROOT;
    let mut siblings = Vec::new();
    let mut page = IndexPage::default();
    loop {
        let SubtreeRef::Stored { version, .. } = current else {
            return Ok(SubjectProof {
                terminal: ProofTerminal::Empty,
                siblings,
            });
        };
        let key = NodeKey { version, path };
        if path.is_page_top() {
            page = read_all(store, &[key])?
                .pop()
                .ok_or(SubjectIndexStoreError::MissingNode(key))?;
            check_page(&key, &current, &page)?;
        }
        // `check_page` checked every node of the page against the hash its parent holds.
        let node = page
            .node(&path)
            .ok_or(SubjectIndexStoreError::MissingNode(key))?;
        match node {
            IndexNode::Leaf { token, head } => {
                if !path.holds(&token) {
                    return Err(SubjectIndexStoreError::LeafOffPath(key));
                }
                return Ok(SubjectProof {
                    terminal: ProofTerminal::Leaf { token, head },
                    siblings,
                });
            }
            IndexNode::Interior { left, right } => {
                if path.depth() >= TOKEN_BITS {
                    return Err(SubjectIndexStoreError::InteriorTooDeep(key));
                }
                let bit = token_bit(token, path.depth());
                let (next, sibling) = if bit == 0 {
                    (left, right)
                } else {
                    (right, left)
                };
                siblings.push(sibling.hash());
                current = next;
                path = path.child(bit);
            }
        }
    }
}
