//! A `credsStore` whose helper is not installed (`"credsStore": "desktop"` copied from a Docker
//! Desktop machine), with the real clients: the docker CLI reads the login crlogin wrote into the
//! file all the same, Helm 4 fails every registry command, and crlogin's login warning and
//! `doctor` say exactly that (src/sinks/missing_helper.rs).
// Unix only (Linux servers and clients): on Windows the unit tests cover crlogin.
#![cfg(unix)]

mod harness;

use harness::helm::{helm, write_chart};
use harness::{assert_no_leak, canary, require_tool, run, secret_forms, seeded_registry, Env};
use std::fs;

const USER: &str = "alice";
const STORE: &str = "crlogin-test-absent";

#[test]
fn a_missing_creds_store_helper_breaks_helm_not_docker_as_login_and_doctor_say() {
    require_tool("docker");
    let secret = canary("absent-store");
    let mut env = Env::new();
    let (registry, _seed) = seeded_registry(&env, USER, &secret);
    let host = registry.host();
    let dir = env.home().join(".docker");
    let config = dir.join("config.json");
    fs::create_dir_all(&dir).unwrap();
    fs::write(&config, format!(r#"{{"credsStore": "{STORE}"}}"#)).unwrap();
    // docker and helm read the one file, as on a machine where HELM_REGISTRY_CONFIG points there.
    env.set("DOCKER_CONFIG", dir.to_str().unwrap())
        .set("HELM_REGISTRY_CONFIG", config.to_str().unwrap())
        .set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", &secret)
        .set("DCR_REGISTRY", &host);
    assert!(which::which(format!("docker-credential-{STORE}")).is_err());

    let login = env.crlogin(["login", "--for", "docker,helm"]).run();
    login.assert_success("login beside a credsStore whose helper is missing");
    let said = "docker reads the logins in the file all the same";
    assert!(
        login.stderr.contains("helm fails every registry command") && login.stderr.contains(said),
        "{login}"
    );

    // What docker really does: it reads the entry from the file.
    let reference = format!("{host}/team/app:v1");
    run(
        env.command("docker")
            .args(["manifest", "inspect", "--insecure", &reference]),
        None,
    )
    .assert_success("docker reads the login although credsStore names a missing helper");
    // What Helm 4 really does: it fails resolving the credential.
    let chart = env.home().join("chart");
    write_chart(&chart);
    let push = helm(
        &env,
        &config,
        &[
            "push",
            chart.to_str().unwrap(),
            &format!("oci://{host}/charts"),
            "--plain-http",
        ],
    );
    push.assert_failure("helm with credsStore naming a missing helper");
    assert!(
        push.stderr.contains("failed to resolve credential")
            && push.stderr.contains("executable file not found in $PATH"),
        "{push}"
    );

    let doctor = env.crlogin(["doctor", "--for", "docker,helm"]).run();
    doctor.assert_failure("doctor: helm cannot read the login");
    let line = doctor
        .stdout
        .lines()
        .find(|l| l.contains(&format!("docker-credential-{STORE} is not on PATH")))
        .unwrap_or_else(|| panic!("{doctor}"));
    assert!(
        line.contains("FAIL")
            && line.contains("helm fails every registry command")
            && line.contains(said),
        "{line}"
    );
    let forms = secret_forms(&secret, Some(USER));
    assert_no_leak(
        &secret,
        &forms,
        &[&login.stdout, &login.stderr, &doctor.stdout, &doctor.stderr],
        env.home(),
        &[
            config.clone(),
            env.home().join(".config/containers/auth.json"),
        ],
    );
}
