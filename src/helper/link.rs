//! The `docker-credential-crlogin` link that clients find on PATH: a symlink to the crlogin
//! executable (on Windows `docker-credential-crlogin.exe`, a hard link or copy: see
//! [`crate::os::helper_link`]), which then answers as the helper (see [`super::program_args`]).
//! It goes into `--bin-dir`, else next to the executable, else (when that directory is not
//! writable) `~/.local/bin`. A link is replaced atomically; a file that is not crlogin's is
//! never touched.

use super::DOCKER_HELPER_PROGRAM;
use crate::os::helper_link::{self, Found};
use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the link ended up, and how.
#[derive(Debug, PartialEq, Eq)]
pub enum Placed {
    /// A new link (or one that pointed elsewhere, replaced).
    Created(PathBuf),
    /// The link was already there, pointing at this executable.
    AlreadyThere(PathBuf),
    /// Something that is not a link has the name; it was left as it is.
    NotOurs(PathBuf),
}

impl Placed {
    /// The link's path.
    pub fn path(&self) -> &Path {
        match self {
            Placed::Created(p) | Placed::AlreadyThere(p) | Placed::NotOurs(p) => p,
        }
    }
}

/// The crlogin executable, with links resolved: what the helper link points at.
pub fn current_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .context("cannot find crlogin's own executable to link the helper to")?;
    Ok(fs::canonicalize(&exe).unwrap_or(exe))
}

/// The directories to try, in order: `bin_dir` alone when given, else the executable's own
/// directory, then `~/.local/bin`.
pub fn candidate_dirs(exe: &Path, bin_dir: Option<&Path>, home: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = bin_dir {
        return vec![dir.to_path_buf()];
    }
    let mut dirs: Vec<PathBuf> = exe.parent().map(Path::to_path_buf).into_iter().collect();
    dirs.extend(home.map(|h| h.join(".local/bin")));
    dirs
}

/// Creates the link to `exe` in the first of `dirs` where that works (the last one is created
/// when missing). Returns where, and why each earlier directory was passed over.
pub fn install(exe: &Path, dirs: &[PathBuf]) -> Result<(Placed, Vec<String>)> {
    let mut passed_over = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let last = i + 1 == dirs.len();
        match install_in(exe, dir, last) {
            Ok(placed) => return Ok((placed, passed_over)),
            Err(e) if !last => passed_over.push(format!("{e:#}")),
            Err(e) => return Err(e),
        }
    }
    bail!("no directory to put {DOCKER_HELPER_PROGRAM} in: pass --bin-dir DIR")
}

fn install_in(exe: &Path, dir: &Path, create_dir: bool) -> Result<Placed> {
    let link = dir.join(helper_link::file_name(DOCKER_HELPER_PROGRAM));
    match helper_link::inspect(&link, exe) {
        Ok(Found::NotOurs) => return Ok(Placed::NotOurs(link)),
        Ok(Found::Current) => return Ok(Placed::AlreadyThere(link)),
        _ => {}
    }
    if create_dir {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = dir.join(format!(
        ".{DOCKER_HELPER_PROGRAM}.{}.tmp",
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    let made = helper_link::make(exe, &tmp).and_then(|()| fs::rename(&tmp, &link));
    if let Err(e) = made {
        let _ = fs::remove_file(&tmp);
        bail!("cannot create {}: {}", link.display(), e.kind());
    }
    Ok(Placed::Created(link))
}

/// Removes the links to `exe` named [`DOCKER_HELPER_PROGRAM`] in `dirs`. Returns the links
/// removed and the same-named files left because they are not links to `exe`.
pub fn remove(exe: &Path, dirs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut removed, mut kept) = (Vec::new(), Vec::new());
    for dir in dirs {
        let link = dir.join(helper_link::file_name(DOCKER_HELPER_PROGRAM));
        match helper_link::inspect(&link, exe) {
            Ok(Found::Current) => {
                fs::remove_file(&link)
                    .with_context(|| format!("cannot remove {}", link.display()))?;
                removed.push(link);
            }
            Ok(Found::Stale | Found::NotOurs) => kept.push(link),
            Ok(Found::Missing) => {}
            Err(e) => bail!("cannot look at {}: {}", link.display(), e.kind()),
        }
    }
    Ok((removed, kept))
}

/// Where a PATH search (`path_var`, as in `$PATH`) finds [`DOCKER_HELPER_PROGRAM`], if anywhere.
pub fn found_on_path(path_var: Option<&OsStr>) -> Option<PathBuf> {
    // As docker searches: absolute entries only.
    crate::child::find_in(DOCKER_HELPER_PROGRAM, path_var?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_made_replaced_kept_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("crlogin");
        fs::write(&exe, "").unwrap();
        let bin = tmp.path().join("bin");
        let dirs = vec![bin.clone()];
        let link = bin.join(helper_link::file_name(DOCKER_HELPER_PROGRAM));

        assert_eq!(
            install(&exe, &dirs).unwrap().0,
            Placed::Created(link.clone())
        );
        #[cfg(unix)]
        assert_eq!(fs::read_link(&link).unwrap(), exe);
        assert_eq!(
            install(&exe, &dirs).unwrap().0,
            Placed::AlreadyThere(link.clone())
        );
        // A link to an older crlogin is replaced.
        fs::remove_file(&link).unwrap();
        helper_link::make_stale(&link, &tmp.path().join("old"));
        assert_eq!(
            install(&exe, &dirs).unwrap().0,
            Placed::Created(link.clone())
        );
        assert_eq!(fs::read_dir(&bin).unwrap().count(), 1, "no temp link left");

        assert_eq!(remove(&exe, &dirs).unwrap(), (vec![link.clone()], vec![]));
        assert!(fs::symlink_metadata(&link).is_err());

        // A file that is not a link is never touched.
        fs::write(&link, "mine").unwrap();
        assert_eq!(
            install(&exe, &dirs).unwrap().0,
            Placed::NotOurs(link.clone())
        );
        assert_eq!(remove(&exe, &dirs).unwrap(), (vec![], vec![link.clone()]));
        assert_eq!(fs::read_to_string(&link).unwrap(), "mine");
    }

    #[test]
    fn an_unusable_directory_falls_back_to_the_next() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("crlogin");
        fs::write(&exe, "").unwrap();
        // A "directory" under a regular file cannot hold the link (as an unwritable one cannot).
        let unusable = exe.join("sub");
        let fallback = tmp.path().join("home/.local/bin");
        let (placed, passed_over) = install(&exe, &[unusable, fallback.clone()]).unwrap();
        assert_eq!(
            placed,
            Placed::Created(fallback.join(helper_link::file_name(DOCKER_HELPER_PROGRAM)))
        );
        assert_eq!(passed_over.len(), 1, "{passed_over:?}");
    }

    #[test]
    fn candidates_are_bin_dir_or_next_to_the_executable_then_local_bin() {
        let exe = Path::new("/opt/crlogin/crlogin");
        assert_eq!(
            candidate_dirs(exe, None, Some(Path::new("/h"))),
            [
                PathBuf::from("/opt/crlogin"),
                PathBuf::from("/h/.local/bin")
            ]
        );
        assert_eq!(
            candidate_dirs(exe, Some(Path::new("/b")), Some(Path::new("/h"))),
            [PathBuf::from("/b")]
        );
    }
}
