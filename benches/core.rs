//! Benchmarks of the pure core, one criterion group per area.
//!
//! Run: `cargo bench --no-default-features --bench core` (add `-- merkle` for one group).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gdpr_ledger::core::hash::{LeafHash, leaf_hash};
use gdpr_ledger::core::merkle::{
    CompactRange, MemoryHashStore, consistency_proof, inclusion_proof, root_at, verify_consistency,
    verify_inclusion,
};

// ---------------------------------------------------------------------------------------------
// Group "merkle": SPEC.md section 2.

/// Leaves in the tree the proof benchmarks read from.
const PROOF_TREE_SIZE: u64 = 1_000_000;
/// Leaves appended per iteration of the append benchmark.
const APPEND_BATCH: u64 = 1_000;
/// A stride coprime with the tree size, to visit indexes all over the tree.
const INDEX_STRIDE: u64 = 7_919;

fn bench_leaf(i: u64) -> LeafHash {
    leaf_hash(&i.to_be_bytes())
}

fn merkle(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle");

    let entry = [0x5au8; 512];
    group.throughput(Throughput::Bytes(entry.len() as u64));
    group.bench_function("leaf_hash/512B", |b| {
        b.iter(|| leaf_hash(black_box(&entry)))
    });

    let leaves: Vec<LeafHash> = (0..APPEND_BATCH).map(bench_leaf).collect();
    group.throughput(Throughput::Elements(APPEND_BATCH));
    group.bench_function(
        BenchmarkId::new("compact_range_append", APPEND_BATCH),
        |b| {
            let mut completed = Vec::with_capacity(2 * APPEND_BATCH as usize);
            b.iter(|| {
                let mut range = CompactRange::new();
                completed.clear();
                for leaf in &leaves {
                    let _ = range.append(*leaf, &mut completed);
                }
                black_box(range.root())
            })
        },
    );

    let (store, range) =
        MemoryHashStore::from_leaves((0..PROOF_TREE_SIZE).map(bench_leaf)).expect("append");
    let size = range.size();
    let root = range.root();
    group.throughput(Throughput::Elements(1));

    let mut index = 0u64;
    group.bench_function(BenchmarkId::new("inclusion_proof", size), |b| {
        b.iter(|| {
            index = (index + INDEX_STRIDE) % size;
            inclusion_proof(&store, black_box(index), size).expect("proof")
        })
    });

    let mut first = 0u64;
    group.bench_function(BenchmarkId::new("consistency_proof", size), |b| {
        b.iter(|| {
            first = (first + INDEX_STRIDE) % size;
            consistency_proof(&store, black_box(first.max(1)), size).expect("proof")
        })
    });

    group.bench_function(BenchmarkId::new("root_at", size - 1), |b| {
        b.iter(|| root_at(&store, black_box(size - 1)).expect("root"))
    });

    let proved = 123_457;
    let proof = inclusion_proof(&store, proved, size).expect("proof");
    let leaf = bench_leaf(proved);
    group.bench_function(BenchmarkId::new("verify_inclusion", size), |b| {
        b.iter(|| verify_inclusion(black_box(&leaf), proved, size, black_box(&proof), &root))
    });

    let old_size = 654_321;
    let old_root = root_at(&store, old_size).expect("root");
    let proof = consistency_proof(&store, old_size, size).expect("proof");
    group.bench_function(BenchmarkId::new("verify_consistency", size), |b| {
        b.iter(|| verify_consistency(old_size, size, &old_root, &root, black_box(&proof)))
    });

    group.finish();
}

criterion_group!(benches, merkle);

// ---------------------------------------------------------------------------------------------
// Group "signing": entry signatures and checkpoints, SPEC.md sections 4 and 5.

/// Signing an entry, verifying an entry signature, signing and opening a checkpoint.
fn signing(c: &mut Criterion) {
    use gdpr_ledger::core::checkpoint::Checkpoint;
    use gdpr_ledger::core::hash::RootHash;
    use gdpr_ledger::core::signature::{LogSigner, verify_entry_signature};

    let signer =
        LogSigner::from_seed("ledger.example.com/gdpr/bench", &[7; 32]).expect("a valid origin");
    let key = signer.verifier_key();
    let leaf = leaf_hash(b"an entry of a typical size, a few hundred bytes in practice");
    let signature = signer.sign_entry(&leaf);
    let checkpoint = Checkpoint {
        origin: signer.origin().to_owned(),
        size: 1_234_567,
        root: RootHash::from_bytes(*leaf.as_bytes()),
        extensions: Vec::new(),
    };
    let note = checkpoint.sign(&signer).expect("a valid checkpoint");
    let keys = [key.clone()];

    let mut group = c.benchmark_group("signing");
    group.bench_function("sign_entry", |b| {
        b.iter(|| signer.sign_entry(black_box(&leaf)))
    });
    // A group as the sequencer's signing threads sign them (`sequencer::signing`).
    for entries in [16u64, 100] {
        let leaves: Vec<_> = (0..entries).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        group.throughput(Throughput::Elements(entries));
        group.bench_function(format!("sign_entries/{entries}"), |b| {
            b.iter(|| signer.sign_entries(black_box(&leaves)))
        });
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_entry_signature", |b| {
        b.iter(|| verify_entry_signature(&key, black_box(&leaf), black_box(&signature)))
    });
    group.bench_function("checkpoint_sign", |b| {
        b.iter(|| black_box(&checkpoint).sign(&signer))
    });
    group.bench_function("checkpoint_open", |b| {
        b.iter(|| Checkpoint::open(black_box(&note), &keys))
    });
    group.finish();
}

criterion_group!(signing_group, signing);

// ---------------------------------------------------------------------------------------------
// Group "subject_index": the authenticated subject index, docs/subject-index.md.

/// Tokens in the index the benchmarks start from.
const SUBJECT_INDEX_TOKENS: u64 = 100_000;
/// Updates per commit group in the update benchmark.
const SUBJECT_UPDATE_BATCH: u64 = 1_000;

fn bench_token(i: u64) -> gdpr_ledger::core::directory::SubjectToken {
    gdpr_ledger::core::directory::SubjectToken::from_bytes(
        *blake3::hash(&i.to_be_bytes()).as_bytes(),
    )
}

fn bench_head(i: u64) -> gdpr_ledger::core::subject_index::SubjectHead {
    gdpr_ledger::core::subject_index::SubjectHead {
        count: i % 7 + 1,
        last_index: i,
        last_leaf: bench_leaf(i),
    }
}

/// Applying a commit group's updates to an index of 100,000 tokens (half new tokens, half
/// overwrites), and proving and verifying heads and absences in it.
fn subject_index(c: &mut Criterion) {
    use gdpr_ledger::core::subject_index::{MemorySubjectStore, apply_updates, prove, verify};

    let mut store = MemorySubjectStore::new();
    let mut version = 0u64;
    for start in (0..SUBJECT_INDEX_TOKENS).step_by(10_000) {
        let updates: Vec<_> = (start..start + 10_000)
            .map(|i| (bench_token(i), bench_head(i)))
            .collect();
        let base = (version > 0).then_some(version);
        let commit = apply_updates(&store, base, version + 1, &updates).expect("apply");
        store.commit(commit);
        version += 1;
    }
    let root = gdpr_ledger::core::subject_index::root_at(&store, version).expect("root");

    let mut group = c.benchmark_group("subject_index");
    let half = SUBJECT_UPDATE_BATCH / 2;
    let updates: Vec<_> = (0..half)
        .map(|i| i * (SUBJECT_INDEX_TOKENS / half))
        .chain(SUBJECT_INDEX_TOKENS..SUBJECT_INDEX_TOKENS + half)
        .map(|i| (bench_token(i), bench_head(i + 1)))
        .collect();
    group.throughput(Throughput::Elements(SUBJECT_UPDATE_BATCH));
    group.bench_function(
        BenchmarkId::new(
            format!("apply_updates/{SUBJECT_UPDATE_BATCH}"),
            SUBJECT_INDEX_TOKENS,
        ),
        |b| {
            b.iter(|| {
                apply_updates(&store, Some(version), version + 1, black_box(&updates))
                    .expect("apply")
            })
        },
    );

    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function(BenchmarkId::new("prove", SUBJECT_INDEX_TOKENS), |b| {
        b.iter(|| {
            i = (i + INDEX_STRIDE) % SUBJECT_INDEX_TOKENS;
            prove(&store, version, black_box(&bench_token(i))).expect("prove")
        })
    });

    let present = bench_token(12_345);
    let membership = prove(&store, version, &present).expect("prove");
    group.bench_function(
        BenchmarkId::new("verify_membership", SUBJECT_INDEX_TOKENS),
        |b| b.iter(|| verify(&root, black_box(&present), black_box(&membership))),
    );
    let absent = bench_token(SUBJECT_INDEX_TOKENS + 12_345);
    let absence = prove(&store, version, &absent).expect("prove");
    group.bench_function(
        BenchmarkId::new("verify_absence", SUBJECT_INDEX_TOKENS),
        |b| b.iter(|| verify(&root, black_box(&absent), black_box(&absence))),
    );
    group.bench_function("proof_encode_decode", |b| {
        b.iter(|| {
            gdpr_ledger::core::subject_index::SubjectProof::from_bytes(
                &black_box(&membership).to_bytes(),
            )
        })
    });
    group.finish();
}

criterion_group!(subject_index_group, subject_index);

/// Crypto-shredding on the append path: sealing an event's details with the subject's data key,
/// and making and wrapping a new subject's key.
#[cfg(feature = "server")]
fn vault(c: &mut Criterion) {
    use gdpr_ledger::vault::{DataKey, MasterKey};
    let mut group = c.benchmark_group("vault");
    let master = MasterKey::from_bytes([7; 32]);
    let token = [3u8; 32];
    let key = DataKey::generate().expect("randomness");
    for size in [64usize, 512, 4096] {
        let details = vec![b'x'; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal_details", size), &details, |b, d| {
            b.iter(|| key.seal_details(&token, 42, black_box(d)).expect("seals"))
        });
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("new_subject_key_wrapped", |b| {
        b.iter(|| {
            let key = DataKey::generate().expect("randomness");
            master.wrap(&token, black_box(&key)).expect("wraps")
        })
    });
    group.finish();
}

#[cfg(not(feature = "server"))]
fn vault(_: &mut Criterion) {}

criterion_group!(vault_group, vault);
criterion_main!(benches, signing_group, subject_index_group, vault_group);
