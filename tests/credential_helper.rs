//! The docker credential helper end to end: `crlogin configure-helper` points the clients at
//! `docker-credential-crlogin`, and skopeo (which honours `credHelpers`) pulls from the loopback
//! distribution registry through it, the token exchanged once at the loopback IAM server and
//! then served from the cache. Then the protocol itself, action by action, run both as
//! `crlogin credential-helper` and through the `docker-credential-crlogin` name. Every run is
//! checked for leaked secrets.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;
mod nebius_machine;

use harness::{canary, run, Out, Registry};
use iam_server::Reply;
use nebius_machine::Machine;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// The three auth files configure-helper writes, under HOME.
fn auth_files(home: &Path) -> [PathBuf; 3] {
    [
        home.join(".docker/config.json"),
        home.join(".config/helm/registry/config.json"),
        home.join(".config/containers/auth.json"),
    ]
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `HOME/bin`, put first on the machine's PATH (where configure-helper links the helper).
fn bin_on_path(machine: &mut Machine) -> PathBuf {
    let bin = machine.home().join("bin");
    machine.env.set(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    bin
}

/// Runs the helper as `program` (a link named docker-credential-crlogin) with `action`.
fn helper_via(machine: &Machine, program: &Path, action: &str, stdin: &str) -> Out {
    let mut cmd = machine.env.command(program);
    cmd.arg(action);
    run(&mut cmd, Some(stdin))
}

#[test]
fn skopeo_pulls_through_the_helper_and_the_second_pull_hits_the_cache() {
    let token: &str = &format!("v1.{}", canary("helper-skopeo"));
    let mut machine = Machine::new();
    machine.server.set_token(token);
    let (registry, _seed) = harness::seeded_registry(&machine.env, "iam", token);
    assert_eq!(machine.server.requests(), 0);

    let bin = machine.home().join("bin");
    machine.env.set("CRLOGIN_REGISTRIES", registry.host()).set(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    // Without the helper, the pull is refused: the test can fail.
    let pulled = |n: u32| {
        format!(
            "oci:{}:v1",
            machine.home().join(format!("pulled{n}")).display()
        )
    };
    let refused = registry.pull(&machine.env, "team/app:v1", &pulled(0), None);
    refused.assert_failure("pull before configure-helper");

    let configure = machine
        .env
        .crlogin(["configure-helper", "--bin-dir", bin.to_str().unwrap()])
        .run();
    configure.assert_success("configure-helper");
    machine.assert_quiet(&configure, None);
    assert!(!configure.stderr.contains("warning"), "{configure}");
    for file in auth_files(machine.home()) {
        assert_eq!(
            read_json(&file),
            json!({"credHelpers": {registry.host(): "crlogin"}}),
            "{}",
            file.display()
        );
    }
    let link = bin.join("docker-credential-crlogin");
    assert_eq!(
        fs::canonicalize(&link).unwrap(),
        fs::canonicalize(env!("CARGO_BIN_EXE_crlogin")).unwrap()
    );
    assert!(
        configure.stderr.contains(&link.display().to_string()),
        "{configure}"
    );

    let first = registry.pull(&machine.env, "team/app:v1", &pulled(1), None);
    first.assert_success("first pull through the helper");
    assert_eq!(
        machine.server.requests(),
        1,
        "the first pull exchanges once"
    );
    assert!(machine.server.rejections().is_empty());
    let second = registry.pull(&machine.env, "team/app:v1", &pulled(2), None);
    second.assert_success("second pull through the helper");
    assert_eq!(
        machine.server.requests(),
        1,
        "the second pull is served from the cache"
    );
    assert_eq!(machine.server.tokens(), [token]);
    for out in [&refused, &first, &second] {
        machine.assert_quiet(out, None);
    }

    // --remove takes the entries and the link away; the pull is refused again.
    let remove = machine
        .env
        .crlogin([
            "configure-helper",
            "--remove",
            "--bin-dir",
            bin.to_str().unwrap(),
        ])
        .run();
    remove.assert_success("configure-helper --remove");
    for file in auth_files(machine.home()) {
        assert_eq!(read_json(&file), json!({}), "{}", file.display());
    }
    assert!(fs::symlink_metadata(&link).is_err(), "the link is gone");
    registry
        .pull(&machine.env, "team/app:v1", &pulled(3), None)
        .assert_failure("pull after --remove");
    machine.assert_home_clean();
}

#[test]
fn get_answers_nebius_hosts_in_every_url_form_from_one_exchange() {
    let machine = Machine::new();
    for (i, url) in [
        "cr.eu-north1.nebius.cloud",
        "https://cr.eu-north1.nebius.cloud",
        "https://CR.us-central1.nebius.cloud/v1/\n",
        "cr.eu-west1.nebius.cloud/e00registry/app",
    ]
    .iter()
    .enumerate()
    {
        let out = machine
            .env
            .crlogin(["credential-helper", "get"])
            .stdin(url)
            .run();
        out.assert_success(url);
        let token = &machine.server.tokens()[0];
        let want = format!(
            "{}\n",
            json!({"ServerURL": url.trim(), "Username": "iam", "Secret": token})
        );
        assert_eq!(out.stdout, want, "run {i}");
        assert_eq!(
            machine.server.requests(),
            1,
            "run {i} exchanges at most once"
        );
        machine.assert_quiet(&out, Some(&want));
    }
    machine.assert_home_clean();
}

#[test]
fn get_for_another_host_is_not_found_without_an_exchange() {
    let mut machine = Machine::new();
    machine.env.set("CRLOGIN_REGISTRIES", "mirror.example:5000");
    for url in [
        "https://index.docker.io/v1/",
        "ghcr.io",
        "cr.mars-1.nebius.cloud",
        "not a url",
    ] {
        let out = machine
            .env
            .crlogin(["credential-helper", "get"])
            .stdin(url)
            .run();
        assert_eq!(out.status.code(), Some(1), "{url}: {out}");
        assert_eq!(out.stdout, NOT_FOUND, "{url}");
        // One short line says why, so a user running it by hand is not left guessing.
        assert_eq!(out.stderr.lines().count(), 1, "{url}: {out}");
        assert!(out.stderr.starts_with("crlogin: "), "{url}: {out}");
        assert!(out.stderr.len() < 300, "{url}: {out}");
    }
    // CRLOGIN_REGISTRIES adds hosts.
    let out = machine
        .env
        .crlogin(["credential-helper", "get"])
        .stdin("http://mirror.example:5000/v2/")
        .run();
    out.assert_success("get for a CRLOGIN_REGISTRIES host");
    assert_eq!(machine.server.requests(), 1);
    let empty = machine
        .env
        .crlogin(["credential-helper", "get"])
        .stdin("\n")
        .run();
    assert_eq!(empty.status.code(), Some(1), "{empty}");
    assert_eq!(empty.stdout, "crlogin: no credentials server URL\n");
}

#[test]
fn list_store_erase_and_version_follow_the_protocol() {
    let mut machine = Machine::new();
    machine
        .env
        .set("CRLOGIN_REGISTRIES", "127.0.0.1:5000,mirror.example");
    let list = machine.env.crlogin(["credential-helper", "list"]).run();
    list.assert_success("list");
    let listed: Value = serde_json::from_str(&list.stdout).unwrap();
    let mut want = serde_json::Map::new();
    for region in [
        "eu-north1",
        "eu-north2",
        "eu-west1",
        "me-west1",
        "uk-south1",
        "us-central1",
    ] {
        want.insert(format!("cr.{region}.nebius.cloud"), json!("iam"));
    }
    want.insert("127.0.0.1:5000".into(), json!("iam"));
    want.insert("mirror.example".into(), json!("iam"));
    assert_eq!(listed, Value::Object(want));

    // store and erase succeed and keep nothing: the canary lands in no file.
    let stored_secret = canary("helper-store");
    let stored = json!({"ServerURL": "cr.eu-north1.nebius.cloud", "Username": "iam", "Secret": stored_secret});
    for (action, stdin) in [
        ("store", stored.to_string()),
        ("erase", "cr.eu-north1.nebius.cloud\n".into()),
    ] {
        let out = machine
            .env
            .crlogin(["credential-helper", action])
            .stdin(&stdin)
            .run();
        out.assert_success(action);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("", ""),
            "{action}"
        );
    }
    harness::assert_no_leak(&stored_secret, &[], &[], machine.home(), &[]);

    let version = machine.env.crlogin(["credential-helper", "version"]).run();
    version.assert_success("version");
    assert_eq!(
        version.stdout,
        format!(
            "docker-credential-crlogin (crlogin) {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let unknown = machine.env.crlogin(["credential-helper", "fetch"]).run();
    assert_eq!(unknown.status.code(), Some(1), "{unknown}");
    assert!(
        unknown
            .stdout
            .starts_with("crlogin: Unknown credential action `fetch`"),
        "{unknown}"
    );
    assert_eq!(machine.server.requests(), 0, "none of these exchanges");
}

#[test]
fn the_docker_credential_crlogin_name_is_the_helper() {
    let machine = Machine::new();
    let bin = machine.home().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let program = bin.join("docker-credential-crlogin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_crlogin"), &program).unwrap();

    let got = helper_via(&machine, &program, "get", "cr.me-west1.nebius.cloud");
    got.assert_success("docker-credential-crlogin get");
    let answer: Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(answer["Secret"], json!(machine.server.tokens()[0]));
    machine.assert_quiet(&got, Some(&got.stdout));
    let other = helper_via(&machine, &program, "get", "quay.io");
    assert_eq!(
        (other.status.code(), other.stdout.as_str()),
        (Some(1), NOT_FOUND)
    );
    let version = helper_via(&machine, &program, "version", "");
    assert!(
        version
            .stdout
            .starts_with("docker-credential-crlogin (crlogin) "),
        "{version}"
    );
    let usage = run(machine.env.command(&program).arg("get").arg("extra"), None);
    assert!(!usage.success(), "{usage}");
}

#[test]
fn a_cache_hit_needs_no_server_and_a_failed_refresh_fails_loudly() {
    let machine = Machine::new();
    let get = |m: &Machine| {
        m.env
            .crlogin(["credential-helper", "get"])
            .stdin("cr.eu-north1.nebius.cloud")
            .run()
    };
    get(&machine).assert_success("first get");
    assert_eq!(machine.server.requests(), 1);
    // A refused exchange is not asked while the cached token is fresh.
    machine
        .server
        .script(&[Reply::Error(401, "invalid_grant", "key revoked")]);
    let cached = get(&machine);
    cached.assert_success("get from the cache");
    assert_eq!(machine.server.requests(), 1);
    machine.assert_quiet(&cached, Some(&cached.stdout));

    // A token within five minutes of expiry is never handed out: with no fresh token cached,
    // the refresh is refused, and get fails on stderr and stdout with no token anywhere.
    let machine = Machine::new();
    machine.server.set_expires_in(240);
    let short = get(&machine);
    short.assert_success("get of a four-minute token");
    assert!(
        fs::read_dir(machine.cache_dir()).map_or(true, |mut d| d.next().is_none()),
        "a four-minute token is not cached"
    );
    machine
        .server
        .script(&[Reply::Error(401, "invalid_grant", "key revoked")]);
    let failed = get(&machine);
    assert_eq!(failed.status.code(), Some(1), "{failed}");
    assert_eq!(machine.server.requests(), 2);
    assert!(
        failed.stderr.starts_with(
            "crlogin: error: cannot get a Nebius registry password for cr.eu-north1.nebius.cloud"
        ),
        "{failed}"
    );
    assert!(
        failed
            .stdout
            .starts_with("crlogin: cannot get a Nebius registry password"),
        "{failed}"
    );
    assert!(!failed.stdout.contains("Secret"), "{failed}");
    machine.assert_quiet(&failed, None);
}

#[test]
fn configure_helper_replaces_other_helpers_for_its_hosts_only_and_warns_off_path() {
    let machine = Machine::new();
    let docker = &auth_files(machine.home())[0];
    fs::create_dir_all(docker.parent().unwrap()).unwrap();
    fs::write(
        docker,
        r#"{"auths":{"cr.eu-north1.nebius.cloud":{"auth":"eDp5"}},"credHelpers":{"cr.eu-north1.nebius.cloud":"nebius","gcr.io":"gcloud"}}"#,
    )
    .unwrap();
    let bin = machine.home().join("elsewhere");
    let out = machine
        .env
        .crlogin([
            "configure-helper",
            "--region",
            "eu-north1",
            "--for",
            "docker",
            "--bin-dir",
            bin.to_str().unwrap(),
        ])
        .run();
    out.assert_success("configure-helper --region eu-north1 --for docker");
    assert!(
        out.stderr
            .contains("the credHelpers entry for cr.eu-north1.nebius.cloud named \"nebius\""),
        "{out}"
    );
    assert!(out.stderr.contains("is not on PATH"), "{out}");
    let doc = read_json(docker);
    assert_eq!(
        doc["credHelpers"],
        json!({"cr.eu-north1.nebius.cloud": "crlogin", "gcr.io": "gcloud"})
    );
    assert_eq!(
        doc["auths"]["cr.eu-north1.nebius.cloud"],
        json!({"auth": "eDp5"})
    );
    assert!(
        !auth_files(machine.home())[2].exists(),
        "podman was not asked for"
    );

    let out = machine
        .env
        .crlogin([
            "configure-helper",
            "--remove",
            "--region",
            "eu-north1",
            "--for",
            "docker",
            "--bin-dir",
            bin.to_str().unwrap(),
        ])
        .run();
    out.assert_success("configure-helper --remove");
    assert_eq!(
        read_json(docker)["credHelpers"],
        json!({"gcr.io": "gcloud"})
    );
    assert!(fs::read_dir(&bin).unwrap().next().is_none());

    // Without a selection, --remove takes away every entry naming crlogin, whatever its host.
    let args = |extra: &[&'static str]| {
        let mut args: Vec<String> = ["configure-helper", "--for", "docker", "--bin-dir"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.push(bin.display().to_string());
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    machine
        .env
        .crlogin(args(&["--registry", "127.0.0.1:5000", "--all-regions"]))
        .run()
        .assert_success("configure-helper --registry --all-regions");
    assert_eq!(
        read_json(docker)["credHelpers"].as_object().unwrap().len(),
        8
    );
    let out = machine.env.crlogin(args(&["--remove"])).run();
    out.assert_success("configure-helper --remove, no selection");
    assert!(
        out.stderr.contains("removed 7 credHelpers entries"),
        "{out}"
    );
    assert_eq!(
        read_json(docker)["credHelpers"],
        json!({"gcr.io": "gcloud"})
    );
    assert_eq!(
        machine.server.requests(),
        0,
        "configuring needs no credential"
    );
}

/// `docker manifest inspect --insecure` of `image` on `registry`, as the docker CLI runs it.
fn docker_inspect(machine: &Machine, registry: &Registry, image: &str) -> Out {
    harness::require_tool("docker");
    let reference = format!("{}/{image}", registry.host());
    run(
        machine
            .env
            .command("docker")
            .args(["manifest", "inspect", "--insecure", &reference]),
        None,
    )
}

#[test]
fn docker_reads_a_wired_host_through_the_helper_with_no_variable_until_remove() {
    let token: &str = &format!("v1.{}", canary("helper-docker"));
    let mut machine = Machine::new();
    machine.server.set_token(token);
    let (registry, _seed) = harness::seeded_registry(&machine.env, "iam", token);

    let bin = bin_on_path(&mut machine);
    // No CRLOGIN_REGISTRIES anywhere: configure-helper's record is what makes the host served.
    let configure = |extra: &[&str]| {
        let mut args = vec!["configure-helper", "--bin-dir", bin.to_str().unwrap()];
        args.extend_from_slice(extra);
        machine.env.crlogin(args).run()
    };
    let host = registry.host();
    let wired = configure(&["--registry", &host]);
    wired.assert_success("configure-helper --registry");
    machine.assert_quiet(&wired, None);
    let record = machine.home().join(".config/crlogin/helper-hosts.json");
    assert!(
        wired.stderr.contains(&format!(
            "the helper serves {host} from now on (recorded in {})",
            record.display()
        )),
        "{wired}"
    );
    assert_eq!(
        fs::metadata(&record).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let inspect = docker_inspect(&machine, &registry, "team/app:v1");
    inspect.assert_success("docker manifest inspect through the helper");
    assert!(
        inspect
            .stdout
            .contains("application/vnd.oci.image.manifest.v1+json"),
        "{inspect}"
    );
    assert_eq!(machine.server.requests(), 1, "docker's get exchanged once");
    machine.assert_quiet(&inspect, Some(&inspect.stdout));
    // The helper still refuses every host nobody wired, with no exchange.
    let link = bin.join("docker-credential-crlogin");
    let other = helper_via(&machine, &link, "get", "127.0.0.1:1");
    assert_eq!(
        (other.stdout.as_str(), other.status.code()),
        (NOT_FOUND, Some(1))
    );
    let listed: Value =
        serde_json::from_str(&helper_via(&machine, &link, "list", "").stdout).unwrap();
    assert_eq!(listed[&host], json!("iam"), "{listed}");

    // Taking helm's and podman's entries away keeps the host: docker's entry still names it.
    let partial = configure(&["--remove", "--registry", &host, "--for", "helm,podman"]);
    partial.assert_success("configure-helper --remove --for helm,podman");
    assert!(!partial.stderr.contains("no longer serves"), "{partial}");
    // (--remove --for helm,podman also took the link; put it back for docker.)
    configure(&["--registry", &host, "--for", "docker"]).assert_success("relink");
    docker_inspect(&machine, &registry, "team/app:v1")
        .assert_success("docker after helm's and podman's entries went");

    let removed = configure(&["--remove", "--registry", &host]);
    removed.assert_success("configure-helper --remove --registry");
    assert!(
        removed
            .stderr
            .contains(&format!("the helper no longer serves {host}")),
        "{removed}"
    );
    assert!(!record.exists(), "the emptied record is removed");
    assert_eq!(
        read_json(&auth_files(machine.home())[0]),
        json!({}),
        "docker's entry is gone"
    );
    let refused = docker_inspect(&machine, &registry, "team/app:v1");
    refused.assert_failure("docker manifest inspect after --remove");
    // Even run by hand, the helper now refuses the host it no longer serves.
    let by_hand = machine
        .env
        .crlogin(["credential-helper", "get"])
        .stdin(&host)
        .run();
    assert_eq!(
        (by_hand.stdout.as_str(), by_hand.status.code()),
        (NOT_FOUND, Some(1))
    );
    assert_eq!(machine.server.requests(), 1);
    for out in [&partial, &removed, &refused, &by_hand] {
        machine.assert_quiet(out, None);
    }
}

/// A new user's try with a username/password registry: `configure-helper --registry HOST`,
/// `DCR_*` where the clients run, and docker, skopeo and Helm 4 pull through the helper with no
/// Nebius exchange; then the same through a `--from-env` prefix configure-helper recorded. A
/// host with no credential gets "credentials not found" and one line on stderr.
#[test]
fn docker_skopeo_and_helm_use_a_dcr_login_through_the_helper() {
    let password: &str = &canary("helper-dcr");
    let mut machine = Machine::new();
    let (registry, _seed) = harness::seeded_registry(&machine.env, "robot", password);
    let host = registry.host();
    let bin = bin_on_path(&mut machine);
    let configure = |m: &Machine, extra: &[&str]| {
        let mut args = vec!["configure-helper", "--bin-dir", bin.to_str().unwrap()];
        args.extend_from_slice(extra);
        m.env.crlogin(args).run()
    };
    configure(&machine, &["--registry", &host]).assert_success("configure-helper --registry");
    machine
        .env
        .set("DCR_USERNAME", "robot")
        .set("DCR_PASSWORD", password)
        .set("DCR_REGISTRY", &host);

    let inspect = docker_inspect(&machine, &registry, "team/app:v1");
    inspect.assert_success("docker manifest inspect through the helper with DCR_*");
    let pulled = format!("oci:{}:v1", machine.home().join("pulled").display());
    let skopeo = registry.pull(&machine.env, "team/app:v1", &pulled, None);
    skopeo.assert_success("skopeo pull through the helper with DCR_*");
    let helm_file = auth_files(machine.home())[1].clone();
    let helm =
        harness::helm::push_and_pull_chart(&machine.env, &helm_file, &host, "through the helper");
    assert_eq!(
        machine.server.requests(),
        0,
        "a DCR login needs no exchange"
    );
    let link = bin.join("docker-credential-crlogin");
    let listed: Value =
        serde_json::from_str(&helper_via(&machine, &link, "list", "").stdout).unwrap();
    assert_eq!(listed[&host], json!("robot"), "{listed}");

    // The same login under another prefix, recorded by configure-helper --from-env.
    let machine = {
        let mut m = machine;
        m.env
            .set("DCR_USERNAME", "")
            .set("DCR_PASSWORD", "")
            .set("DCR_REGISTRY", "")
            .set("NEBIUS_SA_CREDENTIALS", "")
            .set("MIRROR_USERNAME", "robot")
            .set("MIRROR_PASSWORD", password)
            .set("MIRROR_REGISTRY", &host);
        m
    };
    let unrecorded = helper_via(&machine, &link, "get", &host);
    assert_eq!(
        (unrecorded.stdout.as_str(), unrecorded.status.code()),
        (NOT_FOUND, Some(1)),
        "MIRROR_* is not read until recorded"
    );
    assert_eq!(unrecorded.stderr.lines().count(), 1, "{unrecorded}");
    assert!(
        unrecorded
            .stderr
            .contains(&format!("{host}: no credentials found")),
        "{unrecorded}"
    );
    let recorded = configure(&machine, &["--registry", &host, "--from-env", "MIRROR"]);
    recorded.assert_success("configure-helper --from-env MIRROR");
    assert!(
        recorded
            .stderr
            .contains("the helper serves the logins in MIRROR_* from now on"),
        "{recorded}"
    );
    let via_prefix = docker_inspect(&machine, &registry, "team/app:v1");
    via_prefix.assert_success("docker through the helper with a recorded prefix");
    let forgotten = configure(&machine, &["--remove", "--from-env", "MIRROR"]);
    forgotten.assert_success("configure-helper --remove --from-env MIRROR");
    assert!(
        forgotten
            .stderr
            .contains("the helper no longer serves the logins in MIRROR_*"),
        "{forgotten}"
    );

    // An unwired host: not found, with its reason on one line.
    let other = machine
        .env
        .crlogin(["credential-helper", "get"])
        .stdin("127.0.0.1:1")
        .run();
    assert_eq!(
        (other.stdout.as_str(), other.status.code()),
        (NOT_FOUND, Some(1))
    );
    assert_eq!(other.stderr.lines().count(), 1, "{other}");

    harness::assert_no_leak(
        password,
        &harness::secret_forms(password, Some("robot")),
        &[
            &inspect.stdout,
            &inspect.stderr,
            &skopeo.stdout,
            &skopeo.stderr,
            &helm.stdout,
            &helm.stderr,
            &via_prefix.stderr,
            &recorded.stderr,
            &forgotten.stderr,
            &unrecorded.stderr,
        ],
        machine.home(),
        &[],
    );
}
