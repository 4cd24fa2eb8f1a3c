//! On a Nebius VM with a service account attached, crlogin needs no secret at all: the VM's
//! metadata service (a loopback stand-in here, tests/metadata_server) or its mounted token file
//! gives the token. Each test is a user story on such a machine; tokens are canaries and appear
//! in no output. One test exercises the default places themselves (`metadata.nebius.internal`
//! mapped to a loopback address in /etc/hosts, and `/mnt/cloud-metadata/token`), restoring both.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod metadata_server;

use harness::{assert_no_leak, audit, canary, secret_forms, Auth, Env, Out, Registry};
use metadata_server::{MetadataServer, Reply};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A VM: a cleared environment whose metadata service is `server` (through the documented
/// override), a token file path that does not exist yet, and the token cache outside HOME.
struct Vm {
    env: Env,
    server: MetadataServer,
    token: String,
    places: TempDir,
}

impl Vm {
    fn new(label: &str) -> Vm {
        let token = format!("v1.{}", canary(label));
        let server = MetadataServer::start(&token);
        let places = harness::temp_dir();
        let mut env = Env::new();
        env.set("CRLOGIN_METADATA_URL", server.url())
            .set(
                "CRLOGIN_METADATA_TOKEN_FILE",
                path_str(&places.path().join("token")),
            )
            .set("XDG_CACHE_HOME", path_str(&places.path().join("cache")));
        Vm {
            env,
            server,
            token,
            places,
        }
    }

    fn token_file(&self) -> PathBuf {
        self.places.path().join("token")
    }

    /// Asserts that neither output shows the token (nor any file in HOME outside `allowed`).
    fn assert_quiet(&self, outs: &[&Out], allowed: &[PathBuf]) {
        let texts: Vec<&str> = outs
            .iter()
            .flat_map(|o| [o.stdout.as_str(), o.stderr.as_str()])
            .collect();
        assert_no_leak(
            &self.token,
            &secret_forms(&self.token, Some("iam")),
            &texts,
            self.env.home(),
            allowed,
        );
    }
}

fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

fn docker_config(home: &Path) -> PathBuf {
    home.join(".docker/config.json")
}

/// The password `login` wrote for `host` in the docker config.
fn written_password(home: &Path, host: &str) -> String {
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(docker_config(home)).unwrap()).unwrap();
    let auth = doc["auths"][host]["auth"].as_str().unwrap().to_string();
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    let plain = String::from_utf8(plain).unwrap();
    plain.strip_prefix("iam:").unwrap().to_string()
}

const HOST: &str = "cr.eu-north1.nebius.cloud";

/// `crlogin login` for [`HOST`], writing docker's file only.
fn login_docker(vm: &Vm) -> Out {
    vm.env
        .crlogin(["login", "--region", "eu-north1", "--for", "docker"])
        .run()
}

#[test]
fn login_with_nothing_configured_takes_the_vms_token_and_reports_its_expiry() {
    let vm = Vm::new("metadata-login");
    let login = login_docker(&vm);
    login.assert_success("login with only the metadata service");
    assert!(login.stderr.contains("metadata service"), "{login}");
    // The answer's expires_at is the report's expiry, not "not known".
    let row = login.stderr.lines().find(|l| l.contains(HOST)).unwrap();
    assert!(
        row.trim_end().ends_with('Z') && !row.contains("not known"),
        "{login}"
    );
    assert_eq!(written_password(vm.env.home(), HOST), vm.token);
    assert_eq!(vm.server.requests(), 1);
    assert_eq!(vm.server.refused(), 0, "the request carries Metadata: true");
    vm.assert_quiet(&[&login], &[docker_config(vm.env.home())]);
}

#[test]
fn the_vms_account_impersonates_another_with_the_metadata_token_as_actor() {
    const TARGET: &str = "serviceaccount-e00metadatatarget";
    let vm = Vm::new("metadata-actor");
    let issuer = iam_grpc::TestIssuer::new();
    let iam = iam_grpc::IamServer::trusting(&issuer, "serviceaccount-e00none", "none", "none");
    iam.trust_actor_token(&vm.token);
    iam.allow_impersonation_of(TARGET);
    let login = vm
        .env
        .crlogin(["login", "--region", "eu-north1", "--for", "docker"])
        .env("NEBIUS_TOKEN_EXCHANGE_GRPC", iam.url())
        .env("NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID", TARGET)
        .run();
    login.assert_success("login impersonating from the VM's account");
    assert!(
        login.stderr.contains(&format!("impersonating {TARGET}")),
        "{login}"
    );
    let issued = iam.issued();
    assert_eq!(issued.len(), 1, "one impersonation exchange");
    assert_eq!(
        iam.impersonations(),
        vec![(vm.token.clone(), TARGET.to_string())]
    );
    assert_eq!(written_password(vm.env.home(), HOST), issued[0]);
    let texts = [login.stdout.as_str(), login.stderr.as_str()];
    for token in &issued {
        audit::secret("impersonated token", token);
        assert_no_leak(
            token,
            &secret_forms(token, Some("iam")),
            &texts,
            vm.env.home(),
            &[docker_config(vm.env.home())],
        );
    }
    vm.assert_quiet(&[&login], &[]);
}

#[test]
fn the_mounted_token_is_used_when_the_service_does_not_answer() {
    let vm = Vm::new("metadata-file");
    vm.server.script(&[Reply::Status(404)]);
    fs::write(vm.token_file(), format!("\n  {}\t\n", vm.token)).unwrap();
    audit::input(&vm.token_file());
    let login = login_docker(&vm);
    login.assert_success("login with only the mounted token");
    assert!(login.stderr.contains("mounted token"), "{login}");
    assert_eq!(
        written_password(vm.env.home(), HOST),
        vm.token,
        "whitespace stripped"
    );
    vm.assert_quiet(&[&login], &[docker_config(vm.env.home())]);
}

#[test]
fn a_failing_service_is_retried_as_the_sdks_do_and_bad_answers_are_one_clear_error() {
    let vm = Vm::new("metadata-statuses");
    let token = |vm: &Vm| vm.env.crlogin(["token", "--auth", "metadata"]).run();

    vm.server.script(&[Reply::Status(503), Reply::Status(429)]);
    let out = token(&vm);
    out.assert_success("503, 429, then 200");
    assert_eq!(out.stdout.trim(), vm.token);
    assert_eq!(vm.server.requests(), 3);

    let mut outs = vec![out];
    let cases: [(&[Reply], usize, &str); 4] = [
        (
            &[Reply::Status(404)],
            1,
            "answered HTTP 404 Not Found: attach a service account",
        ),
        (&[Reply::Status(503); 3], 3, "(3 attempts in"),
        (&[Reply::Huge(100 * 1024)], 1, "more than 64 KiB"),
        (
            &[Reply::ExpiresAt("next tuesday")],
            1,
            "expires_at that is not an RFC 3339 time: \"next tuesday\"",
        ),
    ];
    for (replies, requests, message) in cases {
        let before = vm.server.requests();
        vm.server.script(replies);
        let out = vm
            .env
            .crlogin(["token", "--auth", "metadata", "--no-cache"])
            .run();
        out.assert_failure(message);
        assert!(out.stderr.contains(message), "{message}: {out}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "one line: {out}");
        assert!(out.stdout.is_empty(), "{out}");
        assert_eq!(vm.server.requests() - before, requests, "{message}");
        outs.push(out);
    }
    let refs: Vec<&Out> = outs.iter().skip(1).collect();
    vm.assert_quiet(&refs, &[]);
}

#[test]
fn nothing_is_probed_when_another_credential_or_a_nebius_config_file_exists() {
    let vm = Vm::new("metadata-not-probed");
    let registry = "registry.example.com";
    let dcr = vm
        .env
        .crlogin(["login", "--dry-run"])
        .env("DCR_USERNAME", "u")
        .env("DCR_PASSWORD", canary("metadata-dcr"))
        .env("DCR_REGISTRY", registry)
        .run();
    dcr.assert_success("a DCR login");
    assert!(!dcr.stderr.contains("metadata service"), "{dcr}");

    fs::create_dir_all(vm.env.home().join(".nebius")).unwrap();
    fs::write(
        vm.env.home().join(".nebius/config.yaml"),
        "default: dev\nprofiles:\n  dev:\n    auth-type: federation\n",
    )
    .unwrap();
    let none = vm.env.crlogin(["login"]).run();
    none.assert_failure("a config file without a usable profile");
    assert!(none.stderr.contains("no credentials found"), "{none}");
    assert_eq!(
        vm.server.requests(),
        0,
        "neither login asked the metadata service"
    );

    // --auth metadata asks all the same.
    let forced = vm.env.crlogin(["token", "--auth", "metadata"]).run();
    forced.assert_success("--auth metadata with a config file");
    assert_eq!(vm.server.requests(), 1);
    vm.assert_quiet(&[&dcr, &none], &[]);
}

#[test]
fn auth_metadata_off_nebius_says_what_is_missing() {
    let mut env = Env::new();
    // Nothing listens on port 9 of 127.0.0.1 (discard), and the name does not resolve.
    let out = env
        .set("CRLOGIN_METADATA_URL", "http://127.0.0.1:9/v1/iam/sa/token")
        .set("CRLOGIN_METADATA_TOKEN_FILE", "/nonexistent/token")
        .crlogin(["token", "--auth", "metadata"])
        .run();
    out.assert_failure("--auth metadata with no service and no file");
    assert!(
        out.stderr.contains(
            "--auth metadata was chosen, but this machine offers no service-account token"
        ) && out.stderr.contains("cannot connect")
            && out.stderr.contains("/nonexistent/token does not exist")
            && out.stderr.contains("with a service account attached"),
        "{out}"
    );
    let out = env
        .set(
            "CRLOGIN_METADATA_URL",
            "http://metadata.invalid/v1/iam/sa/token",
        )
        .crlogin(["login"])
        .run();
    out.assert_failure("login with nothing at all");
    assert!(
        out.stderr
            .contains("no credentials found: set DCR_USERNAME")
            && out.stderr.contains("`crlogin doctor`"),
        "{out}"
    );
}

#[test]
fn the_helpers_serve_the_vms_token_and_a_warm_cache_asks_nobody() {
    let vm = Vm::new("metadata-helpers");
    let get = vm
        .env
        .crlogin(["credential-helper", "get"])
        .stdin(&format!("https://{HOST}"))
        .run();
    get.assert_success("credential-helper get");
    let answer: serde_json::Value = serde_json::from_str(&get.stdout).unwrap();
    assert_eq!(answer["Secret"], vm.token.as_str());
    assert_eq!(answer["Username"], "iam");
    assert_eq!(vm.server.requests(), 1);

    let request = serde_json::json!({
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderRequest",
        "image": format!("{HOST}/e00registry/app:v1"),
    })
    .to_string();
    // The provider runs with the environment examples/kubernetes gives it (its cache directory
    // aside, which stays in this test's temp dir).
    let mut kubelet = vm.env.crlogin(["kubelet-credential-provider"]);
    let example = example_provider();
    assert_eq!(example["matchImages"][0], "cr.*.nebius.cloud");
    for entry in example["env"].as_sequence().unwrap() {
        let (name, value) = (
            entry["name"].as_str().unwrap(),
            entry["value"].as_str().unwrap(),
        );
        if name != "XDG_CACHE_HOME" {
            kubelet = kubelet.env(name, value);
        }
    }
    let kubelet = kubelet.stdin(&request).run();
    kubelet.assert_success("kubelet provider");
    let response: serde_json::Value = serde_json::from_str(&kubelet.stdout).unwrap();
    assert_eq!(response["auth"][HOST]["password"], vm.token.as_str());
    // One hour of life, less the ten-minute margin (a second may have passed).
    let keep = response["cacheDuration"].as_str().unwrap();
    let seconds = |d: &str| {
        let (m, s) = d.trim_end_matches('s').split_once('m').unwrap();
        m.parse::<u64>().unwrap() * 60 + s.parse::<u64>().unwrap()
    };
    assert!((2990..=3000).contains(&seconds(keep)), "{keep}");
    assert_eq!(
        vm.server.requests(),
        1,
        "served from crlogin's cache: no request"
    );

    let fresh = vm
        .env
        .crlogin(["token", "--auth", "metadata", "--no-cache"])
        .run();
    fresh.assert_success("--no-cache");
    assert_eq!(vm.server.requests(), 2, "--no-cache asks the service");
    // The answers carry the token on stdout, as the protocols want; nothing else shows it.
    for out in [&get, &kubelet, &fresh] {
        assert!(!out.stderr.contains(&vm.token), "{out}");
    }
    vm.assert_quiet(&[], &[]);
}

#[test]
fn docker_pulls_on_the_vm_through_the_helper_with_no_secret_configured() {
    let mut vm = Vm::new("metadata-docker");
    let (registry, _seed) = harness::seeded_registry(&vm.env, "iam", &vm.token);

    let bin = vm.env.home().join("bin");
    vm.env.set(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let env = &vm.env;
    let configure = env
        .crlogin([
            "configure-helper",
            "--for",
            "docker",
            "--registry",
            &registry.host(),
            "--bin-dir",
            bin.to_str().unwrap(),
        ])
        .run();
    configure.assert_success("configure-helper on the VM");
    assert_eq!(vm.server.requests(), 0, "configuring asks for no token");
    harness::require_tool("docker");
    let inspect = || {
        let reference = format!("{}/team/app:v1", registry.host());
        harness::run(
            env.command("docker")
                .args(["manifest", "inspect", "--insecure", &reference]),
            None,
        )
    };
    let first = inspect();
    first.assert_success("docker manifest inspect through the helper");
    assert!(
        first
            .stdout
            .contains("application/vnd.oci.image.manifest.v1+json"),
        "{first}"
    );
    assert_eq!(
        vm.server.requests(),
        1,
        "the helper asked the metadata service once"
    );
    let second = inspect();
    second.assert_success("the second docker command");
    assert_eq!(
        vm.server.requests(),
        1,
        "the second was served from crlogin's cache"
    );
    vm.assert_quiet(&[&configure, &first, &second], &[]);
}

/// The provider entry of examples/kubernetes/credential-provider-config-metadata.yaml.
fn example_provider() -> serde_yaml::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/kubernetes/credential-provider-config-metadata.yaml");
    let config: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(config["kind"], "CredentialProviderConfig");
    assert_eq!(
        config["providers"][0]["name"],
        "crlogin-credential-provider"
    );
    config["providers"][0].clone()
}

#[test]
fn doctor_says_whether_the_vm_offers_a_token() {
    let vm = Vm::new("metadata-doctor");
    let doctor = vm.env.crlogin(["doctor"]).run();
    let line = |out: &Out, name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} line: {out}"))
            .to_string()
    };
    let metadata = line(&doctor, "metadata");
    assert!(
        metadata.starts_with("  ok") && metadata.contains("answers a service-account token"),
        "{doctor}"
    );
    assert!(
        line(&doctor, "credentials").contains("Nebius VM metadata"),
        "{doctor}"
    );
    let off = vm
        .env
        .crlogin(["doctor"])
        .env(
            "CRLOGIN_METADATA_URL",
            "http://metadata.invalid/v1/iam/sa/token",
        )
        .env("NEBIUS_STATIC_KEY", canary("metadata-doctor-key"))
        .run();
    let metadata = line(&off, "metadata");
    assert!(
        metadata.starts_with("  skip") && metadata.contains("no Nebius VM service account here"),
        "{off}"
    );
    vm.assert_quiet(&[&doctor, &off], &[]);
}

/// The default places, as a real VM has them: `metadata.nebius.internal` mapped to a loopback
/// address in /etc/hosts, and `/mnt/cloud-metadata/token`. The guards restore both even when
/// the test fails; a lock file keeps two runs of this test apart.
#[test]
fn the_default_places_are_the_ones_used() {
    let _lock = HostsLock::take();
    let token = format!("v1.{}", canary("metadata-default"));
    let registry = Registry::start(Auth::user("iam", &token));
    let server = MetadataServer::start_on("127.77.0.1:80", &token);
    let env = Env::new();
    let mut outs = Vec::new();
    let login = |env: &Env, host: &str| {
        env.crlogin(["login", "--registry", host, "--for", "podman", "--verify"])
            .run()
    };
    {
        let _hosts = HostsEntry::add("127.77.0.1 metadata.nebius.internal");
        let out = login(&env, &registry.host());
        out.assert_success("login through metadata.nebius.internal");
        assert!(out.stderr.contains("metadata service"), "{out}");
        assert_eq!(server.requests(), 1);
        outs.push(out);
    }
    drop(server);
    let file_token = format!("v1.{}", canary("metadata-default-file"));
    audit::secret("mounted token", &file_token);
    let file_registry = Registry::start(Auth::user("iam", &file_token));
    // Another machine (no cached token from the service): only the file.
    let env = Env::new();
    {
        let _file = MountedToken::create(&file_token);
        let out = login(&env, &file_registry.host());
        out.assert_success("login from /mnt/cloud-metadata/token");
        assert!(
            out.stderr
                .contains("mounted token /mnt/cloud-metadata/token"),
            "{out}"
        );
        outs.push(out);
    }
    let auth_file = env.home().join(".config/containers/auth.json");
    for secret in [&token, &file_token] {
        let texts: Vec<&str> = outs
            .iter()
            .flat_map(|o| [o.stdout.as_str(), o.stderr.as_str()])
            .collect();
        assert_no_leak(
            secret,
            &secret_forms(secret, Some("iam")),
            &texts,
            env.home(),
            std::slice::from_ref(&auth_file),
        );
    }
    assert!(!Path::new(MOUNTED).exists());
    assert!(!fs::read_to_string(HOSTS)
        .unwrap()
        .contains("metadata.nebius.internal"));
}

const HOSTS: &str = "/etc/hosts";
const MOUNTED: &str = "/mnt/cloud-metadata/token";

/// An exclusive lock on a file in /tmp, so concurrent runs do not edit /etc/hosts together.
struct HostsLock(#[allow(dead_code)] fs::File);

impl HostsLock {
    fn take() -> HostsLock {
        let file = fs::File::create("/tmp/crlogin-test-etc-hosts.lock").unwrap();
        file.lock().unwrap();
        HostsLock(file)
    }
}

/// A line added to /etc/hosts; the file's exact former content is put back on drop.
struct HostsEntry(String);

impl HostsEntry {
    fn add(line: &str) -> HostsEntry {
        let before = fs::read_to_string(HOSTS).unwrap();
        assert!(
            !before.contains("metadata.nebius.internal"),
            "{HOSTS} already maps the name"
        );
        let guard = HostsEntry(before.clone());
        fs::write(HOSTS, format!("{before}{line}\n")).unwrap_or_else(|e| {
            panic!("cannot edit {HOSTS} ({e}): this test runs as root, as CI does")
        });
        guard
    }
}

impl Drop for HostsEntry {
    fn drop(&mut self) {
        fs::write(HOSTS, &self.0).unwrap();
    }
}

/// `/mnt/cloud-metadata/token` with `token`; removed on drop (with its directory, when this
/// created it).
struct MountedToken {
    made_dir: bool,
}

impl MountedToken {
    fn create(token: &str) -> MountedToken {
        let dir = Path::new(MOUNTED).parent().unwrap();
        assert!(!Path::new(MOUNTED).exists(), "{MOUNTED} already exists");
        let made_dir = !dir.exists();
        let guard = MountedToken { made_dir };
        fs::create_dir_all(dir).unwrap();
        fs::write(MOUNTED, format!("{token}\n")).unwrap();
        audit::input(Path::new(MOUNTED));
        guard
    }
}

impl Drop for MountedToken {
    fn drop(&mut self) {
        let _ = fs::remove_file(MOUNTED);
        if self.made_dir {
            let _ = fs::remove_dir(Path::new(MOUNTED).parent().unwrap());
        }
    }
}

/// A profile's `token-endpoint` (the SDK's IMDS bearer) is asked like the metadata service, at
/// the URL the profile names, and its token is cached by that URL.
#[test]
fn a_token_endpoint_profile_takes_the_token_from_its_url() {
    let vm = Vm::new("token-endpoint-profile");
    let mut env = Env::new();
    env.set("XDG_CACHE_HOME", path_str(&vm.places.path().join("cache")));
    let dir = env.home().join(".nebius");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("config.yaml"),
        format!(
            "profiles:\n  ci:\n    token-endpoint: {}\n",
            vm.server.url()
        ),
    )
    .unwrap();
    let login = env
        .crlogin(["login", "--region", "eu-north1", "--for", "docker"])
        .run();
    login.assert_success("login with a token-endpoint profile");
    assert!(login.stderr.contains("profile ci, exchanged"), "{login}");
    assert_eq!(written_password(env.home(), HOST), vm.token);
    let again = env
        .crlogin(["login", "--region", "eu-north1", "--for", "docker"])
        .run();
    again.assert_success("second login");
    assert!(again.stderr.contains("cached token"), "{again}");
    assert_eq!(vm.server.requests(), 1);
    let texts = [
        login.stdout.as_str(),
        login.stderr.as_str(),
        again.stdout.as_str(),
        again.stderr.as_str(),
    ];
    for text in texts {
        assert!(!text.contains(&vm.token), "{text}");
    }
}
