//! The fault catalog: one table of everything that can go wrong on the far side of the wire — the
//! Nebius token exchange (HTTP, and the gRPC one behind OIDC federation) answering errors,
//! throttling, resets, hangs, broken or empty bodies, already expired tokens, or not listening at
//! all; the registry down while `--verify` checks it; and, on this side, another process holding
//! the auth file's lock. Each row runs the real binary with small `--timeout`/`--retries`
//! against loopback stand-ins and asserts that it ends well within a bound, exits non-zero
//! (never a panic), prints one error line naming the cause and the fix, writes nothing (the HOME
//! tree is unchanged: `--verify` checks before anything is written), and shows no private key,
//! JWT or token.
//!
//! The retried-then-successful paths live in tests/nebius_iam.rs and tests/nebius_oidc.rs.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod iam_server;
mod snapshot;

use harness::github_log::assert_log_is_inert;
use harness::{assert_no_leak, canary, secret_forms, Env, Out};
use iam_server::{keys, IamServer, Reply, TRUNCATED_TOKEN};
use snapshot::Tree;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};
use tonic::Code;

const SA: &str = "serviceaccount-e00faulttest";
const KID: &str = "publickey-e00faulttest";
/// The OIDC token's subject and audience the gRPC stand-in trusts.
const SUB: &str = "repo:acme/app:ref:refs/heads/main";
const AUD: &str = "crlogin-fault-test";

/// Every row must end within this, whatever its timeouts (they are 2-3 s): a wide margin for a
/// loaded machine, and still far below "hangs".
const BOUND: Duration = Duration::from_secs(20);

/// Where the fault is.
enum Fault {
    /// The HTTP token exchange (an authorized key) answers these, in order.
    Exchange(Vec<Reply>),
    /// Nothing listens at `NEBIUS_AUTH_ENDPOINT`.
    ExchangeDown,
    /// The gRPC token exchange (OIDC federation) answers these, in order.
    Federation(Vec<iam_grpc::Reply>),
    /// Nothing listens at `NEBIUS_TOKEN_EXCHANGE_GRPC`.
    FederationDown,
    /// `--verify` finds nothing listening at the registry.
    RegistryDown,
    /// `--verify` finds a registry that accepts connections and never answers.
    RegistrySilent,
    /// `--verify` finds a registry whose Bearer challenge names this token realm.
    RegistryRealm(&'static str),
    /// `--verify` finds a registry whose token realm answers 600 MiB.
    RealmFlood,
    /// GitHub's OIDC token endpoint answers 600 MiB.
    GithubOidcFlood,
    /// Another process holds the docker auth file's lock and never lets go (a stuck job on the
    /// same machine).
    AuthFileLocked,
}

/// One row of the catalog.
struct Row {
    /// What goes wrong.
    name: &'static str,
    fault: Fault,
    /// crlogin's arguments after `login`.
    args: &'static [&'static str],
    /// The error line names the cause with this ...
    cause: &'static str,
    /// ... and says how to fix it with this.
    fix: &'static str,
    /// How many requests the exchange saw (retries included), where there is an exchange.
    attempts: Option<usize>,
    /// Something stderr must say besides the error (a retry note).
    note: Option<&'static str>,
    /// The least time the run may take: it must have waited for the deadline, not given up early.
    at_least: Duration,
    /// Run on GitHub Actions (errors are `::error` annotations), where the hostile-text rows
    /// check that no server text runs as a workflow command.
    github: bool,
}

impl Row {
    fn new(name: &'static str, fault: Fault, args: &'static [&'static str]) -> Row {
        Row {
            name,
            fault,
            args,
            cause: "",
            fix: "",
            attempts: None,
            note: None,
            at_least: Duration::ZERO,
            github: false,
        }
    }

    fn says(mut self, cause: &'static str, fix: &'static str) -> Row {
        self.cause = cause;
        self.fix = fix;
        self
    }

    fn attempts(mut self, n: usize) -> Row {
        self.attempts = Some(n);
        self
    }

    fn note(mut self, note: &'static str) -> Row {
        self.note = Some(note);
        self
    }

    fn at_least(mut self, seconds: u64) -> Row {
        self.at_least = Duration::from_secs(seconds);
        self
    }

    fn on_github(mut self) -> Row {
        self.github = true;
        self
    }
}

/// What a retried exchange says when it gives up, and what it suggests.
const MORE: &str = "check the network and NEBIUS_AUTH_ENDPOINT, or allow more with --timeout";
const ENDPOINT: &str = "check NEBIUS_AUTH_ENDPOINT";
const TWICE: &[&str] = &["--timeout", "3", "--retries", "1"];
/// Server text that would run as a workflow command on GitHub (`##[stop-commands]` anywhere,
/// `::` after a line break) or rewrite the log on any CI (ANSI escapes that move up and erase).
const HOSTILE: &str = "##[stop-commands]pwned\n::add-mask::x \x1b[1A\x1b[2K\x1b]0;t\x07";

fn catalog() -> Vec<Row> {
    use Fault::*;
    use Reply::*;
    let unavailable = || iam_grpc::Reply::Status(Code::Unavailable, "scripted outage".into());
    vec![
        Row::new(
            "HTTP 500, every attempt",
            Exchange(vec![Status(500), Status(500)]),
            TWICE,
        )
        .says("last error: HTTP 500 Internal Server Error", MORE)
        .attempts(2),
        Row::new(
            "HTTP 503, every attempt",
            Exchange(vec![Status(503), Status(503)]),
            TWICE,
        )
        .says("last error: HTTP 503 Service Unavailable", MORE)
        .attempts(2),
        Row::new(
            "HTTP 429 without Retry-After",
            Exchange(vec![Status(429), Status(429)]),
            TWICE,
        )
        .says("last error: HTTP 429 Too Many Requests", MORE)
        .attempts(2),
        Row::new(
            "HTTP 429 with Retry-After: 1 (honoured)",
            Exchange(vec![StatusRetryAfter(429, "1"), StatusRetryAfter(429, "1")]),
            TWICE,
        )
        .says("last error: HTTP 429 Too Many Requests", MORE)
        .attempts(2)
        .note("retrying in 1.0s")
        .at_least(1),
        Row::new(
            "HTTP 429 with Retry-After beyond the deadline",
            Exchange(vec![StatusRetryAfter(429, "60")]),
            &["--timeout", "3", "--retries", "4"],
        )
        .says("failed within the 3.0s deadline (1 attempt", MORE)
        .attempts(1),
        Row::new(
            "HTTP 503 with Retry-After as an HTTP date (ignored)",
            Exchange(vec![
                StatusRetryAfter(503, "Wed, 21 Oct 2015 07:28:00 GMT"),
                StatusRetryAfter(503, "Wed, 21 Oct 2015 07:28:00 GMT"),
            ]),
            TWICE,
        )
        .says("last error: HTTP 503 Service Unavailable", MORE)
        .attempts(2),
        Row::new(
            "connection closed without an answer",
            Exchange(vec![Close, Close]),
            TWICE,
        )
        .says("last error: request failed", MORE)
        .attempts(2),
        Row::new(
            "connection reset (RST)",
            Exchange(vec![Reset, Reset]),
            TWICE,
        )
        .says("last error: request failed", MORE)
        .attempts(2),
        Row::new(
            "no answer (a hang)",
            Exchange(vec![Hang, Hang]),
            &["--timeout", "2", "--retries", "4"],
        )
        .says("last error: no answer within 2.0s", MORE)
        .note("failed within the 2.0s deadline (1 attempt in ")
        .attempts(1)
        .at_least(2),
        Row::new(
            "a truncated 200 body",
            Exchange(vec![Truncated, Truncated]),
            TWICE,
        )
        .says("last error: HTTP 200 OK, then the answer broke off", MORE)
        .attempts(2),
        Row::new(
            "a 200 whose body is not JSON",
            Exchange(vec![Raw(200, "<html>v1.CrloginHtmlTokenCanary</html>")]),
            TWICE,
        )
        .says("answered success with a body that is not JSON", ENDPOINT)
        .attempts(1),
        Row::new(
            "a 200 JSON without access_token",
            Exchange(vec![Raw(
                200,
                r#"{"token_type":"Bearer","expires_in":3600}"#,
            )]),
            TWICE,
        )
        .says("answered no access_token", ENDPOINT)
        .attempts(1),
        Row::new(
            "a token that expires at once (expires_in 0)",
            Exchange(vec![Success(
                serde_json::json!({"token_type": "Bearer", "expires_in": 0}),
            )]),
            TWICE,
        )
        .says("answered no positive expires_in", ENDPOINT)
        .attempts(1),
        Row::new(
            "a token that expired already (expires_in -3600)",
            Exchange(vec![Success(
                serde_json::json!({"token_type": "Bearer", "expires_in": -3600}),
            )]),
            TWICE,
        )
        .says("answered no positive expires_in", ENDPOINT)
        .attempts(1),
        Row::new(
            "hostile error text in a 4xx",
            Exchange(vec![Error(400, HOSTILE, HOSTILE)]),
            TWICE,
        )
        .says("refused: HTTP 400 Bad Request", "check that the key's public key")
        .attempts(1)
        .on_github(),
        Row::new(
            "hostile error text in a 503, every attempt",
            Exchange(vec![Error(503, HOSTILE, HOSTILE), Error(503, HOSTILE, HOSTILE)]),
            TWICE,
        )
        .says("last error: HTTP 503 Service Unavailable", MORE)
        .note("retrying in")
        .attempts(2)
        .on_github(),
        Row::new(
            "a hostile token_type",
            Exchange(vec![Success(
                serde_json::json!({"token_type": HOSTILE, "expires_in": 3600}),
            )]),
            TWICE,
        )
        .says("token_type other than Bearer", ENDPOINT)
        .attempts(1)
        .on_github(),
        Row::new(
            "Retry-After: u64::MAX (capped, beyond the deadline)",
            Exchange(vec![StatusRetryAfter(503, "18446744073709551615")]),
            &["--timeout", "3", "--retries", "4"],
        )
        .says("failed within the 3.0s deadline (1 attempt", MORE)
        .attempts(1),
        Row::new(
            "Retry-After overflowing u64 (ignored)",
            Exchange(vec![
                StatusRetryAfter(503, "18446744073709551616"),
                StatusRetryAfter(503, "18446744073709551616"),
            ]),
            TWICE,
        )
        .says("last error: HTTP 503 Service Unavailable", MORE)
        .attempts(2),
        Row::new(
            "expires_in overflowing u64",
            Exchange(vec![Raw(
                200,
                r#"{"access_token":"v1.CrloginHtmlTokenCanary","token_type":"Bearer","expires_in":18446744073709551616}"#,
            )]),
            TWICE,
        )
        .says("answered no positive expires_in", ENDPOINT)
        .attempts(1),
        Row::new(
            "expires_in past any float (1e400)",
            Exchange(vec![Raw(
                200,
                r#"{"access_token":"v1.CrloginHtmlTokenCanary","expires_in":1e400}"#,
            )]),
            TWICE,
        )
        .says("answered success with a body that is not JSON", ENDPOINT)
        .attempts(1),
        Row::new("the token exchange is not listening", ExchangeDown, TWICE)
            .says("last error: cannot connect", MORE),
        Row::new(
            "gRPC UNAVAILABLE, every attempt",
            Federation(vec![unavailable(), unavailable()]),
            TWICE,
        )
        .says(
            "OIDC federation failed after 2 attempt(s)",
            "allow more with --retries",
        )
        .attempts(2),
        Row::new(
            "gRPC exchange never answers",
            Federation(vec![iam_grpc::Reply::Hang, iam_grpc::Reply::Hang]),
            &["--timeout", "2", "--retries", "4"],
        )
        .says(
            "OIDC federation failed after 1 attempt(s)",
            "allow more with --retries",
        )
        .attempts(1)
        .at_least(2),
        Row::new(
            "gRPC UNAVAILABLE with hostile text, every attempt",
            Federation(vec![
                iam_grpc::Reply::Status(Code::Unavailable, HOSTILE.into()),
                iam_grpc::Reply::Status(Code::Unavailable, HOSTILE.into()),
            ]),
            TWICE,
        )
        .says(
            "OIDC federation failed after 2 attempt(s)",
            "allow more with --retries",
        )
        .note("retrying in")
        .attempts(2)
        .on_github(),
        Row::new(
            "gRPC PERMISSION_DENIED with hostile text",
            Federation(vec![iam_grpc::Reply::Status(
                Code::PermissionDenied,
                HOSTILE.into(),
            )]),
            TWICE,
        )
        .says("PERMISSION_DENIED", "needs federated credentials")
        .attempts(1)
        .on_github(),
        Row::new(
            "a hostile gRPC token_type",
            Federation(vec![iam_grpc::Reply::TokenType(HOSTILE.into())]),
            TWICE,
        )
        .says("not Bearer", "NEBIUS_TOKEN_EXCHANGE_GRPC")
        .attempts(1)
        .on_github(),
        Row::new(
            "a gRPC expires_in of i64::MIN",
            Federation(vec![iam_grpc::Reply::ExpiresIn(i64::MIN)]),
            TWICE,
        )
        .says("expires in -9223372036854775808 s", "NEBIUS_TOKEN_EXCHANGE_GRPC")
        .attempts(1),
        Row::new("the gRPC exchange is not listening", FederationDown, TWICE).says(
            "cannot connect to the token exchange",
            "NEBIUS_TOKEN_EXCHANGE_GRPC",
        ),
        Row::new(
            "--verify: nothing listens at the registry",
            RegistryDown,
            &["--verify", "--verify-timeout", "2", "--retries", "1", "--timeout", "8"],
        )
        .says(
            "nothing listens there (connection refused)",
            "check that the registry is running",
        ),
        Row::new(
            "--verify: the registry accepts and never answers",
            RegistrySilent,
            &["--verify", "--verify-timeout", "2", "--retries", "1", "--timeout", "8"],
        )
        .says("no answer within 2 s", "allow more with --verify-timeout")
        .at_least(2),
        Row::new(
            "--verify: a hostile realm at the metadata address",
            RegistryRealm("http://169.254.169.254/latest/##[stop-commands]pwned"),
            &["--verify", "--verify-timeout", "2", "--retries", "1", "--timeout", "8"],
        )
        .says("a link-local or cloud metadata address", "fix its token auth realm")
        .on_github(),
        Row::new(
            "--verify: the token realm answers 600 MiB",
            RealmFlood,
            &["--verify", "--verify-timeout", "10"],
        )
        .says("answered more than 64 KiB", "check the registry's token service"),
        Row::new(
            "GitHub's OIDC token endpoint answers 600 MiB",
            GithubOidcFlood,
            TWICE,
        )
        .says("answered more than 64 KiB", "retry the job"),
        Row::new(
            "another process holds the auth file's lock",
            AuthFileLocked,
            &["--lock-timeout", "2"],
        )
        .says(
            "is locked by another process (`fuser ",
            "wait longer with --lock-timeout (CRLOGIN_LOCK_TIMEOUT)",
        )
        .at_least(2),
    ]
}

#[test]
fn every_fault_ends_in_bounded_time_with_one_clear_line() {
    let rows = catalog();
    for row in &rows {
        let started = Instant::now();
        let seen = run_row(row);
        let took = started.elapsed();
        let out = &seen.out;
        let name = row.name;
        eprintln!(
            "{name}: ended in {took:.1?}: {}",
            out.stderr.lines().last().unwrap_or_default()
        );
        assert!(took < BOUND, "{name}: took {took:?}\n{out}");
        assert!(
            took >= row.at_least,
            "{name}: gave up after only {took:?}\n{out}"
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {out}");
        assert!(!out.stderr.contains("panicked"), "{name}: {out}");
        let prefix = match row.github {
            true => "::error title=crlogin::",
            false => "crlogin: error: ",
        };
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect();
        assert_eq!(errors.len(), 1, "{name}: one error line\n{out}");
        for part in [row.cause, row.fix] {
            assert!(
                errors[0].contains(part),
                "{name}: wanted {part:?} in\n{}",
                errors[0]
            );
        }
        if let Some(note) = row.note {
            assert!(out.stderr.contains(note), "{name}: wanted {note:?}\n{out}");
        }
        if let Some(attempts) = row.attempts {
            assert_eq!(seen.attempts, attempts, "{name}: requests\n{out}");
        }
        assert_eq!(out.stdout, "", "{name}: stdout is for data only");
        assert_log_is_inert(out, name);
        // On GitHub the masks name every secret, as they must: everything else may not.
        let shown: String = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        for secret in &seen.secrets {
            assert_no_leak(
                secret,
                &secret_forms(secret, None),
                &[&out.stdout, &shown],
                seen.env.home(),
                &[seen.env.home().join(".docker/config.json")],
            );
        }
    }
}

/// What one row's run left behind.
struct Seen {
    env: Env,
    out: Out,
    attempts: usize,
    secrets: Vec<String>,
}

fn run_row(row: &Row) -> Seen {
    let mut env = Env::new();
    let mut args = vec!["login", "--for", "docker", "--no-cache"];
    args.extend(row.args);
    // The DCR password of the `--verify` rows.
    let mut password = None;
    // The lock this test holds for the whole run, where the row says so.
    let mut held_lock = None;
    let mut locked_password = None;
    match &row.fault {
        Fault::Exchange(_) | Fault::ExchangeDown => {
            env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
                .set("NEBIUS_PUBLIC_KEY_ID", KID)
                .set("NEBIUS_PRIVATE_KEY", &keys().pkcs8);
            args.extend(["--region", "eu-north1"]);
        }
        Fault::Federation(_) | Fault::FederationDown => {
            env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
                .set("NEBIUS_OIDC_AUDIENCE", AUD);
            args.extend(["--region", "eu-north1"]);
        }
        Fault::GithubOidcFlood => {
            env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
                .set("NEBIUS_OIDC_AUDIENCE", AUD);
            args.extend(["--region", "eu-north1"]);
        }
        Fault::RegistryDown
        | Fault::RegistrySilent
        | Fault::RegistryRealm(_)
        | Fault::RealmFlood => {
            let secret = canary("fault-password");
            env.set("DCR_USERNAME", "alice")
                .set("DCR_PASSWORD", &secret);
            password = Some(secret);
        }
        Fault::AuthFileLocked => {
            let secret = canary("fault-locked-password");
            env.set("DCR_USERNAME", "alice")
                .set("DCR_PASSWORD", &secret)
                .set("DCR_REGISTRY", "dcr.example.io");
            locked_password = Some(secret);
            let dir = env.home().join(".docker");
            std::fs::create_dir_all(&dir).unwrap();
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(dir.join(".crlogin-config.json.lock"))
                .unwrap();
            lock.lock().unwrap();
            held_lock = Some(lock);
        }
    }
    if row.github {
        env.set("GITHUB_ACTIONS", "true");
    }
    let before = Tree::of(env.home());
    let mut secrets: Vec<String> = Vec::new();
    let (out, attempts) = match &row.fault {
        Fault::Exchange(replies) => {
            let server = IamServer::start(SA, KID);
            server.script(replies);
            env.set("NEBIUS_AUTH_ENDPOINT", server.endpoint());
            let out = env.crlogin(&args).run();
            secrets.extend(keys().secret_lines());
            secrets.extend(server.jwts());
            secrets.extend(server.tokens());
            secrets.extend([TRUNCATED_TOKEN.into(), "v1.CrloginHtmlTokenCanary".into()]);
            assert_eq!(server.rejections(), Vec::<String>::new(), "{}", row.name);
            (out, server.requests())
        }
        Fault::ExchangeDown => {
            env.set("NEBIUS_AUTH_ENDPOINT", format!("http://{}", closed_port()));
            secrets.extend(keys().secret_lines());
            (env.crlogin(&args).run(), 0)
        }
        Fault::Federation(replies) => {
            let issuer = iam_grpc::TestIssuer::new();
            let server = iam_grpc::IamServer::trusting(&issuer, SA, AUD, SUB);
            server.script(replies.iter().cloned());
            let jwt = issuer.token(SUB, AUD, 600);
            env.set("NEBIUS_ID_TOKEN", &jwt)
                .set("NEBIUS_TOKEN_EXCHANGE_GRPC", server.url());
            let out = env.crlogin(&args).run();
            secrets.push(jwt);
            secrets.extend(server.issued());
            (out, server.calls())
        }
        Fault::FederationDown => {
            let jwt = iam_grpc::TestIssuer::new().token(SUB, AUD, 600);
            env.set("NEBIUS_ID_TOKEN", &jwt).set(
                "NEBIUS_TOKEN_EXCHANGE_GRPC",
                format!("http://{}", closed_port()),
            );
            let out = env.crlogin(&args).run();
            secrets.push(jwt);
            (out, 0)
        }
        Fault::RegistryDown => {
            env.set("DCR_REGISTRY", closed_port());
            secrets.extend(password.clone());
            (env.crlogin(&args).run(), 0)
        }
        Fault::RegistrySilent => {
            // Connections complete in the kernel's backlog, and nobody ever reads them.
            let silent = TcpListener::bind("127.0.0.1:0").unwrap();
            env.set("DCR_REGISTRY", silent.local_addr().unwrap().to_string());
            secrets.extend(password.clone());
            (env.crlogin(&args).run(), 0)
        }
        Fault::RegistryRealm(realm) => {
            let registry = harness::challenging_registry(realm);
            env.set("DCR_REGISTRY", registry.local_addr().unwrap().to_string());
            secrets.extend(password.clone());
            (env.crlogin(&args).run(), 0)
        }
        Fault::RealmFlood => {
            let (flood, sent) = harness::flooding_server();
            let realm = format!("http://{}/token", flood.local_addr().unwrap());
            let registry = harness::challenging_registry(Box::leak(realm.into_boxed_str()));
            env.set("DCR_REGISTRY", registry.local_addr().unwrap().to_string());
            secrets.extend(password.clone());
            let out = env.crlogin(&args).run();
            assert_read_little(&sent, row.name);
            (out, 0)
        }
        Fault::GithubOidcFlood => {
            let (flood, sent) = harness::flooding_server();
            let request_token = canary("fault-gh-request-token");
            env.set(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!(
                    "http://{}/_apis/idtoken?api-version=2.0",
                    flood.local_addr().unwrap()
                ),
            )
            .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token);
            let out = env.crlogin(&args).run();
            secrets.push(request_token);
            assert_read_little(&sent, row.name);
            (out, 0)
        }
        Fault::AuthFileLocked => {
            secrets.extend(locked_password.clone());
            (env.crlogin(&args).run(), 0)
        }
    };
    drop(held_lock);
    // `--verify` checks before writing: a refused or unreachable registry leaves nothing.
    before.assert_unchanged(env.home(), row.name);
    for secret in &secrets {
        harness::audit::secret("fault row secret", secret);
    }
    Seen {
        env,
        out,
        attempts,
        secrets,
    }
}

/// The flooding server got rid of little of its 600 MiB before crlogin stopped reading: what
/// crlogin read (64 KiB) plus what the loopback socket buffers hold, never the whole body.
fn assert_read_little(sent: &std::sync::mpsc::Receiver<usize>, name: &str) {
    // The server sends the count once its write fails: when crlogin closed the connection.
    let n = sent
        .recv_timeout(BOUND)
        .expect("the flooding server was asked once");
    assert!(n < 64 << 20, "{name}: crlogin read {n} bytes of the flood");
}

/// `127.0.0.1:PORT` where nothing listens: a port that was free a moment ago.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}
