//! The bad-input catalog: one table over every input crlogin reads — credential and setting
//! variables, `*_FILE` and mounted files, flags, the existing config.json of each tool, the
//! credential helper's stdin and the kubelet's request — each with malformed, empty, huge,
//! non-UTF-8 and injection-like values (line breaks, GitHub workflow commands, `\r`, NUL, quotes
//! that would break JSON).
//!
//! Every row states its outcome: a clear error (exit 1, one line naming the input and the fix),
//! a usage error (clap, exit 2), the helper protocol's "not found", or acceptance where the value
//! is legitimate (the row says why, and checks the result). Every row, run plainly and again with
//! `GITHUB_ACTIONS=true`, must not panic, must change nothing under HOME unless accepted, must
//! show no canary secret outside GitHub's `::add-mask::` lines, and on GitHub must print no
//! workflow command but crlogin's own (`::add-mask::`, `::error title=crlogin::`, ...).
//!
//! Environment values cannot be 10 MB: Linux refuses a variable or argument longer than 128 KiB
//! (MAX_ARG_STRLEN) at exec, so "huge" is the largest that passes there, and 10 MB for files
//! and stdin.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;
mod snapshot;

use base64::Engine as _;
use harness::{canary, secret_forms, Env, Out};
use serde_json::{json, Value};
use snapshot::Tree;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;

// The canary secrets of the rows, made once per run (and so registered for the leak audit):
// none may be shown.

/// The DCR password.
fn password() -> &'static str {
    static VALUE: OnceLock<String> = OnceLock::new();
    VALUE.get_or_init(|| canary("bad-password"))
}

/// The Nebius static key.
fn static_key() -> &'static str {
    static VALUE: OnceLock<String> = OnceLock::new();
    VALUE.get_or_init(|| canary("bad-static-key"))
}

/// The kubelet's service-account token.
fn sa_token() -> &'static str {
    static VALUE: OnceLock<String> = OnceLock::new();
    VALUE.get_or_init(|| canary("bad-kubelet-sa-token"))
}

/// The password of another login already in a config file.
fn other_auth() -> &'static str {
    static VALUE: OnceLock<String> = OnceLock::new();
    VALUE.get_or_init(|| canary("bad-other-auth"))
}

/// A password as long as a variable can be: a canary padded with `a`. The canary at its start is
/// what the leak audit searches for (a 128 KiB needle would only slow the scan down).
fn huge_password() -> &'static str {
    static VALUE: OnceLock<String> = OnceLock::new();
    VALUE.get_or_init(|| {
        let mut value = canary("bad-huge-password");
        value.extend(std::iter::repeat_n('a', HUGE_ENV - value.len()));
        value
    })
}

/// The largest single variable or argument `execve` takes (128 KiB with `NAME=` and the NUL).
const HUGE_ENV: usize = 128 * 1024 - 64;
/// Huge files and stdin.
const HUGE_FILE: usize = 10 * 1024 * 1024;

const SA: &str = "serviceaccount-e00badinput";
const KID: &str = "publickey-e00badinput";
const NEBIUS_HOST: &str = "cr.eu-north1.nebius.cloud";
const HELPER_NOT_FOUND: &str = "credentials not found in native keychain";

/// The injection-like values tried in names: each must stay inside one line of crlogin's own.
const INJECTIONS: &[(&str, &str)] = &[
    (
        "a line break and ::add-mask::",
        "dcr.example.io\n::add-mask::injected",
    ),
    (
        "a line break and ::set-output",
        "dcr.example.io\n::set-output name=x::injected",
    ),
    ("\\r and ::error::", "dcr.example.io\r::error::injected"),
    ("::error:: alone", "::error::injected"),
    (
        "a legacy ##[error] command",
        "dcr.example.io\n##[error]injected",
    ),
    ("JSON-breaking quotes", r#"dcr.example.io","x":{"y":"#),
];

/// What a row expects.
enum Expect {
    /// Exit 1 and one error line containing this.
    Error(&'static str),
    /// A usage error from the argument parser: exit 2, its first line containing this.
    Usage(&'static str),
    /// The credential-helper protocol's "not found" answer (exit 1).
    NotFound,
    /// Exit 0: the value is legitimate (why), and `check` asserts the result.
    Accepted {
        why: &'static str,
        check: fn(&Path, &Out),
        /// Whether stdout is an answer that carries the secret (helper, kubelet).
        answers: bool,
    },
}

/// One row: an input, a bad value for it, and the expected outcome.
struct Case {
    what: String,
    args: Vec<OsString>,
    /// Variables; `{HOME}` in a value is the run's HOME. A later one of the same name wins.
    vars: Vec<(String, OsString)>,
    /// Files written under HOME before the run.
    files: Vec<(String, Vec<u8>)>,
    /// Those of `files` that hold a secret on purpose (the leak audit's inputs).
    secret_files: Vec<String>,
    /// Symlinks made under HOME before the run: (path, target).
    links: Vec<(String, String)>,
    /// FIFOs made under HOME before the run.
    fifos: Vec<String>,
    stdin: Option<Vec<u8>>,
    expect: Expect,
}

fn case(what: impl Into<String>, args: &[&str]) -> Case {
    Case {
        what: what.into(),
        args: args.iter().map(OsString::from).collect(),
        vars: Vec::new(),
        files: Vec::new(),
        secret_files: Vec::new(),
        links: Vec::new(),
        fifos: Vec::new(),
        stdin: None,
        expect: Expect::Error(""),
    }
}

impl Case {
    fn var(mut self, name: &str, value: impl Into<OsString>) -> Case {
        self.vars.push((name.to_string(), value.into()));
        self
    }

    fn arg(mut self, value: impl Into<OsString>) -> Case {
        self.args.push(value.into());
        self
    }

    fn file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Case {
        self.files.push((path.to_string(), content.into()));
        self
    }

    /// A file that holds a secret on purpose, as a `_FILE` variable's file does.
    fn secret_file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Case {
        self.secret_files.push(path.to_string());
        self.file(path, content)
    }

    /// A symlink at `path` to `target` (an absolute path outside HOME, or one relative to HOME).
    fn link(mut self, path: &str, target: &str) -> Case {
        self.links.push((path.to_string(), target.to_string()));
        self
    }

    /// A FIFO at `path`: opening it to read blocks until a writer comes, which none does.
    fn fifo(mut self, path: &str) -> Case {
        self.fifos.push(path.to_string());
        self
    }

    fn stdin(mut self, content: impl Into<Vec<u8>>) -> Case {
        self.stdin = Some(content.into());
        self
    }

    /// A username/password login for dcr.example.io (the row then overrides one part).
    fn dcr(self) -> Case {
        self.var("DCR_USERNAME", "alice")
            .var("DCR_PASSWORD", password())
            .var("DCR_REGISTRY", "dcr.example.io")
    }

    /// A Nebius static key.
    fn static_key(self) -> Case {
        self.var("NEBIUS_STATIC_KEY", static_key())
    }

    fn error(mut self, want: &'static str) -> Case {
        self.expect = Expect::Error(want);
        self
    }

    fn usage(mut self, want: &'static str) -> Case {
        self.expect = Expect::Usage(want);
        self
    }

    fn not_found(mut self) -> Case {
        self.expect = Expect::NotFound;
        self
    }

    fn accepted(mut self, why: &'static str, check: fn(&Path, &Out)) -> Case {
        self.expect = Expect::Accepted {
            why,
            check,
            answers: false,
        };
        self
    }

    fn answers(mut self, why: &'static str, check: fn(&Path, &Out)) -> Case {
        self.expect = Expect::Accepted {
            why,
            check,
            answers: true,
        };
        self
    }
}

fn huge(byte: u8, len: usize) -> Vec<u8> {
    vec![byte; len]
}

fn huge_env() -> OsString {
    OsString::from_vec(huge(b'a', HUGE_ENV))
}

fn non_utf8() -> OsString {
    OsString::from_vec(b"dcr\xff\xfe.example.io".to_vec())
}

/// The private key the key rows use (its lines are canaries too).
fn pem() -> &'static str {
    &iam_server::keys().pkcs8
}

fn credentials_json(private_key: &str) -> String {
    json!({"subject-credentials": {
        "type": "JWT", "alg": "RS256", "private-key": private_key,
        "kid": KID, "iss": SA, "sub": SA,
    }})
    .to_string()
}

/// The kubelet's request for `image`, carrying the service-account token canary.
fn kubelet_request(image: &str) -> Vec<u8> {
    json!({
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderRequest",
        "image": image,
        "serviceAccountToken": sa_token(),
    })
    .to_string()
    .into_bytes()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The docker file holds `user:password` for dcr.example.io, and is valid JSON.
fn logged_in_as(home: &Path, user: &str, password: &str) {
    let doc = read_json(&home.join(".docker/config.json"));
    assert_eq!(
        doc["auths"]["dcr.example.io"]["auth"],
        json!(b64(&format!("{user}:{password}")))
    );
}

/// The credential-helper answer on stdout is JSON with the static key for the Nebius host.
fn helper_answered(_: &Path, out: &Out) {
    let answer: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(answer["Secret"], json!(static_key()));
    assert_eq!(answer["Username"], json!("iam"));
}

/// The kubelet response is JSON with the static key for the Nebius host.
fn kubelet_answered(_: &Path, out: &Out) {
    let answer: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(answer["auth"][NEBIUS_HOST]["password"], json!(static_key()));
}

/// Every row of the catalog.
fn catalog() -> Vec<Case> {
    let mut rows = Vec::new();
    rows.extend(plain_login_rows());
    rows.extend(path_like_rows());
    rows.extend(nebius_rows());
    rows.extend(setting_rows());
    rows.extend(flag_rows());
    rows.extend(auth_file_path_rows());
    rows.extend(config_file_rows());
    rows.extend(special_file_rows());
    rows.extend(helper_rows());
    rows.extend(kubelet_rows());
    rows
}

/// Every non-secret variable set to the path of a file holding a secret (issue 14, High 1): it
/// is taken as typed, never read, so the file's content reaches no error, report or output.
fn path_like_rows() -> Vec<Case> {
    let login = &["login", "--for", "docker"];
    let secret = "{HOME}/inputs/secret";
    let with_secret = |c: Case| c.secret_file("inputs/secret", format!("{}\n", static_key()));
    fn typed_user(home: &Path, _: &Out) {
        logged_in_as(
            home,
            &format!("{}/inputs/secret", home.display()),
            password(),
        )
    }
    vec![
        with_secret(case("DCR_USERNAME a path to a secret file", login).dcr())
            .var("DCR_USERNAME", secret)
            .accepted("a username is taken as typed: only secrets are read from the file their value names", typed_user),
        with_secret(case("DCR_REGISTRY a path to a secret file", login).dcr())
            .var("DCR_REGISTRY", secret)
            .error("has no host: give one like"),
        case("DCR_REGISTRY /proc/self/environ (holding a static key)", login).dcr().static_key()
            .var("DCR_REGISTRY", "/proc/self/environ")
            .error("has no host: give one like"),
        with_secret(case("PREFIX_USERNAME a path to a secret file", &["login", "--for", "docker", "--from-env", "X"]))
            .var("X_USERNAME", secret).var("X_PASSWORD", password()).var("X_REGISTRY", "dcr.example.io")
            .accepted("a username is taken as typed: only secrets are read from the file their value names", typed_user),
        with_secret(case("PREFIX_REGISTRY a path to a secret file", &["login", "--for", "docker", "--from-env", "X"]))
            .var("X_USERNAME", "alice").var("X_PASSWORD", password()).var("X_REGISTRY", secret)
            .error("has no host: give one like"),
        with_secret(case("CI_REGISTRY_USER a path to a secret file", login))
            .var("GITLAB_CI", "true").var("CI_REGISTRY", "dcr.example.io")
            .var("CI_REGISTRY_USER", secret).var("CI_REGISTRY_PASSWORD", password())
            .accepted("a username is taken as typed: only secrets are read from the file their value names", typed_user),
        with_secret(case("CI_REGISTRY a path to a secret file", login))
            .var("GITLAB_CI", "true").var("CI_REGISTRY", secret)
            .var("CI_REGISTRY_USER", "alice").var("CI_REGISTRY_PASSWORD", password())
            .error("has no host: give one like"),
        with_secret(case("NEBIUS_SERVICE_ACCOUNT_ID a path to a secret file", &["login", "--for", "docker", "--auth", "oidc"]))
            .var("NEBIUS_SERVICE_ACCOUNT_ID", secret).var("NEBIUS_ID_TOKEN", "a.b.c")
            .error("NEBIUS_SERVICE_ACCOUNT_ID is not a service account id"),
        with_secret(case("NEBIUS_PUBLIC_KEY_ID a path to a secret file", &["login", "--for", "docker", "--dry-run"]))
            .var("NEBIUS_SERVICE_ACCOUNT_ID", SA).var("NEBIUS_PUBLIC_KEY_ID", secret).var("NEBIUS_PRIVATE_KEY", pem())
            .accepted("a key id is taken as typed (and is no secret): a dry run shows what would be exchanged", |_, out| {
                assert!(out.stderr.contains("would exchange"), "{}", out.stderr)
            }),
        with_secret(case("DCR_REGISTRY_FILE holding something other than a host", login).dcr())
            .var("DCR_REGISTRY", "").var("DCR_REGISTRY_FILE", "{HOME}/inputs/registry")
            .secret_file("inputs/registry", format!("{}=x y\n", static_key()))
            .error("DCR_REGISTRY_FILE does not hold a registry host (its content is not shown)"),
        // A one-line token in a registry file (issue 19, Medium 2): whatever way it fails to
        // parse as a host, the message is the same and never quotes it.
        with_secret(case("DCR_REGISTRY_FILE holding a GitHub token (ghs_...)", login).dcr())
            .var("DCR_REGISTRY", "").var("DCR_REGISTRY_FILE", "{HOME}/inputs/registry")
            .secret_file("inputs/registry", format!("ghs_{}\n", static_key()))
            .error("DCR_REGISTRY_FILE does not hold a registry host (its content is not shown)"),
        with_secret(case("DCR_REGISTRY_FILE holding robot:password@host", login).dcr())
            .var("DCR_REGISTRY", "").var("DCR_REGISTRY_FILE", "{HOME}/inputs/registry")
            .secret_file("inputs/registry", format!("robot:{}@harbor.example\n", static_key()))
            .error("DCR_REGISTRY_FILE does not hold a registry host (its content is not shown)"),
        with_secret(case("HARBOR_REGISTRY_FILE holding a Nebius token (v1.../...)", &["login", "--for", "docker", "--from-env", "HARBOR"]))
            .var("HARBOR_USERNAME", "alice").var("HARBOR_PASSWORD", password())
            .var("HARBOR_REGISTRY_FILE", "{HOME}/inputs/registry")
            .secret_file("inputs/registry", format!("v1.CmQK{}/Zx+Q==\n", static_key()))
            .error("HARBOR_REGISTRY_FILE does not hold a registry host (its content is not shown)"),
        with_secret(case("DCR_REGISTRY_FILE holding a token, at logout", &["logout", "--for", "docker"]).dcr())
            .var("DCR_REGISTRY", "").var("DCR_REGISTRY_FILE", "{HOME}/inputs/registry")
            .secret_file("inputs/registry", format!("ghs_{}\n", static_key()))
            .error("DCR_REGISTRY_FILE does not hold a registry host (its content is not shown)"),
    ]
}

/// `DCR_USERNAME`, `DCR_PASSWORD`, `DCR_REGISTRY`, their `_FILE` forms and mounted files.
fn plain_login_rows() -> Vec<Case> {
    let login = &["login", "--for", "docker"];
    let mut rows = vec![
        case("DCR_USERNAME with ':'", login).dcr().var("DCR_USERNAME", "a:b")
            .error("DCR_USERNAME contains ':' or a control character"),
        case("DCR_USERNAME empty", login).dcr().var("DCR_USERNAME", "")
            .error("DCR_USERNAME not set: a DCR login needs"),
        case("DCR_USERNAME huge", login).dcr().var("DCR_USERNAME", huge_env())
            .error("DCR_USERNAME is longer than"),
        case("DCR_USERNAME not UTF-8", login).dcr().var("DCR_USERNAME", non_utf8())
            .error("DCR_USERNAME is not valid UTF-8: set it to UTF-8 text"),
        case("DCR_USERNAME with a line break and ::add-mask::", login).dcr()
            .var("DCR_USERNAME", "alice\n::add-mask::injected")
            .error("DCR_USERNAME contains ':' or a control character"),
        case("DCR_USERNAME with \\r inside", login).dcr().var("DCR_USERNAME", "al\rice")
            .error("DCR_USERNAME contains ':' or a control character"),
        case("DCR_USERNAME ending in \\r\\n (a CRLF file)", login).dcr()
            .var("DCR_USERNAME", "alice\r\n")
            .accepted("a trailing line ending is dropped, as from any file", |home, _| {
                logged_in_as(home, "alice", password())
            }),
        case("DCR_USERNAME with a legacy ##[add-mask] command", login).dcr()
            .var("DCR_USERNAME", "##[add-mask]injected")
            .accepted("a username is any text without ':' or control characters; on GitHub the report is printed with workflow commands stopped", |home, _| {
                logged_in_as(home, "##[add-mask]injected", password())
            }),
        case("DCR_USERNAME with a quote", login).dcr().var("DCR_USERNAME", "al\"ice")
            .accepted("the file holds base64(user:password), so a quote cannot break its JSON", |home, _| {
                logged_in_as(home, "al\"ice", password())
            }),
        case("DCR_USERNAME_FILE with a NUL", login).dcr()
            .var("DCR_USERNAME", "")
            .var("DCR_USERNAME_FILE", "{HOME}/inputs/user")
            .file("inputs/user", b"al\0ice".to_vec())
            .error("DCR_USERNAME contains ':' or a control character"),
        case("DCR_USERNAME_FILE missing", login).dcr()
            .var("DCR_USERNAME", "")
            .var("DCR_USERNAME_FILE", "{HOME}/inputs/none")
            .error("cannot read DCR_USERNAME_FILE"),
        case("DCR_USERNAME_FILE a directory", login).dcr()
            .var("DCR_USERNAME", "")
            .var("DCR_USERNAME_FILE", "{HOME}/inputs")
            .file("inputs/x", b"x".to_vec())
            .error("cannot read DCR_USERNAME_FILE"),
        case("DCR_USERNAME and DCR_USERNAME_FILE both", login).dcr()
            .var("DCR_USERNAME_FILE", "{HOME}/inputs/user")
            .file("inputs/user", b"alice".to_vec())
            .error("both DCR_USERNAME and DCR_USERNAME_FILE are set: set only one"),
        case("DCR_PASSWORD empty", login).dcr().var("DCR_PASSWORD", "")
            .error("DCR_PASSWORD not set: a DCR login needs"),
        case("DCR_PASSWORD blank", login).dcr().var("DCR_PASSWORD", " \n\r\n")
            .error("DCR_PASSWORD is empty or blank"),
        case("DCR_PASSWORD not UTF-8", login).dcr()
            .var("DCR_PASSWORD", OsString::from_vec([password().as_bytes(), b"\xff"].concat()))
            .error("DCR_PASSWORD is not valid UTF-8: set it to UTF-8 text"),
        case("DCR_PASSWORD huge", login).dcr().var("DCR_PASSWORD", huge_password())
            .accepted("registry tokens can be long (JWTs, JSON keys); it is written base64-encoded", |home, _| {
                logged_in_as(home, "alice", huge_password())
            }),
        case("DCR_PASSWORD with a line break and ::add-mask::", login).dcr()
            .var("DCR_PASSWORD", format!("{}\n::add-mask::injected", password()))
            .accepted("a secret may span lines: each line is masked on GitHub, and it is only written base64-encoded", |home, _| {
                logged_in_as(home, "alice", &format!("{}\n::add-mask::injected", password()))
            }),
        case("DCR_PASSWORD with quotes and a backslash", login).dcr()
            .var("DCR_PASSWORD", format!("{}\"}}\\", password()))
            .accepted("a secret is any text; it is only written base64-encoded", |home, _| {
                logged_in_as(home, "alice", &format!("{}\"}}\\", password()))
            }),
        case("DCR_PASSWORD_FILE huge", login).dcr()
            .var("DCR_PASSWORD", "")
            .var("DCR_PASSWORD_FILE", "{HOME}/inputs/pw")
            .file("inputs/pw", huge(b'p', HUGE_FILE))
            .error("cannot read DCR_PASSWORD_FILE"),
        case("DCR_PASSWORD_FILE not UTF-8", login).dcr()
            .var("DCR_PASSWORD", "")
            .var("DCR_PASSWORD_FILE", "{HOME}/inputs/pw")
            .secret_file("inputs/pw", [password().as_bytes(), b"\xff\n"].concat())
            .error("not UTF-8 text"),
        case("DCR_PASSWORD_FILE empty", login).dcr()
            .var("DCR_PASSWORD", "")
            .var("DCR_PASSWORD_FILE", "{HOME}/inputs/pw")
            .file("inputs/pw", b"\n".to_vec())
            .error("DCR_PASSWORD is empty or blank"),
        case("DCR_PASSWORD_FILE with a NUL", login).dcr()
            .var("DCR_PASSWORD", "")
            .var("DCR_PASSWORD_FILE", "{HOME}/inputs/pw")
            .secret_file("inputs/pw", format!("{}\0x\n", password()).into_bytes())
            .accepted("a secret is any text; it is only written base64-encoded", |home, _| {
                logged_in_as(home, "alice", &format!("{}\0x", password()))
            }),
        case("DCR_PASSWORD a mounted file that is huge", login).dcr()
            .var("DCR_PASSWORD", "{HOME}/inputs/pw")
            .file("inputs/pw", huge(b'p', HUGE_FILE))
            .error("cannot read the file DCR_PASSWORD names: larger than 1 MiB"),
        case("DCR_REGISTRY empty", login).dcr().var("DCR_REGISTRY", "")
            .error("DCR_REGISTRY not set"),
        case("DCR_REGISTRY malformed", login).dcr().var("DCR_REGISTRY", "bad host!")
            .error("is not a valid host name"),
        case("DCR_REGISTRY huge", login).dcr().var("DCR_REGISTRY", huge_env())
            .error("is not a valid host name"),
        case("DCR_REGISTRY not UTF-8", login).dcr().var("DCR_REGISTRY", non_utf8())
            .error("DCR_REGISTRY is not valid UTF-8"),
        case("DCR_REGISTRY a URL of another scheme", login).dcr().var("DCR_REGISTRY", "ftp://dcr.example.io")
            .error("has the scheme \"ftp\": give https://host[:port][/path]"),
    ];
    for (name, value) in INJECTIONS {
        rows.push(
            case(format!("DCR_REGISTRY with {name}"), login)
                .dcr()
                .var("DCR_REGISTRY", value)
                .error("registry \""),
        );
    }
    rows
}

/// The Nebius credential sources and their settings.
fn nebius_rows() -> Vec<Case> {
    let login = &["login", "--for", "docker"];
    let key_parts = |c: Case| {
        c.var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
            .var("NEBIUS_PUBLIC_KEY_ID", KID)
            .var("NEBIUS_PRIVATE_KEY", pem())
    };
    let profile = "profiles:\n  ci:\n    auth-type: service account\n    service-account-id: serviceaccount-e00x\n    public-key-id: publickey-e00x\n    private-key-file-path: ~/inputs/key.pem\n";
    vec![
        case("NEBIUS_STATIC_KEY blank", login)
            .var("NEBIUS_STATIC_KEY", "\n\n")
            .error("NEBIUS_STATIC_KEY is empty or blank"),
        case("NEBIUS_STATIC_KEY not UTF-8", login)
            .var("NEBIUS_STATIC_KEY", non_utf8())
            .error("NEBIUS_STATIC_KEY is not valid UTF-8"),
        case("NEBIUS_STATIC_KEY_FILE huge", login)
            .var("NEBIUS_STATIC_KEY_FILE", "{HOME}/inputs/key")
            .file("inputs/key", huge(b'k', HUGE_FILE))
            .error("larger than 1 MiB, which no credential is"),
        case("NEBIUS_IAM_TOKEN not UTF-8", login)
            .var("NEBIUS_IAM_TOKEN", non_utf8())
            .error("NEBIUS_IAM_TOKEN is not valid UTF-8"),
        case("NEBIUS_SA_CREDENTIALS malformed JSON", login)
            .var(
                "NEBIUS_SA_CREDENTIALS",
                credentials_json(pem()).replace("\"kid\"", "kid"),
            )
            .error("NEBIUS_SA_CREDENTIALS is not valid JSON (line"),
        case("NEBIUS_SA_CREDENTIALS huge", login)
            .var(
                "NEBIUS_SA_CREDENTIALS",
                OsString::from_vec([b"{".as_slice(), &huge(b' ', HUGE_ENV - 1)].concat()),
            )
            .error("NEBIUS_SA_CREDENTIALS is not valid JSON"),
        case("NEBIUS_SA_CREDENTIALS nested 100 000 deep", login)
            .var(
                "NEBIUS_SA_CREDENTIALS",
                format!("{{\"a\":{}", "[".repeat(100_000)),
            )
            .error("NEBIUS_SA_CREDENTIALS is not valid JSON"),
        case("NEBIUS_SA_CREDENTIALS not an object inside", login)
            .var("NEBIUS_SA_CREDENTIALS", r#"{"subject-credentials": []}"#)
            .error("has no \"subject-credentials\" object"),
        case("NEBIUS_SA_CREDENTIALS not UTF-8", login)
            .var(
                "NEBIUS_SA_CREDENTIALS",
                OsString::from_vec(b"{\"\xff\"}".to_vec()),
            )
            .error("NEBIUS_SA_CREDENTIALS is not valid UTF-8"),
        case("NEBIUS_SA_CREDENTIALS private key with ::add-mask::", login)
            .var(
                "NEBIUS_SA_CREDENTIALS",
                credentials_json("x\n::add-mask::injected"),
            )
            .error("is not a PEM private key"),
        case("NEBIUS_SA_CREDENTIALS_FILE huge", login)
            .var("NEBIUS_SA_CREDENTIALS_FILE", "{HOME}/inputs/key.json")
            .file("inputs/key.json", huge(b'{', HUGE_FILE))
            .error("larger than 1 MiB"),
        case("NEBIUS_SA_CREDENTIALS_FILE not UTF-8", login)
            .var("NEBIUS_SA_CREDENTIALS_FILE", "{HOME}/inputs/key.json")
            .secret_file(
                "inputs/key.json",
                [credentials_json(pem()).as_bytes(), b"\xff"].concat(),
            )
            .error("not UTF-8 text"),
        case("NEBIUS_SA_CREDENTIALS_FILE empty", login)
            .var("NEBIUS_SA_CREDENTIALS_FILE", "{HOME}/inputs/key.json")
            .file("inputs/key.json", Vec::new())
            .error("NEBIUS_SA_CREDENTIALS is empty or blank"),
        case("NEBIUS_SERVICE_ACCOUNT_ID with a line break", login)
            .apply(key_parts)
            .var(
                "NEBIUS_SERVICE_ACCOUNT_ID",
                format!("{SA}\n::add-mask::injected"),
            )
            .error("NEBIUS_SERVICE_ACCOUNT_ID is empty, too long or contains spaces"),
        case("NEBIUS_PUBLIC_KEY_ID huge", login)
            .apply(key_parts)
            .var("NEBIUS_PUBLIC_KEY_ID", huge_env())
            .error("NEBIUS_PUBLIC_KEY_ID is empty, too long or contains spaces"),
        case("NEBIUS_PRIVATE_KEY not a key", login)
            .apply(key_parts)
            .var(
                "NEBIUS_PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----\n::add-mask::injected\n-----END PRIVATE KEY-----",
            )
            .error("NEBIUS_PRIVATE_KEY is not a readable RSA private key"),
        case("NEBIUS_PRIVATE_KEY_FILE huge", login)
            .apply(key_parts)
            .var("NEBIUS_PRIVATE_KEY", "")
            .var("NEBIUS_PRIVATE_KEY_FILE", "{HOME}/inputs/key.pem")
            .file("inputs/key.pem", huge(b'k', HUGE_FILE))
            .error("larger than 1 MiB"),
        case("NEBIUS_REGION unknown", login)
            .static_key()
            .var("NEBIUS_REGION", "mars-1")
            .error("unknown Nebius region \"mars-1\": known regions are"),
        case("NEBIUS_REGION huge", login)
            .static_key()
            .var("NEBIUS_REGION", huge_env())
            .error("unknown Nebius region"),
        case("NEBIUS_REGION with a line break and ::error::", login)
            .static_key()
            .var("NEBIUS_REGION", "eu-north1\n::error::injected")
            .error("unknown Nebius region"),
        case("NEBIUS_REGION not UTF-8", login)
            .static_key()
            .var("NEBIUS_REGION", non_utf8())
            .error("NEBIUS_REGION is not valid UTF-8"),
        case("NEBIUS_REGIONS with a line break", login)
            .static_key()
            .var("NEBIUS_REGIONS", "eu-north1,eu-west1\n::add-mask::injected")
            .error("unknown Nebius region"),
        case("NEBIUS_AUTH_ENDPOINT plain http to another host", login)
            .var("NEBIUS_SA_CREDENTIALS", credentials_json(pem()))
            .var("NEBIUS_AUTH_ENDPOINT", "http://auth.example.com")
            .error("NEBIUS_AUTH_ENDPOINT uses plain http"),
        case("NEBIUS_AUTH_ENDPOINT with ::add-mask::", login)
            .var("NEBIUS_SA_CREDENTIALS", credentials_json(pem()))
            .var(
                "NEBIUS_AUTH_ENDPOINT",
                "auth.example.com\n::add-mask::injected",
            )
            .error("NEBIUS_AUTH_ENDPOINT"),
        case("NEBIUS_AUTH_ENDPOINT huge", login)
            .var("NEBIUS_SA_CREDENTIALS", credentials_json(pem()))
            .var("NEBIUS_AUTH_ENDPOINT", huge_env())
            .error("NEBIUS_AUTH_ENDPOINT"),
        case("NEBIUS_PROFILE not in the file", login)
            .var("NEBIUS_PROFILE", "ci\n::error::injected")
            .file(".nebius/config.yaml", profile)
            .error("the profile name \"ci\\n::error::injected\" holds a line break"),
        case("NEBIUS_PROFILE huge", login)
            .var("NEBIUS_PROFILE", huge_env())
            .file(".nebius/config.yaml", profile)
            .error("is not in ~/.nebius/config.yaml"),
        case(
            "~/.nebius/config.yaml malformed",
            &["login", "--auth", "profile"],
        )
        .file(".nebius/config.yaml", "profiles: [ci:\n  - {")
        .error("~/.nebius/config.yaml is not valid YAML"),
        case(
            "~/.nebius/config.yaml huge",
            &["login", "--auth", "profile"],
        )
        .file(".nebius/config.yaml", huge(b'#', HUGE_FILE))
        .error("larger than 1 MiB"),
        case(
            "~/.nebius/config.yaml not UTF-8",
            &["login", "--auth", "profile"],
        )
        .file(
            ".nebius/config.yaml",
            [profile.as_bytes(), b"#\xff\n"].concat(),
        )
        .error("not UTF-8 text"),
        case(
            "a profile named with a line break and ::error::",
            &["login", "--dry-run", "--auth", "profile"],
        )
        .file(
            ".nebius/config.yaml",
            profile.replace("  ci:", "  \"ci\\n::error::injected\":"),
        )
        .secret_file("inputs/key.pem", pem())
        .error("the profile name \"ci\\n::error::injected\" holds a line break"),
        case(
            "NEBIUS_OIDC_TOKEN_VAR not a name",
            &["login", "--auth", "oidc"],
        )
        .var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .var("NEBIUS_OIDC_TOKEN_VAR", "X\n::add-mask::injected")
        .error("NEBIUS_OIDC_TOKEN_VAR"),
        case("NEBIUS_ID_TOKEN not a JWT", &["login", "--auth", "oidc"])
            .var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
            .var(
                "NEBIUS_ID_TOKEN",
                format!("{}\n::add-mask::injected", canary("bad-id-token")),
            )
            .error("NEBIUS_ID_TOKEN"),
        case(
            "NEBIUS_TOKEN_EXCHANGE_GRPC plain http to another host",
            &["login", "--auth", "oidc"],
        )
        .var("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .var("NEBIUS_ID_TOKEN", iam_server_jwt())
        .var(
            "NEBIUS_TOKEN_EXCHANGE_GRPC",
            "http://tokens.example.com\n::error::injected",
        )
        .error("NEBIUS_TOKEN_EXCHANGE_GRPC"),
    ]
}

/// A well-formed, unexpired JWT (not trusted by anyone): the OIDC rows need one to get as far
/// as the endpoint.
fn iam_server_jwt() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": "https://issuer.example", "sub": "x", "aud": "y", "iat": now, "exp": now + 600});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem().as_bytes()).unwrap();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap();
    harness::audit::secret("OIDC token", &jwt);
    jwt
}

impl Case {
    fn apply(self, f: impl FnOnce(Case) -> Case) -> Case {
        f(self)
    }
}

/// `CRLOGIN_*` settings (read by the argument parser, so a bad one is a usage error).
fn setting_rows() -> Vec<Case> {
    let login = &["login", "--for", "docker"];
    vec![
        case("CRLOGIN_AUTH unknown", login)
            .static_key()
            .var("CRLOGIN_AUTH", "bogus")
            .usage("invalid value 'bogus' for '--auth <SOURCE>'"),
        case("CRLOGIN_AUTH with a line break and ::add-mask::", login)
            .static_key()
            .var("CRLOGIN_AUTH", "bogus\n::add-mask::injected")
            .usage("CRLOGIN_AUTH holds a line break or another control character"),
        case("CRLOGIN_AUTH not UTF-8", login)
            .static_key()
            .var("CRLOGIN_AUTH", non_utf8())
            .usage("for '--auth <SOURCE>'"),
        case("CRLOGIN_RETRIES out of range", login)
            .static_key()
            .var("CRLOGIN_RETRIES", "99")
            .usage("for '--retries <N>'"),
        case("CRLOGIN_RETRIES with \\r and ::error::", login)
            .static_key()
            .var("CRLOGIN_RETRIES", "1\r::error::injected")
            .usage("CRLOGIN_RETRIES holds a line break or another control character"),
        case("CRLOGIN_TIMEOUT zero", login)
            .static_key()
            .var("CRLOGIN_TIMEOUT", "0")
            .usage("for '--timeout <SECONDS>'"),
        case("CRLOGIN_TIMEOUT huge", login)
            .static_key()
            .var("CRLOGIN_TIMEOUT", huge_env())
            .usage("CRLOGIN_TIMEOUT is longer than 1000 bytes"),
        case("CRLOGIN_NO_CACHE not a boolean", login)
            .static_key()
            .var("CRLOGIN_NO_CACHE", "maybe")
            .usage("for '--no-cache'"),
        case("CRLOGIN_FOR unknown tool", &["login"])
            .static_key()
            .var("CRLOGIN_FOR", "docker,kubectl")
            .usage("invalid value 'kubectl' for '--for <TOOLS>'"),
        case("CRLOGIN_FROM_ENV not a prefix", login)
            .var("CRLOGIN_FROM_ENV", "A-B")
            .error("--from-env \"A-B\" is not a variable prefix"),
        case("CRLOGIN_FROM_ENV with a line break", login)
            .var("CRLOGIN_FROM_ENV", "DCR\n::add-mask::injected")
            .error("--from-env \"DCR\\n::add-mask::injected\" is not a variable prefix"),
        case(
            "CRLOGIN_CONFIG_DIR with a line break and ::add-mask::",
            login,
        )
        .dcr()
        .var("CRLOGIN_CONFIG_DIR", "{HOME}/dir\n::add-mask::injected")
        .error("is not one line of UTF-8 text: give --config-dir a plain path"),
        case("CRLOGIN_REGISTRIES with a line break", login)
            .static_key()
            .var(
                "CRLOGIN_REGISTRIES",
                "mirror.example.io\n::add-mask::injected",
            )
            .error("registry \"mirror.example.io\\n::add-mask::injected\" has a bad port"),
        case("CRLOGIN_VERIFY_TIMEOUT not a number", login)
            .dcr()
            .var("CRLOGIN_VERIFY_TIMEOUT", "soon")
            .usage("for '--verify-timeout <SECONDS>'"),
        case("CRLOGIN_ISOLATED not a boolean", login)
            .dcr()
            .var("CRLOGIN_ISOLATED", "yes please")
            .usage("for '--isolated'"),
    ]
}

/// Flags.
fn flag_rows() -> Vec<Case> {
    let login = &["login", "--for", "docker"];
    let mut rows = vec![
        case("--region unknown", login)
            .static_key()
            .arg("--region")
            .arg("mars-1")
            .error("unknown Nebius region \"mars-1\""),
        case("--region huge", login)
            .static_key()
            .arg("--region")
            .arg(huge_env())
            .error("unknown Nebius region"),
        case("--region not UTF-8", login)
            .static_key()
            .arg("--region")
            .arg(non_utf8())
            .usage("invalid UTF-8"),
        case("--region with a line break", login)
            .static_key()
            .arg("--region")
            .arg("eu-north1\n::add-mask::injected")
            .error("unknown Nebius region \"eu-north1\\n::add-mask::injected\""),
        case("--registry huge", login)
            .static_key()
            .arg("--registry")
            .arg(huge_env())
            .error("is not a valid host name"),
        case("--registry empty", login)
            .static_key()
            .arg("--registry")
            .arg("")
            .error("registry \"\" has no host"),
        case("--config-dir with a line break and ::add-mask::", login)
            .dcr()
            .arg("--config-dir")
            .arg("{HOME}/dir\n::add-mask::injected")
            .error("is not one line of UTF-8 text: give --config-dir a plain path"),
        case("--config-dir not UTF-8", login)
            .dcr()
            .arg("--config-dir")
            .arg(OsString::from_vec(b"{HOME}/dir\xff".to_vec()))
            .error("is not one line of UTF-8"),
        case("--config-dir huge", login)
            .dcr()
            .arg("--config-dir")
            .arg(OsString::from_vec(
                [b"{HOME}/".as_slice(), &huge(b'd', HUGE_ENV - 100)].concat(),
            ))
            .error("longer than"),
        case("--config-dir a file", login)
            .dcr()
            .arg("--config-dir")
            .arg("{HOME}/inputs/file")
            .file("inputs/file", b"x".to_vec())
            .error("config.json: not a directory: check the path"),
        case("--from-env empty", login)
            .arg("--from-env")
            .arg("")
            .error("is not a variable prefix"),
        case("--for unknown", &["login"])
            .dcr()
            .arg("--for")
            .arg("kubectl")
            .usage("invalid value 'kubectl' for '--for <TOOLS>'"),
        case("--timeout too long", login)
            .static_key()
            .arg("--timeout")
            .arg("601")
            .usage("for '--timeout <SECONDS>'"),
        case("an unknown flag with a line break", login)
            .static_key()
            .arg("--bogus\n::add-mask::injected")
            .usage("an argument holds a line break or another control character"),
        case("an unknown subcommand with \\r", &[])
            .arg("logon\r::error::injected")
            .usage("an argument holds a line break or another control character"),
        case(
            "k8s-secret --name with a line break",
            &["k8s-secret", "--region", "eu-north1"],
        )
        .static_key()
        .arg("--name")
        .arg("pull\n::add-mask::injected")
        .error("is not a valid Kubernetes name"),
        case(
            "k8s-secret --name not a name",
            &["k8s-secret", "--region", "eu-north1"],
        )
        .static_key()
        .arg("--name")
        .arg("Pull_Secret")
        .error("--name"),
    ];
    for (name, value) in INJECTIONS.iter().filter(|(_, v)| !v.contains(['\n', '\r'])) {
        rows.push(
            case(format!("--registry with {name}"), login)
                .static_key()
                .arg("--registry")
                .arg(value)
                .error("registry \""),
        );
    }
    rows
}

/// Where the auth files go: the tools' variables, and the base of `--isolated`.
fn auth_file_path_rows() -> Vec<Case> {
    let login = &["login", "--for", "docker"];
    vec![
        case("DOCKER_CONFIG with a line break and ::error::", login).dcr()
            .var("DOCKER_CONFIG", "{HOME}/docker\n::error::injected")
            .error("the docker auth file path \""),
        case("DOCKER_CONFIG with a legacy ##[error] command", login).dcr()
            .var("DOCKER_CONFIG", "{HOME}/##[error]injected")
            .accepted("a directory may be named so; on GitHub the report is printed with workflow commands stopped", |home, _| {
                let doc = read_json(&home.join("##[error]injected/config.json"));
                assert_eq!(doc["auths"]["dcr.example.io"]["auth"], json!(b64(&format!("alice:{}", password()))));
            }),
        case("HELM_REGISTRY_CONFIG not UTF-8", &["login", "--for", "helm"]).dcr()
            .var("HELM_REGISTRY_CONFIG", OsString::from_vec(b"{HOME}/helm\xff.json".to_vec()))
            .error("the helm auth file path \""),
        case("TMPDIR with a line break, for --isolated", &["login", "--isolated"]).dcr()
            .var("TMPDIR", "{HOME}/tmp\n::add-mask::injected")
            .error("the directory for --isolated path \""),
    ]
}

/// The existing auth file of each tool.
fn config_file_rows() -> Vec<Case> {
    let mut rows = Vec::new();
    let other = format!(
        r#"{{"auths": {{"other.example.io": {{"auth": "{}"}}}}}}"#,
        b64(&format!("bob:{}", other_auth()))
    );
    for (tool, path) in [
        ("docker", ".docker/config.json"),
        ("helm", ".config/helm/registry/config.json"),
        ("podman", ".config/containers/auth.json"),
    ] {
        let login = ["login", "--for", tool];
        let row = |what: &str| case(format!("{tool} {path} {what}"), &login).dcr();
        rows.extend([
            row("malformed")
                .secret_file(path, format!("{other},"))
                .error("is not valid JSON (trailing characters at line 1"),
            row("truncated")
                .secret_file(path, &other[..other.len() - 3])
                .error("is not valid JSON (EOF while parsing"),
            row("not UTF-8")
                .secret_file(path, [other.as_bytes(), b"\xff"].concat())
                .error("is not UTF-8 text: fix or remove it"),
            row("a JSON array")
                .file(path, "[]")
                .error("is not a JSON object: fix or remove it"),
            row("with auths an array")
                .file(path, r#"{"auths": []}"#)
                .error("its \"auths\" is not a JSON object"),
            row("nested 100 000 deep")
                .file(path, format!("{{\"x\":{}", "[".repeat(100_000)))
                .error("is not valid JSON (recursion limit exceeded"),
            row("huge and malformed")
                .file(path, huge(b'{', HUGE_FILE))
                .error("is not valid JSON"),
        ]);
    }
    let docker = ".docker/config.json";
    let login = &["login", "--for", "docker"];
    rows.extend([
        case("docker config.json empty", login)
            .dcr()
            .file(docker, Vec::new())
            .accepted(
                "an empty file is an empty config, as docker reads it",
                |home, _| logged_in_as(home, "alice", password()),
            ),
        case("docker config.json huge and valid", login)
            .dcr()
            .file(docker, huge_config())
            .accepted(
                "a big config is still the user's config: every entry is kept",
                |home, _| {
                    logged_in_as(home, "alice", password());
                    let doc = read_json(&home.join(".docker/config.json"));
                    assert_eq!(doc["auths"].as_object().unwrap().len(), 100_001);
                },
            ),
        case(
            "docker config.json with a credsStore named ::error::",
            &["login", "--for", "docker,helm"],
        )
        .dcr()
        // helm reads it too: a missing store's helper is warned about only where helm reads.
        .var("HELM_REGISTRY_CONFIG", format!("{{HOME}}/{docker}"))
        .file(docker, r#"{"credsStore": "x\n::error::injected"}"#)
        .accepted(
            "the file is the user's; the warning quotes the helper's name on one line",
            |home, out| {
                logged_in_as(home, "alice", password());
                assert!(
                    out.stderr
                        .contains(r#""credsStore": "x\n::error::injected" names"#),
                    "{out}"
                );
            },
        ),
        case(
            "docker config.json with a credHelpers entry named ::add-mask::",
            login,
        )
        .dcr()
        .file(
            docker,
            r#"{"credHelpers": {"dcr.example.io": "x\n::add-mask::injected"}}"#,
        )
        .accepted(
            "a helper that would shadow the login is removed, and named on one line",
            |home, out| {
                logged_in_as(home, "alice", password());
                assert!(
                    out.stderr.contains(r#"(helper "x\n::add-mask::injected")"#),
                    "{out}"
                );
            },
        ),
    ]);
    rows
}

/// Each tool's auth file, and the state `cleanup` reads, as something that is not a regular file
/// (reading it could block or never end) or too big to be one: refused before anything is
/// locked, read or written, by `login`, `logout`, `cleanup` and `configure-helper` alike.
fn special_file_rows() -> Vec<Case> {
    let mut rows = Vec::new();
    for (tool, path) in [
        ("docker", ".docker/config.json"),
        ("helm", ".config/helm/registry/config.json"),
        ("podman", ".config/containers/auth.json"),
    ] {
        let login = ["login", "--for", tool];
        let logout = ["logout", "--for", tool, "--region", "eu-north1"];
        rows.extend([
            case(format!("{tool} {path} a FIFO"), &login)
                .dcr()
                .fifo(path)
                .error("is a FIFO, not a regular file"),
            case(format!("{tool} {path} a FIFO, on logout"), &logout)
                .fifo(path)
                .error("is a FIFO, not a regular file"),
            case(format!("{tool} {path} a link to /dev/zero"), &login)
                .dcr()
                .link(path, "/dev/zero")
                .error("is a character device, not a regular file"),
            case(format!("{tool} {path} a directory"), &login)
                .dcr()
                .file(&format!("{path}/inside"), "x")
                .error("is a directory, not a regular file"),
            case(format!("{tool} {path} a link to nowhere"), &login)
                .dcr()
                .link(path, "missing/config.json")
                .error("is a symlink to nothing usable"),
        ]);
    }
    let mut over_cap = vec![b' '; 17 * 1024 * 1024];
    over_cap.extend_from_slice(b"{}");
    rows.extend([
        case(
            "docker config.json valid but over the 16 MiB cap",
            &["login", "--for", "docker"],
        )
        .dcr()
        .file(".docker/config.json", over_cap)
        .error("is larger than 16 MiB, which no auth file is"),
        case(
            "configure-helper into a FIFO",
            &[
                "configure-helper",
                "--for",
                "docker",
                "--region",
                "eu-north1",
            ],
        )
        .static_key()
        .fifo(".docker/config.json")
        .error("is a FIFO, not a regular file"),
        case("cleanup with a FIFO as the state file", &["cleanup"])
            .var("DOCKER_CONFIG", "{HOME}/cfg")
            .fifo("cfg/crlogin-state.json")
            .error("is a FIFO, not a regular file: remove it"),
        case("cleanup with a state file over 1 MiB", &["cleanup"])
            .var("DOCKER_CONFIG", "{HOME}/cfg")
            .file("cfg/crlogin-state.json", huge(b' ', 2 * 1024 * 1024))
            .error("larger than any state crlogin writes"),
        case(
            "CRLOGIN_LOCK_TIMEOUT not a number",
            &["login", "--for", "docker"],
        )
        .dcr()
        .var("CRLOGIN_LOCK_TIMEOUT", "forever")
        .usage("for '--lock-timeout <SECONDS>'"),
        case(
            "CRLOGIN_LOCK_TIMEOUT out of range",
            &["login", "--for", "docker"],
        )
        .dcr()
        .var("CRLOGIN_LOCK_TIMEOUT", "99999")
        .usage("for '--lock-timeout <SECONDS>'"),
        case(
            "CRLOGIN_LOCK_TIMEOUT with a line break and ::add-mask::",
            &["login", "--for", "docker"],
        )
        .dcr()
        .var("CRLOGIN_LOCK_TIMEOUT", "5\n::add-mask::injected")
        .usage("CRLOGIN_LOCK_TIMEOUT holds a line break or another control character"),
    ]);
    rows
}

/// A valid config.json of 10 MB or so: 100 000 other logins.
fn huge_config() -> Vec<u8> {
    let auths: serde_json::Map<String, Value> = (0..100_000)
        .map(|i| {
            (
                format!("r{i}.example.io"),
                json!({"auth": "eDp5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5"}),
            )
        })
        .collect();
    serde_json::to_vec(&json!({ "auths": auths })).unwrap()
}

/// The docker credential helper's stdin (`get` reads a server URL).
fn helper_rows() -> Vec<Case> {
    let get = &["credential-helper", "get"];
    let row = |what: &str| case(format!("credential-helper get: stdin {what}"), get).static_key();
    vec![
        row("not a host").stdin("not a host").not_found(),
        row("empty").stdin("").error("no credentials server URL"),
        row("huge")
            .stdin(huge(b'a', HUGE_FILE))
            .error("stdin holds more than 1 MiB"),
        row("not UTF-8")
            .stdin(b"cr.eu-north1.nebius.cloud\xff".to_vec())
            .error("stdin is not UTF-8 text"),
        row("with a line break and ::add-mask::")
            .stdin("cr.eu-north1.nebius.cloud\n::add-mask::injected")
            .not_found(),
        row("with a NUL")
            .stdin("cr.eu-north1.nebius.cloud\0")
            .not_found(),
        row("a URL with a quote and a backslash")
            .stdin("https://cr.eu-north1.nebius.cloud/\"x\\")
            .answers(
                "only the host is used; the protocol's answer repeats the URL, JSON-escaped",
                |_, out| {
                    helper_answered(Path::new("/"), out);
                    let answer: Value = serde_json::from_str(&out.stdout).unwrap();
                    assert_eq!(
                        answer["ServerURL"],
                        json!("https://cr.eu-north1.nebius.cloud/\"x\\")
                    );
                },
            ),
        case(
            "credential-helper store: stdin huge",
            &["credential-helper", "store"],
        )
        .stdin(huge(b'{', HUGE_FILE))
        .answers(
            "store is a no-op: crlogin stores nothing, and reads the request to its end",
            |_, out| {
                assert_eq!(out.stdout, "");
            },
        ),
        case(
            "credential-helper: an action with a line break",
            &["credential-helper"],
        )
        .arg("get\n::add-mask::injected")
        .error("Unknown credential action `get ::add-mask::injected`"),
    ]
}

/// The kubelet's CredentialProviderRequest on stdin.
fn kubelet_rows() -> Vec<Case> {
    let provider = &["kubelet-credential-provider"];
    let row =
        |what: &str| case(format!("kubelet-credential-provider: {what}"), provider).static_key();
    vec![
        row("stdin malformed")
            .stdin(&kubelet_request("x")[..40])
            .error("stdin is not JSON (line 1, column 40)"),
        row("stdin empty")
            .stdin("")
            .error("stdin is not JSON (line 1, column 0)"),
        row("stdin huge")
            .stdin(huge(b' ', HUGE_FILE))
            .error("stdin holds more than 1 MiB"),
        row("stdin not UTF-8")
            .stdin([kubelet_request("x").as_slice(), b"\xff"].concat())
            .error("stdin is not UTF-8 text"),
        row("stdin nested 100 000 deep")
            .stdin(format!("{{\"x\":{}", "[".repeat(100_000)))
            .error("stdin is not JSON"),
        row("another apiVersion")
            .stdin(
                String::from_utf8(kubelet_request("x"))
                    .unwrap()
                    .replace("/v1\"", "/v9\""),
            )
            .error("apiVersion is not one crlogin speaks"),
        row("no image")
            .stdin(String::from_utf8(kubelet_request("")).unwrap())
            .error("has no image"),
        row("an image whose host has ::error::")
            .stdin(kubelet_request("evil.example\n::error::injected/app"))
            .error("has a bad registry host"),
        row("an image not in a Nebius registry, huge")
            .stdin(kubelet_request(&"x".repeat(900_000)))
            .error("is not in a Nebius registry"),
        row("an image with quotes and a NUL after a Nebius host")
            .stdin(kubelet_request("cr.eu-north1.nebius.cloud/app\"}\0:v1"))
            .answers(
                "only the image's host counts; the response is built as JSON",
                kubelet_answered,
            ),
    ]
}

/// Every secret a row may hold: none may be shown outside `::add-mask::` lines (and the
/// answer of an accepted helper row).
fn canaries() -> Vec<String> {
    let mut secrets = Vec::new();
    for secret in [password(), static_key(), sa_token(), other_auth()] {
        secrets.extend(secret_forms(secret, None));
    }
    secrets.extend(secret_forms(password(), Some("alice")));
    secrets.extend(secret_forms(other_auth(), Some("bob")));
    // The huge password's start: 30 bytes (36 after "alice:"), a multiple of 3, so its base64 is
    // the start of the whole password's.
    let start = &huge_password()[..30];
    secrets.extend(secret_forms(start, None));
    secrets.extend(secret_forms(start, Some("alice")));
    secrets.extend(iam_server::keys().secret_lines());
    secrets
}

/// Runs one row in a fresh HOME, plainly or as GitHub Actions would.
fn run_case(case: &Case, github: bool) -> (Env, Tree, Out) {
    let env = Env::new();
    let home = env.home().as_os_str().as_bytes().to_vec();
    let expand = |value: &OsString| -> OsString {
        let bytes = value.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes;
        while let Some(at) = rest.windows(6).position(|w| w == b"{HOME}") {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(&home);
            rest = &rest[at + 6..];
        }
        out.extend_from_slice(rest);
        OsString::from_vec(out)
    };
    for (path, content) in &case.files {
        let path = env.home().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
    }
    for path in &case.secret_files {
        harness::audit::input(&env.home().join(path));
    }
    for (path, target) in &case.links {
        let path = env.home().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(env.home().join(target), &path).unwrap();
    }
    for path in &case.fifos {
        let path = env.home().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        harness::run(std::process::Command::new("mkfifo").arg(&path), None)
            .assert_success("mkfifo");
    }
    let before = Tree::of(env.home());
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    cmd.args(case.args.iter().map(&expand))
        .envs(case.vars.iter().map(|(k, v)| (k, expand(v))))
        .stdin(if case.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if github {
        cmd.env("GITHUB_ACTIONS", "true");
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    if let Some(input) = &case.stdin {
        // crlogin may stop reading early (a size limit): a broken pipe is fine then.
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    let output = child.wait_with_output().unwrap();
    harness::audit::output(&cmd, pid, &output.stdout, &output.stderr);
    let out = Out {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (env, before, out)
}

#[test]
fn every_bad_input_is_refused_clearly_or_rightly_accepted() {
    let rows = catalog();
    let secrets = canaries();
    let mut failures = Vec::new();
    // Each row's failed assertion is collected (all are reported at the end), not printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for row in &rows {
        for github in [false, true] {
            let (env, before, out) = run_case(row, github);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check(row, github, &env, &before, &out, &secrets)
            }));
            if let Err(panic) = result {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let mode = if github { " (GitHub Actions)" } else { "" };
                failures.push(format!("{}{mode}: {why}", row.what));
            }
        }
    }
    std::panic::set_hook(default_hook);
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
    eprintln!(
        "{} rows, each run plainly and on GitHub Actions",
        rows.len()
    );
}

fn check(row: &Case, github: bool, env: &Env, before: &Tree, out: &Out, secrets: &[String]) {
    let show = || truncate(&out.to_string());
    assert_ne!(out.status.code(), Some(101), "a panic: {}", show());
    assert!(!out.stderr.contains("panicked"), "a panic: {}", show());
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        show()
    );
    let masks = |line: &&str| !line.starts_with("::add-mask::");
    let answers = matches!(row.expect, Expect::Accepted { answers: true, .. });
    let shown: Vec<&str> = out
        .stderr
        .lines()
        .chain(out.stdout.lines().filter(|_| !answers))
        .filter(masks)
        .collect();
    for line in &shown {
        for secret in secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a secret was shown: {}",
                truncate(line)
            );
        }
        assert!(
            line.len() <= 2000,
            "a line of {} bytes: {}",
            line.len(),
            truncate(line)
        );
    }
    if github {
        assert_only_our_workflow_commands(out);
    }
    let error_lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("crlogin: error: ") || l.starts_with("::error title=crlogin::"))
        .collect();
    match &row.expect {
        Expect::Error(want) => {
            assert_eq!(out.status.code(), Some(1), "{}", show());
            assert_eq!(error_lines.len(), 1, "one error line: {}", show());
            if !github {
                assert!(error_lines[0].contains(want), "wanted {want:?}: {}", show());
                assert_eq!(
                    out.stderr.lines().count(),
                    1,
                    "nothing but the error: {}",
                    show()
                );
            }
            before.assert_unchanged(env.home(), &row.what);
        }
        Expect::Usage(want) => {
            assert_eq!(out.status.code(), Some(2), "{}", show());
            let first = out.stderr.lines().next().unwrap_or_default();
            assert!(
                first.contains(want),
                "wanted {want:?} in the first line: {}",
                show()
            );
            before.assert_unchanged(env.home(), &row.what);
        }
        Expect::NotFound => {
            assert_eq!(out.status.code(), Some(1), "{}", show());
            assert_eq!(out.stdout, format!("{HELPER_NOT_FOUND}\n"), "{}", show());
            before.assert_unchanged(env.home(), &row.what);
        }
        Expect::Accepted { why, check, .. } => {
            assert_eq!(
                out.status.code(),
                Some(0),
                "accepted because {why}: {}",
                show()
            );
            if !github {
                check(env.home(), out);
            }
        }
    }
}

/// On GitHub Actions the runner executes any line of either stream that starts (after
/// blanks) with `::`, and the legacy `##[` form: every such line must be one crlogin writes.
fn assert_only_our_workflow_commands(out: &Out) {
    const OURS: &[&str] = &[
        "::add-mask::",
        "::error title=crlogin::",
        "::warning title=crlogin::",
        "::group::crlogin ",
        "::endgroup::",
        "::stop-commands::crlogin",
    ];
    for stream in [&out.stdout, &out.stderr] {
        // Between `::stop-commands::TOKEN` and `::TOKEN::` the runner runs nothing.
        let mut resume: Option<String> = None;
        // The runner's lines end at LF, CR or CRLF.
        for line in stream.split(['\n', '\r']) {
            let command = line.trim_start();
            if let Some(token) = &resume {
                if command == format!("::{token}::") {
                    resume = None;
                }
                continue;
            }
            if let Some(token) = command.strip_prefix("::stop-commands::") {
                resume = Some(token.to_string());
            }
            if command.starts_with("::") {
                assert!(
                    OURS.iter().any(|ours| command.starts_with(ours)),
                    "a workflow command crlogin did not mean: {}",
                    truncate(line)
                );
            } else {
                // The legacy form counts anywhere in a line that is not a `::` command.
                assert!(
                    !line.contains("##["),
                    "a legacy workflow command: {}",
                    truncate(line)
                );
            }
        }
        assert!(resume.is_none(), "commands were stopped and never resumed");
    }
}

fn truncate(text: &str) -> String {
    if text.len() <= 3000 {
        return text.to_string();
    }
    let mut end = 3000;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}
