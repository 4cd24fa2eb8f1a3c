//! Gives `crlogin --version` the commit it was built from and the target triple:
//! `crlogin 0.2.0 (3f2a1b9 2026-12-01, aarch64-unknown-linux-musl)`.
//!
//! The commit comes from git when building a checkout, else from `.cargo_vcs_info.json`, which
//! `cargo package` writes into the crate (so `cargo install crlogin` knows it too). The date is the
//! commit's, or `SOURCE_DATE_EPOCH`'s (set by the release workflow) when there is no git. Neither is
//! required: a build from a plain tarball prints just the version and the target.

use std::path::Path;
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let (commit, date) = match git(&["log", "-1", "--format=%h %cs", "--abbrev=7"]) {
        Some(line) => {
            let mut parts = line.split(' ').map(str::to_owned);
            (parts.next(), parts.next())
        }
        None => (vcs_info_commit(), None),
    };
    let date = date.or_else(source_date);
    let build: Vec<String> = [commit, date].into_iter().flatten().collect();
    let details = if build.is_empty() {
        target
    } else {
        format!("{}, {target}", build.join(" "))
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=CRLOGIN_VERSION_LONG={version} ({details})");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // Only files that exist are named: cargo reruns the script, and so rebuilds the crate, on
    // every build for one that does not (a checkout has no .cargo_vcs_info.json). Naming this
    // script keeps that list from being empty, which would rerun it on any change in the crate.
    println!("cargo:rerun-if-changed=build.rs");
    if Path::new(".cargo_vcs_info.json").exists() {
        println!("cargo:rerun-if-changed=.cargo_vcs_info.json");
    }
    // A new commit moves HEAD (or the branch it names).
    for name in ["HEAD", "packed-refs"] {
        watch_git_path(name);
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch_git_path(&branch);
    }
}

/// The output of `git ARGS` in the crate's directory, trimmed, when git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    // A crate unpacked inside some other repository must not report that repository's commit.
    if !Path::new(&dir).join(".git").exists() {
        return None;
    }
    let out = Command::new("git")
        .args(args)
        .current_dir(&dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn watch_git_path(name: &str) {
    if let Some(path) = git(&["rev-parse", "--git-path", name]) {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        let path = Path::new(&dir).join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// The short commit from `cargo package`'s `{"git": {"sha1": "..."}}`.
fn vcs_info_commit() -> Option<String> {
    let text = std::fs::read_to_string(".cargo_vcs_info.json").ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let sha1 = info.pointer("/git/sha1")?.as_str()?;
    let short = sha1.get(..7)?;
    short
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| short.to_owned())
}

/// `SOURCE_DATE_EPOCH` as a UTC date (YYYY-MM-DD).
fn source_date() -> Option<String> {
    let secs: u64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let time = std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))?;
    let stamp = humantime::format_rfc3339_seconds(time).to_string();
    stamp.get(..10).map(str::to_owned)
}
