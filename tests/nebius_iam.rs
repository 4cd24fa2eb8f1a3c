//! crlogin's Nebius service-account key sources end to end: the real binary, a cleared
//! environment with its own HOME, and a loopback token exchange (`iam_server`) that checks each
//! request as the real one does. Every test also checks that no private key, JWT or access token
//! reached crlogin's output, and that the access token is in no file but the token cache (the
//! auth files hold it base64-encoded with the username).
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;

use base64::Engine;
use harness::canary;
use iam_server::{keys, IamServer, Reply};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SA: &str = "serviceaccount-e00crlogintest";
const KID: &str = "publickey-e00crlogintest";

/// One CI job's machine: a temp HOME, its variables, and its token exchange server.
struct Job {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
    server: IamServer,
}

/// One crlogin run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Job {
    fn new() -> Self {
        let server = IamServer::start(SA, KID);
        let job = Self {
            home: harness::temp_dir(),
            vars: Vec::new(),
            server,
        };
        let endpoint = job.server.endpoint();
        job.var("NEBIUS_AUTH_ENDPOINT", &endpoint)
    }

    fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// Writes an input file the job provides (a key, a credentials file) under HOME/inputs.
    fn input(&self, name: &str, content: &str) -> PathBuf {
        let path = self.home().join("inputs").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        harness::audit::input(&path);
        path
    }

    fn docker_file(&self) -> PathBuf {
        self.home().join(".docker/config.json")
    }

    fn auth_files(&self) -> Vec<PathBuf> {
        vec![
            self.docker_file(),
            self.home().join(".config/helm/registry/config.json"),
            self.home().join(".config/containers/auth.json"),
        ]
    }

    /// The token cache: `$XDG_CACHE_HOME/crlogin`, else `~/.cache/crlogin`.
    fn cache_dir(&self) -> PathBuf {
        match self.vars.iter().find(|(k, _)| k == "XDG_CACHE_HOME") {
            Some((_, dir)) => Path::new(dir).join("crlogin"),
            None => self.home().join(".cache/crlogin"),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.home(), args)
    }

    /// Runs crlogin with `dir` as its working directory.
    fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        let started = Instant::now();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crlogin"));
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("TMPDIR", self.home())
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .args(args);
        let out = harness::run(&mut cmd, None);
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
            took: started.elapsed(),
        };
        self.assert_no_leak(&run, args.first() == Some(&"token"));
        run
    }

    /// No private key line, JWT or access token in the output (except the token on `token`'s
    /// stdout, and GitHub's `::add-mask::` lines, whose job is to carry them to the runner); no
    /// JWT or key in any file crlogin wrote; the raw access token only in the cache, its base64
    /// `iam:token` form only in the auth files.
    fn assert_no_leak(&self, run: &Run, token_on_stdout: bool) {
        let tokens = self.server.tokens();
        let mut secrets: Vec<String> = keys().secret_lines();
        secrets.extend(self.server.jwts());
        secrets.extend(tokens.iter().cloned());
        let printed = |text: &str, allowed: &[String]| {
            for line in text.lines() {
                if line.starts_with("::add-mask::") {
                    continue;
                }
                for secret in secrets.iter().filter(|s| !allowed.contains(s)) {
                    assert!(
                        !line.contains(secret.as_str()),
                        "a secret was printed: {line}"
                    );
                }
            }
        };
        printed(&run.stderr, &[]);
        if token_on_stdout {
            printed(&run.stdout, &tokens);
        } else {
            printed(&run.stdout, &[]);
        }
        let inputs = self.home().join("inputs");
        let profile = self.home().join(".nebius/config.yaml");
        for (path, content) in files_under(self.home()) {
            if path.starts_with(&inputs) || path == profile {
                continue;
            }
            for line in keys().secret_lines() {
                assert!(
                    !content.contains(&line),
                    "key material in {}",
                    path.display()
                );
            }
            for jwt in self.server.jwts() {
                assert!(!content.contains(&jwt), "a JWT in {}", path.display());
            }
            for token in &tokens {
                if !path.starts_with(self.cache_dir()) {
                    assert!(
                        !content.contains(token.as_str()),
                        "the raw token in {}",
                        path.display()
                    );
                }
                if !self.auth_files().contains(&path) {
                    let encoded = b64(&format!("iam:{token}"));
                    assert!(
                        !content.contains(&encoded),
                        "the auth string in {}",
                        path.display()
                    );
                }
            }
        }
    }
}

fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((
                path.clone(),
                String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned(),
            ));
        }
    }
    out
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The credentials JSON `nebius iam auth-public-key generate` writes, with `changes` applied.
fn credentials(private_key: &str, changes: Value) -> String {
    let mut creds = json!({
        "type": "JWT",
        "alg": "RS256",
        "private-key": private_key,
        "kid": KID,
        "iss": SA,
        "sub": SA,
    });
    for (k, v) in changes.as_object().unwrap() {
        creds[k] = v.clone();
    }
    serde_json::to_string_pretty(&json!({ "subject-credentials": creds })).unwrap()
}

fn docker_auth(job: &Job, host: &str) -> Value {
    let doc: Value = serde_json::from_str(&fs::read_to_string(job.docker_file()).unwrap()).unwrap();
    doc["auths"][host]["auth"].clone()
}

/// A successful login: exit 0, the server's checks all passed, and `token` written for `host`.
fn assert_logged_in(job: &Job, run: &Run, host: &str, token: &str) {
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        job.server.rejections().is_empty(),
        "{:?}",
        job.server.rejections()
    );
    assert_eq!(docker_auth(job, host), json!(b64(&format!("iam:{token}"))));
}

/// A failed run: exit 1 and one error line that contains `want`.
fn assert_fails(run: &Run, want: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("crlogin: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains(want),
        "wanted {want:?} in: {}",
        errors[0]
    );
}

#[test]
fn credentials_json_is_exchanged_once_for_every_region() {
    let job = Job::new();
    let job = job.var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    let run = job.run(&["login"]);
    assert_eq!(job.server.requests(), 1, "one exchange for six registries");
    let token = &job.server.tokens()[0];
    for region in [
        "eu-north1",
        "eu-north2",
        "eu-west1",
        "me-west1",
        "uk-south1",
        "us-central1",
    ] {
        assert_logged_in(&job, &run, &format!("cr.{region}.nebius.cloud"), token);
    }
    assert!(
        run.stderr.contains("NEBIUS_SA_CREDENTIALS, exchanged"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("not known"),
        "the expiry is reported: {}",
        run.stderr
    );
    eprintln!("login with one exchange took {:?}", run.took);
}

#[test]
fn credentials_file_and_relative_path_work() {
    let job = Job::new();
    let file = job.input("key.json", &credentials(&keys().pkcs8, json!({})));
    let job = job.var("NEBIUS_SA_CREDENTIALS_FILE", file.to_str().unwrap());
    let run = job.run(&["login", "--region", "eu-west1", "--no-cache"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-west1.nebius.cloud",
        &job.server.tokens()[0],
    );
    assert!(
        run.stderr.contains("NEBIUS_SA_CREDENTIALS_FILE, exchanged"),
        "{}",
        run.stderr
    );

    let job = Job::new();
    job.input("key.json", &credentials(&keys().pkcs8, json!({})));
    let job = job.var("NEBIUS_SA_CREDENTIALS", "key.json");
    let run = job.run_in(&job.home().join("inputs"), &["token", "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{}\n", job.server.tokens()[0]));
}

#[test]
fn key_parts_work_with_pkcs1_and_pkcs8() {
    for (pem, inline) in [
        (&keys().pkcs1, true),
        (&keys().pkcs8, false),
        (&keys().pkcs1, false),
    ] {
        let job = Job::new()
            .var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
            .var("NEBIUS_PUBLIC_KEY_ID", KID);
        let job = if inline {
            job.var("NEBIUS_PRIVATE_KEY", pem)
        } else {
            let file = job.input("key.pem", pem);
            job.var("NEBIUS_PRIVATE_KEY_FILE", file.to_str().unwrap())
        };
        let run = job.run(&["login", "--region", "eu-north1"]);
        assert_logged_in(
            &job,
            &run,
            "cr.eu-north1.nebius.cloud",
            &job.server.tokens()[0],
        );
        assert!(
            run.stderr
                .contains("NEBIUS_SERVICE_ACCOUNT_ID+NEBIUS_PUBLIC_KEY_ID, exchanged"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_pem_with_escaped_newlines_in_one_line_works() {
    let one_line = keys().pkcs8.trim_end().replace('\n', "\\n");
    let job = Job::new()
        .var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .var("NEBIUS_PUBLIC_KEY_ID", KID)
        .var("NEBIUS_PRIVATE_KEY", &one_line);
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
}

#[test]
fn cli_profiles_are_read_like_the_sdks_read_them() {
    // NEBIUS_PROFILE picks a service-account profile with a key file (PKCS#1).
    let job = Job::new();
    let key = job.input("key.pem", &keys().pkcs1);
    let yaml = format!(
        "default: laptop\nprofiles:\n  laptop:\n    endpoint: api.nebius.cloud\n    auth-type: federation\n    federation-endpoint: auth.nebius.com\n  ci:\n    endpoint: api.nebius.cloud\n    auth-type: service account\n    service-account-id: {SA}\n    public-key-id: {KID}\n    private-key-file-path: {}\n    parent-id: project-e00test\n",
        key.display()
    );
    write_profile(&job, &yaml);
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_fails(&run, "no credentials found");
    assert_eq!(job.server.requests(), 0, "a federation default is not used");
    let job = job.var("NEBIUS_PROFILE", "ci");
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
    assert!(
        run.stderr.contains("profile ci, exchanged"),
        "{}",
        run.stderr
    );

    // The only profile, with a credentials file under ~.
    let job = Job::new();
    job.input("sa.json", &credentials(&keys().pkcs8, json!({})));
    write_profile(
        &job,
        "profiles:\n  only:\n    auth-type: service account\n    service-account-credentials-file-path: ~/inputs/sa.json\n",
    );
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
    assert!(
        run.stderr.contains("profile only, exchanged"),
        "{}",
        run.stderr
    );

    // The default profile, with the key inline (PKCS#8); --auth profile forces it.
    let job = Job::new().var("NEBIUS_STATIC_KEY", &canary("static-key-not-used"));
    let indented: String = keys()
        .pkcs8
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect();
    write_profile(
        &job,
        &format!("default: prod\nprofiles:\n  prod:\n    auth-type: service account\n    service-account-id: {SA}\n    public-key-id: {KID}\n    private-key: |\n{indented}"),
    );
    let run = job.run(&["login", "--region", "eu-north1", "--auth", "profile"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
    assert!(
        run.stderr.contains("profile prod, exchanged"),
        "{}",
        run.stderr
    );
}

fn write_profile(job: &Job, yaml: &str) {
    let dir = job.home().join(".nebius");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("config.yaml"), yaml).unwrap();
    harness::audit::input(&dir.join("config.yaml"));
}

#[test]
fn malformed_keys_fail_with_a_clear_line_and_no_exchange() {
    let ec = &keys().ec;
    let rsa = &keys().pkcs8;
    let body: Vec<&str> = rsa.lines().collect();
    let truncated = format!(
        "{}\n{}\n{}\n",
        body[0],
        body[1..body.len() / 2].join("\n"),
        body[body.len() - 1]
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(rsa, json!({})).replace("\"kid\"", "kid"),
            "NEBIUS_SA_CREDENTIALS is not valid JSON (line",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(rsa, json!({"alg": "HS256"})),
            "\"alg\" is \"HS256\", not \"RS256\"",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(rsa, json!({"sub": "serviceaccount-someone-else"})),
            "\"iss\" and \"sub\" differ",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(rsa, json!({"type": "OIDC"})),
            "\"type\" is \"OIDC\", not \"JWT\"",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(ec, json!({})),
            "NEBIUS_SA_CREDENTIALS \"private-key\" is not an RSA key",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(
                "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
                json!({}),
            ),
            "is not a readable RSA private key",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials(&truncated, json!({})),
            "RSA private key",
        ),
        (
            "NEBIUS_SA_CREDENTIALS",
            credentials("just some text", json!({})),
            "is not a PEM private key",
        ),
        (
            "NEBIUS_PRIVATE_KEY",
            ec.clone(),
            "NEBIUS_PRIVATE_KEY is not an RSA key",
        ),
        (
            "NEBIUS_PRIVATE_KEY",
            "/no/such/key.pem".into(),
            "NEBIUS_PRIVATE_KEY is neither a PEM private key nor the path of an existing file",
        ),
    ];
    for (var, value, want) in cases {
        let job = Job::new().var(var, &value);
        let job = if var == "NEBIUS_PRIVATE_KEY" {
            job.var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
                .var("NEBIUS_PUBLIC_KEY_ID", KID)
        } else {
            job
        };
        let run = job.run(&["login"]);
        assert_fails(&run, want);
        assert_eq!(job.server.requests(), 0);
        assert!(!job.docker_file().exists(), "nothing is written");
    }

    let job = Job::new()
        .var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .var("NEBIUS_PRIVATE_KEY", rsa);
    assert_fails(&job.run(&["login"]), "NEBIUS_PUBLIC_KEY_ID not set");
}

#[test]
fn a_refusal_is_not_retried_and_shows_the_servers_reason() {
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    job.server.script(&[Reply::Error(
        400,
        "invalid_request",
        "subject_token_type not supported",
    )]);
    let run = job.run(&["login"]);
    assert_fails(
        &run,
        "HTTP 400 Bad Request: invalid_request: subject_token_type not supported",
    );
    assert_eq!(job.server.requests(), 1);

    // A key the service does not know: the server's own signature check answers 401.
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().other_rsa, json!({})),
    );
    let run = job.run(&["login"]);
    assert_fails(&run, "HTTP 401 Unauthorized: invalid_grant: JWT rejected");
    assert_eq!(job.server.requests(), 1);
    assert!(!job.docker_file().exists());
}

#[test]
fn unavailable_and_throttled_answers_are_retried() {
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    job.server
        .script(&[Reply::Status(500), Reply::Status(503), Reply::Status(429)]);
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_eq!(job.server.requests(), 4);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
    assert_eq!(
        run.stderr.matches("retrying in").count(),
        3,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("HTTP 503 Service Unavailable"),
        "{}",
        run.stderr
    );
    eprintln!("three retries took {:?}", run.took);
    // Giving up (every attempt failed, a hang, a reset, ...) is in the table in tests/faults.rs.
}

#[test]
fn a_cached_token_is_reused_and_no_cache_turns_it_off() {
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    let first = job.run(&["login", "--region", "eu-north1"]);
    let token = job.server.tokens()[0].clone();
    assert_logged_in(&job, &first, "cr.eu-north1.nebius.cloud", &token);
    let second = job.run(&["login", "--region", "eu-west1"]);
    assert_eq!(job.server.requests(), 1, "the second run used the cache");
    assert_logged_in(&job, &second, "cr.eu-west1.nebius.cloud", &token);
    assert!(
        second
            .stderr
            .contains("NEBIUS_SA_CREDENTIALS, cached token"),
        "{}",
        second.stderr
    );
    let files = files_under(&job.cache_dir());
    assert_eq!(files.len(), 1);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files[0].0), 0o600);
    assert_eq!(mode(&job.cache_dir()), 0o700);
    let name = files[0]
        .0
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(!name.contains(SA) && !name.contains(KID), "{name}");

    let third = job.run(&["login", "--region", "eu-west1", "--no-cache"]);
    assert_eq!(job.server.requests(), 2, "--no-cache exchanged");
    assert!(
        third.stderr.contains("NEBIUS_SA_CREDENTIALS, exchanged"),
        "{}",
        third.stderr
    );
    let job = job.var("CRLOGIN_NO_CACHE", "true");
    job.run(&["login", "--region", "eu-west1"]);
    assert_eq!(job.server.requests(), 3, "CRLOGIN_NO_CACHE exchanged");
    let cached: Value = serde_json::from_str(&fs::read_to_string(&files[0].0).unwrap()).unwrap();
    assert_eq!(
        cached["access_token"],
        json!(token),
        "--no-cache left the cache alone"
    );

    // XDG_CACHE_HOME moves the cache; --no-cache never creates it.
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    let xdg = job.home().join("xdg");
    let job = job.var("XDG_CACHE_HOME", xdg.to_str().unwrap());
    job.run(&["login", "--no-cache"]);
    assert!(!xdg.exists());
    job.run(&["login"]);
    assert_eq!(files_under(&xdg.join("crlogin")).len(), 1);
    assert!(!job.home().join(".cache").exists());
}

#[test]
fn a_token_near_its_end_is_refreshed() {
    // A token with under five minutes of life is never reused.
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    job.server.set_expires_in(240);
    job.run(&["login", "--region", "eu-north1"]);
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_eq!(job.server.requests(), 2);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[1],
    );

    // A cached token aged past 0.9 of its life, or to within five minutes of its end, is replaced.
    for (lifetime, age) in [(12 * 3600, 38_900), (3600, 3_400)] {
        let job = Job::new().var(
            "NEBIUS_SA_CREDENTIALS",
            &credentials(&keys().pkcs8, json!({})),
        );
        job.server.set_expires_in(lifetime);
        job.run(&["login", "--region", "eu-north1"]);
        let (path, text) = files_under(&job.cache_dir()).remove(0);
        let mut cached: Value = serde_json::from_str(&text).unwrap();
        for field in ["issued_at", "expires_at"] {
            cached[field] = json!(cached[field].as_u64().unwrap() - age);
        }
        fs::write(&path, cached.to_string()).unwrap();
        let run = job.run(&["login", "--region", "eu-north1"]);
        assert_eq!(job.server.requests(), 2, "lifetime {lifetime}, age {age}");
        assert_logged_in(
            &job,
            &run,
            "cr.eu-north1.nebius.cloud",
            &job.server.tokens()[1],
        );
        // Not yet due: reused.
        let run = job.run(&["login", "--region", "eu-north1"]);
        assert_eq!(job.server.requests(), 2);
        assert!(run.stderr.contains("cached token"), "{}", run.stderr);
    }
}

#[test]
fn token_prints_the_password_alone_on_stdout() {
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    let run = job.run(&["token"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = job.server.tokens()[0].clone();
    assert_eq!(run.stdout, format!("{token}\n"));
    assert!(
        run.stderr
            .contains("from NEBIUS_SA_CREDENTIALS, exchanged; expires 20"),
        "{}",
        run.stderr
    );
    assert_eq!(
        job.run(&["token"]).stdout,
        format!("{token}\n"),
        "from the cache"
    );
    assert_eq!(job.server.requests(), 1);
    eprintln!("token with one exchange took {:?}", run.took);

    // On GitHub the masks go to stderr, before the token is printed; stdout is the token only.
    let job = job
        .var("GITHUB_ACTIONS", "true")
        .var("CRLOGIN_NO_CACHE", "1");
    let run = job.run(&["token"]);
    let token = job.server.tokens()[1].clone();
    assert_eq!(run.stdout, format!("{token}\n"));
    assert!(
        run.stderr.contains(&format!("::add-mask::{token}\n")),
        "{}",
        run.stderr
    );
    let jwt = job.server.jwts().last().unwrap().clone();
    assert!(
        run.stderr.contains(&format!("::add-mask::{jwt}\n")),
        "{}",
        run.stderr
    );
    for line in keys().pkcs8.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            run.stderr.contains(&format!("::add-mask::{line}\n")),
            "key line not masked"
        );
    }

    // A static key is printed as it is, with no exchange; a failure prints nothing on stdout.
    let key = canary("static-key");
    let job = Job::new().var("NEBIUS_STATIC_KEY", &key);
    let run = job.run(&["token"]);
    assert_eq!(run.stdout, format!("{key}\n"));
    assert_eq!(job.server.requests(), 0);
    let job = Job::new().var("GITHUB_ACTIONS", "true");
    let run = job.run(&["token", "--auth", "sa-key"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("::error title=crlogin::--auth sa-key was chosen, but nothing is set for it"),
        "{}",
        run.stderr
    );
}

#[test]
fn login_on_github_masks_the_jwt_and_the_token() {
    let job = Job::new().var("GITHUB_ACTIONS", "true").var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
    let masks: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    assert!(masks.contains(&job.server.tokens()[0].as_str()));
    assert!(masks.contains(&job.server.jwts()[0].as_str()));
    assert!(
        !masks.iter().any(|m| m.contains("BEGIN") || *m == "{"),
        "only secrets are masked: {masks:?}"
    );
}

#[test]
fn auth_forces_one_source_and_the_order_is_kept_otherwise() {
    let job = Job::new()
        .var("NEBIUS_IAM_TOKEN", &canary("ready-iam-token"))
        .var(
            "NEBIUS_SA_CREDENTIALS",
            &credentials(&keys().pkcs8, json!({})),
        );
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(job.server.requests(), 0, "NEBIUS_IAM_TOKEN comes first");
    assert!(run.stderr.contains("NEBIUS_IAM_TOKEN"), "{}", run.stderr);
    let run = job.run(&["login", "--region", "eu-north1", "--auth", "sa-credentials"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
    let run = job.run(&["login", "--auth", "profile"]);
    assert_fails(&run, "~/.nebius/config.yaml does not exist");
    let run = job.run(&["login", "--auth", "sa-key"]);
    assert_fails(&run, "--auth sa-key was chosen, but nothing is set for it: set NEBIUS_SERVICE_ACCOUNT_ID, NEBIUS_PUBLIC_KEY_ID and NEBIUS_PRIVATE_KEY");
}

#[test]
fn a_bad_token_response_is_refused_without_showing_it() {
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    job.server.script(&[Reply::Success(
        json!({"token_type": "MAC", "expires_in": 3600}),
    )]);
    let run = job.run(&["login"]);
    assert_fails(&run, "token_type other than Bearer");
    assert_eq!(job.server.requests(), 1);
    assert!(!job.docker_file().exists());

    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    job.server.script(&[Reply::Success(
        json!({"token_type": "bearer", "expires_in": 3600}),
    )]);
    let run = job.run(&["login", "--region", "eu-north1"]);
    assert_logged_in(
        &job,
        &run,
        "cr.eu-north1.nebius.cloud",
        &job.server.tokens()[0],
    );
}

#[test]
fn dry_run_exchanges_nothing_and_logout_needs_no_exchange() {
    let job = Job::new().var(
        "NEBIUS_SA_CREDENTIALS",
        &credentials(&keys().pkcs8, json!({})),
    );
    let run = job.run(&["login", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("would exchange"), "{}", run.stderr);
    assert_eq!(job.server.requests(), 0);
    job.run(&["login", "--region", "eu-north1"]);
    let run = job.run(&["logout", "--region", "eu-north1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(job.server.requests(), 1);
    assert_eq!(docker_auth(&job, "cr.eu-north1.nebius.cloud"), Value::Null);
}
