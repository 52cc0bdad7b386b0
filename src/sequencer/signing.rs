//! The signing pool: threads that live as long as the sequencer and sign a group's entries while
//! the sequencer thread plans the group's later jobs and makes its subject-index version (none of
//! which the signatures depend on: an entry's signature covers its leaf hash, which planning
//! fixed). The sequencer sends the entries as they are planned, [`INLINE_BELOW`] or more at a
//! time (`group::OpenGroup::sign_unsent`), so that signing overlaps the previous group's
//! write; while the writer is busy with that group, it signs fewer itself rather than wait
//! (at 16 clients x 1 a group's finish went from 245-251 to 200-209 us); the rest is signed
//! at the group's hand-over.
//!
//! Each call of [`SigningPool::sign`] with [`INLINE_BELOW`] entries or more is split into one
//! part per thread; a smaller one (a lone unary append) is signed on the sequencer thread, where
//! handing it over would cost more than signing it. Ed25519 signatures are deterministic, so where an entry is signed changes no
//! byte of the log.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::{Scope, ScopedJoinHandle};

use crate::core::hash::LeafHash;
use crate::core::signature::LogSigner;

/// Calls with fewer entries are signed on the calling thread.
pub(super) const INLINE_BELOW: usize = 64;

/// One part of a group for one thread: the leaves, which of them, and where the signatures go.
struct Part {
    leaves: Arc<[LeafHash]>,
    range: Range<usize>,
    reply: Sender<(usize, Vec<[u8; 64]>)>,
}

/// The pool's threads, one channel each; dropping the pool ends them (the scope joins them).
pub(super) struct SigningPool<'scope> {
    signer: Arc<LogSigner>,
    parts: Vec<Sender<Part>>,
    _threads: Vec<ScopedJoinHandle<'scope, ()>>,
}

/// A group's signing under way.
pub(super) enum Signing {
    /// Signed on the calling thread (small groups, or a pool without threads).
    Done(Vec<[u8; 64]>),
    /// Parts out on the pool's threads: how many entries and parts, and where they come back.
    Pending {
        entries: usize,
        parts: usize,
        replies: Receiver<(usize, Vec<[u8; 64]>)>,
    },
}

impl<'scope> SigningPool<'scope> {
    /// Starts `threads` signing threads in `scope` (`signer-0`, ...). A thread that cannot be
    /// started is left out; with none, every group is signed on the calling thread.
    pub(super) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        signer: Arc<LogSigner>,
        threads: usize,
    ) -> Self {
        let mut parts = Vec::new();
        let mut handles = Vec::new();
        for n in 0..threads {
            let (send, receive) = channel::<Part>();
            let thread_signer = signer.clone();
            let started = std::thread::Builder::new()
                .name(format!("signer-{n}"))
                .spawn_scoped(scope, move || sign_parts(&thread_signer, receive));
            match started {
                Ok(handle) => {
                    parts.push(send);
                    handles.push(handle);
                }
                Err(error) => tracing::warn!(%error, "cannot start a signing thread"),
            }
        }
        Self {
            signer,
            parts,
            _threads: handles,
        }
    }

    /// Starts signing `leaves`, in order.
    pub(super) fn sign(&self, leaves: Vec<LeafHash>) -> Signing {
        if leaves.len() < INLINE_BELOW || self.parts.is_empty() {
            return Signing::Done(sign_all(&self.signer, &leaves));
        }
        let entries = leaves.len();
        let leaves: Arc<[LeafHash]> = leaves.into();
        let chunk = entries.div_ceil(self.parts.len());
        let (reply, replies) = channel();
        let mut sent = 0;
        for (thread, start) in self.parts.iter().zip((0..entries).step_by(chunk)) {
            let part = Part {
                leaves: leaves.clone(),
                range: start..(start + chunk).min(entries),
                reply: reply.clone(),
            };
            if thread.send(part).is_ok() {
                sent += 1;
            }
        }
        Signing::Pending {
            entries,
            parts: sent,
            replies,
        }
    }
}

impl Signing {
    /// How many entries this signing covers.
    pub(super) fn entries(&self) -> usize {
        match self {
            Signing::Done(signatures) => signatures.len(),
            Signing::Pending { entries, .. } => *entries,
        }
    }

    /// The signatures, in the order of the leaves; an error if a signing thread stopped (it
    /// panicked) before it answered.
    pub(super) fn wait(self) -> Result<Vec<[u8; 64]>, String> {
        let (entries, parts, replies) = match self {
            Signing::Done(signatures) => return Ok(signatures),
            Signing::Pending {
                entries,
                parts,
                replies,
            } => (entries, parts, replies),
        };
        let mut answers = Vec::with_capacity(parts);
        for _ in 0..parts {
            answers.push(
                replies
                    .recv()
                    .map_err(|_| "a signing thread stopped before it answered".to_string())?,
            );
        }
        answers.sort_unstable_by_key(|(start, _)| *start);
        let signatures: Vec<[u8; 64]> = answers.into_iter().flat_map(|(_, s)| s).collect();
        if signatures.len() != entries {
            return Err(format!(
                "the signing threads signed {} of {entries} entries",
                signatures.len()
            ));
        }
        Ok(signatures)
    }
}

fn sign_all(signer: &LogSigner, leaves: &[LeafHash]) -> Vec<[u8; 64]> {
    signer
        .sign_entries(leaves)
        .into_iter()
        .map(|signature| signature.to_bytes())
        .collect()
}

/// A signing thread: signs each part it is given until the pool is dropped.
fn sign_parts(signer: &LogSigner, parts: Receiver<Part>) {
    while let Ok(part) = parts.recv() {
        let signatures = part
            .leaves
            .get(part.range.clone())
            .map(|leaves| sign_all(signer, leaves))
            .unwrap_or_default();
        // The group may have been given up (its subject-index version failed): nobody waits.
        let _ = part.reply.send((part.range.start, signatures));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn signer() -> Arc<LogSigner> {
        Arc::new(LogSigner::from_seed("example.org/log", &[7; 32]).expect("signer"))
    }

    /// Whatever the threads and the group's size, the pool gives each leaf its own signature,
    /// in order, the same bytes as signing on one thread.
    #[test]
    fn the_pool_signs_every_leaf_in_order_as_one_thread_would() {
        let signer = signer();
        for threads in [0, 1, 2, 3] {
            std::thread::scope(|scope| {
                let pool = SigningPool::start(scope, signer.clone(), threads);
                for entries in [0, 1, INLINE_BELOW - 1, INLINE_BELOW, 65, 200, 1601] {
                    let leaves: Vec<LeafHash> = (0..entries as u64)
                        .map(|i| leaf_hash(&i.to_be_bytes()))
                        .collect();
                    let signed = pool.sign(leaves.clone()).wait().expect("signed");
                    let one_by_one: Vec<[u8; 64]> = leaves
                        .iter()
                        .map(|leaf| signer.sign_entry(leaf).to_bytes())
                        .collect();
                    assert_eq!(signed, one_by_one, "{threads} x {entries}");
                }
            });
        }
    }
}
