//! Replacing a file atomically: a reader sees the old file or the new one, never a part. On Unix
//! `rename(2)` over the old file, then an fsync of the directory so the rename survives a
//! power loss. On Windows `MoveFileExW(MOVEFILE_REPLACE_EXISTING)` (what tempfile's `persist`
//! calls), retried for a moment while another program (a virus scanner, docker reading the
//! file) holds the old file open without delete sharing, which makes the move fail with
//! "access denied".

use std::io;
use std::path::Path;
use tempfile::NamedTempFile;

/// Moves the finished, synced temp file `tmp` over `dest` (both in one directory).
pub fn persist(tmp: NamedTempFile, dest: &Path) -> io::Result<()> {
    imp::persist(tmp, dest)
}

#[cfg(not(windows))]
mod imp {
    use super::*;
    use std::fs::File;

    pub fn persist(tmp: NamedTempFile, dest: &Path) -> io::Result<()> {
        tmp.persist(dest).map_err(|e| e.error)?;
        // Make the rename itself durable; a failure here leaves a complete file, so it is not
        // an error.
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

#[cfg(windows)]
mod imp {
    use super::*;
    use std::time::Duration;

    /// How often a move that hit a sharing violation is tried again, and the first pause.
    const TRIES: u32 = 8;
    const FIRST_PAUSE: Duration = Duration::from_millis(10);

    pub fn persist(mut tmp: NamedTempFile, dest: &Path) -> io::Result<()> {
        let mut pause = FIRST_PAUSE;
        for _ in 1..TRIES {
            match tmp.persist(dest) {
                Ok(_) => return Ok(()),
                Err(e) if e.error.kind() == io::ErrorKind::PermissionDenied => {
                    tmp = e.file;
                    std::thread::sleep(pause);
                    pause *= 2;
                }
                Err(e) => return Err(e.error),
            }
        }
        tmp.persist(dest).map(drop).map_err(|e| e.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn replaces_an_existing_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("config.json");
        std::fs::write(&dest, "old").unwrap();
        let mut tmp = NamedTempFile::new_in(dir.path()).unwrap();
        tmp.write_all(b"new").unwrap();
        persist(tmp, &dest).unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
