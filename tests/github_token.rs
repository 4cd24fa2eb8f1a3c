//! ghcr.io from the job's own GITHUB_TOKEN (`CRLOGIN_GITHUB_TOKEN`, the action's `github-token`
//! input), next to a Nebius login in the same step, as a GitHub job runs it: the token is masked
//! first, docker, skopeo and Helm 4 use the login, and cleanup takes it away again. A loopback
//! distribution registry stands in for ghcr.io through the test-only `CRLOGIN_TEST_GHCR_HOST`.
// Unix only (Linux servers and clients).
#![cfg(unix)]

mod harness;

use harness::{assert_no_leak, canary, require_tool, run, secret_forms, Env};
use std::fs;

#[test]
fn the_job_token_logs_every_tool_into_ghcr_next_to_nebius_and_cleanup_removes_it() {
    let token = &format!("ghs_{}", canary("ghcr-token"));
    let static_key = &canary("ghcr-nebius-key");
    let mut env = Env::new();
    let (registry, _seed) = harness::seeded_registry(&env, "octocat", token);
    let host = registry.host();
    let job = env.home().join("job");
    fs::create_dir_all(&job).unwrap();
    let job_dir = job.to_str().unwrap();
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_ACTOR", "octocat")
        .set("CRLOGIN_GITHUB_TOKEN", token)
        .set("CRLOGIN_TEST_GHCR_HOST", &host)
        .set("NEBIUS_STATIC_KEY", static_key)
        .set("NEBIUS_REGION", "eu-west1");

    let login = env.crlogin(["login", "--config-dir", job_dir]).run();
    login.assert_success("crlogin login with a GitHub token and a Nebius key");
    let masks: Vec<&str> = login
        .stderr
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(masks[0], format!("::add-mask::{token}"), "{login}");
    for row in [
        format!("{host}  octocat"),
        "cr.eu-west1.nebius.cloud  iam".to_string(),
    ] {
        let shown = login.stderr.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let want: Vec<&str> = row.split_whitespace().collect();
            words.starts_with(&want)
        });
        assert!(shown, "the report names {row}:\n{login}");
    }

    // Every tool reads the one config.json under --config-dir.
    let config = job.join("config.json");
    let docker = run(
        env.command(require_tool("docker"))
            .env("DOCKER_CONFIG", &job)
            .args([
                "manifest",
                "inspect",
                "--insecure",
                &format!("{host}/team/app:v1"),
            ]),
        None,
    );
    docker.assert_success("docker manifest inspect of the ghcr stand-in");
    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    let skopeo = registry.pull(&env, "team/app:v1", &pulled, Some(&config));
    skopeo.assert_success("skopeo pull from the ghcr stand-in");
    let helm = harness::helm::push_and_pull_chart(&env, &config, &host, "to the ghcr stand-in");

    let logout_dry = env.crlogin(["cleanup", "--config-dir", job_dir]).run();
    logout_dry.assert_success("crlogin cleanup");
    let left = fs::read_to_string(&config).unwrap();
    assert!(
        !left.contains(&host),
        "cleanup removed the ghcr entry: {left}"
    );
    assert!(
        !left.contains("cr.eu-west1.nebius.cloud"),
        "and the Nebius one: {left}"
    );
    registry
        .pull(&env, "team/app:v1", &pulled, Some(&config))
        .assert_failure("skopeo pull after cleanup");

    assert_no_leak(
        token,
        &secret_forms(token, Some("octocat")),
        &[
            &login.stdout,
            &docker.stderr,
            &skopeo.stdout,
            &skopeo.stderr,
            &helm.stdout,
            &helm.stderr,
            &logout_dry.stdout,
            &logout_dry.stderr,
        ],
        env.home(),
        &[],
    );
    // stderr carries the token only in its ::add-mask:: line, which the runner swallows.
    let unmasked: Vec<&str> = login
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(
        unmasked.iter().all(|l| !l.contains(token.as_str())),
        "{login}"
    );
}

#[test]
fn the_token_is_opt_in_and_the_test_host_only_loopback() {
    let mut env = Env::new();
    env.set("GITHUB_TOKEN", canary("ghcr-unused"));
    let none = env.crlogin(["login", "--dry-run"]).run();
    none.assert_failure("GITHUB_TOKEN alone is no login");
    assert!(none.stderr.contains("no credentials found"), "{none}");

    env.set("CRLOGIN_GITHUB_TOKEN", canary("ghcr-elsewhere"))
        .set("CRLOGIN_TEST_GHCR_HOST", "evil.example");
    let refused = env.crlogin(["login", "--dry-run"]).run();
    refused.assert_failure("a non-loopback test host");
    assert!(
        refused.stderr.contains("takes only a loopback host"),
        "{refused}"
    );
}
