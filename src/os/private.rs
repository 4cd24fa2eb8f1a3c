//! Files and directories only the current user may open. On Unix that is mode 0600 for files and
//! 0700 for directories. On Windows it is a protected DACL (nothing inherited from the parent)
//! with one entry, full access for the current user's SID, set when the file or directory is
//! created, so there is no moment at which another account could open it.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Creates a new empty temp file `PREFIX…SUFFIX` in `dir` that only the current user may open.
pub fn temp_file_in(dir: &Path, prefix: &str, suffix: &str) -> io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .make_in(dir, create_file)
}

/// Creates a new directory `PREFIX…` in `base` that only the current user may open, kept when
/// this process ends (the caller removes it).
pub fn temp_dir_in(base: &Path, prefix: &str) -> io::Result<PathBuf> {
    let made = tempfile::Builder::new()
        .prefix(prefix)
        .disable_cleanup(true)
        .make_in(base, create_dir)?;
    Ok(made.path().to_path_buf())
}

/// Creates `dir` and each missing parent as private directories; existing ones are left as
/// they are.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all(parent)?;
    }
    match create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// Whether users other than the owner may read the file at `path` (`meta` is its metadata): on
/// Unix any group or other mode bit, on Windows any DACL entry that allows another account in.
pub fn others_may_read(path: &Path, meta: &fs::Metadata) -> bool {
    imp::others_may_read(path, meta)
}

/// Whether users other than the owner may change the file at `path`: on Unix a group or other
/// write bit, on Windows (where crlogin does not tell read from write entries) any DACL entry
/// that allows another account in.
pub fn others_may_write(path: &Path, meta: &fs::Metadata) -> bool {
    imp::others_may_write(path, meta)
}

/// The permission bits, for messages; `None` on Windows, which has none.
pub fn mode(meta: &fs::Metadata) -> Option<u32> {
    imp::mode(meta)
}

/// Whether the file may be run as a program: an execute bit on Unix; any file on Windows,
/// where the name's extension decides.
pub fn is_executable(meta: &fs::Metadata) -> bool {
    imp::is_executable(meta)
}

fn create_file(path: &Path) -> io::Result<File> {
    imp::create_file(path)
}

fn create_dir(path: &Path) -> io::Result<()> {
    imp::create_dir(path)
}

/// Opens `path` for appending. A file that does not exist yet is created first so that only
/// the current user may open it (a runner's `GITHUB_ENV` may get a token), whatever the umask;
/// an existing file keeps its permissions.
pub fn open_append(path: &Path) -> io::Result<File> {
    if let Err(e) = imp::create_file(path) {
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    fs::OpenOptions::new().append(true).open(path)
}

#[cfg(unix)]
mod imp {
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub fn create_file(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    }

    pub fn create_dir(path: &Path) -> io::Result<()> {
        fs::DirBuilder::new().mode(0o700).create(path)
    }

    pub fn others_may_read(_path: &Path, meta: &fs::Metadata) -> bool {
        meta.permissions().mode() & 0o077 != 0
    }

    pub fn others_may_write(_path: &Path, meta: &fs::Metadata) -> bool {
        meta.permissions().mode() & 0o022 != 0
    }

    pub fn mode(meta: &fs::Metadata) -> Option<u32> {
        Some(meta.permissions().mode() & 0o777)
    }

    pub fn is_executable(meta: &fs::Metadata) -> bool {
        meta.permissions().mode() & 0o111 != 0
    }
}

#[cfg(windows)]
mod imp {
    use super::super::windows_acl;
    use std::fs::{self, File};
    use std::io;
    use std::path::Path;

    pub fn create_file(path: &Path) -> io::Result<File> {
        windows_acl::create_private_file(path)
    }

    pub fn create_dir(path: &Path) -> io::Result<()> {
        windows_acl::create_private_dir(path)
    }

    pub fn others_may_read(path: &Path, _meta: &fs::Metadata) -> bool {
        !windows_acl::only_current_user(path)
    }

    pub fn others_may_write(path: &Path, meta: &fs::Metadata) -> bool {
        others_may_read(path, meta)
    }

    pub fn mode(_meta: &fs::Metadata) -> Option<u32> {
        None
    }

    pub fn is_executable(_meta: &fs::Metadata) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_and_directories_are_private_and_plain_ones_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("b");
        create_dir_all(&dir).unwrap();
        create_dir_all(&dir).unwrap();
        for d in [tmp.path().join("a"), dir.clone()] {
            assert!(
                !others_may_read(&d, &fs::metadata(&d).unwrap()),
                "{}",
                d.display()
            );
        }
        let file = temp_file_in(&dir, ".x-", ".tmp").unwrap();
        let name = file
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(name.starts_with(".x-") && name.ends_with(".tmp"), "{name}");
        assert!(!others_may_read(
            file.path(),
            &file.as_file().metadata().unwrap()
        ));

        let isolated = temp_dir_in(&dir, "crlogin-").unwrap();
        assert!(isolated.is_dir());
        assert!(!others_may_read(
            &isolated,
            &fs::metadata(&isolated).unwrap()
        ));

        // What std creates by default (0644, or the parent's inherited DACL) is not private.
        let plain = tmp.path().join("plain");
        fs::write(&plain, "x").unwrap();
        assert!(others_may_read(&plain, &fs::metadata(&plain).unwrap()));
    }
}
