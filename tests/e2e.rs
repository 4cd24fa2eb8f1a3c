//! End to end, as a CI job would use crlogin: secrets in the environment, `crlogin login`, then
//! real clients (skopeo, the docker CLI, Helm 4) reading the files crlogin wrote, against the
//! CNCF distribution registry on loopback. Each test has its own canary secret, checks it leaks
//! nowhere, and proves the client fails with a wrong password, so the test can fail.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use harness::helm::{helm, write_chart};
use harness::{
    assert_no_leak, canary, oci_layout, require_tool, run, secret_forms, Auth, Env, Registry,
};
use std::path::PathBuf;

#[test]
fn dcr_login_works_for_skopeo_docker_and_helm_from_their_default_files() {
    let secret = &canary("e2e-dcr");
    let registry = Registry::start(Auth::user("alice", secret));
    let mut env = Env::new();
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", secret)
        .set("DCR_REGISTRY", format!("{}/team", registry.host()));
    let login = env.crlogin(["login", "--verify"]).run();
    login.assert_success("crlogin login --verify");
    assert!(
        login
            .stderr
            .contains(&format!("verified {}", registry.host())),
        "{login}"
    );

    // skopeo finds ~/.config/containers/auth.json by itself (no --authfile).
    let image = oci_layout(&env.home().join("image"));
    let push = registry.push(&env, &image, "team/app:v1", None);
    push.assert_success("skopeo push with crlogin's podman file");
    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    registry
        .pull(&env, "team/app:v1", &pulled, None)
        .assert_success("skopeo pull");

    // The docker CLI reads ~/.docker/config.json (client-side; loopback is an insecure registry).
    require_tool("docker");
    let inspect = run(
        env.command("docker").args([
            "manifest",
            "inspect",
            "--insecure",
            &format!("{}/team/app:v1", registry.host()),
        ]),
        None,
    );
    inspect.assert_success("docker manifest inspect with crlogin's docker file");
    assert!(
        inspect
            .stdout
            .contains("application/vnd.oci.image.manifest.v1+json"),
        "{inspect}"
    );

    // Helm 4 reads the helm file.
    let helm_file = env.home().join(".config/helm/registry/config.json");
    harness::helm::push_and_pull_chart(
        &env,
        &helm_file,
        &registry.host(),
        "with crlogin's helm file",
    );

    let files = [
        env.home().join(".docker/config.json"),
        helm_file.clone(),
        env.home().join(".config/containers/auth.json"),
    ];
    assert_no_leak(
        secret,
        &secret_forms(secret, Some("alice")),
        &[
            &login.stdout,
            &login.stderr,
            &push.stdout,
            &push.stderr,
            &inspect.stderr,
        ],
        env.home(),
        &files,
    );
}

#[test]
fn a_wrong_password_is_refused_by_every_client_and_by_verify() {
    let registry = Registry::start(Auth::user("alice", &canary("e2e-right")));
    let wrong = &canary("e2e-wrong");
    let mut env = Env::new();
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", wrong)
        .set("DCR_REGISTRY", registry.host());
    let login = env.crlogin(["login", "--verify"]).run();
    login.assert_failure("login --verify with a wrong password");
    assert!(
        login
            .stderr
            .contains("the registry rejected the credential (HTTP 401"),
        "{login}"
    );
    assert!(
        login.stderr.contains(&format!(
            "--verify: {} did not accept the login: ",
            registry.host()
        )) && login.stderr.contains("nothing was written"),
        "{login}"
    );
    // Checked before writing: no file, no state, no "logged in" line.
    assert!(!login.stderr.contains("logged in"), "{login}");
    for dir in [".docker", ".config"] {
        assert!(!env.home().join(dir).exists(), "{dir} was written: {login}");
    }
    // Without --verify the wrong password is written, and every client refuses it.
    env.crlogin(["login"])
        .run()
        .assert_success("login without --verify");

    let image = oci_layout(&env.home().join("image"));
    let push = registry.push(&env, &image, "team/app:v1", None);
    push.assert_failure("skopeo push with a wrong password");
    assert!(
        push.stderr.contains("authentication required") || push.stderr.contains("unauthorized"),
        "{push}"
    );
    let inspect = run(
        env.command("docker").args([
            "manifest",
            "inspect",
            "--insecure",
            &format!("{}/team/app:v1", registry.host()),
        ]),
        None,
    );
    inspect.assert_failure("docker with a wrong password");
    let chart = env.home().join("chart");
    write_chart(&chart);
    let helm_file = env.home().join(".config/helm/registry/config.json");
    let oci = format!("oci://{}/charts", registry.host());
    helm(
        &env,
        &helm_file,
        &["push", chart.to_str().unwrap(), &oci, "--plain-http"],
    )
    .assert_failure("helm push with a wrong password");
    assert_no_leak(
        wrong,
        &secret_forms(wrong, Some("alice")),
        &[&login.stdout, &login.stderr],
        env.home(),
        &[
            env.home().join(".docker/config.json"),
            helm_file,
            env.home().join(".config/containers/auth.json"),
        ],
    );
}

#[test]
fn static_key_over_tls_with_a_private_ca() {
    let key = &canary("e2e-static-key");
    let registry = Registry::start_tls(Auth::user("iam", key));
    let mut env = Env::new();
    env.set("NEBIUS_STATIC_KEY", key)
        .set("SSL_CERT_FILE", registry.ca_pem_path().to_str().unwrap());
    let login = env
        .crlogin([
            "login",
            "--registry",
            &registry.host(),
            "--for",
            "podman",
            "--verify",
        ])
        .run();
    login.assert_success("login with a static key to a TLS registry");
    assert!(
        login.stderr.contains("NEBIUS_STATIC_KEY"),
        "the report names the source: {login}"
    );

    let image = oci_layout(&env.home().join("image"));
    registry
        .push(&env, &image, "demo/app:v1", None)
        .assert_success("skopeo push over TLS");
    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    registry
        .pull(&env, "demo/app:v1", &pulled, None)
        .assert_success("skopeo pull over TLS");

    // Without the CA, verify fails and says how to fix it.
    let untrusted = Env::new();
    let out = untrusted
        .crlogin([
            "login",
            "--registry",
            &registry.host(),
            "--for",
            "podman",
            "--verify",
        ])
        .env("NEBIUS_STATIC_KEY", key)
        .run();
    out.assert_failure("verify against an untrusted CA");
    assert!(out.stderr.contains("set SSL_CERT_FILE"), "{out}");
    assert_no_leak(
        key,
        &secret_forms(key, Some("iam")),
        &[&login.stdout, &login.stderr, &out.stderr],
        env.home(),
        &[env.home().join(".config/containers/auth.json")],
    );
}

/// A scratch or distroless image has no CA store at all; the bundled roots keep the HTTP client
/// usable (before they were bundled, building it failed with "No CA certificates were loaded").
#[test]
fn verify_works_on_a_machine_without_a_ca_store() {
    let secret = &canary("e2e-no-ca-store");
    let registry = Registry::start(Auth::user("alice", secret));
    let mut env = Env::new();
    let empty_bundle = env.home().join("empty.pem");
    std::fs::write(&empty_bundle, "").unwrap();
    let no_certs = env.home().join("no-certs");
    std::fs::create_dir(&no_certs).unwrap();
    env.set("SSL_CERT_FILE", empty_bundle.to_str().unwrap())
        .set("SSL_CERT_DIR", no_certs.to_str().unwrap())
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", secret)
        .set("DCR_REGISTRY", registry.host());
    let login = env.crlogin(["login", "--for", "podman", "--verify"]).run();
    login.assert_success("login --verify with an empty CA store");
    assert!(
        login
            .stderr
            .contains(&format!("verified {}", registry.host())),
        "{login}"
    );
    assert_no_leak(
        secret,
        &secret_forms(secret, Some("alice")),
        &[&login.stdout, &login.stderr],
        env.home(),
        &[env.home().join(".config/containers/auth.json")],
    );
}

#[test]
fn isolated_login_then_logout_revokes_access() {
    let secret = &canary("e2e-iso");
    let registry = Registry::start(Auth::user("ci-bot", secret));
    let mut env = Env::new();
    env.set("HARBOR_USERNAME", "ci-bot")
        .set("HARBOR_PASSWORD", secret)
        .set("HARBOR_REGISTRY", registry.host());
    let login = env
        .crlogin(["login", "--from-env", "HARBOR", "--isolated"])
        .run();
    login.assert_success("isolated login");
    let auth_file = login
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("export REGISTRY_AUTH_FILE='"))
        .map(|v| PathBuf::from(v.trim_end_matches('\'')))
        .expect("an export line for REGISTRY_AUTH_FILE");
    assert!(
        !env.home().join(".docker/config.json").exists(),
        "the shared home is untouched"
    );
    env.set("REGISTRY_AUTH_FILE", auth_file.to_str().unwrap())
        .set(
            "DOCKER_CONFIG",
            auth_file.parent().unwrap().to_str().unwrap(),
        )
        .set("HELM_REGISTRY_CONFIG", auth_file.to_str().unwrap());

    let image = oci_layout(&env.home().join("image"));
    registry
        .push(&env, &image, "demo/app:v1", None)
        .assert_success("push with the exported REGISTRY_AUTH_FILE");

    let logout = env.crlogin(["logout", "--from-env", "HARBOR"]).run();
    logout.assert_success("logout");
    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    registry
        .pull(&env, "demo/app:v1", &pulled, None)
        .assert_failure("pull after logout");
    assert_no_leak(
        secret,
        &secret_forms(secret, Some("ci-bot")),
        &[&login.stdout, &login.stderr, &logout.stderr],
        env.home(),
        &[],
    );
}

mod iam_server;

#[test]
fn authorized_key_is_exchanged_and_the_registry_accepts_the_token() {
    const SA: &str = "serviceaccount-e00e2etest";
    const KID: &str = "publickey-e00e2etest";
    let token: &str = &format!("v1.{}", canary("e2e-exchanged-token"));
    let iam = iam_server::IamServer::start(SA, KID);
    iam.set_token(token);
    let registry = Registry::start(Auth::user("iam", token));
    // The token cache holds the token by design (0600): keep it outside HOME, so HOME can be
    // scanned strictly for leaks.
    let cache = harness::temp_dir();
    let mut env = Env::new();
    env.set(
        "NEBIUS_SA_CREDENTIALS",
        iam_server::credentials_json(SA, KID),
    )
    .set("NEBIUS_AUTH_ENDPOINT", iam.endpoint())
    .set("XDG_CACHE_HOME", cache.path().to_str().unwrap());
    let login = env
        .crlogin([
            "login",
            "--registry",
            &registry.host(),
            "--for",
            "podman",
            "--verify",
        ])
        .run();
    login.assert_success("login with an authorized key");
    assert_eq!(iam.requests(), 1, "one exchange");
    assert!(
        login.stderr.contains("NEBIUS_SA_CREDENTIALS, exchanged"),
        "{login}"
    );

    let image = oci_layout(&env.home().join("image"));
    registry
        .push(&env, &image, "demo/app:v1", None)
        .assert_success("skopeo push with the exchanged token");
    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    registry
        .pull(&env, "demo/app:v1", &pulled, None)
        .assert_success("skopeo pull with the exchanged token");

    let cached: Vec<PathBuf> = std::fs::read_dir(cache.path().join("crlogin"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1, "one cached token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cached[0]).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert_no_leak(
        token,
        &secret_forms(token, Some("iam")),
        &[&login.stdout, &login.stderr],
        env.home(),
        &[env.home().join(".config/containers/auth.json")],
    );
}
