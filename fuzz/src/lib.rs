//! The decoders' checks of `tests/integration/fuzz_support/mod.rs`, shared with `tests/integration/fuzz_decoders.rs`, for
//! the libFuzzer targets in `fuzz_targets/`: a decoder that panics, or accepts what it must refuse,
//! is a finding.

use std::sync::OnceLock;

#[allow(dead_code)] // The positive controls and statistics are the stable test's.
#[path = "../../tests/integration/fuzz_support/mod.rs"]
mod support;

pub use support::{Decoder, World};

/// The reference log and the seeds, built once per fuzzing process.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::build)
}

/// Runs `decoder` on `data` and panics if it misbehaves (a panic inside it propagates as is).
pub fn fuzz(decoder: Decoder, data: &[u8]) {
    if let Err(misbehaviour) = world().check(decoder, data) {
        panic!("{}: {misbehaviour}", decoder.name());
    }
}
