//! Property tests of the two helpers as the clients run them: the `crlogin` binary with
//! arbitrary bytes on stdin (server URLs in every form, damaged requests, non-UTF-8, more than
//! the 1 MiB limit). Each run ends with the protocol's answer or its error (exit 0 or 1, never a
//! panic), and no secret appears anywhere but in a successful answer: neither the registry
//! password (`NEBIUS_IAM_TOKEN`, so nothing here needs an IAM server) nor a secret given on
//! stdin (`store`'s password, the kubelet's service-account token).
//!
//! `PROPTEST_CASES` raises the case counts; failures are kept in
//! `tests/helper_stdin_props.proptest-regressions` and replayed first.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use harness::{secret_forms, Env, Out};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

/// The registry password the helpers hand out.
const TOKEN: &str = "v1.PropCanaryRegistryToken-4f0b";
/// A secret that arrives on stdin (`store`'s password, the kubelet's service-account token).
const STDIN_SECRET: &str = "PropCanaryStdinSecret-91ac";
/// An extra host the helpers serve (`CRLOGIN_REGISTRIES`).
const EXTRA_HOST: &str = "127.0.0.1:5000";
const NOT_FOUND: &str = "credentials not found in native keychain\n";
const KUBELET_VERSIONS: [&str; 2] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
];

/// The proptest settings: `cases` cases, unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// The environment every run shares: a Nebius token and one extra served registry.
fn machine() -> Env {
    let mut env = Env::new();
    env.set("NEBIUS_IAM_TOKEN", TOKEN)
        .set("CRLOGIN_REGISTRIES", EXTRA_HOST);
    env
}

/// Runs `crlogin ARGS` with `stdin` as raw bytes. The writer runs in its own thread and may
/// find the pipe closed: crlogin stops reading past its limit.
fn crlogin(env: &Env, args: &[&str], stdin: &[u8]) -> Out {
    let mut child = env
        .command(env!("CARGO_BIN_EXE_crlogin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Out {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The hosts the helper serves, as its own `list` answers.
fn served_hosts(env: &Env) -> Vec<String> {
    let out = crlogin(env, &["credential-helper", "list"], b"");
    out.assert_success("list");
    let list: BTreeMap<String, String> = serde_json::from_str(&out.stdout).unwrap();
    list.into_keys().collect()
}

/// Fails unless `out` ended as a helper should: exit 0 or 1, no panic, and `secret` in
/// neither stream (stdout is checked only when `stdout_too`).
fn assert_clean_exit(out: &Out, secret: &str, stdout_too: bool) {
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    for form in secret_forms(secret, None) {
        assert!(!out.stderr.contains(&form), "stderr shows a secret: {out}");
        assert!(
            !(stdout_too && out.stdout.contains(&form)),
            "stdout shows a secret: {out}"
        );
    }
}

/// The `get` answer, as docker-credential-helpers' `Credentials` is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// A `CredentialProviderResponse`, as k8s.io/kubelet/pkg/apis/credentialprovider/v1 defines it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Response {
    api_version: String,
    kind: String,
    cache_key_type: String,
    cache_duration: Option<String>,
    auth: BTreeMap<String, BTreeMap<String, String>>,
}

/// A host: one the helper serves (by index into its list, in any letter case) or another.
fn host_pick() -> impl Strategy<Value = (Option<usize>, String)> {
    prop_oneof![
        3 => (0usize..7, any::<bool>()).prop_map(|(i, upper)| (Some(i), if upper { "UPPER" } else { "" }.to_string())),
        1 => "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,8}){1,2}(:[0-9]{1,5})?".prop_map(|h| (None, h)),
    ]
}

/// Resolves a [`host_pick`] against the served list: the host to write, and whether it is served.
fn resolve(served: &[String], (index, text): &(Option<usize>, String)) -> (String, bool) {
    match index {
        Some(i) => {
            let host = &served[i % served.len()];
            let host = if text == "UPPER" {
                host.to_ascii_uppercase()
            } else {
                host.clone()
            };
            (host, true)
        }
        None => (text.clone(), served.contains(text)),
    }
}

/// Bytes that are not a request: any, non-UTF-8, blank, or more than the 1 MiB limit.
fn junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        any::<String>().prop_map(String::into_bytes),
        "[ \t\r\n]{0,4}".prop_map(String::into_bytes),
        (any::<u8>(), 1024usize * 1024 - 2..1024 * 1024 + 3)
            .prop_map(|(b, n)| vec![b'a' ^ (b & 1); n]),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// `get`: a served host in any URL form gets the answer; any other input gets "not found"
    /// or the protocol's one-line error, never the password.
    #[test]
    fn get_answers_served_hosts_and_refuses_anything_else(
        pick in host_pick(),
        scheme in prop::sample::select(vec!["", "https://", "http://"]),
        path in "(/v[12]/?|/[a-z0-9/]{1,10})?",
        space in "[ \t\r\n]{0,2}",
        junk in prop::option::weighted(0.4, junk()),
    ) {
        let env = machine();
        let served = served_hosts(&env);
        let (host, is_served) = resolve(&served, &pick);
        let url = format!("{space}{scheme}{host}{path}{space}");
        let stdin = junk.clone().unwrap_or_else(|| url.clone().into_bytes());
        let out = crlogin(&env, &["credential-helper", "get"], &stdin);
        let ok = out.status.success();
        assert_clean_exit(&out, TOKEN, !ok);
        if ok {
            let answer: Credentials = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
            prop_assert_eq!(answer.username, "iam");
            prop_assert_eq!(answer.secret, TOKEN);
            let text = std::str::from_utf8(&stdin).unwrap();
            prop_assert_eq!(answer.server_url.as_str(), text.trim());
        } else {
            prop_assert!(out.stdout == NOT_FOUND || out.stdout.starts_with("crlogin: ") && out.stdout.lines().count() == 1, "{}", out);
        }
        match junk {
            None => prop_assert_eq!(ok, is_served, "{}", out),
            Some(bytes) if bytes.len() > 1024 * 1024 => prop_assert!(out.stdout.contains("more than 1 MiB"), "{}", out),
            Some(bytes) if std::str::from_utf8(&bytes).is_err() => prop_assert!(out.stdout.contains("not UTF-8"), "{}", out),
            Some(bytes) if bytes.trim_ascii().is_empty() => prop_assert!(out.stdout.contains("no credentials server URL"), "{}", out),
            Some(_) => {}
        }
    }

    /// `store` and `erase`: whatever comes in (a password, or junk) is read and forgotten.
    #[test]
    fn store_and_erase_forget_what_they_are_given(
        action in prop::sample::select(vec!["store", "erase"]),
        stdin in prop_oneof![
            Just(json!({"ServerURL": "cr.eu-north1.nebius.cloud", "Username": "u", "Secret": STDIN_SECRET}).to_string().into_bytes()),
            junk().prop_map(|mut b| { b.extend_from_slice(STDIN_SECRET.as_bytes()); b }),
        ],
    ) {
        let env = machine();
        let out = crlogin(&env, &["credential-helper", action], &stdin);
        out.assert_success(action);
        prop_assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
        harness::assert_no_leak(STDIN_SECRET, &secret_forms(STDIN_SECRET, None), &[], env.home(), &[]);
    }

    /// The kubelet provider: a request for a served image gets a response in the request's
    /// apiVersion with the image host's credentials; anything else gets one error line on
    /// stderr and nothing on stdout. Neither shows the service-account token.
    #[test]
    fn kubelet_requests_get_a_response_or_one_error_line(
        version in prop::sample::select(KUBELET_VERSIONS.to_vec()),
        pick in host_pick(),
        path in "/[a-z0-9]{1,8}(/[a-z0-9]{1,8})?(:[a-z0-9.]{1,8}|@sha256:[0-9a-f]{64})?",
        extra in prop::collection::btree_map("[a-zA-Z]{1,10}", any::<String>(), 0..4),
        cut in prop::option::weighted(0.2, 0.0f64..1.0),
        junk in prop::option::weighted(0.2, junk()),
    ) {
        let env = machine();
        let served = served_hosts(&env);
        let (host, is_served) = resolve(&served, &pick);
        let mut request = json!({
            "kind": "CredentialProviderRequest",
            "image": format!("{host}{path}"),
            "serviceAccountToken": STDIN_SECRET,
            "serviceAccountAnnotations": {"nebius.com/key": STDIN_SECRET},
        });
        for (k, v) in extra {
            request[k] = json!(v);
        }
        request["apiVersion"] = json!(version);
        let text = request.to_string();
        let stdin = match (&junk, cut) {
            (Some(bytes), _) => bytes.clone(),
            (None, Some(at)) => text.as_bytes()[..(text.len() as f64 * at) as usize].to_vec(),
            (None, None) => text.into_bytes(),
        };
        let out = crlogin(&env, &["kubelet-credential-provider"], &stdin);
        let ok = out.status.success();
        assert_clean_exit(&out, TOKEN, !ok);
        assert_clean_exit(&out, STDIN_SECRET, true);
        if ok {
            let response: Response = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
            prop_assert_eq!(response.api_version, version);
            prop_assert_eq!(response.kind, "CredentialProviderResponse");
            prop_assert_eq!(response.cache_key_type, "Registry");
            prop_assert_eq!(response.cache_duration.as_deref(), Some("5m0s"));
            let want = BTreeMap::from([(host.to_ascii_lowercase(), BTreeMap::from([
                ("username".to_string(), "iam".to_string()),
                ("password".to_string(), TOKEN.to_string()),
            ]))]);
            prop_assert_eq!(response.auth, want);
            prop_assert_eq!(out.stderr.as_str(), "");
        } else {
            prop_assert_eq!(out.stdout.as_str(), "", "an error wrote to stdout");
            prop_assert!(out.stderr.starts_with("crlogin: error: ") && out.stderr.lines().count() == 1, "{}", out);
        }
        if junk.is_none() && cut.is_none() {
            prop_assert_eq!(ok, is_served, "{}", out);
        }
    }
}

/// A request whose value is JSON but not an object is refused like any other non-request.
#[test]
fn a_json_value_that_is_not_a_request_is_refused() {
    let env = machine();
    for stdin in ["null", "[]", "\"x\"", "7", r#"{"kind":null}"#] {
        let out = crlogin(&env, &["kubelet-credential-provider"], stdin.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{stdin}: {out}");
        assert_eq!(out.stdout, "", "{stdin}");
    }
}
