//! Nebius: token exchanges per `crlogin login` with a service-account authorized key for all six
//! regional hosts (the loopback IAM stand-in counts them), and `crlogin credential-helper get`
//! answered from the token cache, with a static key and with that authorized key.

use crate::harness::{self, Env, Out};
use crate::iam_server::{credentials_json, IamServer};
use crate::timing::{self, Samples};
use std::path::Path;
use std::time::Duration;

const SA: &str = "serviceaccount-e00crloginbench";
const KID: &str = "publickey-e00crloginbench";
const STATIC_KEY: &str = "bench-static-key-3e9d1b";
const HOST: &str = "cr.eu-north1.nebius.cloud";

/// How many hosts `login --all-regions` writes.
pub const HOSTS: usize = 6;

/// What the Nebius benchmarks found.
pub struct Results {
    /// Exchanges the IAM stand-in saw during the first `login` (empty cache).
    pub first_login_exchanges: usize,
    /// Exchanges during a second `login` right after.
    pub second_login_exchanges: usize,
    /// How long the first and second `login` took.
    pub first_login: Duration,
    /// See `first_login`.
    pub second_login: Duration,
    /// `credential-helper get` with `NEBIUS_STATIC_KEY` (nothing to exchange or cache).
    pub helper_static: Samples,
    /// `credential-helper get` with the authorized key and a cached token.
    pub helper_sa_cached: Samples,
    /// `credential-helper get` with the authorized key and `CRLOGIN_NO_CACHE=1`: an exchange
    /// with the loopback IAM stand-in each time.
    pub helper_sa_exchange: Samples,
    /// Exchanges seen during the cached-token helper runs (expected 0).
    pub helper_cached_exchanges: usize,
}

/// Fails loudly unless `out` succeeded and shows none of `tokens` (nor their base64 forms).
fn assert_quiet_success(out: &Out, what: &str, tokens: &[String]) {
    out.assert_success(what);
    for token in tokens {
        for form in harness::secret_forms(token, Some("iam")) {
            assert!(
                !out.stderr.contains(&form),
                "{what} printed the access token"
            );
        }
    }
}

/// Runs `credential-helper get` for [`HOST`] in `env`; fails loudly unless it answers `secret`.
fn helper_get(bin: &Path, env: &Env, secret: &str) {
    let out = harness::run(
        env.command(bin).args(["credential-helper", "get"]),
        Some(HOST),
    );
    out.assert_success("credential-helper get");
    assert!(
        out.stdout.contains(&format!("\"Secret\":\"{secret}\"")),
        "credential-helper get answered another secret"
    );
}

/// Runs the Nebius benchmarks; the helper figures are `runs` runs after 10 warm-up runs.
pub fn run(bin: &Path, runs: usize) -> Results {
    let server = IamServer::start(SA, KID);
    let mut env = Env::new();
    env.set("NEBIUS_SA_CREDENTIALS", credentials_json(SA, KID))
        .set("NEBIUS_AUTH_ENDPOINT", server.endpoint());
    let login = || harness::run(env.command(bin).args(["login", "--all-regions"]), None);

    let mut out = None;
    let first_login = timing::time(|| out = Some(login()));
    let first_login_exchanges = server.requests();
    assert_quiet_success(&out.unwrap(), "login (first)", &server.tokens());
    assert!(
        server.rejections().is_empty(),
        "the IAM stand-in refused: {:?}",
        server.rejections()
    );
    let mut out = None;
    let second_login = timing::time(|| out = Some(login()));
    let second_login_exchanges = server.requests() - first_login_exchanges;
    let out = out.unwrap();
    assert_quiet_success(&out, "login (second)", &server.tokens());
    let token = server
        .tokens()
        .last()
        .cloned()
        .expect("one token was issued");

    eprintln!("credential-helper get: {runs} runs each");
    let before = server.requests();
    let helper_sa_cached = timing::sample(10, runs, || helper_get(bin, &env, &token));
    let helper_cached_exchanges = server.requests() - before;

    let mut no_cache = Env::new();
    no_cache
        .set("NEBIUS_SA_CREDENTIALS", credentials_json(SA, KID))
        .set("NEBIUS_AUTH_ENDPOINT", server.endpoint())
        .set("CRLOGIN_NO_CACHE", "1");
    let exchanges = runs.min(50);
    let before = server.requests();
    let helper_sa_exchange = timing::sample(2, exchanges, || {
        let out = harness::run(
            no_cache.command(bin).args(["credential-helper", "get"]),
            Some(HOST),
        );
        out.assert_success("credential-helper get (no cache)");
    });
    assert_eq!(
        server.requests() - before,
        exchanges + 2,
        "with CRLOGIN_NO_CACHE=1 every get exchanges once"
    );

    let mut static_env = Env::new();
    static_env.set("NEBIUS_STATIC_KEY", STATIC_KEY);
    let helper_static = timing::sample(10, runs, || helper_get(bin, &static_env, STATIC_KEY));

    Results {
        first_login_exchanges,
        second_login_exchanges,
        first_login,
        second_login,
        helper_static,
        helper_sa_cached,
        helper_sa_exchange,
        helper_cached_exchanges,
    }
}
