//! [`super::unix`]'s functions where there are no Unix owners and modes (Windows): every file
//! crlogin makes there is created private by [`crate::os::private`] (an ACL for the user
//! alone), so the owner and mode checks have nothing to compare and pass; kinds are the three
//! Windows has; reads never block on a file.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// No uid here: 0.
pub fn owner(_meta: &Metadata) -> u32 {
    0
}

/// Files are the user's (the profile's ACL and crlogin's own say so).
pub fn is_mine(_meta: &Metadata) -> bool {
    true
}

/// Mode bits do not exist here.
pub fn others_may_write(_meta: &Metadata) -> bool {
    false
}

/// Mode bits do not exist here.
pub fn others_may_replace_in(_meta: &Metadata) -> bool {
    false
}

/// Mode bits do not exist here.
pub fn others_may_access(_meta: &Metadata) -> bool {
    false
}

/// Mode bits do not exist here: 0.
pub fn mode(_meta: &Metadata) -> u32 {
    0
}

/// No other kinds of file here.
pub fn special_kind(_kind: &FileType) -> Option<&'static str> {
    None
}

/// Opening a file does not block here.
pub fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Links are the user's own.
pub fn may_follow(_link: &Metadata, _target: &Metadata) -> bool {
    true
}

/// The new file keeps the ACL crlogin gave it.
pub fn keep_owner_and_mode(_file: &File, _of: &Metadata) -> io::Result<()> {
    Ok(())
}

/// Opens (creating it if missing) the lock file.
pub fn open_lock_file(path: &Path, _dir: &Metadata) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Windows keeps the lock file (it is never removed while held), so the one held is the one
/// named.
pub fn same_file(_a: &Metadata, _b: &Metadata) -> bool {
    true
}

/// The lock file is in the user's own directory.
pub fn lock_file_is_private(_lock: &Metadata, _dir: &Metadata) -> bool {
    true
}

/// Nothing to change.
pub fn make_private(_file: &File, _meta: &Metadata) -> io::Result<()> {
    Ok(())
}
