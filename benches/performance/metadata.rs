//! The metadata source (`--auth metadata`): what its probe costs a login off Nebius, where the
//! service's name does not resolve, and `credential-helper get` served with the VM's token from
//! the loopback metadata stand-in (tests/metadata_server), from the cache and fetched each time.

use crate::harness::{self, Env};
use crate::metadata_server::MetadataServer;
use crate::timing::{self, Samples};
use std::path::Path;

const HOST: &str = "cr.eu-north1.nebius.cloud";
const TOKEN: &str = "v1.bench-metadata-token-5c1a7e";

/// What the metadata benchmarks found.
pub struct Results {
    /// `crlogin login` with nothing configured: the probe runs (the name does not resolve).
    pub probed: Samples,
    /// The same with a `~/.nebius/config.yaml`, which turns the probe off.
    pub not_probed: Samples,
    /// `credential-helper get` with a cached metadata token.
    pub helper_cached: Samples,
    /// Requests the stand-in saw during the cached runs (expected 0).
    pub cached_requests: usize,
    /// `credential-helper get` with `CRLOGIN_NO_CACHE=1`: one request to the stand-in each time.
    pub helper_fetch: Samples,
}

/// Runs `login` with nothing configured; fails loudly unless it fails with "no credentials".
fn login_without_credentials(bin: &Path, env: &Env) {
    let out = harness::run(env.command(bin).arg("login"), None);
    assert!(
        !out.success() && out.stderr.contains("no credentials found"),
        "login with nothing configured: {out}"
    );
}

/// Runs `credential-helper get`; fails loudly unless it answers the stand-in's token.
fn helper_get(bin: &Path, env: &Env) {
    let out = harness::run(
        env.command(bin).args(["credential-helper", "get"]),
        Some(HOST),
    );
    out.assert_success("credential-helper get (metadata)");
    assert!(out.stdout.contains(&format!("\"Secret\":\"{TOKEN}\"")));
}

/// Runs the metadata benchmarks, `runs` runs each after warm-up runs.
pub fn run(bin: &Path, runs: usize) -> Results {
    let probing = Env::new();
    let probed = timing::sample(5, runs, || login_without_credentials(bin, &probing));
    let configured = Env::new();
    let config = configured.home().join(".nebius/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "profiles: {}\n").unwrap();
    let not_probed = timing::sample(5, runs, || login_without_credentials(bin, &configured));

    let server = MetadataServer::start(TOKEN);
    let mut env = Env::new();
    env.set("CRLOGIN_METADATA_URL", server.url());
    helper_get(bin, &env);
    let before = server.requests();
    let helper_cached = timing::sample(10, runs, || helper_get(bin, &env));
    let cached_requests = server.requests() - before;
    env.set("CRLOGIN_NO_CACHE", "1");
    let helper_fetch = timing::sample(10, runs, || helper_get(bin, &env));
    Results {
        probed,
        not_probed,
        helper_cached,
        cached_requests,
        helper_fetch,
    }
}
