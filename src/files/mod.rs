//! Local files crlogin keeps next to the user's: it reads and replaces regular files only, reads
//! each with a size cap, and serialises writers on a private lock file with a bounded wait. What
//! is Unix-specific (owners, modes, open flags) lives in [`unix`].

pub mod auth_file;
#[cfg(unix)]
pub mod unix;
// Windows: the same functions, without Unix owners and modes.
#[cfg(not(unix))]
#[path = "other.rs"]
pub mod unix;

use crate::secret::{read_text, TextError};
use anyhow::{bail, Result};
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a writer waits for another's lock unless `--lock-timeout` says otherwise: writes
/// hold it for milliseconds, so a longer wait means a stuck process.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

static LOCK_WAIT: OnceLock<Duration> = OnceLock::new();

/// Sets how long [`lock_beside`] waits (`--lock-timeout`); called once at start.
pub fn set_lock_wait(wait: Duration) {
    let _ = LOCK_WAIT.set(wait);
}

fn lock_wait() -> Duration {
    LOCK_WAIT.get().copied().unwrap_or(DEFAULT_LOCK_WAIT)
}

/// Why [`read_regular`] read nothing.
#[derive(Debug)]
pub enum ReadError {
    /// There is no file.
    NotFound,
    /// It is something else (the kind, as "a FIFO"): reading could block or never end.
    NotRegular(&'static str),
    /// It holds more than the limit.
    TooLarge,
    /// It is not UTF-8.
    NotUtf8,
    /// Reading failed.
    Io(io::ErrorKind),
}

impl ReadError {
    /// Why, for a message about a file crlogin wrote itself: `written` names what it holds
    /// ("any state crlogin writes"), for a file too large to be one.
    pub fn reason(&self, written: &str) -> String {
        match self {
            ReadError::NotFound => "it does not exist".into(),
            ReadError::NotRegular(kind) => format!("it is {kind}, not a regular file"),
            ReadError::TooLarge => format!("it is larger than {written}"),
            ReadError::NotUtf8 => "it is not UTF-8 text".into(),
            ReadError::Io(kind) => kind.to_string(),
        }
    }
}

/// Reads the regular file at `path` (links followed) as UTF-8 text of at most `limit` bytes,
/// into memory zeroed when dropped. A FIFO, device or socket is refused before it is opened, and
/// again after (in case one was swapped in), without ever blocking.
pub fn read_regular(path: &Path, limit: u64) -> Result<Zeroizing<String>, ReadError> {
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        kind => ReadError::Io(kind),
    };
    let meta = fs::metadata(path).map_err(io_error)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(&meta)));
    }
    let file = unix::open_nonblocking(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(&meta)));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge);
    }
    read_text(file, limit).map_err(|e| match e {
        TextError::Io(kind) => ReadError::Io(kind),
        TextError::TooLarge => ReadError::TooLarge,
        TextError::NotUtf8 => ReadError::NotUtf8,
    })
}

/// Checks that `path`, if something is there, is a regular file (links followed): crlogin never
/// replaces a FIFO, a device or a directory. Returns its metadata.
pub fn check_regular(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta)),
        Ok(meta) => bail!(
            "{} is {}, not a regular file: remove it, or point crlogin at another path (crlogin reads and writes only regular files)",
            path.display(),
            kind(&meta)
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => bail!("cannot look at {}: {}", path.display(), e.kind()),
    }
}

/// What kind of file it is, for messages ("a directory", "a FIFO").
pub fn kind(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symlink"
    } else {
        unix::special_kind(&kind).unwrap_or("not a regular file")
    }
}

/// An exclusive lock on a file's lock file, held until dropped. On Unix the lock file is
/// removed as the lock is let go, so none stays beside the user's files: whoever was waiting on
/// it finds, once it holds it, that the path no longer names that file and locks the path anew
/// (see [`lock_beside`]), so two writers never both hold "the" lock.
#[must_use = "the lock is released when dropped"]
pub struct Lock {
    _file: File,
    #[cfg_attr(not(unix), allow(dead_code))]
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Still held here (the file closes after this): nobody else can be inside.
        #[cfg(unix)]
        let _ = fs::remove_file(&self.path);
    }
}

/// The lock file of `path`: `.crlogin-NAME.lock` in its directory.
pub fn lock_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    parent(path).join(format!(".crlogin-{name}.lock"))
}

/// Takes the exclusive lock of `path`'s lock file (mode 0600, created if missing) in `path`'s own
/// directory, waiting at most the lock timeout. Nobody else can open that file, so another
/// user cannot hold crlogin's writers up; a lock file of another user is refused.
pub fn lock_beside(path: &Path) -> Result<Lock> {
    let lock = lock_path(path);
    let dir = parent(path);
    let dir_meta = fs::metadata(dir)
        .map_err(|e| anyhow::anyhow!("cannot look at {}: {}", dir.display(), e.kind()))?;
    let started = Instant::now();
    let mut retry = false;
    loop {
        // Each retry follows a file removed under us; within the lock timeout, as any wait.
        if std::mem::replace(&mut retry, true) && started.elapsed() > lock_wait() {
            bail!(
                "{} keeps being removed while crlogin locks it: stop whatever removes it",
                lock.display()
            );
        }
        let Some(mut file) = open_and_lock(&lock, &dir_meta, started)? else {
            continue; // removed between our create and open: make it anew
        };
        // The holder before us removes the file as it lets go: if the path names another file
        // (or none) now, this lock guards nothing; lock what the path names.
        let still_named = match (fs::symlink_metadata(&lock), file.metadata()) {
            (Ok(named), Ok(held)) => unix::same_file(&named, &held),
            (Err(e), _) if e.kind() == io::ErrorKind::NotFound => false,
            _ => true, // cannot tell: keep the lock as before
        };
        if !still_named {
            continue;
        }
        // Who holds it, for the message of whoever waits next.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        return Ok(Lock {
            _file: file,
            path: lock,
        });
    }
}

/// Opens `lock` (checked private) and waits for its exclusive lock until the lock timeout since
/// `started`. None when the file vanished between being found and being opened.
fn open_and_lock(lock: &Path, dir_meta: &fs::Metadata, started: Instant) -> Result<Option<File>> {
    let mut file = match unix::open_lock_file(lock, dir_meta) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        opened => opened,
    }
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open the lock file {}: {}: remove it if it is not a plain file of yours",
            lock.display(),
            e.kind()
        )
    })?;
    let meta = file
        .metadata()
        .map_err(|e| anyhow::anyhow!("cannot look at {}: {}", lock.display(), e.kind()))?;
    if !unix::lock_file_is_private(&meta, dir_meta) {
        bail!(
            "the lock file {} is {} of uid {}, not yours: remove it (another user could hold crlogin's writers up with it)",
            lock.display(),
            kind(&meta),
            unix::owner(&meta)
        );
    }
    let _ = unix::make_private(&file, &meta);
    let wait = lock_wait();
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                std::thread::sleep(pause.min(wait.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => bail!(
                "{} is locked by {} and stayed locked for {} s: wait for it to finish or stop it, or wait longer with --lock-timeout (CRLOGIN_LOCK_TIMEOUT)",
                lock.display(),
                holder(&mut file, lock),
                wait.as_secs()
            ),
            Err(fs::TryLockError::Error(e)) => {
                bail!("cannot lock {}: {}", lock.display(), e.kind())
            }
        }
    }
}

/// "process 1234 (crlogin)", from the pid the holder wrote into the lock file; else how to find
/// the holder.
fn holder(file: &mut File, lock: &Path) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(32).read_to_string(&mut text);
    match text.trim().parse::<u32>() {
        Ok(pid) => {
            let name = read_regular(Path::new(&format!("/proc/{pid}/comm")), 64)
                .map(|n| {
                    let name: String = n
                        .trim()
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                        .collect();
                    format!(" ({name})")
                })
                .unwrap_or_default();
            format!("process {pid}{name}")
        }
        Err(_) => format!("another process (`fuser {}` names it)", lock.display()),
    }
}

/// Why `dir` (if it exists) and `file` (if given and there) are not the current user's own and
/// private, naming the path, its metadata and the reason; `None` when they are. A directory
/// others may write lets them swap the file; a file another user owns or may open is theirs.
/// The token cache and the helper-hosts record are trusted only when this is `None`.
pub fn not_private(
    dir: &Path,
    file: Option<&Path>,
) -> Option<(PathBuf, fs::Metadata, &'static str)> {
    let why = match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Some((meta, "is not a directory")),
        Ok(meta) if !unix::is_mine(&meta) => Some((meta, "belongs to another user")),
        Ok(meta) if unix::others_may_write(&meta) => Some((meta, "may be written by other users")),
        _ => None,
    };
    if let Some((meta, why)) = why {
        return Some((dir.to_path_buf(), meta, why));
    }
    let file = file?;
    let meta = fs::symlink_metadata(file).ok()?;
    let why = if !meta.is_file() {
        "is not a regular file"
    } else if !unix::is_mine(&meta) {
        "belongs to another user"
    } else if unix::others_may_access(&meta) {
        "is open to other users"
    } else {
        return None;
    };
    Some((file.to_path_buf(), meta, why))
}

/// Why another user could swap a fresh private directory made under `base` for their own, if
/// one could: `base`, or a directory above it (as written and once symlinks are resolved), owned
/// by another uid than this one's and root's, or writable by others without the sticky bit. A
/// `base` that does not exist yet is created private by the caller; its existing ancestors are
/// checked all the same.
pub fn private_base_problem(base: &Path) -> Option<String> {
    let resolved = nearest_existing(base).and_then(|p| p.canonicalize().ok());
    let lexical = base.ancestors().filter(|p| !p.as_os_str().is_empty());
    for dir in lexical.chain(resolved.iter().flat_map(|p| p.ancestors())) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let owner = unix::owner(&meta);
        let why = if !unix::is_mine(&meta) && owner != 0 {
            format!("belongs to uid {owner}")
        } else if unix::others_may_replace_in(&meta) {
            format!(
                "may be written by other users (mode {:04o}, no sticky bit)",
                unix::mode(&meta)
            )
        } else {
            continue;
        };
        return Some(format!(
            "{} (where crlogin makes its private directory under {}) {why}, who could swap that directory for their own and read the credentials",
            dir.display(),
            base.display()
        ));
    }
    None
}

fn nearest_existing(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .map(Path::to_path_buf)
}

/// The directory of `path` (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
