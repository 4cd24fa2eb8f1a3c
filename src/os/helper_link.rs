//! How `docker-credential-crlogin` is put on disk so clients can run it: on Unix a symlink to
//! the crlogin executable; on Windows, where docker runs `docker-credential-crlogin.exe` and a
//! symlink needs a privilege most users lack, a hard link to `crlogin.exe` (a copy when the two
//! are on different volumes).

use std::fs;
use std::io;
use std::path::Path;

/// The file name a helper program has on this OS (`NAME.exe` on Windows).
pub fn file_name(program: &str) -> String {
    format!("{program}{}", std::env::consts::EXE_SUFFIX)
}

/// Whether an executable's file name (as in `argv[0]`) is `program`: on Windows in any case and
/// with or without `.exe`.
pub fn runs_as(name: &str, program: &str) -> bool {
    if cfg!(windows) {
        let lower = name.to_ascii_lowercase();
        lower == program || lower.strip_suffix(".exe") == Some(program)
    } else {
        name == program
    }
}

/// What has the helper's name already.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing.
    Missing,
    /// crlogin's helper for this very executable.
    Current,
    /// crlogin's helper for another executable (an older crlogin): replaced by a new one.
    Stale,
    /// Something crlogin did not put there: never touched.
    NotOurs,
}

/// Looks at what is at `link`, compared with the executable `exe`.
pub fn inspect(link: &Path, exe: &Path) -> io::Result<Found> {
    let meta = match fs::symlink_metadata(link) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(e),
    };
    imp::inspect(link, &meta, exe)
}

/// Puts a new helper for `exe` at `path` (which must not exist).
pub fn make(exe: &Path, path: &Path) -> io::Result<()> {
    imp::make(exe, path)
}

/// Puts at `path` what an older crlogin at `old_exe` would have left (for tests).
#[cfg(test)]
pub fn make_stale(path: &Path, old_exe: &Path) {
    imp::make_stale(path, old_exe)
}

#[cfg(unix)]
mod imp {
    use super::Found;
    use std::fs::{self, Metadata};
    use std::io;
    use std::path::Path;

    pub fn inspect(link: &Path, meta: &Metadata, exe: &Path) -> io::Result<Found> {
        if !meta.file_type().is_symlink() {
            return Ok(Found::NotOurs);
        }
        let current = fs::read_link(link).is_ok_and(|target| target == exe)
            || fs::canonicalize(link).is_ok_and(|target| target == exe);
        Ok(if current {
            Found::Current
        } else {
            Found::Stale
        })
    }

    pub fn make(exe: &Path, path: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(exe, path)
    }

    #[cfg(test)]
    pub fn make_stale(path: &Path, old_exe: &Path) {
        make(old_exe, path).unwrap();
    }
}

#[cfg(not(unix))]
mod imp {
    use super::Found;
    use std::fs::{self, Metadata};
    use std::io;
    use std::path::Path;

    /// Bytes every crlogin executable holds (this constant itself): a file with the helper's
    /// name that holds them is a crlogin, one that does not is someone else's.
    const MARK: &[u8] = b"crlogin helper executable: replaceable by configure-helper";

    /// Larger files are no crlogin and are not read.
    const MAX_EXE: u64 = 256 * 1024 * 1024;

    pub fn inspect(link: &Path, meta: &Metadata, exe: &Path) -> io::Result<Found> {
        if !meta.is_file() || meta.len() > MAX_EXE {
            return Ok(Found::NotOurs);
        }
        let (ours, theirs) = (fs::read(exe)?, fs::read(link)?);
        Ok(if ours == theirs {
            Found::Current
        } else if theirs.windows(MARK.len()).any(|w| w == MARK) {
            Found::Stale
        } else {
            Found::NotOurs
        })
    }

    pub fn make(exe: &Path, path: &Path) -> io::Result<()> {
        fs::hard_link(exe, path).or_else(|_| fs::copy(exe, path).map(drop))
    }

    #[cfg(test)]
    pub fn make_stale(path: &Path, _old_exe: &Path) {
        fs::write(path, [b"MZ older crlogin ", MARK].concat()).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names_follow_the_os() {
        assert!(runs_as(
            "docker-credential-crlogin",
            "docker-credential-crlogin"
        ));
        assert!(!runs_as("crlogin", "docker-credential-crlogin"));
        assert_eq!(
            runs_as("Docker-Credential-Crlogin.EXE", "docker-credential-crlogin"),
            cfg!(windows)
        );
        assert_eq!(file_name("x").ends_with(".exe"), cfg!(windows));
    }

    #[test]
    fn a_made_helper_is_current_and_a_foreign_file_is_not_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join(file_name("crlogin"));
        fs::write(&exe, "crlogin").unwrap();
        let link = tmp.path().join(file_name("docker-credential-crlogin"));
        assert_eq!(inspect(&link, &exe).unwrap(), Found::Missing);
        make(&exe, &link).unwrap();
        assert_eq!(inspect(&link, &exe).unwrap(), Found::Current);
        fs::remove_file(&link).unwrap();
        fs::write(&link, "someone else's helper").unwrap();
        assert_eq!(inspect(&link, &exe).unwrap(), Found::NotOurs);
    }
}
