//! Applying one commit group's head updates: read every stored page on the updated paths, level
//! by level, then rebuild those paths in memory and return the pages to persist.
//!
//! Cost: for `k` updates in a tree of `n` random tokens, about `k log2 n / 4` pages are read
//! (one call per page level; a page's own hashes are computed as it is decoded) and about
//! `k log2 n` nodes are rewritten (one hash each), with up to 14 unchanged nodes copied into each
//! rewritten page.

use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;

use super::hashing::{TOKEN_BITS, token_bit};
use super::head::SubjectHead;
use super::node::{IndexNode, SubtreeRef};
use super::node_key::{NodeKey, NodePath};
use super::page::{IndexPage, PageNode};
use super::store::{
    IndexCommit, StaleNode, SubjectIndexStoreError, SubjectNodeStore, read_all, read_root,
};
use crate::core::directory::SubjectToken;

/// One update: the token's new head.
type Update = (SubjectToken, SubjectHead);

/// Builds version `new_version` from `base_version` (`None` for the empty index) by setting the
/// head of every token in `updates`, and returns the [`IndexCommit`] to persist.
///
/// `updates` may be in any order; when a token appears more than once, its last update wins (as
/// when one commit group holds several entries of the same subject). Tokens are never removed:
/// a subject's head only moves forward. The caller guarantees that `base_version` is the latest
/// committed version (the index is linear, one version per commit group), and `new_version` must
/// be above it. An empty `updates` still makes a version, whose root record is the base's root.
pub fn apply_updates<S: SubjectNodeStore>(
    store: &S,
    base_version: Option<u64>,
    new_version: u64,
    updates: &[Update],
) -> Result<IndexCommit, SubjectIndexStoreError<S::Error>> {
    let base_root = match base_version {
        Some(base) if new_version <= base => {
            return Err(SubjectIndexStoreError::VersionNotIncreasing {
                base,
                new: new_version,
            });
        }
        Some(base) => read_root(store, base)?,
        None => SubtreeRef::Empty,
    };
    let updates = last_update_per_token(updates);
    let loaded = read_update_paths(store, base_root, &updates)?;
    let mut rebuild = Rebuild {
        version: new_version,
        loaded: &loaded,
        open: Vec::new(),
        spare: Vec::new(),
        pages: Vec::new(),
        stale: Vec::new(),
        misplaced: None,
    };
    let root = rebuild.subtree(base_root, NodePath::ROOT, &updates, None)?;
    let stale = std::mem::take(&mut rebuild.stale);
    Ok(IndexCommit {
        version: new_version,
        root,
        pages: rebuild.into_pages()?,
        stale,
    })
}

/// The updates sorted by token, keeping the last one given for each token.
fn last_update_per_token(updates: &[Update]) -> Vec<Update> {
    let mut sorted: Vec<(usize, Update)> = updates.iter().copied().enumerate().collect();
    sorted.sort_by(|(i, (a, _)), (j, (b, _))| a.cmp(b).then(j.cmp(i)));
    sorted.dedup_by(|later, earlier| later.1.0 == earlier.1.0);
    sorted.into_iter().map(|(_, update)| update).collect()
}

/// Where `updates` (sorted by token, all below `path`) split at `path`'s next bit.
fn split_point(updates: &[Update], depth: u16) -> usize {
    updates.partition_point(|(token, _)| token_bit(token, depth) == 0)
}

/// Reads every stored page that an updated token's path crosses, one page level per
/// `read_pages` call, and checks each against the hash its parent holds; returns them by key.
/// A version that changes a page writes it whole (module `page`), so every node of a page read
/// may be copied.
fn read_update_paths<S: SubjectNodeStore>(
    store: &S,
    root: SubtreeRef,
    updates: &[Update],
) -> Result<HashMap<NodeKey, IndexPage>, SubjectIndexStoreError<S::Error>> {
    let mut loaded = HashMap::default();
    let mut level: Vec<(NodeKey, SubtreeRef, Range<usize>)> = Vec::new();
    if let (SubtreeRef::Stored { version, .. }, false) = (root, updates.is_empty()) {
        let key = NodeKey {
            version,
            path: NodePath::ROOT,
        };
        level.push((key, root, 0..updates.len()));
    }
    while !level.is_empty() {
        let keys: Vec<NodeKey> = level.iter().map(|(key, _, _)| *key).collect();
        let pages = read_all(store, &keys)?;
        let mut next = Vec::new();
        for ((key, reference, range), page) in level.into_iter().zip(pages) {
            check_page(&key, &reference, &page)?;
            walk_page(&page, key, key.path, range, updates, &mut next)?;
            loaded.insert(key, page);
        }
        level = next;
    }
    Ok(loaded)
}

/// Follows `updates[range]` from `path` through the page `page` (of key `page_key`), and adds to
/// `next` the pages below it that they reach.
fn walk_page<E: std::error::Error + 'static>(
    page: &IndexPage,
    page_key: NodeKey,
    path: NodePath,
    range: Range<usize>,
    updates: &[Update],
    next: &mut Vec<(NodeKey, SubtreeRef, Range<usize>)>,
) -> Result<(), SubjectIndexStoreError<E>> {
    let key = NodeKey {
        version: page_key.version,
        path,
    };
    let node = page
        .node(&path)
        .ok_or(SubjectIndexStoreError::MissingNode(key))?;
    if let IndexNode::Interior { left, right } = node {
        let split = range.start + split_point(&updates[range.clone()], path.depth());
        for (child, bit, below) in [(left, 0, range.start..split), (right, 1, split..range.end)] {
            let (SubtreeRef::Stored { version, .. }, false) = (child, below.is_empty()) else {
                continue;
            };
            let child_path = path.child(bit);
            if child_path.is_page_top() {
                let child_key = NodeKey {
                    version,
                    path: child_path,
                };
                next.push((child_key, child, below));
            } else {
                walk_page(page, page_key, child_path, below, updates, next)?;
            }
        }
    }
    Ok(())
}

/// A page read from the store must be the page of its key: its top at the key's position and
/// hashing to what its parent (or root record) says, each of its nodes hashing to what its
/// parent in the page holds, and every node where it may be. One hash per node of the page.
pub(crate) fn check_page<E: std::error::Error + 'static>(
    key: &NodeKey,
    reference: &SubtreeRef,
    page: &IndexPage,
) -> Result<(), SubjectIndexStoreError<E>> {
    let at = |path: NodePath| NodeKey {
        version: key.version,
        path,
    };
    let nodes = page.nodes();
    match nodes.first() {
        Some(top) if top.path == key.path && top.hash == reference.hash() => {}
        Some(top) if top.path == key.path => {
            return Err(SubjectIndexStoreError::NodeHashMismatch(*key));
        }
        _ => return Err(SubjectIndexStoreError::MissingNode(*key)),
    }
    // Each node's hash is its own (`PageNode::hash`, computed when the page was made), so
    // comparing it with what its parent holds checks the page without hashing anything.
    for PageNode { path, node, .. } in nodes {
        match node {
            IndexNode::Leaf { token, .. } if !path.holds(token) => {
                return Err(SubjectIndexStoreError::LeafOffPath(at(*path)));
            }
            IndexNode::Leaf { .. } => {}
            IndexNode::Interior { .. } if path.depth() >= TOKEN_BITS => {
                return Err(SubjectIndexStoreError::InteriorTooDeep(at(*path)));
            }
            IndexNode::Interior { left, right } => {
                for (child, bit) in [(left, 0), (right, 1)] {
                    let below = path.child(bit);
                    let SubtreeRef::Stored { hash, .. } = child else {
                        continue;
                    };
                    if below.is_page_top() {
                        continue;
                    }
                    match page.entry(&below) {
                        None => return Err(SubjectIndexStoreError::MissingNode(at(below))),
                        Some(found) if found.hash != *hash => {
                            return Err(SubjectIndexStoreError::NodeHashMismatch(at(below)));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    Ok(())
}

/// The in-memory rebuild of the updated paths. Nodes are made children first, so a page's top
/// is the last node made in it: the pages being made form a stack (`open`), each closed into
/// `pages` when its top is written.
struct Rebuild<'a> {
    version: u64,
    loaded: &'a HashMap<NodeKey, IndexPage>,
    /// The pages whose tops are being made, innermost last: the top's position and the nodes
    /// of the page made so far.
    open: Vec<(NodePath, Vec<PageNode>)>,
    /// The node lists of pages already closed, emptied, for the next pages opened: a version
    /// makes thousands of pages, each from a list of up to 15 nodes.
    spare: Vec<Vec<PageNode>>,
    pages: Vec<(NodeKey, IndexPage)>,
    stale: Vec<StaleNode>,
    /// A node made with no page open (which the order of the rebuild rules out): the version
    /// is refused rather than written with a page that lacks its top.
    misplaced: Option<NodePath>,
}

/// The loaded page that holds a node's parent, and its version: a child of that version below
/// the parent's page top is in the same page, so it is found without looking the page up.
type Within<'a> = Option<(u64, &'a IndexPage)>;

impl<'a> Rebuild<'a> {
    /// The loaded node at `key` and its hash, and the page that holds it: `within`, when the
    /// node is in its parent's page, else its own page, looked up.
    fn loaded_node<E: std::error::Error + 'static>(
        &self,
        key: NodeKey,
        within: Within<'a>,
    ) -> Result<(&'a PageNode, &'a IndexPage), SubjectIndexStoreError<E>> {
        let loaded: &'a HashMap<NodeKey, IndexPage> = self.loaded;
        let page = match within {
            Some((version, page)) if version == key.version && !key.path.is_page_top() => {
                Some(page)
            }
            _ => loaded.get(&NodeKey {
                version: key.version,
                path: key.path.page_top(),
            }),
        };
        page.and_then(|page| page.entry(&key.path).map(|node| (node, page)))
            .ok_or(SubjectIndexStoreError::MissingNode(key))
    }

    /// The new version of the subtree `current` at `path` after `updates` (sorted, all below
    /// `path`); `within` is the loaded page of the node above `path`, if any.
    fn subtree<E: std::error::Error + 'static>(
        &mut self,
        current: SubtreeRef,
        path: NodePath,
        updates: &[Update],
        within: Within<'a>,
    ) -> Result<SubtreeRef, SubjectIndexStoreError<E>> {
        let version = match current {
            // An unchanged subtree that starts a page stays where it is; one inside a page that
            // the version rewrites is copied into the new page.
            SubtreeRef::Stored { version, .. } if updates.is_empty() && !path.is_page_top() => {
                return self.copy(NodeKey { version, path }, within);
            }
            _ if updates.is_empty() => return Ok(current),
            SubtreeRef::Empty => return Ok(self.fresh(path, updates)),
            SubtreeRef::Stored { version, .. } => version,
        };
        let key = NodeKey { version, path };
        let (loaded, page) = self.loaded_node(key, within)?;
        let node = loaded.node;
        if path.is_page_top() {
            self.stale.push(StaleNode {
                since: self.version,
                key,
            });
        }
        match node {
            IndexNode::Leaf { token, head } => {
                // The leaf goes down with the new tokens, unless one of the updates replaces it.
                match updates.binary_search_by(|(t, _)| t.cmp(&token)) {
                    Ok(_) => Ok(self.fresh(path, updates)),
                    Err(at) => {
                        let mut merged = Vec::with_capacity(updates.len() + 1);
                        merged.extend_from_slice(&updates[..at]);
                        merged.push((token, head));
                        merged.extend_from_slice(&updates[at..]);
                        Ok(self.fresh(path, &merged))
                    }
                }
            }
            IndexNode::Interior { left, right } => {
                self.open_page(path);
                let split = split_point(updates, path.depth());
                let within = Some((version, page));
                let left = self.subtree(left, path.child(0), &updates[..split], within)?;
                let right = self.subtree(right, path.child(1), &updates[split..], within)?;
                Ok(self.write(path, IndexNode::Interior { left, right }))
            }
        }
    }

    /// Copies the unchanged node at `key` and the nodes below it in its page into this version.
    fn copy<E: std::error::Error + 'static>(
        &mut self,
        key: NodeKey,
        within: Within<'a>,
    ) -> Result<SubtreeRef, SubjectIndexStoreError<E>> {
        let (loaded, page) = self.loaded_node(key, within)?;
        let node = match loaded.node {
            IndexNode::Leaf { .. } => loaded.node,
            IndexNode::Interior { left, right } => {
                let within = Some((key.version, page));
                IndexNode::Interior {
                    left: self.subtree(left, key.path.child(0), &[], within)?,
                    right: self.subtree(right, key.path.child(1), &[], within)?,
                }
            }
        };
        // The children keep their hashes (only their versions change), so the node's hash does.
        self.add(PageNode {
            path: key.path,
            node,
            hash: loaded.hash,
        });
        Ok(SubtreeRef::Stored {
            version: self.version,
            hash: loaded.hash,
        })
    }

    /// A new subtree at `path` holding exactly `entries` (sorted, non-empty, distinct tokens, all
    /// below `path`), by the compression rule.
    fn fresh(&mut self, path: NodePath, entries: &[Update]) -> SubtreeRef {
        match entries {
            [] => SubtreeRef::Empty,
            [(token, head)] => self.write(
                path,
                IndexNode::Leaf {
                    token: *token,
                    head: *head,
                },
            ),
            _ => {
                // Two distinct tokens below `path` differ at some bit at or after its depth, so
                // `path.depth() < 256` here.
                self.open_page(path);
                let split = split_point(entries, path.depth());
                let left = self.fresh(path.child(0), &entries[..split]);
                let right = self.fresh(path.child(1), &entries[split..]);
                self.write(path, IndexNode::Interior { left, right })
            }
        }
    }

    /// Records a new node under this version and returns the reference to it.
    fn write(&mut self, path: NodePath, node: IndexNode) -> SubtreeRef {
        let node = PageNode::new(path, node);
        self.add(node);
        SubtreeRef::Stored {
            version: self.version,
            hash: node.hash,
        }
    }

    /// Opens the page whose top is `path`, if it is a page top, before the nodes below it are
    /// made.
    fn open_page(&mut self, path: NodePath) {
        if path.is_page_top() {
            let nodes = self.spare.pop().unwrap_or_default();
            self.open.push((path, nodes));
        }
    }

    /// Adds a node to its page; a page's top closes the page.
    fn add(&mut self, node: PageNode) {
        if !node.path.is_page_top() {
            match self.open.last_mut() {
                Some((_, nodes)) => nodes.push(node),
                // The root is a page top, and every page top above a node made is opened first
                // (`open_page`), so this does not happen; if it did, `into_pages` refuses.
                None => {
                    self.misplaced.get_or_insert(node.path);
                }
            }
            return;
        }
        let nodes = match self.open.last() {
            Some((top, _)) if *top == node.path => self.open.pop().map(|(_, n)| n),
            // A leaf at a page top: a page of one node.
            _ => None,
        };
        let nodes = nodes.unwrap_or_else(|| self.spare.pop().unwrap_or_default());
        self.close(node, nodes);
    }

    fn close(&mut self, top: PageNode, mut nodes: Vec<PageNode>) {
        let key = NodeKey {
            version: self.version,
            path: top.path.page_top(),
        };
        nodes.push(top);
        self.pages.push((key, IndexPage::from_node_slice(&nodes)));
        nodes.clear();
        self.spare.push(nodes);
    }

    /// The pages written, sorted by key; an error if a node was made outside every page.
    fn into_pages<E: std::error::Error + 'static>(
        mut self,
    ) -> Result<Vec<(NodeKey, IndexPage)>, SubjectIndexStoreError<E>> {
        let unclosed = self.open.first().map(|(top, _)| *top);
        if let Some(path) = self.misplaced.or(unclosed) {
            return Err(SubjectIndexStoreError::MissingNode(NodeKey {
                version: self.version,
                path: path.page_top(),
            }));
        }
        self.pages.sort_unstable_by_key(|(key, _)| *key);
        Ok(self.pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn head(n: u64) -> SubjectHead {
        SubjectHead {
            count: n,
            last_index: n,
            last_leaf: leaf_hash(&n.to_be_bytes()),
        }
    }

    /// A node made outside every open page (which the rebuild's order rules out) refuses the
    /// version instead of writing a page without its top.
    #[test]
    fn a_node_outside_every_page_refuses_the_version() {
        let loaded = HashMap::default();
        let mut rebuild = Rebuild {
            version: 9,
            loaded: &loaded,
            open: Vec::new(),
            spare: Vec::new(),
            pages: Vec::new(),
            stale: Vec::new(),
            misplaced: None,
        };
        let token = SubjectToken::from_bytes([0x5a; 32]);
        let below_top = NodePath::prefix_of(&token, 5);
        rebuild.write(
            below_top,
            IndexNode::Leaf {
                token,
                head: head(1),
            },
        );
        let refused = rebuild.into_pages::<std::convert::Infallible>();
        assert!(
            matches!(refused, Err(SubjectIndexStoreError::MissingNode(key))
                if key.version == 9 && key.path == below_top.page_top()),
            "{refused:?}"
        );
    }

    #[test]
    fn last_update_for_a_token_wins() {
        let a = SubjectToken::from_bytes([1; 32]);
        let b = SubjectToken::from_bytes([0; 32]);
        let updates = [(a, head(1)), (b, head(2)), (a, head(3)), (a, head(4))];
        assert_eq!(
            last_update_per_token(&updates),
            vec![(b, head(2)), (a, head(4))]
        );
    }
}
