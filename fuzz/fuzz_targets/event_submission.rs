#![no_main]

use gdpr_ledger_fuzz::{Decoder, fuzz};

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz(Decoder::EventSubmission, data));
