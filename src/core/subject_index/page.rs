//! Pages: how the index's nodes are grouped into stored rows (docs/subject-index.md section 8,
//! informative: the format of roots and proofs does not depend on it).
//!
//! A page is the part of one version's tree from a *page top*, a position whose depth is a
//! multiple of [`PAGE_LEVELS`], down to (not including) the next page tops. A version that changes
//! anything in a page writes the whole page anew, copying the nodes it did not change. So every
//! node of a page carries the page's version, a node is read with its page, and a page is replaced
//! (and later pruned) as a whole: a token's path of about `log2 n` nodes is about
//! `log2 n / 4` rows, and a commit group of `k` subjects writes about `k (log2(n / k) / 4 + 2)`
//! rows instead of `k (log2(n / k) + 2)`.
//!
//! Encoding of a page's row value: its nodes in preorder from the top,
//!
//! ```text
//! node  = 0x00 token(32) head(48)        a leaf
//!       | 0x01 child child               an interior node, left then right
//! child = 0x00                           an empty subtree
//!       | 0x03 varint(v - version) hash(32)
//!                                        the top of another page (only at a page top's depth),
//!                                        written `version` when the page's own is `v`
//!       | 0x01 u64_be(version) hash(32)  the same, as schemas up to 5 wrote it (read, and
//!                                        written only for a reference to a later version,
//!                                        which no update makes)
//!       | 0x02 node                      a node of this page (never at a page top's depth)
//! ```
//!
//! `varint` is the unsigned LEB128 of protobuf, shortest form only. A reference names the version
//! its page was written at, never later than the page holding the reference; most are a few
//! versions back, so the difference takes one to four bytes where the version took eight. A page
//! rewrites its 16 references at each version, and they were most of a page: storing the
//! difference made the index's keys and values 8% smaller per entry at 16 clients x 100 events
//! and 11% at one append at a time (docs/subject-index.md section 8).
//!
//! The hashes of a page's own nodes are not stored: decoding computes them bottom-up (at most 15
//! interior hashes), so a page is consistent by construction and only its top's hash needs to be
//! checked against the reference that leads to it.

use super::hashing::TOKEN_BITS;
use super::head::{SUBJECT_HEAD_LEN, SubjectHead};
use super::node::{IndexNode, NodeDecodeError, SubtreeRef};
use super::node_key::NodePath;
use crate::core::directory::SubjectToken;
use crate::core::hash::{HASH_LEN, NodeHash};

pub use super::node_key::PAGE_LEVELS;

const LEAF_TAG: u8 = 0x00;
const INTERIOR_TAG: u8 = 0x01;
const EMPTY_CHILD: u8 = 0x00;
const PAGE_CHILD: u8 = 0x01;
const HERE_CHILD: u8 = 0x02;
const PAGE_CHILD_BACK: u8 = 0x03;

/// One node of a page: its position, the node, and the node's hash ([`IndexNode::hash`]), computed
/// once when the page is made (decoded, or built by an update, which knows it) so that checking a
/// page read back costs no hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNode {
    /// The node's position.
    pub path: NodePath,
    /// The node.
    pub node: IndexNode,
    /// `node.hash()`.
    pub hash: NodeHash,
}

impl PageNode {
    /// The node at `path`, with its hash computed.
    pub fn new(path: NodePath, node: IndexNode) -> Self {
        Self {
            path,
            hash: node.hash(),
            node,
        }
    }
}

/// Positions one page can hold: `2^PAGE_LEVELS - 1` (the top, its two children, ...).
const PAGE_SLOTS: usize = (1 << PAGE_LEVELS) - 1;
/// A slot that holds no node.
const NO_NODE: u8 = u8::MAX;

/// The nodes of one version in one page, sorted by position (the top first). Shared, not copied:
/// a clone (the sequencer's cache hands out its pages) is a reference count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPage {
    nodes: std::sync::Arc<[PageNode]>,
    /// For each position of the page ([`slot`]), where its node is in `nodes`: a lookup without
    /// a search. Empty (every slot [`NO_NODE`]) when the nodes are not one page's (a top at a
    /// page top, each other node at a position of its own below it), which only a malformed page
    /// is; lookups then search.
    slots: [u8; PAGE_SLOTS],
}

/// Why a page could not be encoded: the nodes given are not one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageEncodeError {
    /// A page has at least its top node.
    #[error("a subject-index page without nodes")]
    Empty,
    /// An interior node points to a node of the same page that the page does not hold.
    #[error("the subject-index page lacks its node {0}")]
    MissingNode(NodePath),
    /// A node of the page is not reached from its top.
    #[error("the subject-index page at {0} holds nodes its top does not reach")]
    Unreached(NodePath),
}

impl Default for IndexPage {
    fn default() -> Self {
        Self::from_page_nodes(Vec::new())
    }
}

/// The slot of `path` in a page whose top is at depth `top` (a multiple of [`PAGE_LEVELS`]): the
/// position in breadth-first order, `2^r - 1 + b` for the `r` bits `b` of the path below the top.
/// `None` for a path outside the page's levels. The bits below a page top never cross a byte,
/// since `PAGE_LEVELS` divides 8.
fn slot(top: u16, path: &NodePath) -> Option<usize> {
    let below = path.depth().checked_sub(top)?;
    if below >= PAGE_LEVELS {
        return None;
    }
    if below == 0 {
        return Some(0);
    }
    let byte = path.bits()[usize::from(top / 8)];
    let shift = 8 - top % 8 - below;
    let bits = usize::from(byte >> shift) & ((1 << below) - 1);
    Some((1 << below) - 1 + bits)
}

const _: () = assert!(8 % PAGE_LEVELS == 0 && PAGE_SLOTS < NO_NODE as usize);

impl IndexPage {
    /// A page of these nodes (in any order; put in order here), each hashed once.
    pub fn from_nodes(nodes: Vec<(NodePath, IndexNode)>) -> Self {
        Self::from_page_nodes(
            nodes
                .into_iter()
                .map(|(path, node)| PageNode::new(path, node))
                .collect(),
        )
    }

    /// A page of these nodes (in any order; put in order here), whose hashes the caller computed:
    /// `hash` must be `node.hash()` for each (checked in debug builds).
    pub(crate) fn from_page_nodes(mut nodes: Vec<PageNode>) -> Self {
        debug_assert!(nodes.iter().all(|n| n.hash == n.node.hash()));
        if let Some(page) = Self::by_slots(&nodes) {
            return page;
        }
        // Not one page's nodes (only a malformed page): sorted, and looked up by a search.
        nodes.sort_unstable_by_key(|n| n.path);
        Self {
            nodes: nodes.into(),
            slots: [NO_NODE; PAGE_SLOTS],
        }
    }

    /// A page of these nodes, as [`IndexPage::from_page_nodes`], from a slice: the nodes are
    /// copied once, into the page.
    pub(crate) fn from_node_slice(nodes: &[PageNode]) -> Self {
        debug_assert!(nodes.iter().all(|n| n.hash == n.node.hash()));
        Self::by_slots(nodes).unwrap_or_else(|| Self::from_page_nodes(nodes.to_vec()))
    }

    /// The page of `nodes` if they are one page's (its top at a page top, each of the others at a
    /// position of its own below it): placed by slot, which is their order by position, without
    /// a sort.
    fn by_slots(nodes: &[PageNode]) -> Option<Self> {
        let top = nodes.iter().map(|n| n.path).min_by_key(NodePath::depth)?;
        if !top.is_page_top() {
            return None;
        }
        let mut at_slot = [NO_NODE; PAGE_SLOTS];
        for (i, node) in nodes.iter().enumerate() {
            let at = slot(top.depth(), &node.path)?;
            if at_slot[at] != NO_NODE || node.path.page_top() != top {
                return None;
            }
            at_slot[at] = u8::try_from(i).ok()?;
        }
        let mut slots = [NO_NODE; PAGE_SLOTS];
        // The nodes' indexes in slot order: collected from a slice of known length, the page's
        // nodes are written once, into one allocation (from a filtered iterator, `collect` grew a
        // vector by doubling, then copied it into the shared slice).
        let mut order = [0u8; PAGE_SLOTS];
        let mut rank = 0u8;
        for (at, i) in at_slot.iter().enumerate() {
            if *i != NO_NODE {
                slots[at] = rank;
                order[usize::from(rank)] = *i;
                rank += 1;
            }
        }
        let sorted = order[..usize::from(rank)]
            .iter()
            .map(|i| nodes[usize::from(*i)])
            .collect();
        Some(Self {
            nodes: sorted,
            slots,
        })
    }

    /// The page's nodes, sorted by position (depth first), the top first.
    pub fn nodes(&self) -> &[PageNode] {
        &self.nodes
    }

    /// The node at `path` and its hash, if the page holds it.
    pub fn entry(&self, path: &NodePath) -> Option<&PageNode> {
        let top = self.nodes.first()?.path.depth();
        if self.slots[0] == NO_NODE {
            // A malformed page: searched.
            return self.nodes.iter().find(|n| n.path == *path);
        }
        slot(top, path)
            .map(|at| self.slots[at])
            .filter(|&i| i != NO_NODE)
            .and_then(|i| self.nodes.get(usize::from(i)))
            .filter(|n| n.path == *path)
    }

    /// The node at `path`, if the page holds it.
    pub fn node(&self, path: &NodePath) -> Option<IndexNode> {
        self.entry(path).map(|n| n.node)
    }

    /// The top node and its position.
    pub fn top(&self) -> Option<(NodePath, IndexNode)> {
        self.nodes.first().map(|n| (n.path, n.node))
    }

    /// Whether two pages hold the same nodes at the same positions, up to the versions their
    /// references to other pages name. Those versions depend on the store's history, not on the
    /// tree (a migration of the layout rewrites them), while the hashes fix every node's content.
    pub fn same_content(&self, other: &Self) -> bool {
        fn hashes_only(node: &IndexNode) -> IndexNode {
            let unversioned = |child: &SubtreeRef| match child {
                SubtreeRef::Empty => SubtreeRef::Empty,
                SubtreeRef::Stored { hash, .. } => SubtreeRef::Stored {
                    version: 0,
                    hash: *hash,
                },
            };
            match node {
                IndexNode::Leaf { .. } => *node,
                IndexNode::Interior { left, right } => IndexNode::Interior {
                    left: unversioned(left),
                    right: unversioned(right),
                },
            }
        }
        self.nodes.len() == other.nodes.len()
            && self
                .nodes
                .iter()
                .zip(other.nodes.iter())
                .all(|(a, b)| a.path == b.path && hashes_only(&a.node) == hashes_only(&b.node))
    }

    /// Appends the row value of the page as version `version` stores it to `out` (module
    /// documentation: references to other pages are written relative to `version`).
    pub fn encode(&self, version: u64, out: &mut Vec<u8>) -> Result<(), PageEncodeError> {
        self.encode_with(References::Back(version), out)
    }

    /// Appends the row value as schemas up to 5 wrote it: every reference to another page as
    /// `0x01 u64_be(version) hash`. For the tests and tools that make the pages of such a data
    /// dir; the server writes [`IndexPage::encode`]'s.
    #[doc(hidden)]
    pub fn encode_as_schema_5(&self, out: &mut Vec<u8>) -> Result<(), PageEncodeError> {
        self.encode_with(References::Schema5, out)
    }

    fn encode_with(&self, refs: References, out: &mut Vec<u8>) -> Result<(), PageEncodeError> {
        let (top, _) = self.top().ok_or(PageEncodeError::Empty)?;
        let written = self.encode_at(refs, top, out)?;
        if written != self.nodes.len() {
            return Err(PageEncodeError::Unreached(top));
        }
        Ok(())
    }

    fn encode_at(
        &self,
        refs: References,
        path: NodePath,
        out: &mut Vec<u8>,
    ) -> Result<usize, PageEncodeError> {
        let node = self.node(&path).ok_or(PageEncodeError::MissingNode(path))?;
        match node {
            IndexNode::Leaf { token, head } => {
                out.push(LEAF_TAG);
                out.extend_from_slice(token.as_bytes());
                out.extend_from_slice(&head.to_bytes());
                Ok(1)
            }
            IndexNode::Interior { left, right } => {
                out.push(INTERIOR_TAG);
                let mut written = 1;
                for (child, bit) in [(left, 0), (right, 1)] {
                    let below = path.child(bit);
                    match child {
                        SubtreeRef::Empty => out.push(EMPTY_CHILD),
                        SubtreeRef::Stored { version, hash } if below.is_page_top() => {
                            match refs.back_to(version) {
                                Some(back) => {
                                    out.push(PAGE_CHILD_BACK);
                                    prost::encoding::encode_varint(back, out);
                                }
                                None => {
                                    out.push(PAGE_CHILD);
                                    out.extend_from_slice(&version.to_be_bytes());
                                }
                            }
                            out.extend_from_slice(hash.as_bytes());
                        }
                        SubtreeRef::Stored { .. } => {
                            out.push(HERE_CHILD);
                            written += self.encode_at(refs, below, out)?;
                        }
                    }
                }
                Ok(written)
            }
        }
    }

    /// The page of `version` whose top is `top`, from its row value. Strict: one page has one
    /// encoding, and anything left after the top's subtree is an error.
    pub fn decode(version: u64, top: NodePath, bytes: &[u8]) -> Result<Self, NodeDecodeError> {
        let mut rest = bytes;
        let mut nodes = Vec::new();
        decode_at(version, top, &mut rest, &mut nodes)?;
        if !rest.is_empty() {
            return Err(NodeDecodeError::Length(bytes.len()));
        }
        Ok(Self::from_page_nodes(nodes))
    }
}

/// How a page's references to other pages are written.
#[derive(Debug, Clone, Copy)]
enum References {
    /// As versions back from the page's own (schema 6 on).
    Back(u64),
    /// As versions, in eight bytes (schemas up to 5).
    Schema5,
}

impl References {
    /// How many versions back `version` is, when written so: not for a later version than the
    /// page's, which has no such number.
    fn back_to(self, version: u64) -> Option<u64> {
        match self {
            Self::Back(page) => page.checked_sub(version),
            Self::Schema5 => None,
        }
    }
}

/// Takes `n` bytes from the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], NodeDecodeError> {
    if rest.len() < n {
        return Err(NodeDecodeError::Length(rest.len()));
    }
    let (taken, left) = rest.split_at(n);
    *rest = left;
    Ok(taken)
}

/// Takes a hash from the front of `rest`.
fn take_hash(rest: &mut &[u8]) -> Result<NodeHash, NodeDecodeError> {
    NodeHash::from_slice(take(rest, HASH_LEN)?).map_err(|_| NodeDecodeError::Length(HASH_LEN))
}

/// Takes a varint in its shortest form from the front of `rest` (a longer form of the same
/// number would give one page two encodings).
fn take_varint(rest: &mut &[u8]) -> Result<u64, NodeDecodeError> {
    let before = rest.len();
    let value = prost::encoding::decode_varint(rest).map_err(|_| NodeDecodeError::ChildVersion)?;
    if before - rest.len() != prost::encoding::encoded_len_varint(value) {
        return Err(NodeDecodeError::ChildVersion);
    }
    Ok(value)
}

/// Decodes the node at `path` and its page's nodes below it; returns its hash.
fn decode_at(
    version: u64,
    path: NodePath,
    rest: &mut &[u8],
    nodes: &mut Vec<PageNode>,
) -> Result<NodeHash, NodeDecodeError> {
    let tag = take(rest, 1)?[0];
    let node = match tag {
        LEAF_TAG => {
            let token = take(rest, 32)?;
            let head = take(rest, SUBJECT_HEAD_LEN)?;
            IndexNode::Leaf {
                token: SubjectToken::from_slice(token)
                    .map_err(|_| NodeDecodeError::Length(token.len()))?,
                head: SubjectHead::from_bytes(head)
                    .map_err(|_| NodeDecodeError::Length(head.len()))?,
            }
        }
        INTERIOR_TAG => {
            if path.depth() >= TOKEN_BITS {
                return Err(NodeDecodeError::InteriorTooDeep);
            }
            let mut children = [SubtreeRef::Empty; 2];
            for (bit, child) in (0u8..).zip(children.iter_mut()) {
                let below = path.child(bit);
                let child_tag = take(rest, 1)?[0];
                *child = match child_tag {
                    EMPTY_CHILD => SubtreeRef::Empty,
                    PAGE_CHILD if below.is_page_top() => {
                        let mut version_bytes = [0u8; 8];
                        version_bytes.copy_from_slice(take(rest, 8)?);
                        SubtreeRef::Stored {
                            version: u64::from_be_bytes(version_bytes),
                            hash: take_hash(rest)?,
                        }
                    }
                    PAGE_CHILD_BACK if below.is_page_top() => SubtreeRef::Stored {
                        version: version
                            .checked_sub(take_varint(rest)?)
                            .ok_or(NodeDecodeError::ChildVersion)?,
                        hash: take_hash(rest)?,
                    },
                    HERE_CHILD if !below.is_page_top() => SubtreeRef::Stored {
                        version,
                        hash: decode_at(version, below, rest, nodes)?,
                    },
                    other => return Err(NodeDecodeError::UnknownChildTag(other)),
                };
            }
            let [left, right] = children;
            if left == SubtreeRef::Empty && right == SubtreeRef::Empty {
                return Err(NodeDecodeError::EmptyInterior);
            }
            IndexNode::Interior { left, right }
        }
        other => return Err(NodeDecodeError::UnknownTag(other)),
    };
    let node = PageNode::new(path, node);
    nodes.push(node);
    Ok(node.hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn leaf(byte: u8) -> IndexNode {
        IndexNode::Leaf {
            token: SubjectToken::from_bytes([byte; 32]),
            head: SubjectHead {
                count: u64::from(byte) + 1,
                last_index: u64::from(byte),
                last_leaf: leaf_hash(&[byte]),
            },
        }
    }

    fn path(bits: &[u8]) -> NodePath {
        bits.iter()
            .fold(NodePath::ROOT, |path, &bit| path.child(bit))
    }

    fn stored(version: u64, node: &IndexNode) -> SubtreeRef {
        SubtreeRef::Stored {
            version,
            hash: node.hash(),
        }
    }

    /// A page of version 7 at the root: an interior top, a leaf at depth 1 (token 0x00...), and
    /// on the right a chain down to depth 3 whose children are the tops of two other pages.
    fn sample() -> IndexPage {
        let left = leaf(0x00);
        let deep_left = leaf(0xc0);
        let deep_right = leaf(0xd0);
        let depth3 = IndexNode::Interior {
            left: stored(3, &deep_left),
            right: stored(5, &deep_right),
        };
        let depth2 = IndexNode::Interior {
            left: stored(7, &depth3),
            right: SubtreeRef::Empty,
        };
        let depth1 = IndexNode::Interior {
            left: SubtreeRef::Empty,
            right: stored(7, &depth2),
        };
        let top = IndexNode::Interior {
            left: stored(7, &left),
            right: stored(7, &depth1),
        };
        IndexPage::from_nodes(vec![
            (path(&[1, 1, 0]), depth3),
            (NodePath::ROOT, top),
            (path(&[0]), left),
            (path(&[1]), depth1),
            (path(&[1, 1]), depth2),
        ])
    }

    /// Every node of a page at every top depth is found by its slot, as a search finds it, and
    /// a position the page does not hold is not.
    #[test]
    fn lookups_by_slot_find_what_a_search_finds() {
        let token = SubjectToken::from_bytes([0b1011_0110; 32]);
        for top_depth in [0u16, 4, 8, 12, 252] {
            let top = NodePath::prefix_of(&token, top_depth);
            // A full page: every position of its four levels, leaves at the bottom.
            let mut nodes = Vec::new();
            let mut level = vec![top];
            for depth in 0..PAGE_LEVELS {
                let mut next = Vec::new();
                for (i, at) in level.iter().enumerate() {
                    let node = if depth + 1 == PAGE_LEVELS {
                        leaf(u8::try_from(i).expect("small"))
                    } else {
                        IndexNode::Interior {
                            left: stored(1, &leaf(0)),
                            right: SubtreeRef::Empty,
                        }
                    };
                    nodes.push((*at, node));
                    next.extend([at.child(0), at.child(1)]);
                }
                level = next;
            }
            let page = IndexPage::from_nodes(nodes.clone());
            assert_eq!(page.nodes().len(), PAGE_SLOTS);
            for (at, node) in &nodes {
                let found = page.entry(at).expect("held");
                assert_eq!(
                    (found.path, found.node, found.hash),
                    (*at, *node, node.hash())
                );
            }
            // The next page's top is not in it, nor (below the root) a position of another page
            // at the same depth.
            assert_eq!(page.entry(&level[0]), None);
            let zeros = SubjectToken::from_bytes([0; 32]);
            if top_depth > 0 {
                let elsewhere = NodePath::prefix_of(&zeros, top_depth + 1);
                assert_eq!(page.entry(&elsewhere), None, "{elsewhere}");
            }
        }
        // A malformed page (a node off its top's levels) is still searched.
        let top = NodePath::ROOT;
        let far = path(&[1, 0, 1, 1, 0]);
        let page = IndexPage::from_nodes(vec![(top, leaf(1)), (far, leaf(2))]);
        assert_eq!(page.node(&far), Some(leaf(2)));
    }

    #[test]
    fn a_page_round_trips_and_its_decoding_is_strict() {
        let page = sample();
        let mut bytes = Vec::new();
        page.encode(7, &mut bytes).expect("encode");
        assert_eq!(
            IndexPage::decode(7, NodePath::ROOT, &bytes),
            Ok(page.clone())
        );
        for cut in 0..bytes.len() {
            assert!(
                IndexPage::decode(7, NodePath::ROOT, &bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(IndexPage::decode(7, NodePath::ROOT, &longer).is_err());
        // The page's own nodes take its version; a decoding under another version differs.
        let other = IndexPage::decode(8, NodePath::ROOT, &bytes).expect("decode");
        assert_ne!(other, page);
        assert!(other.same_content(&page));
    }

    #[test]
    fn a_reference_to_another_page_is_only_at_a_page_top() {
        // A page whose top is at depth 4 cannot name another page at depth 5.
        let top = path(&[0, 0, 0, 0]);
        let node = IndexNode::Interior {
            left: stored(2, &leaf(0)),
            right: SubtreeRef::Empty,
        };
        let page = IndexPage::from_nodes(vec![(top, node)]);
        let mut bytes = Vec::new();
        // The encoder reads the left child as a node of this page, which it lacks.
        assert_eq!(
            page.encode(2, &mut bytes),
            Err(PageEncodeError::MissingNode(top.child(0)))
        );
        let forged = [INTERIOR_TAG, PAGE_CHILD]
            .into_iter()
            .chain(2u64.to_be_bytes())
            .chain(*leaf(0).hash().as_bytes())
            .chain([EMPTY_CHILD])
            .collect::<Vec<u8>>();
        assert_eq!(
            IndexPage::decode(9, top, &forged),
            Err(NodeDecodeError::UnknownChildTag(PAGE_CHILD))
        );
        let forged = [INTERIOR_TAG, PAGE_CHILD_BACK, 7]
            .into_iter()
            .chain(*leaf(0).hash().as_bytes())
            .chain([EMPTY_CHILD])
            .collect::<Vec<u8>>();
        assert_eq!(
            IndexPage::decode(9, top, &forged),
            Err(NodeDecodeError::UnknownChildTag(PAGE_CHILD_BACK))
        );
    }

    /// References to other pages are written as how many versions back their page is, in a
    /// shortest varint (one byte up to 127 back, two up to 16,383, ...): the sample's page of
    /// version 7 names versions 3 and 5 in one byte each. A page of a later version round-trips
    /// the same, and only a reference to a later version than the page's (which no update makes)
    /// is written as schemas up to 5 wrote them.
    #[test]
    fn references_are_written_as_versions_back() {
        let page = sample();
        let mut compact = Vec::new();
        page.encode(7, &mut compact).expect("encode");
        let mut legacy = Vec::new();
        page.encode_as_schema_5(&mut legacy).expect("encode");
        // Two references of 1 + 8 bytes each became 1 + 1.
        assert_eq!(legacy.len() - compact.len(), 2 * 7);
        assert_eq!(
            IndexPage::decode(7, NodePath::ROOT, &legacy),
            Ok(page.clone()),
            "pages written before schema 6 are read as they were"
        );
        // Versions 3 and 5 named from version 130 are 127 and 125 back: one byte each; from 133,
        // 130 and 128 back: two bytes each; from the last version, ten bytes each.
        for (version, longer_by) in [(130, 0), (133, 2), (u64::MAX, 18)] {
            let moved = page_at(version);
            let mut bytes = Vec::new();
            moved.encode(version, &mut bytes).expect("encode");
            assert_eq!(bytes.len(), compact.len() + longer_by, "{version}");
            assert_eq!(
                IndexPage::decode(version, NodePath::ROOT, &bytes),
                Ok(moved)
            );
        }
        // From version 4, the reference to version 5 is ahead: it keeps its eight bytes.
        let mut ahead = Vec::new();
        page.clone_at(4).encode(4, &mut ahead).expect("encode");
        assert_eq!(ahead.len(), compact.len() + 7);
        let decoded = IndexPage::decode(4, NodePath::ROOT, &ahead).expect("decode");
        assert!(decoded.same_content(&page));
        let versions = |page: &IndexPage| -> Vec<u64> {
            page.nodes()
                .iter()
                .flat_map(|n| match n.node {
                    IndexNode::Interior { left, right } => vec![left, right],
                    IndexNode::Leaf { .. } => vec![],
                })
                .filter_map(|child| match child {
                    SubtreeRef::Stored { version, .. } => Some(version),
                    SubtreeRef::Empty => None,
                })
                .collect()
        };
        assert_eq!(versions(&decoded), versions(&page.clone_at(4)));
        assert!(versions(&decoded).contains(&5));
    }

    /// The sample's nodes with the page's own version moved to `version` (its references to
    /// other pages keep theirs).
    fn page_at(version: u64) -> IndexPage {
        sample().clone_at(version)
    }

    impl IndexPage {
        /// This page's nodes, those of the page itself (references to nodes of the page) taking
        /// version `version`.
        fn clone_at(&self, version: u64) -> IndexPage {
            let own = |at: NodePath, child: SubtreeRef| match child {
                SubtreeRef::Stored { hash, .. } if !at.is_page_top() => {
                    SubtreeRef::Stored { version, hash }
                }
                other => other,
            };
            IndexPage::from_nodes(
                self.nodes()
                    .iter()
                    .map(|n| {
                        let node = match n.node {
                            IndexNode::Interior { left, right } => IndexNode::Interior {
                                left: own(n.path.child(0), left),
                                right: own(n.path.child(1), right),
                            },
                            leaf => leaf,
                        };
                        (n.path, node)
                    })
                    .collect(),
            )
        }
    }

    /// A reference back before version 0, or in a longer varint than the shortest, is refused.
    #[test]
    fn a_malformed_reference_back_is_refused() {
        let page = sample();
        let mut bytes = Vec::new();
        page.encode(7, &mut bytes).expect("encode");
        // The sample's first reference (to version 3) is the first PAGE_CHILD_BACK byte.
        let at = bytes
            .iter()
            .position(|&b| b == PAGE_CHILD_BACK)
            .expect("a reference");
        assert_eq!(bytes[at + 1], 4, "7 - 3");
        // Back 8 from version 7.
        let mut before_zero = bytes.clone();
        before_zero[at + 1] = 8;
        assert_eq!(
            IndexPage::decode(7, NodePath::ROOT, &before_zero),
            Err(NodeDecodeError::ChildVersion)
        );
        // 4 as two bytes (0x84 0x00): the same number, not the shortest form.
        let mut longer = bytes.clone();
        longer.splice(at + 1..at + 2, [0x84, 0x00]);
        assert_eq!(
            IndexPage::decode(7, NodePath::ROOT, &longer),
            Err(NodeDecodeError::ChildVersion)
        );
        // A varint that never ends.
        let mut endless = bytes[..at + 1].to_vec();
        endless.extend([0xff; 11]);
        assert!(IndexPage::decode(7, NodePath::ROOT, &endless).is_err());
        // Back exactly to version 0 is a version like another.
        let mut to_zero = bytes.clone();
        to_zero[at + 1] = 7;
        let decoded = IndexPage::decode(7, NodePath::ROOT, &to_zero).expect("decode");
        let first_reference = decoded.nodes().iter().find_map(|n| match n.node {
            IndexNode::Interior {
                left: SubtreeRef::Stored { version, .. },
                ..
            } if n.path.child(0).is_page_top() => Some(version),
            _ => None,
        });
        assert_eq!(first_reference, Some(0));
    }

    #[test]
    fn nodes_the_top_does_not_reach_are_refused() {
        let mut nodes: Vec<_> = sample().nodes().iter().map(|n| (n.path, n.node)).collect();
        nodes.push((path(&[0, 1]), leaf(0x40)));
        let page = IndexPage::from_nodes(nodes);
        assert_eq!(
            page.encode(7, &mut Vec::new()),
            Err(PageEncodeError::Unreached(NodePath::ROOT))
        );
        assert_eq!(
            IndexPage::default().encode(7, &mut Vec::new()),
            Err(PageEncodeError::Empty)
        );
        assert_eq!(
            IndexPage::decode(1, NodePath::ROOT, &[INTERIOR_TAG, EMPTY_CHILD, EMPTY_CHILD]),
            Err(NodeDecodeError::EmptyInterior)
        );
    }
}
