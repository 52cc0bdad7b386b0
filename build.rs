//! Generates the protobuf types from `proto/`. The pure core needs only the messages (prost); the
//! `server` feature adds the tonic service and a descriptor set for gRPC reflection. protoc comes
//! from the `protoc-bin-vendored` crate, so a fresh machine needs no system package for it.

use std::path::PathBuf;

const MESSAGE_PROTOS: &[&str] = &[
    "proto/gdpr_ledger/v1/entry.proto",
    "proto/gdpr_ledger/v1/event.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    let includes = [PathBuf::from("proto"), well_known];

    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    // Deterministic entry bytes: any map is a BTreeMap, encoded in key order.
    config.btree_map(["."]);

    if std::env::var_os("CARGO_FEATURE_SERVER").is_some() {
        compile_with_service(config, &includes)
    } else {
        config.compile_protos(MESSAGE_PROTOS, &includes)?;
        Ok(())
    }
}

#[cfg(feature = "server")]
fn compile_with_service(
    config: prost_build::Config,
    includes: &[PathBuf],
) -> Result<(), Box<dyn std::error::Error>> {
    const SERVICE_PROTOS: &[&str] = &[
        "proto/gdpr_ledger/v1/ledger.proto",
        "proto/gdpr_ledger/v1/admin.proto",
        "proto/gdpr_ledger/v1/erasure.proto",
        "proto/gdpr_ledger/v1/consent.proto",
        "proto/gdpr_ledger/v1/reports.proto",
        "proto/gdpr_ledger/v1/replication.proto",
    ];
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut protos: Vec<PathBuf> = MESSAGE_PROTOS.iter().map(PathBuf::from).collect();
    protos.extend(SERVICE_PROTOS.iter().map(PathBuf::from));
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .file_descriptor_set_path(out_dir.join("gdpr_ledger_descriptor.bin"))
        .compile_with_config(config, &protos, includes)?;
    Ok(())
}

#[cfg(not(feature = "server"))]
fn compile_with_service(
    _config: prost_build::Config,
    _includes: &[PathBuf],
) -> Result<(), Box<dyn std::error::Error>> {
    unreachable!("CARGO_FEATURE_SERVER is set only with the server feature")
}
