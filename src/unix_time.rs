//! Unix time, in one place: a `SystemTime` as the time since 1970-01-01T00:00:00Z (a time before
//! it reads as zero), in seconds or nanoseconds, and the clock's now in seconds. Validation and
//! the core only convert times they are given; [`now_seconds`] is for the server.

use std::time::{Duration, SystemTime};

/// The time since the Unix epoch (zero for a time before it).
pub fn since_epoch(time: SystemTime) -> Duration {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Whole seconds since the Unix epoch (saturating).
pub fn seconds(time: SystemTime) -> i64 {
    i64::try_from(since_epoch(time).as_secs()).unwrap_or(i64::MAX)
}

/// Nanoseconds since the Unix epoch.
pub fn nanos(time: SystemTime) -> u128 {
    since_epoch(time).as_nanos()
}

/// Now, in whole seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    seconds(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_the_epoch_read_as_zero() {
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(seconds(before), 0);
        assert_eq!(nanos(before), 0);
        let after = SystemTime::UNIX_EPOCH + Duration::new(7, 5);
        assert_eq!((seconds(after), nanos(after)), (7, 7_000_000_005));
    }
}
