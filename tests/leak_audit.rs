//! The leak scanner (tests/leak_scan) and its self-check. The unit tests run in every
//! `cargo test`; `plant_leaks` and `scan` are run by scripts/leak-audit.sh: the first under the
//! audit with the suites (it leaks a canary into each kind of place through the real capture
//! path), the second afterwards, over everything recorded.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod leak_scan;

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use harness::{canary, run, Env};
use leak_scan::forms::Matcher;
use leak_scan::strace::Trace;
use leak_scan::targets::{self, classify, Hosts, Run};
use leak_scan::{Kind, Scan};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// A secret whose base64 has both `+` and `/` at some alignment.
const ODD: &str = "canary-selftest-~~~???>>>-4d2";

fn found(matcher: &Matcher, text: &[u8]) -> Vec<String> {
    matcher.find(text).iter().map(|n| n.form.clone()).collect()
}

#[test]
fn every_form_is_found_at_every_offset_in_both_alphabets_padded_or_not() {
    let matcher = Matcher::new(&[ODD.to_string()]);
    for prefix in ["", "a", "ab", "abc", "{\"k\":\"", "user:", "iam:"] {
        for suffix in ["", "x", "\"}"] {
            let plain = format!("{prefix}{ODD}{suffix}");
            for encoded in [
                STANDARD.encode(&plain),
                URL_SAFE.encode(&plain),
                URL_SAFE_NO_PAD.encode(&plain),
            ] {
                let text = format!("before {encoded} after");
                assert!(
                    !found(&matcher, text.as_bytes()).is_empty(),
                    "{prefix:?}+secret+{suffix:?} encoded as {encoded}"
                );
            }
        }
    }
    assert_eq!(found(&matcher, format!("x{ODD}y").as_bytes()), ["raw"]);
    // (A change in the last byte's lowest bits is invisible to some base64 alignments.)
    let near_miss = ODD.replace("selftest", "selftesu");
    assert!(found(&matcher, near_miss.as_bytes()).is_empty());
    assert!(found(&matcher, STANDARD.encode(&near_miss).as_bytes()).is_empty());
}

#[test]
fn a_secret_or_a_stray_canary_is_found_at_any_position() {
    let matcher = Matcher::new(&[ODD.to_string()]);
    let registered = BTreeMap::from([(ODD.to_string(), "canary odd".to_string())]);
    let pad = |n: usize| ".".repeat(n);
    for before in 0..40 {
        for after in 0..5 {
            let raw = format!("{}{ODD}{}", pad(before), pad(after));
            assert_eq!(found(&matcher, raw.as_bytes()), ["raw"], "{before}+{after}");
            let encoded = format!("{}{}", pad(before), STANDARD.encode(format!("ab{ODD}")));
            assert!(!found(&matcher, encoded.as_bytes()).is_empty(), "{before}");
            let stray = format!("{}canary-stray-1{}", pad(before), pad(after));
            assert_eq!(
                leak_scan::unregistered_canaries(stray.as_bytes(), &registered),
                ["canary-stray-1"],
                "{before}+{after}"
            );
        }
    }
    assert!(leak_scan::unregistered_canaries(b"canary", &registered).is_empty());
}

fn hosts(list: &str) -> Hosts {
    let mut hosts = Hosts::default();
    hosts.add(list);
    hosts
}

#[test]
fn auth_files_lose_only_the_credentials_of_intended_hosts() {
    let matcher = Matcher::new(&[ODD.to_string()]);
    let auth = STANDARD.encode(format!("alice:{ODD}"));
    let doc = json!({
        "auths": {
            "127.0.0.1:5000": {"auth": auth, "identitytoken": ODD},
            "cr.eu-north1.nebius.cloud": {"auth": auth, "password": ODD},
        },
        "credHelpers": {"gcr.io": "gcloud"},
    });
    let path = Path::new("/home/u/.docker/config.json");
    let clean = targets::file_text(
        path,
        doc.to_string().as_bytes(),
        &hosts("http://127.0.0.1:5000/v2"),
    );
    assert!(
        found(&matcher, &clean).is_empty(),
        "{}",
        String::from_utf8_lossy(&clean)
    );
    assert!(
        String::from_utf8_lossy(&clean).contains("gcloud"),
        "the rest is kept"
    );

    // The same entry for a host nobody named, or a secret in any other field, is a leak.
    for doc in [
        json!({"auths": {"elsewhere.example": {"auth": auth}}}),
        json!({"auths": {"127.0.0.1:5000": {"auth": "eDp5", "note": ODD}}}),
        json!({"auths": {"127.0.0.1:5000": {"auth": "eDp5"}}, "note": auth}),
    ] {
        let text = targets::file_text(path, doc.to_string().as_bytes(), &hosts("127.0.0.1:5000"));
        assert!(!found(&matcher, &text).is_empty(), "{doc}");
    }
    // Not JSON: scanned whole.
    let text = format!("{{\"auths\": {{\"127.0.0.1:5000\": {{\"auth\": \"{auth}\"");
    assert!(!found(
        &matcher,
        &targets::file_text(path, text.as_bytes(), &hosts("127.0.0.1:5000"))
    )
    .is_empty());
}

#[test]
fn the_token_cache_loses_only_its_access_token() {
    let matcher = Matcher::new(&[ODD.to_string()]);
    let doc = json!({"access_token": ODD, "expires_at": 1});
    let cache = Path::new("/c/crlogin/token-0123abcd.json");
    assert!(found(
        &matcher,
        &targets::file_text(cache, doc.to_string().as_bytes(), &Hosts::default())
    )
    .is_empty());
    for (path, doc) in [
        (Path::new("/c/elsewhere/token-0123abcd.json"), doc.clone()),
        (cache, json!({"access_token": "x", "note": ODD})),
    ] {
        let text = targets::file_text(path, doc.to_string().as_bytes(), &Hosts::default());
        assert!(
            !found(&matcher, &text).is_empty(),
            "{} {doc}",
            path.display()
        );
    }
}

fn argv(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

#[test]
fn crlogin_outputs_lose_only_what_their_protocol_hands_over() {
    let secrets = [ODD.to_string()];
    let matcher = Matcher::new(&secrets);
    let hosts = hosts("");
    let on_github = |line: &str, github: bool, text: &str| {
        let run = classify(&argv(line));
        let text = targets::output_text(&run, github, false, text.as_bytes(), &hosts, &secrets);
        found(&matcher, &text)
    };
    let mask = format!("::add-mask::{ODD}\nlogged in\n");
    assert!(on_github("/t/crlogin login", true, &mask).is_empty());
    assert!(
        !on_github("/t/crlogin login", false, &mask).is_empty(),
        "GitHub only"
    );
    assert!(
        !on_github("/usr/bin/skopeo copy", true, &mask).is_empty(),
        "crlogin only"
    );
    let scanned = |line: &str, stdout: bool, text: &str| {
        let run = classify(&argv(line));
        let text = targets::output_text(&run, false, stdout, text.as_bytes(), &hosts, &secrets);
        found(&matcher, &text)
    };
    assert!(scanned("crlogin --no-cache token", true, &format!("{ODD}\n")).is_empty());
    assert!(
        !scanned("crlogin token", false, &format!("{ODD}\n")).is_empty(),
        "stdout only"
    );
    assert!(
        !scanned("crlogin login", true, &format!("{ODD}\n")).is_empty(),
        "token only"
    );
    assert!(
        !scanned("crlogin token", true, &format!("token: {ODD}\n")).is_empty(),
        "whole line"
    );

    let get = json!({"ServerURL": "x", "Username": "iam", "Secret": ODD}).to_string();
    assert_eq!(
        classify(&argv("/h/bin/docker-credential-crlogin get")),
        Run::HelperGet
    );
    assert!(scanned("/h/bin/docker-credential-crlogin get", true, &get).is_empty());
    assert!(scanned("crlogin credential-helper get", true, &get).is_empty());
    assert!(!scanned("crlogin credential-helper list", true, &get).is_empty());

    let host = "cr.eu-north1.nebius.cloud";
    let kubelet = json!({"auth": {host: {"username": "iam", "password": ODD}}}).to_string();
    assert!(scanned("crlogin kubelet-credential-provider", true, &kubelet).is_empty());
    assert!(scanned("/p/crlogin-credential-provider", true, &kubelet).is_empty());
    let foreign = kubelet.replace(host, "ghcr.io");
    assert!(!scanned("crlogin kubelet-credential-provider", true, &foreign).is_empty());

    let config = json!({"auths": {host: {"username": "iam", "password": ODD,
        "auth": STANDARD.encode(format!("iam:{ODD}"))}}});
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\ndata:\n  .dockerconfigjson: {}\ntype: kubernetes.io/dockerconfigjson\n",
        STANDARD.encode(config.to_string())
    );
    assert!(scanned("crlogin k8s-secret --name p", true, &manifest).is_empty());
    let foreign = STANDARD.encode(config.to_string().replace(host, "ghcr.io"));
    let manifest = format!("data:\n  .dockerconfigjson: {foreign}\n");
    assert!(!scanned("crlogin k8s-secret --name p", true, &manifest).is_empty());
}

const LOG: &str = r#"100 execve("/w/target/debug/deps/e2e-0123456789abcdef", ["/w/target/debug/deps/e2e-0123456789abcdef"], 0x7ffd /* 35 vars */) = 0
100 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88 <unfinished ...>
101 execve("/w/target/debug/crlogin", ["crlogin", "login", "a\"b\\c\303\274\t\1z"], 0x55 /* 3 vars */ <unfinished ...>
100 <... clone3 resumed> => {parent_tid=[0]}, 88) = 101
101 <... execve resumed>) = 0
100 vfork() = 102
102 execve("/usr/bin/openssl", ["openssl", "genpkey"], 0x55 /* 3 vars */) = 0
101 openat(AT_FDCWD, "/h/.docker/.crlogin-x.tmp", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 4</tmp/x>
101 openat(3</h/.docker>, "config.json", O_RDONLY|O_CLOEXEC) = 5
101 openat(AT_FDCWD</h>, "rel.txt", O_WRONLY|O_CREAT, 0600) = 5</h/rel.txt>
101 openat(3</h/.docker>, "other.json", O_WRONLY|O_CREAT|O_TRUNC, 0600 <unfinished ...>
101 mkdirat(AT_FDCWD, "/h/.docker", 0700) = 0
101 renameat2(AT_FDCWD, "/h/.docker/.crlogin-x.tmp", AT_FDCWD, "/h/.docker/config.json", 0) = 0
103 execve("/bin/echo", ["echo", "cut"...], 0x55 /* 3 vars */) = 0
"#;

#[test]
fn strace_lines_parse_into_execs_parents_and_written_paths() {
    let trace = Trace::parse(LOG);
    let argv: Vec<&[u8]> = trace.execs[1].argv.iter().map(Vec::as_slice).collect();
    assert_eq!(argv, [&b"crlogin"[..], b"login", b"a\"b\\c\xc3\xbc\t\x01z"]);
    assert_eq!(trace.parent.get(&101), Some(&100));
    assert_eq!(trace.parent.get(&102), Some(&100));
    assert_eq!(trace.program(101), Some("/w/target/debug/crlogin"));
    let written: Vec<&str> = trace.written.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(
        written,
        [
            "/h/.docker/.crlogin-x.tmp",
            "/h/rel.txt",
            "/h/.docker/other.json",
            "/h/.docker/config.json"
        ]
    );
    assert_eq!(trace.mkdirs.len(), 1);
    assert_eq!(trace.truncated, 1);
}

/// Writes a small audit directory by hand: one test binary (pid 100) that started crlogin
/// (101, recorded) and `cat` (102, not recorded), a temp tree, an input file and a removed dir.
fn synthetic_audit(dir: &Path, leak: &str, planted: &str) {
    let tmp = dir.join("tmp");
    fs::create_dir_all(tmp.join("home/.docker")).unwrap();
    fs::create_dir_all(dir.join("records")).unwrap();
    fs::create_dir_all(dir.join("outputs")).unwrap();
    let out = |name: &str, text: &str| {
        let path = dir.join("outputs").join(name);
        fs::write(&path, text).unwrap();
        path
    };
    let stdout = out("1.stdout", "debug: canary-forgotten-1\n");
    let stderr = out("1.stderr", &format!("::add-mask::{leak}\nok\n"));
    let input = tmp.join("home/key.txt");
    fs::write(&input, leak).unwrap();
    fs::write(
        tmp.join("home/.docker/config.json"),
        json!({"auths": {"127.0.0.1:5000": {"auth": STANDARD.encode(format!("u:{leak}"))}}})
            .to_string(),
    )
    .unwrap();
    fs::write(
        tmp.join("home/debug.log"),
        format!("xx{}", URL_SAFE.encode(format!("ab{planted}"))),
    )
    .unwrap();
    let records = [
        json!({"secret": "canary real", "value": leak}),
        json!({"secret": "canary planted-file-x", "value": planted}),
        json!({"input": input}),
        json!({"host": "127.0.0.1:5000"}),
        json!({"output": {"pid": 101, "argv": ["crlogin", "login"], "registries": [], "github_actions": true, "stdout": stdout, "stderr": stderr}}),
    ];
    let lines: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    fs::write(dir.join("records/100-x.jsonl"), lines.join("\n")).unwrap();
    let log = format!(
        "100 execve(\"/w/target/debug/deps/e2e-0123456789abcdef\", [\"e2e\"], 0x1 /* 1 vars */) = 0\n\
         100 clone3({{flags=CLONE_VM}}, 88) = 101\n\
         101 execve(\"/w/target/debug/crlogin\", [\"crlogin\", \"login\"], 0x1 /* 1 vars */) = 0\n\
         100 clone3({{flags=CLONE_VM}}, 88) = 102\n\
         102 execve(\"/usr/bin/cat\", [\"cat\", \"--x={leak}\"], 0x1 /* 1 vars */) = 0\n\
         100 mkdir(\"{}\", 0700) = 0\n",
        tmp.join(".tmpGONE").display()
    );
    fs::write(dir.join("exec.log"), log).unwrap();
}

#[test]
fn a_synthetic_audit_reports_each_leak_each_plant_and_each_gap() {
    let dir = tempfile::tempdir().unwrap();
    let leak = canary("selftest-real");
    let planted = canary("planted-file-x");
    synthetic_audit(dir.path(), &leak, &planted);
    let report = Scan::new(dir.path()).run();
    let hits: Vec<(Kind, &str)> = report
        .hits
        .iter()
        .map(|h| (h.kind, h.form.as_str()))
        .collect();
    let unregistered = "raw, not registered: take it from harness::canary";
    assert_eq!(
        hits,
        [(Kind::Output, unregistered), (Kind::Argv, "raw")],
        "{}",
        report.summary()
    );
    assert_eq!(report.hits[0].secret, "canary-forgotten-1");
    assert!(
        report.hits[1].place.contains("/usr/bin/cat argv[1]"),
        "{}",
        report.summary()
    );
    assert_eq!(report.planted_hits.len(), 1, "{}", report.summary());
    assert_eq!(report.planted_hits[0].form, "base64@2");
    assert!(report.planted_missed.is_empty());
    assert_eq!(
        (report.outputs, report.files, report.inputs, report.argv),
        (2, 2, 1, 3)
    );
    let problems = report.problems.join("\n");
    assert!(
        problems.contains("1 run(s) of cat started by a test had their output unrecorded"),
        "{problems}"
    );
    assert!(
        problems.contains("1 temp dirs or files in the tests' TMPDIR were removed"),
        "{problems}"
    );
    assert!(!report.passed());
    assert!(
        report
            .summary()
            .starts_with("leak audit: 2 hits in 2 outputs, 2 files, 3 argv"),
        "{}",
        report.summary()
    );

    // Without the plant's file, the self-check says so.
    fs::remove_file(dir.path().join("tmp/home/debug.log")).unwrap();
    let report = Scan::new(dir.path()).run();
    assert_eq!(report.planted_missed, ["canary planted-file-x"]);
}

/// Under the audit: leaks a canary into each kind of place through the same capture path the
/// suites use, so the scan proves it finds them (see `scan`).
#[test]
#[ignore = "run by scripts/leak-audit.sh, under the audit"]
fn plant_leaks() {
    assert!(
        harness::audit::dir().is_some(),
        "run by scripts/leak-audit.sh (it sets {})",
        harness::audit::VAR
    );
    let env = Env::new();
    // stdout: cat copies its stdin (never scanned) to stdout.
    let stdout_leak = canary("planted-output-stdout");
    run(&mut env.command("cat"), Some(&stdout_leak)).assert_success("cat");
    // stderr, URL-safe base64 with the canary two bytes into the encoded text.
    let encoded = URL_SAFE.encode(format!("{{\"{}", canary("planted-output-base64url")));
    run(env.command("sh").args(["-c", "cat >&2"]), Some(&encoded)).assert_success("sh");
    // A child's argv.
    run(env.command("true").arg(canary("planted-argv-raw")), None).assert_success("true");
    // A file, raw.
    fs::write(env.home().join("debug.log"), canary("planted-file-raw")).unwrap();
    // An auth entry for a host no test named: base64("abc:" + canary), one byte off alignment.
    let auth = STANDARD.encode(format!("abc:{}", canary("planted-file-auth")));
    let doc = json!({"auths": {"unnamed.example": {"auth": auth}}});
    fs::write(env.home().join("config.json"), doc.to_string()).unwrap();
}

/// After the audited run: scans the directory in `CRLOGIN_LEAK_SCAN` and prints the summary.
#[test]
#[ignore = "run by scripts/leak-audit.sh after the audited suites"]
fn scan() {
    let dir = std::env::var_os("CRLOGIN_LEAK_SCAN")
        .expect("CRLOGIN_LEAK_SCAN=DIR names the audit directory (scripts/leak-audit.sh sets it)");
    let report = Scan::new(Path::new(&dir)).run();
    println!("{}", report.summary());
    assert!(report.passed(), "the leak audit failed (above)");
}
