//! A snapshot of a directory tree (every entry's path, kind, mode and content digest), so a test
//! can assert that a failed run wrote, changed and removed nothing.
// Each test binary uses a different part of it.
#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files up to this size are compared by content; bigger ones by inode and modification time
/// (hashing megabytes in a debug build would dominate a test's time).
const HASHED: u64 = 1024 * 1024;

/// Every entry under a directory: its path relative to the root, and a description of it.
#[derive(Debug, PartialEq, Eq)]
pub struct Tree(BTreeMap<PathBuf, String>);

impl Tree {
    /// Reads the tree under `root` (symlinks are recorded, not followed).
    pub fn of(root: &Path) -> Tree {
        let mut entries = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(path) = stack.pop() {
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.is_dir() {
                for entry in fs::read_dir(&path).unwrap() {
                    stack.push(entry.unwrap().path());
                }
                format!("dir {mode:o}")
            } else if meta.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else if !meta.is_file() {
                // A FIFO or device: never opened (reading one could block or never end).
                format!("special {:?} {mode:o}", meta.file_type())
            } else if meta.len() > HASHED {
                // Any write changes the inode (a rename) or the modification time.
                format!(
                    "file {mode:o} {} bytes inode {} modified {:?}",
                    meta.len(),
                    meta.ino(),
                    meta.modified().unwrap()
                )
            } else {
                let digest = Sha256::digest(fs::read(&path).unwrap());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!("file {mode:o} {} bytes sha256:{hex}", meta.len())
            };
            entries.insert(path.strip_prefix(root).unwrap().to_path_buf(), what);
        }
        Tree(entries)
    }

    /// Fails the test, listing the differences, unless `root` still looks as it did.
    pub fn assert_unchanged(&self, root: &Path, what: &str) {
        let now = Tree::of(root);
        let changed: Vec<String> = self
            .0
            .iter()
            .filter(|(path, before)| now.0.get(*path) != Some(before))
            .map(|(path, before)| {
                format!(
                    "{}: was {before}, now {:?}",
                    path.display(),
                    now.0.get(path)
                )
            })
            .chain(
                now.0
                    .iter()
                    .filter(|(path, _)| !self.0.contains_key(*path))
                    .map(|(path, after)| format!("{}: new {after}", path.display())),
            )
            .collect();
        assert!(
            changed.is_empty(),
            "{what}: the tree changed:\n{}",
            changed.join("\n")
        );
    }
}
