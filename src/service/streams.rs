//! Streamed answers (lifecycles, breach investigations, consent findings) against clients that
//! stop reading.
//!
//! A stream's messages wait in a bounded channel for the client. Two rules keep a client that
//! never reads from holding the server:
//! - [`StreamGate`]: at most `limits.max_streams` streams are open at once, and at most
//!   `limits.max_streams_per_caller` of one caller; beyond, `RESOURCE_EXHAUSTED` at once;
//! - [`send_blocking`]: work on a blocking thread that hands a message over waits at most
//!   `limits.stream_send_timeout_secs` for room; then the stream ends with `DEADLINE_EXCEEDED`
//!   and the thread is free. Streams whose work is done in short blocking steps (lifecycles)
//!   wait for the client on the async side instead, holding no thread at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tonic::Status;

use super::auth::Caller;
use super::status::{ServiceError, StreamError};

/// Counts open streams, in all and per caller.
#[derive(Debug)]
pub struct StreamGate {
    max_streams: usize,
    max_per_caller: usize,
    send_timeout: Duration,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

/// One open stream; dropping it closes the stream's place.
#[derive(Debug)]
pub struct StreamPermit {
    gate: Arc<StreamGate>,
    identity: String,
}

impl StreamGate {
    /// A gate of `max_streams` in all, `max_per_caller` per caller, sends waiting `send_timeout`.
    pub fn new(max_streams: usize, max_per_caller: usize, send_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            max_streams: max_streams.max(1),
            max_per_caller: max_per_caller.max(1),
            send_timeout,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// How long a message may wait for a client that does not read.
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// Opens a stream for `caller`, or `RESOURCE_EXHAUSTED` when one of the bounds is reached.
    pub fn open(self: &Arc<Self>, caller: &Caller) -> Result<StreamPermit, StreamError> {
        let mut open = self.open.lock().map_err(|_| StreamError::Poisoned)?;
        let (total, per_caller) = &mut *open;
        let mine = per_caller.get(&caller.identity).copied().unwrap_or(0);
        if mine >= self.max_per_caller {
            return Err(StreamError::PerCaller {
                identity: caller.identity.clone(),
                open: mine,
                limit: self.max_per_caller,
            });
        }
        if *total >= self.max_streams {
            return Err(StreamError::Total {
                open: *total,
                limit: self.max_streams,
            });
        }
        *total += 1;
        *per_caller.entry(caller.identity.clone()).or_default() += 1;
        Ok(StreamPermit {
            gate: self.clone(),
            identity: caller.identity.clone(),
        })
    }

    /// Streams open now, in all.
    pub fn open_streams(&self) -> usize {
        self.open.lock().map(|open| open.0).unwrap_or(0)
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        if let Ok(mut open) = self.gate.open.lock() {
            let (total, per_caller) = &mut *open;
            *total = total.saturating_sub(1);
            if let Some(mine) = per_caller.get_mut(&self.identity) {
                *mine = mine.saturating_sub(1);
                if *mine == 0 {
                    per_caller.remove(&self.identity);
                }
            }
        }
    }
}

/// Hands `message` to the client's channel from a blocking thread, waiting at most `timeout`
/// for room. Returns whether the stream goes on: `false` when the client went away or did not
/// read in time; then the stream's last message is `DEADLINE_EXCEEDED`, never a silent end.
pub fn send_blocking<T>(
    sender: &Sender<Result<T, Status>>,
    message: Result<T, Status>,
    timeout: Duration,
) -> bool {
    tokio::runtime::Handle::current().block_on(send(sender, message, timeout))
}

/// Hands `message` to the client's channel, waiting at most `timeout` for room (see
/// [`send_blocking`]). A message is only sent while one more place stays free, so that the
/// error that ends a stalled stream always fits.
pub async fn send<T>(
    sender: &Sender<Result<T, Status>>,
    message: Result<T, Status>,
    timeout: Duration,
) -> bool {
    match tokio::time::timeout(timeout, sender.reserve_many(2)).await {
        Ok(Ok(mut permits)) => match permits.next() {
            Some(permit) => {
                permit.send(message);
                true
            }
            None => false,
        },
        Ok(Err(_closed)) => false,
        Err(_elapsed) => {
            let _ = sender.try_send(Err(stalled(timeout)));
            false
        }
    }
}

fn stalled(timeout: Duration) -> Status {
    ServiceError::from(StreamError::Stalled {
        seconds: timeout.as_secs(),
    })
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::auth::{Role, Systems};

    fn caller(identity: &str) -> Caller {
        Caller {
            identity: identity.into(),
            role: Role::Auditor,
            systems: Systems::Listed(Vec::new()),
        }
    }

    #[test]
    fn streams_are_bounded_per_caller_and_in_all() {
        let gate = StreamGate::new(3, 2, Duration::from_secs(1));
        let a1 = gate.open(&caller("a")).expect("a 1");
        let _a2 = gate.open(&caller("a")).expect("a 2");
        let refused = ServiceError::from(gate.open(&caller("a")).expect_err("a 3"));
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        let _b1 = gate.open(&caller("b")).expect("b 1");
        let refused = gate.open(&caller("c")).expect_err("4 in all");
        assert!(
            refused.to_string().contains("limits.max_streams"),
            "{refused:?}"
        );
        drop(a1);
        assert_eq!(gate.open_streams(), 2);
        gate.open(&caller("c")).expect("a place was freed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blocking_send_gives_up_on_a_client_that_does_not_read() {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<u32, Status>>(2);
        let went_on = tokio::task::spawn_blocking(move || {
            let first = send_blocking(&sender, Ok(1), Duration::from_millis(50));
            let second = send_blocking(&sender, Ok(2), Duration::from_millis(50));
            (first, second)
        })
        .await
        .expect("joins");
        assert_eq!(went_on, (true, false));
        assert_eq!(receiver.recv().await.map(|m| m.ok()), Some(Some(1)));
        let last = receiver
            .recv()
            .await
            .expect("the stream ends with an error");
        assert_eq!(
            last.expect_err("not a message").code(),
            tonic::Code::DeadlineExceeded
        );
        assert!(receiver.recv().await.is_none());
    }
}
