//! A machine whose Nebius credential is a service-account key (`NEBIUS_SA_CREDENTIALS`),
//! exchanged at the loopback IAM server (`iam_server`), with the token cache in its own temp
//! directory outside HOME (so HOME can be searched for the raw token), and a leak check for
//! everything crlogin prints.
#![allow(dead_code)]

use crate::harness::{secret_forms, Env, Out};
use crate::iam_server::{credentials_json, keys, IamServer};
use std::path::Path;
use tempfile::TempDir;

/// The test service account.
pub const SA: &str = "serviceaccount-e00crloginhelper";
/// Its public key id.
pub const KID: &str = "publickey-e00crloginhelper";

/// One machine: a cleared environment with a temp HOME, the IAM server, the cache directory.
pub struct Machine {
    /// The environment every command runs in.
    pub env: Env,
    /// The token exchange; counts requests.
    pub server: IamServer,
    cache: TempDir,
}

impl Machine {
    /// A machine with the key in `NEBIUS_SA_CREDENTIALS`, pointed at a fresh IAM server.
    pub fn new() -> Machine {
        let server = IamServer::start(SA, KID);
        let cache = crate::harness::temp_dir();
        let mut env = Env::new();
        env.set("NEBIUS_SA_CREDENTIALS", credentials_json(SA, KID))
            .set("NEBIUS_AUTH_ENDPOINT", server.endpoint())
            .set("XDG_CACHE_HOME", cache.path().to_str().unwrap());
        Machine { env, server, cache }
    }

    /// The token cache directory (`$XDG_CACHE_HOME/crlogin`).
    pub fn cache_dir(&self) -> std::path::PathBuf {
        self.cache.path().join("crlogin")
    }

    /// HOME.
    pub fn home(&self) -> &Path {
        self.env.home()
    }

    /// Every string that must not be printed: the private key's lines, the JWTs sent, the
    /// tokens issued and their base64 forms (alone and as `iam:token`).
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = keys().secret_lines();
        secrets.extend(self.server.jwts());
        for token in self.server.tokens() {
            secrets.extend(secret_forms(&token, Some("iam")));
        }
        secrets
    }

    /// Asserts that no secret is in `out`'s stderr, nor in its stdout except for the one
    /// intended answer `allowed_stdout` (compared whole).
    pub fn assert_quiet(&self, out: &Out, allowed_stdout: Option<&str>) {
        for secret in self.secrets() {
            assert!(
                !out.stderr.contains(&secret),
                "stderr leaks a secret ({secret:?}):\n{out}"
            );
            if allowed_stdout != Some(out.stdout.as_str()) {
                assert!(
                    !out.stdout.contains(&secret),
                    "stdout leaks a secret ({secret:?}):\n{out}"
                );
            }
        }
    }

    /// Asserts that no file under HOME holds a token, raw or encoded (the cache lives outside).
    pub fn assert_home_clean(&self) {
        let secrets = self.secrets();
        let mut stack = vec![self.home().to_path_buf()];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if meta.is_file() {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                for secret in &secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "{} holds a secret",
                        path.display()
                    );
                }
            }
        }
    }
}
