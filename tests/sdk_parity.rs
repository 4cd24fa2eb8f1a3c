//! crlogin beside the official Nebius Python SDK (PyPI `nebius` 0.6.x, which
//! `scripts/install-deps.sh` installs into `target/sdk-venv`) on the same inputs: the same
//! `~/.nebius/config.yaml` profile or environment, the same loopback IAM (a gRPC token exchange
//! that checks what Nebius checks, issuing each account always the same token) and the same
//! metadata-style token endpoint. For every credential shape both must end with the same token
//! for the same account, or both refuse; and both must pick the same token service for an API
//! domain. `tests/sdk_parity/sdk_token.py` drives the SDK and prints only a hash of its token.
// Unix only (a Python venv, Linux servers): on Windows the unit tests cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod iam_server;
mod metadata_server;

use harness::{secret_forms, Env, Out};
use iam_grpc::{Expect, IamServer, TestIssuer};
use iam_server::{credentials_json, keys};
use metadata_server::MetadataServer;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

const SA: &str = "serviceaccount-e00parity";
const KID: &str = "publickey-e00parity";
const TARGET: &str = "serviceaccount-e00paritytarget";
const SUB: &str = "system:serviceaccount:ci:builder";
const AUD: &str = "crlogin-parity";

/// The SDK's Python (`CRLOGIN_SDK_PYTHON`, else the venv install-deps makes).
fn sdk_python() -> PathBuf {
    let python = std::env::var_os("CRLOGIN_SDK_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "{} is missing: run `bash scripts/install-deps.sh`, which installs the official Nebius SDK (PyPI nebius) there for this test",
        python.display()
    );
    python
}

/// One machine both clients run on: a HOME, the IAM, an issuer for federated tokens.
struct World {
    env: Env,
    iam: IamServer,
    issuer: TestIssuer,
    /// Strings neither client may print (beyond crlogin's one token on stdout).
    secrets: Vec<String>,
}

/// What one client ended with.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The SHA-256 of the token got.
    Token(String),
    /// It refused (the message, for the failure report only).
    Refused(String),
}

impl World {
    fn new() -> World {
        let issuer = TestIssuer::new();
        let iam = IamServer::start(Expect {
            service_account_id: SA.into(),
            issuer: issuer.issuer.clone(),
            audience: AUD.into(),
            subject: SUB.into(),
            jwks: issuer.jwks(),
        });
        iam.same_token_per_account();
        iam.accept_key(SA, KID, &keys().public);
        let mut env = Env::new();
        let cache = env.home().join("crlogin-cache");
        env.set("XDG_CACHE_HOME", cache.to_str().unwrap());
        World {
            env,
            iam,
            issuer,
            secrets: keys().secret_lines(),
        }
    }

    fn exchange_address(&self) -> String {
        self.iam.url().trim_start_matches("http://").to_string()
    }

    /// Writes `~/.nebius/config.yaml` (replacing it).
    fn profile(&self, yaml: &str) {
        let dir = self.env.home().join(".nebius");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.yaml"), yaml).unwrap();
        // It may hold a key inline.
        harness::audit::input(&dir.join("config.yaml"));
    }

    /// Writes `text` (a secret: a key, a token) to a file in HOME and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.env.home().join(name);
        std::fs::write(&path, text).unwrap();
        harness::audit::input(&path);
        path.to_str().unwrap().to_string()
    }

    /// A federated JWT (a projected service-account token) in a file, trusted by the IAM.
    fn federated_token_file(&mut self) -> String {
        let jwt = self.issuer.token(SUB, AUD, 600);
        self.secrets.push(jwt.clone());
        self.file("projected-token", &jwt)
    }

    /// The SDK's outcome, and the token service it would dial itself.
    fn sdk(&self, extra_env: &[(&str, &str)], impersonate: Option<&str>) -> (Outcome, String) {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk_parity/sdk_token.py");
        let mut cmd = self.env.command(sdk_python());
        cmd.arg(script)
            .args(["--exchange", &self.exchange_address()]);
        if let Some(target) = impersonate {
            cmd.args(["--impersonate", target]);
        }
        cmd.envs(extra_env.iter().copied());
        let out = harness::run(&mut cmd, None);
        self.assert_unprinted(&out, false);
        let answer: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|_| panic!("the SDK driver printed no JSON line:\n{out}"));
        if let Some(error) = answer["error"].as_str() {
            return (Outcome::Refused(error.to_string()), String::new());
        }
        let service = answer["token_service"].as_str().unwrap().to_string();
        (
            Outcome::Token(answer["sha256"].as_str().unwrap().to_string()),
            service,
        )
    }

    /// crlogin's outcome (`crlogin token`), routed to the same IAM.
    fn crlogin(&self, extra_env: &[(&str, &str)], impersonate: Option<&str>) -> Outcome {
        let mut args = vec!["token".to_string()];
        if let Some(target) = impersonate {
            args.extend(["--impersonate".to_string(), target.to_string()]);
        }
        let mut run = self
            .env
            .crlogin(&args)
            .env("NEBIUS_TOKEN_EXCHANGE_GRPC", self.iam.url());
        for (name, value) in extra_env {
            run = run.env(name, value);
        }
        let out = run.run();
        self.assert_unprinted(&out, true);
        if !out.success() {
            return Outcome::Refused(out.stderr.trim().to_string());
        }
        let token = out.stdout.strip_suffix('\n').unwrap_or(&out.stdout);
        assert!(
            !token.contains('\n'),
            "token printed more than one line:\n{out}"
        );
        Outcome::Token(sha256(token))
    }

    /// No key line, JWT or issued token anywhere in `out` (but the one token crlogin prints
    /// alone on stdout, when `token_on_stdout`).
    fn assert_unprinted(&self, out: &Out, token_on_stdout: bool) {
        let mut secrets = self.secrets.clone();
        for token in self.iam.issued() {
            secrets.extend(secret_forms(&token, Some("iam")));
        }
        for secret in &secrets {
            harness::audit::secret("SDK parity secret", secret);
            assert!(
                !out.stderr.contains(secret.as_str()),
                "stderr shows a secret:\n{out}"
            );
            let alone = out.stdout.strip_suffix('\n') == Some(secret.as_str());
            if !(token_on_stdout && alone) {
                assert!(
                    !out.stdout.contains(secret.as_str()),
                    "stdout shows a secret:\n{out}"
                );
            }
        }
    }

    /// Both clients on the same inputs: they must agree, and (unless `refused`) on a token the
    /// IAM issued to `account`.
    fn agree(&self, sdk_env: &[(&str, &str)], crlogin_env: &[(&str, &str)], account: &str) {
        let (sdk, _) = self.sdk(sdk_env, None);
        let ours = self.crlogin(crlogin_env, None);
        assert_eq!(ours, sdk, "crlogin and the SDK disagree");
        assert_eq!(
            ours,
            Outcome::Token(self.token_of(account)),
            "not {account}'s token"
        );
    }

    /// The SHA-256 of the token the IAM issued to `account`.
    fn token_of(&self, account: &str) -> String {
        let issued = self.iam.issued_to();
        let (token, _) = issued
            .iter()
            .find(|(_, to)| to == account)
            .unwrap_or_else(|| panic!("the IAM issued nothing to {account}: {issued:?}"));
        sha256(token)
    }
}

/// A canary shaped like an IAM token (`v1.` prefix).
fn token_canary(label: &str) -> String {
    format!("v1.{}", harness::canary(&format!("parity-{label}")))
}

fn sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_profile(extra: &str) -> String {
    format!("default: ci\nprofiles:\n  ci:\n    auth-type: service account\n{extra}")
}

#[test]
fn an_iam_token_in_the_environment_is_used_stripped_as_the_sdk_does() {
    let mut world = World::new();
    let token = token_canary("env-token");
    world.secrets.push(token.clone());
    let padded = format!("  {token}\n");
    let env = [("NEBIUS_IAM_TOKEN", padded.as_str())];
    let (sdk, _) = world.sdk(&env, None);
    assert_eq!(world.crlogin(&env, None), sdk);
    assert_eq!(sdk, Outcome::Token(sha256(&token)));
    assert_eq!(world.iam.calls(), 0, "a ready token needs no exchange");
}

#[test]
fn a_credentials_file_profile_exchanges_the_keys_jwt() {
    let world = World::new();
    let file = world.file("key.json", &credentials_json(SA, KID));
    world.profile(&key_profile(&format!(
        "    service-account-credentials-file-path: {file}\n"
    )));
    world.agree(&[], &[], SA);
    assert!(
        world.iam.rejections().is_empty(),
        "{:?}",
        world.iam.rejections()
    );
}

#[test]
fn a_key_in_parts_profile_works_with_a_file_pkcs1_or_inline_pem() {
    for (label, key_field) in [
        ("pkcs8 file", "private-key-file-path: FILE8"),
        ("pkcs1 file", "private-key-file-path: FILE1"),
        ("inline", "private-key: |\nINLINE"),
    ] {
        let world = World::new();
        let pkcs8 = world.file("k8.pem", &keys().pkcs8);
        let pkcs1 = world.file("k1.pem", &keys().pkcs1);
        let inline: String = keys()
            .pkcs8
            .lines()
            .map(|l| format!("      {l}\n"))
            .collect();
        let key_field = key_field
            .replace("FILE8", &pkcs8)
            .replace("FILE1", &pkcs1)
            .replace("INLINE\n", &inline)
            .replace("INLINE", inline.trim_end());
        world.profile(&key_profile(&format!(
            "    service-account-id: {SA}\n    public-key-id: {KID}\n    {key_field}\n"
        )));
        let (sdk, _) = world.sdk(&[], None);
        let ours = world.crlogin(&[], None);
        assert_eq!(ours, sdk, "{label}: crlogin and the SDK disagree");
        assert_eq!(ours, Outcome::Token(world.token_of(SA)), "{label}");
    }
}

#[test]
fn a_federated_subject_file_profile_is_keyless() {
    let mut world = World::new();
    let file = world.federated_token_file();
    world.profile(&key_profile(&format!(
        "    service-account-id: {SA}\n    federated-subject-credentials-file-path: {file}\n"
    )));
    world.agree(&[], &[], SA);
}

#[test]
fn the_federated_token_file_variable_matches_the_sdks_profile() {
    let mut world = World::new();
    let file = world.federated_token_file();
    world.profile(&key_profile(&format!(
        "    service-account-id: {SA}\n    federated-subject-credentials-file-path: {file}\n"
    )));
    let (sdk, _) = world.sdk(&[], None);
    std::fs::remove_dir_all(world.env.home().join(".nebius")).unwrap();
    let ours = world.crlogin(
        &[
            ("NEBIUS_SERVICE_ACCOUNT_ID", SA),
            ("NEBIUS_FEDERATED_TOKEN_FILE", &file),
        ],
        None,
    );
    assert_eq!(ours, sdk);
    assert_eq!(ours, Outcome::Token(world.token_of(SA)));
}

#[test]
fn a_token_file_profile_reads_the_file() {
    let mut world = World::new();
    let token = token_canary("file-token");
    world.secrets.push(token.clone());
    let file = world.file("token", &format!("{token}\n"));
    world.profile(&format!(
        "default: ci\nprofiles:\n  ci:\n    token-file: {file}\n"
    ));
    let (sdk, _) = world.sdk(&[], None);
    assert_eq!(world.crlogin(&[], None), sdk);
    assert_eq!(sdk, Outcome::Token(sha256(&token)));
}

#[test]
fn a_token_endpoint_profile_asks_the_endpoint() {
    let mut world = World::new();
    let token = token_canary("endpoint-token");
    world.secrets.push(token.clone());
    let endpoint = MetadataServer::start(&token);
    world.profile(&format!(
        "default: ci\nprofiles:\n  ci:\n    token-endpoint: {}\n",
        endpoint.url()
    ));
    let (sdk, _) = world.sdk(&[], None);
    assert_eq!(world.crlogin(&[], None), sdk);
    assert_eq!(sdk, Outcome::Token(sha256(&token)));
    assert_eq!(endpoint.requests(), 2, "each client asked once");
}

#[test]
fn impersonation_logs_in_as_the_target_from_a_key_or_a_token_file() {
    let world = World::new();
    world.iam.allow_impersonation_of(TARGET);
    let file = world.file("key.json", &credentials_json(SA, KID));
    world.profile(&key_profile(&format!(
        "    service-account-credentials-file-path: {file}\n    impersonate-service-account-id: {TARGET}\n"
    )));
    world.agree(&[], &[], TARGET);
    // The same through the SDK's parameter and crlogin's flag, over a ready token.
    let mut world = World::new();
    world.iam.allow_impersonation_of(TARGET);
    let actor = token_canary("actor-token");
    world.secrets.push(actor.clone());
    world.iam.trust_actor_token(&actor);
    let token_file = world.file("token", &actor);
    world.profile(&format!(
        "default: ci\nprofiles:\n  ci:\n    token-file: {token_file}\n"
    ));
    let (sdk, _) = world.sdk(&[], Some(TARGET));
    let ours = world.crlogin(&[], Some(TARGET));
    assert_eq!(ours, sdk);
    assert_eq!(ours, Outcome::Token(world.token_of(TARGET)));
    assert_eq!(world.iam.impersonations().len(), 2);
}

#[test]
fn the_profile_is_chosen_as_the_sdk_chooses_it() {
    let mut world = World::new();
    let tokens: Vec<String> = ["one", "two"]
        .iter()
        .map(|n| token_canary(&format!("profile-{n}")))
        .collect();
    world.secrets.extend(tokens.iter().cloned());
    let one = world.file("one", &tokens[0]);
    let two = world.file("two", &tokens[1]);
    let profiles =
        format!("profiles:\n  one:\n    token-file: {one}\n  two:\n    token-file: {two}\n");
    for (label, yaml, env, want) in [
        ("default", format!("default: two\n{profiles}"), vec![], 1),
        (
            "NEBIUS_PROFILE",
            format!("default: two\n{profiles}"),
            vec![("NEBIUS_PROFILE", "one")],
            0,
        ),
        (
            "the only profile",
            format!("profiles:\n  one:\n    token-file: {one}\n"),
            vec![],
            0,
        ),
    ] {
        world.profile(&yaml);
        let (sdk, _) = world.sdk(&env, None);
        assert_eq!(world.crlogin(&env, None), sdk, "{label}");
        assert_eq!(sdk, Outcome::Token(sha256(&tokens[want])), "{label}");
    }
}

#[test]
fn a_credentials_file_beside_ids_is_refused_by_both() {
    let world = World::new();
    let file = world.file("key.json", &credentials_json(SA, KID));
    world.profile(&key_profile(&format!(
        "    service-account-credentials-file-path: {file}\n    service-account-id: {SA}\n"
    )));
    let (sdk, _) = world.sdk(&[], None);
    let ours = world.crlogin(&[], None);
    assert!(
        matches!(sdk, Outcome::Refused(_)),
        "the SDK accepted it: {sdk:?}"
    );
    assert!(
        matches!(ours, Outcome::Refused(_)),
        "crlogin accepted it: {ours:?}"
    );
    assert_eq!(world.iam.calls(), 0);
}

/// The token service crlogin would dial, from `crlogin doctor`'s reach-iam line, as the SDK
/// writes an address (`host:port`).
fn crlogin_token_service(world: &World, env: &[(&str, &str)]) -> String {
    let mut run = world
        .env
        .crlogin(["doctor", "--timeout", "1"])
        .env("CRLOGIN_REGISTRIES", "127.0.0.1:9");
    for (name, value) in env {
        run = run.env(name, value);
    }
    let out = run.run();
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("reach-iam"))
        .unwrap_or_else(|| panic!("doctor printed no reach-iam line:\n{out}"));
    let endpoint = line
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':');
    endpoint.trim_start_matches("https://").to_string()
}

/// The SDK writes no port for 443 (gRPC's default); crlogin always does.
fn with_port(address: &str) -> String {
    match address.rsplit_once(':') {
        Some((_, port)) if port.bytes().all(|b| b.is_ascii_digit()) => address.to_string(),
        _ => format!("{address}:443"),
    }
}

#[test]
fn an_api_domain_picks_the_same_token_service() {
    let mut world = World::new();
    let key = format!(
        "    service-account-credentials-file-path: {}\n",
        world.file("key.json", &credentials_json(SA, KID))
    );
    let keyless = format!(
        "    service-account-id: {SA}\n    federated-subject-credentials-file-path: {}\n",
        world.federated_token_file()
    );
    for (label, profile_endpoint, env, credential) in [
        (
            "key, profile endpoint:",
            Some("api.profile.example"),
            vec![],
            &key,
        ),
        (
            "key, NEBIUS_ENDPOINT",
            None,
            vec![("NEBIUS_ENDPOINT", "api.env.example:8443")],
            &key,
        ),
        (
            "key, NEBIUS_ENDPOINT over the profile's",
            Some("api.profile.example"),
            vec![("NEBIUS_ENDPOINT", "api.env.example")],
            &key,
        ),
        (
            "keyless, profile endpoint:",
            Some("api.profile.example"),
            vec![],
            &keyless,
        ),
    ] {
        let endpoint = profile_endpoint.map_or(String::new(), |e| format!("    endpoint: {e}\n"));
        world.profile(&key_profile(&format!("{endpoint}{credential}")));
        let (_, sdk_service) = world.sdk(&env, None);
        let ours = crlogin_token_service(&world, &env);
        assert_eq!(ours, with_port(&sdk_service), "{label}");
    }
}

#[test]
fn a_key_goes_over_grpc_where_that_exchange_is_named_and_http_wins_when_named_too() {
    let world = World::new();
    let key = credentials_json(SA, KID);
    let env = [("NEBIUS_SA_CREDENTIALS", key.as_str())];
    let first = world.crlogin(&env, None);
    assert_eq!(first, Outcome::Token(world.token_of(SA)));
    assert_eq!(world.iam.calls(), 1, "one gRPC exchange");
    assert_eq!(
        world.crlogin(&env, None),
        first,
        "the second run is served by the cache"
    );
    assert_eq!(world.iam.calls(), 1, "the cached token was reused");

    let http = iam_server::IamServer::start(SA, KID);
    let endpoint = http.endpoint();
    let env = [
        ("NEBIUS_SA_CREDENTIALS", key.as_str()),
        ("NEBIUS_AUTH_ENDPOINT", endpoint.as_str()),
    ];
    let over_http = world.crlogin(&env, None);
    assert_eq!(
        http.requests(),
        1,
        "NEBIUS_AUTH_ENDPOINT takes the exchange over HTTP"
    );
    assert_eq!(world.iam.calls(), 1);
    assert_eq!(over_http, Outcome::Token(sha256(&http.tokens()[0])));
}

/// The one input on which crlogin differs from the SDK on purpose (docs/src/nebius/credentials.md):
/// a blank `NEBIUS_IAM_TOKEN` (a secret that expanded to spaces) is an error in crlogin, where the
/// SDK silently falls back to the profile's account. An empty one is unset for both.
#[test]
fn a_blank_token_variable_is_an_error_where_the_sdk_falls_back() {
    let mut world = World::new();
    let token = token_canary("fallback-token");
    world.secrets.push(token.clone());
    let file = world.file("token", &token);
    world.profile(&format!(
        "default: ci\nprofiles:\n  ci:\n    token-file: {file}\n"
    ));
    let empty = [("NEBIUS_IAM_TOKEN", "")];
    let (sdk, _) = world.sdk(&empty, None);
    assert_eq!(sdk, Outcome::Token(sha256(&token)));
    assert_eq!(
        world.crlogin(&empty, None),
        sdk,
        "an empty variable is unset for both"
    );
    let blank = [("NEBIUS_IAM_TOKEN", "   ")];
    let (sdk, _) = world.sdk(&blank, None);
    assert_eq!(sdk, Outcome::Token(sha256(&token)), "the SDK falls back");
    let Outcome::Refused(why) = world.crlogin(&blank, None) else {
        panic!("crlogin used another credential than the blank one it was given");
    };
    assert!(why.contains("NEBIUS_IAM_TOKEN is empty or blank"), "{why}");
}

/// The other: a profile's `impersonate-service-account-id` is applied by the SDK to
/// `NEBIUS_IAM_TOKEN` too, and not by crlogin (the variable usually holds
/// `nebius iam get-access-token`'s output, already impersonated).
#[test]
fn a_token_variable_is_not_impersonated_through_the_profile() {
    let mut world = World::new();
    world.iam.allow_impersonation_of(TARGET);
    let token = token_canary("env-actor-token");
    world.secrets.push(token.clone());
    world.iam.trust_actor_token(&token);
    let file = world.file("key.json", &credentials_json(SA, KID));
    world.profile(&key_profile(&format!(
        "    service-account-credentials-file-path: {file}\n    impersonate-service-account-id: {TARGET}\n"
    )));
    let env = [("NEBIUS_IAM_TOKEN", token.as_str())];
    let (sdk, _) = world.sdk(&env, None);
    assert_eq!(
        sdk,
        Outcome::Token(world.token_of(TARGET)),
        "the SDK impersonates"
    );
    assert_eq!(world.crlogin(&env, None), Outcome::Token(sha256(&token)));
}

/// The kubelet provider's per-pod exchange (a pod's service-account token, its ServiceAccount
/// annotated with the Nebius service account) sends, field for field, the request the SDK
/// sends for a federated-subject file holding the same JWT for the same account, and gets the
/// same token.
#[test]
fn the_kubelet_pod_exchange_is_the_sdks_federated_exchange() {
    let mut world = World::new();
    let file = world.federated_token_file();
    let jwt = std::fs::read_to_string(&file).unwrap();
    world.profile(&key_profile(&format!(
        "    service-account-id: {SA}\n    federated-subject-credentials-file-path: {file}\n"
    )));
    let (sdk, _) = world.sdk(&[], None);
    std::fs::remove_dir_all(world.env.home().join(".nebius")).unwrap();
    let host = "cr.eu-north1.nebius.cloud";
    let request = serde_json::json!({
        "kind": "CredentialProviderRequest",
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "image": format!("{host}/e00registry/app:v1"),
        "serviceAccountToken": jwt,
        "serviceAccountAnnotations": {"nebius.com/service-account-id": SA},
    });
    let out = world
        .env
        .crlogin(["kubelet-credential-provider"])
        .env("NEBIUS_TOKEN_EXCHANGE_GRPC", world.iam.url())
        .stdin(&request.to_string())
        .run();
    out.assert_success("kubelet-credential-provider");
    let response: Value = serde_json::from_str(&out.stdout).unwrap();
    let password = response["auth"][host]["password"].as_str().unwrap();
    assert_eq!(Outcome::Token(sha256(password)), sdk);
    assert_eq!(sdk, Outcome::Token(world.token_of(SA)));
    assert!(
        !out.stderr.contains(&jwt) && !out.stdout.contains(&jwt),
        "{out}"
    );
    let requests = world.iam.requests();
    assert_eq!(requests.len(), 2, "one exchange each");
    assert_eq!(
        requests[1], requests[0],
        "crlogin's request differs from the SDK's"
    );
    assert_eq!(
        (
            requests[1].subject_token.as_str(),
            requests[1].actor_token.as_str()
        ),
        (SA, jwt.as_str())
    );
}
