//! The protos as other languages' tools see them: `buf lint` (buf.yaml: STANDARD, with the
//! exceptions for names the contract fixes), `buf breaking` against the committed baseline image
//! (`proto/buf-baseline.binpb`), both shown to fail on a real violation in a copy of proto/, and
//! protoc's built-in `java_out` generating Java into the `java_package` every file names (each
//! also names a `go_package`; protoc-gen-go is not reachable offline, so Go is checked by the
//! option's presence). buf is `@bufbuild/buf` from clients/node's package-lock.json (`npm ci` in
//! clients/node, which scripts/test.sh runs); without it the tests fail, saying so.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::repository_root;

fn buf() -> PathBuf {
    let buf = repository_root().join("clients/node/node_modules/.bin/buf");
    assert!(
        buf.exists(),
        "buf is missing: run (cd clients/node && npm ci), which installs @bufbuild/buf"
    );
    buf
}

fn printed(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run_buf(dir: &Path, args: &[&str]) -> Output {
    Command::new(buf())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("buf runs")
}

/// A copy of buf.yaml and proto/ in a temp dir, with `edit` applied to one proto file.
fn workspace_with(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let root = repository_root();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root.join("buf.yaml"), dir.path().join("buf.yaml")).expect("copy buf.yaml");
    let protos = dir.path().join("proto/gdpr_ledger/v1");
    std::fs::create_dir_all(&protos).expect("mkdir");
    for item in std::fs::read_dir(root.join("proto/gdpr_ledger/v1")).expect("read proto/") {
        let path = item.expect("entry").path();
        if path.extension().is_some_and(|e| e == "proto") {
            std::fs::copy(&path, protos.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let target = protos.join(file);
    let text = std::fs::read_to_string(&target).expect("read");
    std::fs::write(&target, edit(text)).expect("write");
    dir
}

#[test]
fn buf_lint_passes_and_fails_on_a_violation() {
    let output = run_buf(&repository_root(), &["lint"]);
    assert!(output.status.success(), "buf lint:\n{}", printed(&output));

    // A field in camel case and a service without the Service suffix, in a copy: both reported
    // (the exceptions are for the files and names listed in buf.yaml, not for event.proto).
    let dir = workspace_with("event.proto", |text| {
        text + "\nmessage Bad {\n  bool badName = 1;\n}\n\nservice Another {}\n"
    });
    let output = run_buf(dir.path(), &["lint"]);
    let text = printed(&output);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("FIELD_LOWER_SNAKE_CASE") || text.contains("badName"),
        "{text}"
    );
    assert!(
        text.contains("\"Another\" should be suffixed with \"Service\""),
        "{text}"
    );
}

#[test]
fn buf_breaking_against_the_baseline_passes_and_catches_a_renamed_field() {
    let root = repository_root();
    let baseline = root.join("proto/buf-baseline.binpb");
    let against = baseline.to_str().expect("UTF-8 path");
    let output = run_buf(&root, &["breaking", "--against", against]);
    assert!(
        output.status.success(),
        "proto/ breaks the baseline; if the change is intended, remake it with \
         `clients/node/node_modules/.bin/buf build --exclude-source-info -o proto/buf-baseline.binpb`:\n{}",
        printed(&output)
    );

    // The entry envelope's field 4 renamed, and field 7's number changed: both are breaking.
    let dir = workspace_with("entry.proto", |text| {
        assert!(
            text.contains("string producer = 4;"),
            "entry.proto changed shape"
        );
        text.replace("string producer = 4;", "string producer_name = 4;")
            .replace(
                "uint64 subject_prev_index = 7;",
                "uint64 subject_prev_index = 16;",
            )
    });
    let output = run_buf(dir.path(), &["breaking", "--against", against]);
    let text = printed(&output);
    assert!(!output.status.success(), "a renamed field passed:\n{text}");
    assert!(
        text.contains("FIELD_SAME_NAME") || text.contains("producer_name"),
        "{text}"
    );
    assert!(text.contains("\"7\""), "{text}");
}

#[test]
fn every_proto_names_its_go_and_java_package_and_protoc_generates_java() {
    let root = repository_root();
    let mut protos: Vec<PathBuf> = std::fs::read_dir(root.join("proto/gdpr_ledger/v1"))
        .expect("read proto/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .collect();
    protos.sort();
    assert!(
        protos.iter().any(|p| p.ends_with("event.proto")) && protos.len() >= 8,
        "{protos:?}"
    );
    for proto in &protos {
        let text = std::fs::read_to_string(proto).expect("read");
        for option in [
            "option go_package = \"gdpr-ledger/gen/go/gdpr_ledger/v1;ledgerv1\";",
            "option java_package = \"org.gdprledger.v1\";",
            "option java_multiple_files = true;",
        ] {
            assert!(text.contains(option), "{} lacks {option}", proto.display());
        }
    }

    let out = tempfile::tempdir().expect("temp dir");
    let protoc = protoc_bin_vendored::protoc_bin_path().expect("vendored protoc");
    let include = protoc_bin_vendored::include_path().expect("well-known protos");
    let output = Command::new(protoc)
        .arg(format!("-I{}", root.join("proto").display()))
        .arg(format!("-I{}", include.display()))
        .arg(format!("--java_out={}", out.path().display()))
        .args(&protos)
        .output()
        .expect("protoc runs");
    assert!(
        output.status.success(),
        "protoc --java_out:\n{}",
        printed(&output)
    );
    let java = out.path().join("org/gdprledger/v1");
    for class in [
        "Entry.java",
        "Event.java",
        "EventSubmission.java",
        "AppendRequest.java",
        "Receipt.java",
        "ProofBundle.java",
        "EventKind.java",
        "LedgerProto.java",
        "EntryProto.java",
    ] {
        let text = std::fs::read_to_string(java.join(class))
            .unwrap_or_else(|e| panic!("protoc made no {class}: {e}"));
        assert!(text.contains("package org.gdprledger.v1;"), "{class}");
    }
}
