//! Distinct keys in bounded memory: an external sort. Keys are gathered in memory up to a budget
//! (`[reports] memory_kib`); beyond it the gathered keys are sorted, deduplicated and written to
//! a run file, and the runs are merged at the end. What a breach investigation over a window uses
//! to count distinct subjects (`crate::reports::breach`), and what `audit --data-dir` uses to
//! recompute the breach member rows (`crate::store_audit`): neither holds a set of millions.
//!
//! Run files are made in the spill directory (the system's temporary directory unless
//! `[reports] spill_dir` says otherwise) with mode 0600, and unlinked as soon as they are
//! created, so that they disappear with the process even if it is killed. They hold what the keys
//! hold (subject tokens, which are pseudonyms, and counter numbers), never an identifier.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Where and how much: the memory budget of one counter and the directory of its run files.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpillConfig {
    /// Memory one report (or audit) may hold in keys before it spills them to disk, in KiB.
    pub memory_kib: usize,
    /// Where run files go; the system's temporary directory when absent.
    pub spill_dir: Option<PathBuf>,
}

impl Default for SpillConfig {
    fn default() -> Self {
        Self {
            memory_kib: 64 << 10,
            spill_dir: None,
        }
    }
}

impl SpillConfig {
    /// The budget in bytes (at least 16 KiB).
    pub fn memory_bytes(&self) -> usize {
        self.memory_kib.max(16).saturating_mul(1 << 10)
    }

    /// The directory of run files.
    pub fn dir(&self) -> PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// What one key costs in memory besides its bytes: its place in the arena.
const KEY_OVERHEAD: usize = 8;
/// Runs merged at once; beyond, the runs are first merged into one.
const MAX_RUNS: usize = 64;
/// Read buffer of each run while merging (so at most `MAX_RUNS` times this).
const RUN_BUFFER: usize = 64 << 10;
/// The longest key a run may hold: a longer length prefix is damage.
const MAX_KEY: usize = 1 << 20;

/// A set of byte strings, gathered in bounded memory, read back sorted and deduplicated. Keys
/// are kept end to end in one arena (no allocation per key), with their places beside.
#[derive(Debug)]
pub struct DistinctKeys {
    arena: Vec<u8>,
    places: Vec<(u32, u32)>,
    budget: usize,
    dir: PathBuf,
    runs: Vec<File>,
}

impl DistinctKeys {
    /// An empty set spilling as `config` says.
    pub fn new(config: &SpillConfig) -> Self {
        Self {
            arena: Vec::new(),
            places: Vec::new(),
            // The arena's places are u32: a budget never lets it reach 4 GiB.
            budget: config.memory_bytes().min(u32::MAX as usize / 2),
            dir: config.dir(),
            runs: Vec::new(),
        }
    }

    /// Adds `key` (a key added twice is read back once).
    pub fn insert(&mut self, key: &[u8]) -> io::Result<()> {
        if key.len() > MAX_KEY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "key too long to count",
            ));
        }
        // Both fit in u32: the arena is spilled before it passes the budget, and keys are short.
        let place = (self.arena.len() as u32, key.len() as u32);
        self.arena.extend_from_slice(key);
        self.places.push(place);
        if self.arena.len() + self.places.len() * KEY_OVERHEAD >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many run files were written so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn key(&self, (start, len): (u32, u32)) -> &[u8] {
        &self.arena[start as usize..start as usize + len as usize]
    }

    /// Sorts the keys in memory and drops the repeated ones.
    fn sort(&mut self) {
        let mut places = std::mem::take(&mut self.places);
        places.sort_unstable_by(|a, b| self.key(*a).cmp(self.key(*b)));
        places.dedup_by(|a, b| self.key(*a) == self.key(*b));
        self.places = places;
    }

    /// Sorts what is in memory and writes it as a run.
    fn spill(&mut self) -> io::Result<()> {
        self.sort();
        let mut out = BufWriter::new(spill_file(&self.dir)?);
        for place in &self.places {
            write_key(&mut out, self.key(*place))?;
        }
        self.arena.clear();
        self.places.clear();
        let file = finish_run(out)?;
        self.runs.push(file);
        if self.runs.len() >= MAX_RUNS {
            let runs = std::mem::take(&mut self.runs);
            let mut out = BufWriter::new(spill_file(&self.dir)?);
            merge(runs, |key| write_key(&mut out, key))?;
            self.runs.push(finish_run(out)?);
        }
        Ok(())
    }

    /// Calls `visit` with every distinct key, in byte order.
    pub fn for_each_sorted<E: From<io::Error>>(
        mut self,
        mut visit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.runs.is_empty() {
            self.sort();
            for place in &self.places {
                visit(self.key(*place))?;
            }
            return Ok(());
        }
        if !self.places.is_empty() {
            self.spill()?;
        }
        merge(std::mem::take(&mut self.runs), visit)
    }
}

/// A new run file in `dir`, already unlinked (where the system allows it).
fn spill_file(dir: &Path) -> io::Result<File> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(format!("randomness: {e}")))?;
    let path = dir.join(format!(
        "gdpr-ledger-spill-{}-{}",
        std::process::id(),
        hex::encode(nonce)
    ));
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    // Unlinked at once: the open file stays readable, and nothing is left behind by a crash.
    std::fs::remove_file(&path)?;
    Ok(file)
}

fn write_key(out: &mut impl Write, key: &[u8]) -> io::Result<()> {
    // Keys are at most MAX_KEY long (checked on insert).
    out.write_all(&(key.len() as u32).to_be_bytes())?;
    out.write_all(key)
}

fn finish_run(out: BufWriter<File>) -> io::Result<File> {
    let mut file = out.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Reads the next key of a run into `key` (replacing it); `false` at the run's end.
fn read_key(run: &mut impl Read, key: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match run.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_KEY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "spill run damaged: a key length is out of bounds",
        ));
    }
    key.resize(len, 0);
    run.read_exact(key)?;
    Ok(true)
}

/// Merges sorted runs, calling `visit` once per distinct key, in order. Each run's current key
/// lives in one buffer, reused from key to key.
fn merge<E: From<io::Error>>(
    runs: Vec<File>,
    mut visit: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut readers: Vec<BufReader<File>> = runs
        .into_iter()
        .map(|run| BufReader::with_capacity(RUN_BUFFER, run))
        .collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (at, reader) in readers.iter_mut().enumerate() {
        let mut key = Vec::new();
        if read_key(reader, &mut key)? {
            heap.push(Reverse((key, at)));
        }
    }
    let mut last: Vec<u8> = Vec::new();
    let mut any = false;
    while let Some(Reverse((mut key, at))) = heap.pop() {
        if !any || last != key {
            visit(&key)?;
            last.clear();
            last.extend_from_slice(&key);
            any = true;
        }
        if read_key(&mut readers[at], &mut key)? {
            heap.push(Reverse((key, at)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(n: u64) -> Vec<Vec<u8>> {
        // Duplicates within and across runs, keys of several lengths.
        (0..n)
            .map(|i| {
                let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (n / 3 + 1);
                let mut key = x.to_be_bytes().to_vec();
                key.extend(std::iter::repeat_n(0xab, (x % 5) as usize));
                key
            })
            .collect()
    }

    fn read_back(set: DistinctKeys) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        set.for_each_sorted(|key| {
            out.push(key.to_vec());
            Ok::<(), io::Error>(())
        })
        .expect("reads back");
        out
    }

    #[test]
    fn in_memory_and_spilled_sets_read_back_the_same_sorted_distinct_keys() {
        let keys = keys(40_000);
        let expected: Vec<Vec<u8>> = keys
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut memory = DistinctKeys::new(&SpillConfig::default());
        for key in &keys {
            memory.insert(key).expect("insert");
        }
        assert_eq!(memory.runs(), 0);
        assert_eq!(read_back(memory), expected);

        // A budget of a few hundred keys: more than MAX_RUNS runs, so runs are merged on the way.
        let mut spilled = DistinctKeys::new(&SpillConfig::default());
        spilled.budget = 300 * (8 + KEY_OVERHEAD);
        for key in &keys {
            spilled.insert(key).expect("insert");
        }
        assert!(spilled.runs() >= 1 && spilled.runs() < MAX_RUNS);
        assert_eq!(read_back(spilled), expected);
    }

    #[test]
    fn run_files_leave_nothing_in_the_spill_directory() {
        let dir = std::env::temp_dir().join(format!("distinct-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let config = SpillConfig {
            memory_kib: 16,
            spill_dir: Some(dir.clone()),
        };
        let mut set = DistinctKeys::new(&config);
        set.budget = 100 * (8 + KEY_OVERHEAD);
        for key in keys(5_000) {
            set.insert(&key).expect("insert");
        }
        assert!(set.runs() > 0);
        assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 0);
        drop(set);
        std::fs::remove_dir(&dir).expect("empty");
    }
}
