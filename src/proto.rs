//! Types generated from `proto/gdpr_ledger/v1/`.

/// `gdpr_ledger.v1`: the entry envelope, the events and (with `server`) the gRPC service.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/gdpr_ledger.v1.rs"));

    /// The encoded file descriptor set, for gRPC server reflection.
    #[cfg(feature = "server")]
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/gdpr_ledger_descriptor.bin"));
}
