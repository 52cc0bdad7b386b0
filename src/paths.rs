//! Where a path really leads, for the checks that keep keys and journals out of the data dir and
//! backups out of it (and the reverse): `.`, `..` and symbolic links are resolved, never compared
//! as text (`/srv/ledger/keys/../data/backup` and a link into the data dir are inside it).

use std::path::{Component, Path, PathBuf};

/// `path` made absolute with every symbolic link, `.` and `..` resolved. The path need not exist:
/// its nearest existing ancestor is resolved by the file system and the rest, which cannot hold a
/// link since it does not exist, is applied to it component by component.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    resolve_from(&mut WorkingDir::default(), path)
}

/// The working directory, read once and only for a relative path: an absolute one resolves even
/// when the process's working directory was removed (`getcwd` then fails).
#[derive(Default)]
struct WorkingDir(Option<PathBuf>);

impl WorkingDir {
    fn join(&mut self, path: &Path) -> std::io::Result<PathBuf> {
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let base = match self.0.take() {
            Some(base) => base,
            None => std::env::current_dir()?,
        };
        let joined = base.join(path);
        self.0 = Some(base);
        Ok(joined)
    }
}

/// [`resolve`], with a relative `path` taken from `base`.
fn resolve_from(base: &mut WorkingDir, path: &Path) -> std::io::Result<PathBuf> {
    let absolute = base.join(path)?;
    let mut existing = absolute.as_path();
    let mut rest: Vec<Component<'_>> = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut resolved) => {
                for component in rest.iter().rev() {
                    match component {
                        Component::ParentDir => {
                            resolved.pop();
                        }
                        Component::Normal(name) => resolved.push(name),
                        Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                    }
                }
                return Ok(resolved);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let Some(last) = existing.components().next_back() else {
                    return Err(error);
                };
                rest.push(last);
                existing = existing.parent().ok_or(error)?;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether `path` is `dir` or lies inside it, both resolved ([`resolve`]).
pub fn is_within(path: &Path, dir: &Path) -> std::io::Result<bool> {
    // One working directory for both, read once: it may change in between.
    let mut base = WorkingDir::default();
    Ok(resolve_from(&mut base, path)?.starts_with(resolve_from(&mut base, dir)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_and_links_are_resolved_before_comparing() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let keys = root.path().join("keys");
        std::fs::create_dir_all(&data)?;
        std::fs::create_dir_all(&keys)?;
        // Lexically outside, really inside.
        assert!(is_within(&keys.join("../data/backup-1"), &data)?);
        std::os::unix::fs::symlink(&data, root.path().join("link"))?;
        assert!(is_within(&root.path().join("link/backup-1"), &data)?);
        assert!(is_within(&root.path().join("link/new/../backup-2"), &data)?);
        // Lexically inside, really outside.
        assert!(!is_within(&data.join("../keys/master-key"), &data)?);
        assert!(!is_within(&keys.join("master-key"), &data)?);
        // Relative paths are taken from the working directory, like the server's.
        assert_eq!(resolve(Path::new("."))?, std::fs::canonicalize(".")?);
        Ok(())
    }
}
