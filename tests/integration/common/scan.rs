//! The erasure scan: whether any file under a directory holds a secret, in any form a file could
//! hold it in (as is, in hex of both cases as RocksDB's info log writes keys, and in base64,
//! standard and URL-safe, padded or not). `tests/integration/erasure.rs` checks the scan itself against a
//! file of every form.

use std::path::Path;

/// Which of `needles` occur in some file under `dir` (recursively), by name.
pub fn found_in_files(dir: &Path, needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("read dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // A file may vanish while a flush or compaction runs.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for (name, needle) in needles {
                if bytes.windows(needle.len()).any(|window| window == *needle) {
                    found.insert(format!(
                        "{name} in {}",
                        path.file_name().unwrap_or_default().to_string_lossy()
                    ));
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Every form of `bytes` a file could hold, each named `<what> (<form>)`.
pub fn forms(what: &str, bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    vec![
        (format!("{what} (raw)"), bytes.to_vec()),
        (format!("{what} (hex)"), hex::encode(bytes).into_bytes()),
        (
            format!("{what} (HEX)"),
            hex::encode_upper(bytes).into_bytes(),
        ),
        (
            format!("{what} (base64)"),
            STANDARD.encode(bytes).into_bytes(),
        ),
        (
            format!("{what} (base64, unpadded)"),
            STANDARD_NO_PAD.encode(bytes).into_bytes(),
        ),
        (
            format!("{what} (base64url)"),
            URL_SAFE_NO_PAD.encode(bytes).into_bytes(),
        ),
    ]
}
