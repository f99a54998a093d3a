//! Files only the user may read: a folder (0700) that is removed when dropped, and files in it
//! (0600). kcfed keeps there what must not outlive a run or be seen by others: the values files of
//! a helm call and the kubeconfigs of the clusters it reaches directly.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// A new private folder under the system's temporary directory, named `PREFIX...`.
pub fn folder(prefix: &str) -> Result<tempfile::TempDir, Error> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    // Left to the umask, the folder would be listable by everyone.
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder.tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })
}

/// Writes a new file only its owner can read; returns its path.
pub fn write(path: PathBuf, content: &[u8]) -> Result<PathBuf, Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(content));
    match written {
        Ok(()) => Ok(path),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// The folder a private file is in.
pub fn folder_of(path: &Path) -> &Path {
    path.parent().unwrap_or(path)
}
