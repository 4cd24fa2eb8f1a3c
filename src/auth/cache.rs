//! A small on-disk cache of exchanged access tokens, so jobs that run crlogin often do not mint a
//! token each time: `$XDG_CACHE_HOME/crlogin` (else `~/.cache/crlogin`), one 0600 file per
//! credential identity, named by a hash of the service account, the key id, the public key and
//! the endpoint (never of the private key), replaced atomically. The directory and the file must
//! be the current user's own and private, else the cache is not used and the user is told.

use crate::auth::MAX_TOKEN_LIFETIME;
use crate::env::Env;
use crate::files::{self, unix};
use crate::secrets::Secret;
use crate::sinks::auth_file::{create_private_dir, write_atomic};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A cached token is used only while this much of its life remains.
const MIN_REMAINING: Duration = Duration::from_secs(5 * 60);
/// ... and only until this share of its life has passed (the Nebius SDKs refresh there).
const REFRESH_AT: f64 = 0.9;
/// Larger files are not ours.
const MAX_FILE: u64 = 64 * 1024;

/// Who a token belongs to: what the cache file is named by.
pub struct Identity<'a> {
    /// The service account id.
    pub service_account_id: &'a str,
    /// The public key id.
    pub public_key_id: &'a str,
    /// The SHA-256 of the public key itself: another key under the same ids finds no token.
    pub public_key_sha256: &'a str,
    /// The token endpoint, as a URL.
    pub endpoint: &'a str,
}

impl Identity<'_> {
    fn file_name(&self) -> String {
        let mut hash = Sha256::new();
        for part in [
            "crlogin-token-cache-v2",
            self.service_account_id,
            self.public_key_id,
            self.public_key_sha256,
            self.endpoint,
        ] {
            hash.update(part.as_bytes());
            hash.update([0u8]);
        }
        let hex: String = hash.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("token-{hex}.json")
    }
}

/// A token read from the cache.
#[derive(Debug)]
pub struct Cached {
    /// The access token (the caller masks it).
    pub access_token: Secret,
    /// When it expires.
    pub expires_at: SystemTime,
}

/// The cache directory: `$XDG_CACHE_HOME/crlogin`, else `$HOME/.cache/crlogin`.
pub fn dir(env: &Env) -> Result<PathBuf> {
    crate::os::paths::token_cache_dir(env, crate::os::Os::CURRENT)
        .context("no place for the token cache")
}

/// Whether a token issued at `issued_at` and expiring at `expires_at` may still be handed out at
/// `now`: before 0.9 of its life and more than five minutes before it expires.
/// A lifetime beyond [`MAX_TOKEN_LIFETIME`] is no token crlogin stored: not fresh.
pub fn is_fresh(issued_at: SystemTime, expires_at: SystemTime, now: SystemTime) -> bool {
    let Ok(lifetime) = expires_at.duration_since(issued_at) else {
        return false;
    };
    if lifetime > MAX_TOKEN_LIFETIME {
        return false;
    }
    let at = |t: SystemTime, d: Duration| t.checked_add(d);
    let (Some(refresh), Some(skewed), Some(spare)) = (
        at(issued_at, lifetime.mul_f64(REFRESH_AT)),
        at(now, Duration::from_secs(60)),
        at(now, MIN_REMAINING),
    ) else {
        return false;
    };
    // A token "issued" in the future means the clock moved back: do not trust the entry.
    issued_at <= skewed && now < refresh && spare < expires_at
}

/// Why the cache is not used on this run, worded as a warning with its fix.
#[derive(Debug)]
pub struct Untrusted(pub String);

/// Checks that the cache directory (if it exists) and `file` (if given and there) belong to the
/// current user and that nobody else may write the directory or open the file: a cache planted
/// by another user, or one others can swap files in, would hand out their token as ours.
fn check_private(dir: &Path, file: Option<&Path>) -> Result<(), Untrusted> {
    let untrusted = |path: &Path, meta: &fs::Metadata, why: &str| {
        Untrusted(format!(
            "the token cache {} ({}, uid {}, mode {:04o}) {why}, so it is not used: remove {} (crlogin then makes a private one), or use --no-cache",
            path.display(),
            files::kind(meta),
            unix::owner(meta),
            unix::mode(meta),
            dir.display()
        ))
    };
    match files::not_private(dir, file) {
        Some((path, meta, why)) => Err(untrusted(&path, &meta, why)),
        None => Ok(()),
    }
}

/// The cached token for `identity` if there is a fresh one. A missing, stale or broken file is
/// simply no token (and is replaced by the next [`store`]); a directory or file that is not the
/// user's own and private is [`Untrusted`].
pub fn load(dir: &Path, identity: &Identity, now: SystemTime) -> Result<Option<Cached>, Untrusted> {
    let path = dir.join(identity.file_name());
    check_private(dir, Some(&path))?;
    Ok(read_entry(&path, identity, now))
}

fn read_entry(path: &Path, identity: &Identity, now: SystemTime) -> Option<Cached> {
    let text = files::read_regular(path, MAX_FILE).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    let text_field = |name: &str| doc.get(name).and_then(Value::as_str);
    let time_field = |name: &str| {
        doc.get(name)
            .and_then(Value::as_u64)
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
    };
    let matches = doc.get("version").and_then(Value::as_u64) == Some(2)
        && text_field("service_account_id") == Some(identity.service_account_id)
        && text_field("public_key_id") == Some(identity.public_key_id)
        && text_field("public_key_sha256") == Some(identity.public_key_sha256)
        && text_field("endpoint") == Some(identity.endpoint);
    let token = text_field("access_token").filter(|t| !t.is_empty())?;
    let issued_at = time_field("issued_at")?;
    let expires_at = time_field("expires_at")?;
    if !matches || !is_fresh(issued_at, expires_at, now) {
        return None;
    }
    Some(Cached {
        access_token: Secret::new(token.to_string()),
        expires_at,
    })
}

/// Stores a token for `identity`: a 0600 temp file in the 0700 cache directory, synced and
/// renamed over the old file; never into a directory that is not the user's own and private.
pub fn store(
    dir: &Path,
    identity: &Identity,
    access_token: &Secret,
    issued_at: SystemTime,
    expires_at: SystemTime,
) -> Result<()> {
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let doc = json!({
        "version": 2,
        "service_account_id": identity.service_account_id,
        "public_key_id": identity.public_key_id,
        "public_key_sha256": identity.public_key_sha256,
        "endpoint": identity.endpoint,
        "issued_at": unix(issued_at),
        "expires_at": unix(expires_at),
        "access_token": access_token.expose(),
    });
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(&doc)?);
    drop(doc);
    create_private_dir(dir)?;
    check_private(dir, None).map_err(|Untrusted(why)| anyhow::anyhow!(why))?;
    let path = dir.join(identity.file_name());
    if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        bail!("{} is not a regular file: remove it", path.display());
    }
    write_atomic(&path, &bytes).context("cannot write the token cache")?;
    Ok(())
}

// Unix only: owners and modes.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn freshness_follows_the_nine_tenths_and_five_minute_rules() {
        let issued = 1_000_000;
        let twelve_hours = issued + 12 * 3600;
        assert!(is_fresh(at(issued), at(twelve_hours), at(issued + 1)));
        // 0.9 of 12 h is 38,880 s.
        assert!(is_fresh(at(issued), at(twelve_hours), at(issued + 38_879)));
        assert!(!is_fresh(at(issued), at(twelve_hours), at(issued + 38_880)));
        // A ten-minute token is never reused past five minutes before its end.
        let ten_minutes = issued + 600;
        assert!(is_fresh(at(issued), at(ten_minutes), at(issued + 299)));
        assert!(!is_fresh(at(issued), at(ten_minutes), at(issued + 300)));
        // A four-minute token is never reused at all.
        assert!(!is_fresh(at(issued), at(issued + 240), at(issued)));
        // Issued in the future, or expiring before it was issued: not trusted.
        assert!(!is_fresh(at(issued + 3600), at(twelve_hours), at(issued)));
        assert!(!is_fresh(at(issued), at(issued - 1), at(issued)));
    }

    #[test]
    fn store_then_load_round_trips_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("crlogin");
        let id = Identity {
            service_account_id: "serviceaccount-a",
            public_key_id: "publickey-b",
            public_key_sha256: "ab",
            endpoint: "https://auth.example/",
        };
        let now = SystemTime::now();
        let token = Secret::new("v1.cached".into());
        store(&dir, &id, &token, now, now + Duration::from_secs(3600)).unwrap();
        let files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(files.len(), 1, "no temp file is left behind");
        assert_eq!(
            files[0].metadata().unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let name = files[0].file_name().into_string().unwrap();
        assert!(!name.contains("serviceaccount"), "{name}");
        let cached = load(&dir, &id, now).unwrap().unwrap();
        assert_eq!(cached.access_token.expose(), "v1.cached");
        let other = Identity {
            endpoint: "https://other.example/",
            ..id
        };
        assert!(load(&dir, &other, now).unwrap().is_none());
        let other_key = Identity {
            endpoint: "https://auth.example/",
            public_key_sha256: "cd",
            ..other
        };
        assert!(load(&dir, &other_key, now).unwrap().is_none());
        let id = Identity {
            public_key_sha256: "ab",
            ..other_key
        };
        assert!(load(&dir, &id, now + Duration::from_secs(3300))
            .unwrap()
            .is_none());
        fs::write(dir.join(id.file_name()), "{broken").unwrap();
        assert!(load(&dir, &id, now).unwrap().is_none());
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let Untrusted(why) = load(&dir, &id, now).unwrap_err();
        assert!(why.contains("may be written by other users"), "{why}");
    }
}
