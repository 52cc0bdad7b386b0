//! Replication of the log on an input stream (`docs/replication.md`): the pieces built so far.
//!
//! - [`transit`]: the ratchet of transit keys, the sealed body of a request and its message id.
//! - [`message`]: a prepared job as a `ReplicatedRequest` and back, strictly decoded.
//! - [`input_log`]: the `InputLog` trait (publish, fetch in order) and `MemoryInputLog`.
//! - [`replica`]: a replica that publishes what it receives and applies the log in order.
//!
//! The sequencer is already deterministic (`sequencer::Arrival`, v2 details): a replica that
//! applies the same requests with the same arrivals makes the same log. The input log itself
//! (the stream, the applier) comes next (`docs/replication.md` section 12, steps 3 and 4).

pub mod input_log;
pub mod message;
pub mod replica;
pub mod transit;
