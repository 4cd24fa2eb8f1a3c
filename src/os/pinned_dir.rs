//! A private directory held by a handle opened right after it was made (`exec`'s): whoever
//! renames or replaces its path afterwards, the credentials in it are removed through the
//! handle, wherever the directory went, and the path is removed only while it still names that
//! directory. On Windows, where a directory in use cannot be renamed, the path is enough.

use std::io;
use std::path::{Path, PathBuf};

/// A directory crlogin made, and (on Unix) a handle on it.
pub struct PinnedDir {
    path: PathBuf,
    #[cfg(unix)]
    handle: std::os::fd::OwnedFd,
}

impl PinnedDir {
    /// Opens the directory just made at `path` (never through a link) and checks it is the one
    /// made: the current user's and closed to others.
    pub fn open(path: &Path) -> io::Result<Self> {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let handle = rustix::fs::open(
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let stat = rustix::fs::fstat(&handle)?;
            if stat.st_uid != rustix::process::geteuid().as_raw() || stat.st_mode & 0o077 != 0 {
                return Err(io::Error::other(
                    "it is not the private directory crlogin made",
                ));
            }
            Ok(Self {
                path: path.to_path_buf(),
                handle,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The path the directory was made at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path still names this directory.
    pub fn is_in_place(&self) -> bool {
        #[cfg(unix)]
        {
            match (
                rustix::fs::fstat(&self.handle),
                rustix::fs::lstat(&self.path),
            ) {
                (Ok(held), Ok(named)) => held.st_dev == named.st_dev && held.st_ino == named.st_ino,
                _ => false,
            }
        }
        #[cfg(not(unix))]
        true
    }

    /// Removes everything in the directory through the handle, then the directory itself when
    /// its path still names it (a directory put in its place is left alone).
    pub fn remove(&self) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            empty(self.handle.as_fd())?;
            if !self.is_in_place() {
                return Ok(());
            }
        }
        match std::fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Removes every entry of `dir`, directories depth first, never following a link.
#[cfg(unix)]
fn empty(dir: std::os::fd::BorrowedFd) -> io::Result<()> {
    use rustix::fs::{AtFlags, Mode, OFlags};
    use std::os::fd::AsFd;
    let names: Vec<std::ffi::CString> = rustix::fs::Dir::read_from(dir)?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_owned();
            (name.as_bytes() != b"." && name.as_bytes() != b"..").then_some(name)
        })
        .collect();
    for name in names {
        match rustix::fs::unlinkat(dir, &name, AtFlags::empty()) {
            Ok(()) => {}
            Err(rustix::io::Errno::ISDIR) | Err(rustix::io::Errno::PERM) => {
                let sub = rustix::fs::openat(
                    dir,
                    &name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                empty(sub.as_fd())?;
                rustix::fs::unlinkat(dir, &name, AtFlags::REMOVEDIR)?;
            }
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
