//! The statistics types the sequencer keeps and the metrics read: histograms of durations and
//! counts, and a monotonic timestamp. A leaf: it knows neither the sequencer nor the registry.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// A histogram of durations in seconds: buckets from 50 µs doubling to about 13 s.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self(Histogram::new(exponential_buckets(0.000_05, 2.0, 19)))
    }
}

impl LatencyHistogram {
    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        self.0.observe(elapsed.as_secs_f64());
    }

    /// The histogram, to register.
    pub(crate) fn metric(&self) -> Histogram {
        self.0.clone()
    }
}

/// A histogram of counts (entries, events): buckets 1, 2, 4 ... 65,536.
#[derive(Debug, Clone)]
pub struct SizeHistogram(Histogram);

impl Default for SizeHistogram {
    fn default() -> Self {
        Self(Histogram::new(exponential_buckets(1.0, 2.0, 17)))
    }
}

impl SizeHistogram {
    /// Records one count.
    pub fn observe(&self, count: usize) {
        // Counts stay far below 2^53: the conversion is exact.
        self.0.observe(count as f64);
    }

    /// The histogram, to register.
    pub(crate) fn metric(&self) -> Histogram {
        self.0.clone()
    }
}

/// A moment on the monotonic clock, moved forward with [`Stamp::mark`]. A new stamp holds the
/// moment it was made.
#[derive(Debug)]
pub struct Stamp(Mutex<Instant>);

impl Default for Stamp {
    fn default() -> Self {
        Self(Mutex::new(Instant::now()))
    }
}

impl Stamp {
    /// Sets the stamp to now.
    pub fn mark(&self) {
        let now = Instant::now();
        match self.0.lock() {
            Ok(mut stamp) => *stamp = now,
            Err(poisoned) => *poisoned.into_inner() = now,
        }
    }

    /// Time since the stamp.
    pub fn elapsed(&self) -> Duration {
        match self.0.lock() {
            Ok(stamp) => stamp.elapsed(),
            Err(poisoned) => poisoned.into_inner().elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn histograms_record_in_their_buckets() {
        let latency = LatencyHistogram::default();
        latency.observe(Duration::from_millis(3));
        let sizes = SizeHistogram::default();
        sizes.observe(7);
        sizes.observe(4096);
        let mut registry = Registry::default();
        registry.register("latency_seconds", "test", latency.metric());
        registry.register("sizes", "test", sizes.metric());
        let mut page = String::new();
        prometheus_client::encoding::text::encode(&mut page, &registry).expect("encodes");
        assert!(page.contains("latency_seconds_count 1\n"), "{page}");
        // 3 ms: above the 1.6 ms bucket, within 3.2 ms.
        assert!(
            page.contains("latency_seconds_bucket{le=\"0.0016\"} 0\n"),
            "{page}"
        );
        assert!(
            page.contains("latency_seconds_bucket{le=\"0.0032\"} 1\n"),
            "{page}"
        );
        assert!(page.contains("sizes_count 2\n"), "{page}");
        assert!(page.contains("sizes_sum 4103.0\n"), "{page}");
        assert!(page.contains("sizes_bucket{le=\"8.0\"} 1\n"), "{page}");
        assert!(page.contains("sizes_bucket{le=\"4096.0\"} 2\n"), "{page}");
    }
}

/// A count a background part keeps and the metrics read (the messages a replica skipped). Cloned
/// as an `Arc`.
#[derive(Debug, Default)]
pub struct Tally(std::sync::atomic::AtomicU64);

impl Tally {
    /// Counts one more.
    pub fn add_one(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Why a background part stopped for good (fail-stop), once it has: set once by the part,
/// read by the metrics (`/healthz`, a gauge) and the health watch. Cloned as an `Arc`.
#[derive(Debug, Default)]
pub struct Stopped(Mutex<Option<String>>);

impl Stopped {
    /// Records why the part stopped (the first reason is kept).
    pub fn set(&self, why: String) {
        let mut reason = self.0.lock().unwrap_or_else(|p| p.into_inner());
        reason.get_or_insert(why);
    }

    /// Why it stopped; `None` while it runs.
    pub fn reason(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
