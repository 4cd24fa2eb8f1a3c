//! Fuzz entry points (built only by `cargo fuzz`, which sets `--cfg fuzzing`; the targets are in
//! `fuzz/fuzz_targets/`). Each feeds one input crlogin reads from outside to the code that parses
//! it, and asserts what must hold for any input: no panic, no planted secret in an error, and for
//! the auth-file merge, either a correct file or an untouched one.

use crate::auth::authorized_key::AuthorizedKey;
use crate::ci::Ci;
use crate::secrets::Secret;
use crate::sinks::{remove_logins, write_logins, Login, Tool};
use base64::Engine;
use serde_json::Value;
use std::cell::RefCell;

/// Stands in for a private key's or token's value; no error may ever show it.
const CANARY: &str = "RnV6ekNhbmFyeUtleU1hdGVyaWFsMDEyMzQ1Njc4OQ";

/// The registry the merge target logs into.
const HOST: &str = "cr.eu-north1.nebius.cloud";

/// A CI that prints nothing and records what it was asked to mask.
#[derive(Default)]
struct Recorder {
    masked: RefCell<Vec<String>>,
}

impl Ci for Recorder {
    fn name(&self) -> &'static str {
        "fuzz"
    }

    fn mask(&self, value: &str) {
        self.masked.borrow_mut().push(value.to_string());
    }

    fn error(&self, _: &str) {}

    fn warning(&self, _: &str) {}
}

/// `data` as a JSON object whose `field` (inside `parent`, if given) is replaced by `value`:
/// the fuzzer shapes everything else, the planted secret is always there.
fn planted(data: &str, parent: Option<&str>, field: &str, value: &str) -> Option<String> {
    let mut doc: Value = serde_json::from_str(data).ok()?;
    let object = match parent {
        Some(parent) => doc.get_mut(parent)?.as_object_mut()?,
        None => doc.as_object_mut()?,
    };
    object.insert(field.to_string(), value.into());
    serde_json::to_string(&doc).ok()
}

/// The credentials JSON parser (`CRLOGIN_AUTHORIZED_KEY`, `--key-file`): never panics; with a
/// private key planted into the fuzzer's document, the key is masked and no error shows it.
pub fn credentials_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = AuthorizedKey::from_json(text, "CRLOGIN_AUTHORIZED_KEY", &Recorder::default());
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{CANARY}\n-----END PRIVATE KEY-----\n");
    let Some(text) = planted(text, Some("subject-credentials"), "private-key", &pem) else {
        return;
    };
    let ci = Recorder::default();
    let result = AuthorizedKey::from_json(&text, "CRLOGIN_AUTHORIZED_KEY", &ci);
    assert!(
        ci.masked.borrow().iter().any(|m| m.contains(CANARY)),
        "the private key was not masked"
    );
    if let Err(e) = result {
        assert!(
            !format!("{e:#}").contains(CANARY),
            "error shows the key: {e:#}"
        );
    }
}

/// A login merged into docker's and podman's auth file (one file holding the fuzzer's bytes),
/// then logged out, through the real writer (flock, atomic 0600 replace) in a temporary
/// directory. On success the file is JSON holding the login, and logout removes it; on error the
/// file is byte for byte what it was and the error shows no password.
pub fn merge(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("config.json");
    std::fs::write(&path, data).expect("writing the auth file");
    let files = [(Tool::Docker, path.clone()), (Tool::Podman, path.clone())];
    let secret = Secret::new(CANARY.to_string());
    let login = Login {
        host: HOST,
        username: "iam",
        secret: &secret,
    };
    let ci = Recorder::default();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("iam:{CANARY}"));
    let read = || -> Value {
        serde_json::from_slice(&std::fs::read(&path).expect("reading the auth file"))
            .expect("the auth file is JSON after a successful write")
    };
    match write_logins(&files, &[login], &ci) {
        Ok(_) => {
            assert!(ci.masked.borrow().contains(&auth), "auth string not masked");
            assert_eq!(read()["auths"][HOST]["auth"], Value::from(auth.as_str()));
            let removed = remove_logins(&files, &[HOST]).expect("logout after a login");
            assert_eq!(removed, [HOST]);
            assert!(read()["auths"].get(HOST).is_none(), "logout left the entry");
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(!message.contains(CANARY) && !message.contains(&auth));
            assert_eq!(std::fs::read(&path).expect("reading the auth file"), data);
        }
    }
}

/// The docker credential helper's stdin (`get`'s server URL; `store` sends a password): read
/// with the 1 MiB limit, then the URL's host, which is canonical and non-empty. Errors are one
/// line.
pub fn helper_stdin(data: &[u8]) {
    match crate::helper::read_request(data) {
        Ok(text) => {
            if let Some(host) = crate::helper::server_host(text.trim()) {
                assert!(!host.is_empty());
                let again = crate::registry::parse_registry(&host).expect("host parses again");
                assert_eq!(again, host, "host is not canonical");
            }
        }
        Err(e) => assert!(!format!("{e:#}").contains('\n')),
    }
}

/// The kubelet's CredentialProviderRequest: never panics; the image's host, when there is one,
/// is canonical; with a service-account token planted into the fuzzer's request, no error
/// shows it.
pub fn kubelet_request(data: &[u8]) {
    use crate::helper::kubelet::{image_host, parse_request, API_VERSIONS};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((api_version, image)) = parse_request(text) {
        assert!(API_VERSIONS.contains(&api_version.as_str()));
        assert!(!image.is_empty() && image.trim() == image);
        if let Ok(host) = image_host(&image) {
            let again = crate::registry::parse_registry(&host).expect("host parses again");
            assert_eq!(again, host, "host is not canonical");
        }
    }
    if let Some(text) = planted(text, None, "serviceAccountToken", CANARY) {
        if let Err(e) = parse_request(&text) {
            assert!(
                !format!("{e:#}").contains(CANARY),
                "error shows the token: {e:#}"
            );
        }
        // The pod's token and annotation, and the mode chosen from them: no error shows it.
        use crate::helper::kubelet_federation::{mode, pod_request};
        let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 31);
        let chosen = pod_request(&text)
            .and_then(|pod| mode(pod, crate::cli::Unannotated::Refuse, now).map(|_| ()));
        if let Err(e) = chosen {
            assert!(
                !format!("{e:#}").contains(CANARY),
                "error shows the token: {e:#}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// What a committed seed holds where a PEM private key goes (JSON-escaped when replaced).
    const KEY_PLACEHOLDER: &str = "@PRIVATE_KEY_PEM@";

    /// Runs `entry` over every seed of `target` (fuzz/corpus/<target>/), so `cargo test` checks
    /// that the entry points build and that the seeds hold every property. A seed's
    /// [`KEY_PLACEHOLDER`] becomes a key made for this run, as scripts/fuzz.sh does with openssl:
    /// no private key is committed.
    fn run_seeds(target: &str, entry: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let seeds: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        assert!(seeds.len() >= 5, "{target} has too few seeds");
        let key = serde_json::to_string(&crate::proptests::credentials::test_key().pem).unwrap();
        let key = key.trim_matches('"');
        for seed in seeds {
            let text = std::fs::read(&seed).expect("a readable seed");
            match std::str::from_utf8(&text) {
                Ok(t) if t.contains(KEY_PLACEHOLDER) => {
                    entry(t.replace(KEY_PLACEHOLDER, key).as_bytes())
                }
                _ => entry(&text),
            }
        }
    }

    #[test]
    fn every_seed_holds_every_property() {
        run_seeds("credentials_json", super::credentials_json);
        run_seeds("merge", super::merge);
        run_seeds("helper_stdin", super::helper_stdin);
        run_seeds("kubelet_request", super::kubelet_request);
    }
}
