//! The Unix side of [`super`]: who owns a file, which mode bits it has, how to open one without
//! blocking on a FIFO or a device, and how to give a rewritten file its old owner and mode.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The effective uid: the owner of every file this process creates.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The uid that owns the file.
pub fn owner(meta: &Metadata) -> u32 {
    meta.uid()
}

/// Whether the current uid owns the file.
pub fn is_mine(meta: &Metadata) -> bool {
    meta.uid() == current_uid()
}

/// Whether its group or other users may write it (or, for a directory, add and rename in it).
pub fn others_may_write(meta: &Metadata) -> bool {
    meta.mode() & 0o022 != 0
}

/// Whether another user may rename or remove what others put in this directory: a group or
/// other write bit without the sticky bit (`/tmp`'s 1777 has it).
pub fn others_may_replace_in(meta: &Metadata) -> bool {
    others_may_write(meta) && meta.mode() & 0o1000 == 0
}

/// Whether its group or other users have any access to it.
pub fn others_may_access(meta: &Metadata) -> bool {
    meta.mode() & 0o077 != 0
}

/// The permission bits, for messages.
pub fn mode(meta: &Metadata) -> u32 {
    meta.mode() & 0o777
}

/// The kinds of file only Unix has, for messages ("a FIFO"); `None` for the others.
pub fn special_kind(kind: &FileType) -> Option<&'static str> {
    if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    }
}

/// Opens `path` for reading without blocking: a FIFO swapped in after a check does not wait for
/// a writer, and a terminal does not become the controlling one.
pub fn open_nonblocking(path: &Path) -> io::Result<File> {
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
}

/// Whether a symlink may be followed to write its target: the link is ours, or it belongs to the
/// target's owner (the rule of Linux's `fs.protected_symlinks`, for every directory). So root
/// does not write through a link another user planted to a file that user could not write.
pub fn may_follow(link: &Metadata, target: &Metadata) -> bool {
    link.uid() == current_uid() || link.uid() == target.uid()
}

/// Gives a freshly written temp file the owner and mode of the file it replaces, as docker's
/// `configfile.Save` does. Taking another user's ownership works only for root; like docker,
/// crlogin then keeps its own (a file rewritten by its owner keeps both anyway).
pub fn keep_owner_and_mode(file: &File, of: &Metadata) -> io::Result<()> {
    if file.metadata()?.uid() != of.uid() || file.metadata()?.gid() != of.gid() {
        let _ = std::os::unix::fs::fchown(file, Some(of.uid()), Some(of.gid()));
    }
    file.set_permissions(PermissionsExt::from_mode(of.mode() & 0o777))
}

/// Opens (creating it 0600) the lock file at `path` in a directory whose metadata is `dir`. A
/// symlink is refused (`O_NOFOLLOW`). A lock file root creates in another user's directory is
/// given to that user, so the user's own runs can still take it.
pub fn open_lock_file(path: &Path, dir: &Metadata) -> io::Result<File> {
    let open = |create_new: bool| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create_new)
            .mode(0o600)
            .custom_flags(
                (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
            )
            .open(path)
    };
    match open(true) {
        Ok(file) => {
            if current_uid() == 0 && dir.uid() != 0 {
                let _ = std::os::unix::fs::fchown(&file, Some(dir.uid()), Some(dir.gid()));
            }
            Ok(file)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(false),
        Err(e) => Err(e),
    }
}

/// Whether two metadata are of the same file (device and inode): whether a lock file a writer
/// holds is still the one its path names.
pub fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Whether a lock file may be trusted: a regular file owned by us or by its directory's owner
/// (who could replace it anyway), that nobody else can open.
pub fn lock_file_is_private(lock: &Metadata, dir: &Metadata) -> bool {
    lock.is_file() && (lock.uid() == current_uid() || lock.uid() == dir.uid())
}

/// Makes a lock file of ours 0600 again if someone widened its mode.
pub fn make_private(file: &File, meta: &Metadata) -> io::Result<()> {
    if others_may_access(meta) && is_mine(meta) {
        file.set_permissions(PermissionsExt::from_mode(0o600))?;
    }
    Ok(())
}
