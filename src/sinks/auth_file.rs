//! The one writer for docker-format auth files (docker, helm and podman share the format):
//! lock, read, change, write a temp file, fsync, rename. Concurrent crlogin runs on one machine
//! serialise on an advisory lock of the file's directory, so none loses another's entries, and a
//! reader sees the old file or the new one, never a partial one.

use crate::os::{private, replace};
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A parsed auth file: its top-level JSON object.
pub type Document = Map<String, Value>;

/// How [`write_atomic`] names its temp files.
const TEMP_PREFIX: &str = ".crlogin-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temp file a writer left behind when it died before its rename (SIGKILL, power loss) is
/// removed by the next write in its directory once it is this old. A younger one may belong to a
/// writer still at work (the state file and the token cache are written without the lock).
const STALE_TEMP: Duration = Duration::from_secs(10 * 60);

/// Reads `path` as a JSON object: a missing or empty file is an empty object; anything else that
/// is not a JSON object is an error, so crlogin never overwrites a file it could not read.
pub fn read(path: &Path) -> Result<Document> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Document::new()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => bail!(
            "{} is not UTF-8 text: fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
        Err(e) => bail!(
            "cannot read {}: {}: check the path and its permissions",
            path.display(),
            e.kind()
        ),
    };
    if text.trim().is_empty() {
        return Ok(Document::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(doc)) => Ok(doc),
        Ok(_) => bail!(
            "{} is not a JSON object: fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
        // serde_json's message names a line and column, never the file's content.
        Err(e) => bail!(
            "{} is not valid JSON ({e}): fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
    }
}

/// Applies `change` to the file at `path` under the directory lock. `change` returns its result
/// and whether it changed the document; an unchanged document is not rewritten.
pub fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut Document) -> Result<(T, bool)>,
) -> Result<T> {
    let path = resolve_link(path);
    let dir = parent(&path);
    create_private_dir(dir)?;
    let lock =
        open_lock(dir).with_context(|| format!("cannot open {} to lock it", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", dir.display()))?;

    let mut doc = read(&path)?;
    let (result, changed) = change(&mut doc)?;
    if changed {
        let mut text = serde_json::to_vec_pretty(&Value::Object(doc))?;
        text.push(b'\n');
        write_atomic(&path, &text)?;
    }
    Ok(result)
}

/// Writes `bytes` to a private temp file beside `path` (0600; on Windows an ACL for the user
/// alone), syncs it and moves it over `path` ([`replace::persist`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path);
    remove_stale_temps(dir, SystemTime::now());
    let fail = || format!("cannot write {}", path.display());
    let mut tmp = private::temp_file_in(dir, TEMP_PREFIX, TEMP_SUFFIX).with_context(fail)?;
    tmp.write_all(bytes).with_context(fail)?;
    tmp.as_file().sync_all().with_context(fail)?;
    replace::persist(tmp, path).with_context(fail)?;
    Ok(())
}

/// Removes temp files of [`write_atomic`] in `dir` older than [`STALE_TEMP`] at `now`: a dead
/// writer's temp may hold a complete auth file, secret included, that no logout would remove.
fn remove_stale_temps(dir: &Path, now: SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX));
        // `DirEntry::metadata` does not follow a symlink: only regular files are removed.
        let stale = ours
            && entry
                .metadata()
                .ok()
                .filter(fs::Metadata::is_file)
                .and_then(|m| m.modified().ok())
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > STALE_TEMP);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` and its missing parents private to the user (mode 0700; on Windows an ACL
/// for the user alone); existing ones are left as they are.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    private::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// What [`update`] locks: the directory itself on Unix; on Windows, where a directory cannot be
/// locked, the file `.crlogin.lock` in it.
fn open_lock(dir: &Path) -> std::io::Result<File> {
    #[cfg(windows)]
    return fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".crlogin.lock"));
    #[cfg(not(windows))]
    File::open(dir)
}

/// Writes through a symlinked auth file (dotfile managers link them) instead of replacing the link.
fn resolve_link(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn update_creates_private_file_and_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/config.json");
        update(&path, |doc| {
            doc.insert("k".into(), json!(1));
            Ok(((), true))
        })
        .unwrap();
        let dir = path.parent().unwrap();
        for p in [&path, dir, dir.parent().unwrap()] {
            let meta = fs::metadata(p).unwrap();
            assert!(
                !private::others_may_read(p, &meta),
                "{} is private",
                p.display()
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!((mode(&path), mode(dir)), (0o600, 0o700));
        }
        assert_eq!(read(&path).unwrap()["k"], json!(1));
        let leftovers: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != ".crlogin.lock")
            .collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
    }

    #[test]
    fn corrupt_file_is_refused_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        fs::write(&path, "{not json").unwrap();
        let err = update(&path, |_| Ok(((), true))).unwrap_err().to_string();
        assert!(err.contains("is not valid JSON"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn a_dead_writers_temp_file_is_removed_once_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        let temp = |name: &str, age: Duration| {
            let file = tmp.path().join(name);
            File::create(&file)
                .unwrap()
                .set_modified(SystemTime::now() - age)
                .unwrap();
            file
        };
        let stale = temp(".crlogin-AbC123.tmp", STALE_TEMP * 2);
        let fresh = temp(".crlogin-DeF456.tmp", Duration::ZERO);
        let other = temp(".other-XyZ789.tmp", STALE_TEMP * 2);
        write_atomic(&path, b"{}").unwrap();
        assert!(!stale.exists(), "a stale temp file is removed");
        assert!(
            fresh.exists(),
            "a writer may still be at work on a fresh one"
        );
        assert!(other.exists(), "only crlogin's own temp files are removed");
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.json");
        let link = tmp.path().join("link.json");
        fs::write(&real, "{}").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        update(&link, |doc| {
            doc.insert("k".into(), json!(true));
            Ok(((), true))
        })
        .unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read(&real).unwrap()["k"], json!(true));
    }
}
