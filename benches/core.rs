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

criterion_main!(benches, signing_group);
