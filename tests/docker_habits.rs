//! What a `docker login` user expects, against the CNCF distribution registry on loopback and
//! read back by the real docker CLI and skopeo: `--verify` refuses a wrong password before
//! anything is written (no file, no isolated directory, no state, no "logged in" line, a job
//! summary saying what failed); `crlogin login -u USER --password-stdin REGISTRY` and
//! `crlogin logout REGISTRY` work as docker's do, with the registry written as a URL too; `-p`
//! is refused. Every secret is a canary checked to leak nowhere.
// Unix only (modes, Linux servers and clients).
#![cfg(unix)]

mod harness;

use harness::{assert_no_leak, canary, require_tool, run, secret_forms, seeded_registry, Env, Out};
use std::fs;
use std::path::{Path, PathBuf};

/// The three tools' files under `home` (no DOCKER_CONFIG, XDG_* or REGISTRY_AUTH_FILE set).
fn home_files(home: &Path) -> [PathBuf; 3] {
    [
        home.join(".docker/config.json"),
        home.join(".config/helm/registry/config.json"),
        home.join(".config/containers/auth.json"),
    ]
}

/// The `auths` entry for `host` in `file`, if the file and the entry exist.
fn entry(file: &Path, host: &str) -> Option<serde_json::Value> {
    let text = fs::read(file).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
    doc["auths"].get(host).cloned()
}

/// `crlogin login -u alice --password-stdin REGISTRY EXTRA...` with `password` on stdin.
fn stdin_login(env: &Env, registry: &str, password: &str, extra: &[&str]) -> Out {
    let mut args = vec!["login", "-u", "alice", "--password-stdin", registry];
    args.extend(extra);
    env.crlogin(args).stdin(password).run()
}

/// Neither `secret` (alice's) nor its encoded forms in `outputs` or in any file under `home`.
fn no_leak(secret: &str, outputs: &[&str], home: &Path) {
    assert_no_leak(
        secret,
        &secret_forms(secret, Some("alice")),
        outputs,
        home,
        &[],
    );
}

/// Whatever is under `dir`, as relative paths (what a failed login must not have added to).
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
        found.push(path.strip_prefix(dir).unwrap().display().to_string());
    }
    found.sort();
    found
}

/// `docker manifest inspect --insecure` of the seeded image, with the docker CLI reading
/// whatever config crlogin wrote under HOME.
fn docker_reads(env: &Env, host: &str) -> Out {
    require_tool("docker");
    run(
        env.command("docker").args([
            "manifest",
            "inspect",
            "--insecure",
            &format!("{host}/team/app:v1"),
        ]),
        None,
    )
}

/// `skopeo inspect` of the seeded image, with skopeo reading podman's file under HOME.
fn skopeo_reads(env: &Env, host: &str) -> Out {
    run(
        env.command(require_tool("skopeo")).args([
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!("docker://{host}/team/app:v1"),
        ]),
        None,
    )
}

#[test]
fn a_wrong_password_with_verify_writes_nothing_and_the_summary_says_why() {
    let env_for_seed = Env::new();
    let right = canary("habits-right");
    let (registry, _seed) = seeded_registry(&env_for_seed, "alice", &right);
    let wrong = canary("habits-wrong");
    let mut env = Env::new();
    let gh = env.home().join("gh");
    fs::create_dir(&gh).unwrap();
    let files: Vec<PathBuf> = ["output", "state", "summary", "env"]
        .iter()
        .map(|f| gh.join(f))
        .collect();
    for f in &files {
        fs::write(f, "").unwrap();
    }
    let home = env.home().display().to_string();
    env.set("GITHUB_ACTIONS", "true")
        .set("RUNNER_TEMP", home)
        .set("GITHUB_OUTPUT", files[0].display().to_string())
        .set("GITHUB_STATE", files[1].display().to_string())
        .set("GITHUB_STEP_SUMMARY", files[2].display().to_string())
        .set("GITHUB_ENV", files[3].display().to_string())
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", &wrong)
        .set("DCR_REGISTRY", format!("https://{}/team", registry.host()));
    let before = tree(env.home());
    let login = env.crlogin(["login", "--isolated", "--verify"]).run();
    login.assert_failure("login --isolated --verify with a wrong password");
    assert_eq!(login.status.code(), Some(1), "{login}");
    assert!(
        login.stderr.contains("rejected the credential (HTTP 401")
            && login.stderr.contains("nothing was written"),
        "{login}"
    );
    assert!(!login.stderr.contains("logged in"), "{login}");
    assert!(login.stdout.is_empty(), "{login}");
    // No file, no isolated directory, no output, state or exported variable.
    assert_eq!(tree(env.home()), before, "{login}");
    for f in [&files[0], &files[1], &files[3]] {
        assert_eq!(fs::read_to_string(f).unwrap(), "", "{}", f.display());
    }
    let summary = fs::read_to_string(&files[2]).unwrap();
    assert!(
        summary.contains("login failed, nothing was written")
            && summary.contains(&format!("| {} | ", registry.host()))
            && summary.contains("rejected the credential"),
        "{summary}"
    );
    // cleanup then finds nothing to undo, and says so without an error.
    let cleanup = env.crlogin(["cleanup"]).run();
    cleanup.assert_success("cleanup after a refused login");
    assert!(cleanup.stderr.contains("nothing to clean up"), "{cleanup}");
    // On GitHub the secret appears once, in the ::add-mask:: line that hides it, and nowhere else.
    assert_eq!(
        harness::github_log::runner_masks(&login.stderr),
        std::slice::from_ref(&wrong)
    );
    let unmasked: String = login
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    no_leak(
        &wrong,
        &[&login.stdout, &unmasked, &cleanup.stderr],
        env.home(),
    );
}

#[test]
fn password_stdin_and_logout_work_as_dockers_for_docker_skopeo_and_helm() {
    let mut env = Env::new();
    let secret = canary("habits-stdin");
    let (registry, _seed) = seeded_registry(&env, "alice", &secret);
    let host = registry.host();
    // Before: the clients are refused (so the reads below prove the login).
    docker_reads(&env, &host).assert_failure("docker without a login");

    // The registry as docker takes it: a URL with a path; the password on stdin with a newline.
    let url = format!("http://{host}/team/");
    // A variable the environment would otherwise log in with is not used: -u names the login.
    env.set("DCR_USERNAME", "bob").set("DCR_PASSWORD", "unused");
    env.set("DCR_REGISTRY", "other.example");
    let login = env
        .crlogin(["login", "-u", "alice", "--password-stdin", &url, "--verify"])
        .stdin(&format!("{secret}\n"))
        .run();
    login.assert_success("login -u alice --password-stdin URL");
    assert!(
        login.stderr.contains(&format!("verified {host}")),
        "{login}"
    );
    let files = home_files(env.home());
    let auth = secret_forms(&secret, Some("alice")).pop().unwrap();
    for file in &files {
        let got = entry(file, &host).unwrap_or_else(|| panic!("{}: {login}", file.display()));
        assert!(
            got["auth"].as_str().unwrap().starts_with(&auth),
            "{}",
            file.display()
        );
        assert!(entry(file, "other.example").is_none(), "{}", file.display());
    }
    let docker = docker_reads(&env, &host);
    docker.assert_success("docker manifest inspect with crlogin's docker file");
    assert!(
        docker
            .stdout
            .contains("application/vnd.oci.image.manifest.v1+json"),
        "{docker}"
    );
    let skopeo = skopeo_reads(&env, &host);
    skopeo.assert_success("skopeo inspect with crlogin's podman file");
    assert!(skopeo.stdout.starts_with("sha256:"), "{skopeo}");
    harness::helm::push_and_pull_chart(&env, &files[1], &host, "with crlogin's helm file");

    // `crlogin logout URL` removes the entry from every tool's file, as docker logout does.
    let logout = env.crlogin(["logout", &format!("https://{host}")]).run();
    logout.assert_success("logout URL");
    for file in &files {
        assert!(entry(file, &host).is_none(), "{}: {logout}", file.display());
    }
    docker_reads(&env, &host).assert_failure("docker after logout");

    no_leak(
        &secret,
        &[&login.stdout, &login.stderr, &logout.stdout, &logout.stderr],
        env.home(),
    );
}

#[test]
fn a_password_on_the_command_line_is_refused_in_one_line_with_nothing_written() {
    let env = Env::new();
    // Not a canary: the leak audit records argv, where this one is on purpose.
    let secret = "pw-given-on-the-command-line".to_string();
    let out = env
        .crlogin(["login", "-u", "alice", "-p", &secret, "127.0.0.1:5000"])
        .run();
    out.assert_failure("login -p");
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("--password-stdin"), "{out}");
    assert_eq!(tree(env.home()), [""], "{out}");
    no_leak(&secret, &[&out.stdout, &out.stderr], env.home());
}

#[test]
fn a_wrong_password_on_stdin_with_verify_writes_nothing() {
    let env = Env::new();
    let right = canary("habits-right2");
    let (registry, _seed) = seeded_registry(&env, "alice", &right);
    let wrong = canary("habits-wrong2");
    let host = registry.host();
    let login = stdin_login(&env, &host, &wrong, &["--verify"]);
    login.assert_failure("login --password-stdin --verify with a wrong password");
    for file in home_files(env.home()) {
        assert!(!file.exists(), "{}: {login}", file.display());
    }
    no_leak(&wrong, &[&login.stdout, &login.stderr], env.home());
}

#[test]
fn docker_hubs_url_is_docker_hub_in_each_tools_own_key() {
    let env = Env::new();
    let secret = canary("habits-hub");
    let login = stdin_login(&env, "https://index.docker.io/v1/", &secret, &[]);
    login.assert_success("login -u --password-stdin https://index.docker.io/v1/");
    let [docker, helm, podman] = home_files(env.home());
    let auth = secret_forms(&secret, Some("alice")).pop().unwrap();
    for (file, key) in [
        (&docker, "https://index.docker.io/v1/"),
        (&helm, "docker.io"),
        (&podman, "docker.io"),
    ] {
        let got = entry(file, key).unwrap_or_else(|| panic!("{}: {login}", file.display()));
        assert!(
            got["auth"].as_str().unwrap().starts_with(&auth),
            "{}",
            file.display()
        );
    }
    let logout = env.crlogin(["logout", "docker.io"]).run();
    logout.assert_success("logout docker.io");
    for file in [&docker, &helm, &podman] {
        let doc: serde_json::Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        assert_eq!(
            doc["auths"].as_object().map_or(0, |a| a.len()),
            0,
            "{}",
            file.display()
        );
    }
    no_leak(
        &secret,
        &[&login.stdout, &login.stderr, &logout.stderr],
        env.home(),
    );
}

/// A loopback stand-in answering its plain-HTTP requests with `answers` in order (a status line
/// and any extra headers), then closing; crlogin's HTTPS tries get a 400 so it falls back to
/// plain HTTP, as for any loopback registry. Yields how many HTTP requests it answered.
fn scripted_registry(answers: &[&'static str]) -> (String, std::thread::JoinHandle<usize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    // Credentials are meant for this host: the leak audit reads its auth-file entries as targets.
    harness::audit::host(&host);
    let answers = answers.to_vec();
    let handle = std::thread::spawn(move || {
        let mut answered = 0;
        while answered < answers.len() {
            let mut stream = listener.accept().unwrap().0;
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.fill_buf().unwrap().first() == Some(&0x16) {
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let answer = answers[answered];
            write!(
                stream,
                "HTTP/1.1 {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            answered += 1;
        }
        answered
    });
    (host, handle)
}

#[test]
fn a_busy_registry_is_asked_again_before_anything_is_written() {
    // 503 with Retry-After, then 429, then the registry answers: the login is written once.
    let (host, server) = scripted_registry(&[
        "503 Service Unavailable\r\nRetry-After: 1",
        "429 Too Many Requests",
        "200 OK",
    ]);
    let env = Env::new();
    let secret = canary("habits-busy");
    let login = stdin_login(&env, &host, &secret, &["--verify"]);
    login.assert_success("login --verify against a registry busy twice");
    assert_eq!(server.join().unwrap(), 3, "{login}");
    assert!(
        login.stderr.contains(&format!("verified {host}")),
        "{login}"
    );
    assert!(
        entry(&home_files(env.home())[0], &host).is_some(),
        "{login}"
    );

    // Busy on every attempt: after --retries, the login fails with nothing written.
    let (host, server) = scripted_registry(&["503 Service Unavailable", "502 Bad Gateway"]);
    let env = Env::new();
    let out = stdin_login(&env, &host, &secret, &["--verify", "--retries", "1"]);
    out.assert_failure("login --verify against a registry busy every time");
    assert_eq!(server.join().unwrap(), 2, "{out}");
    assert!(
        out.stderr.contains("answered HTTP 502 Bad Gateway")
            && out.stderr.contains("gave up after 2 attempts")
            && out.stderr.contains("nothing was written"),
        "{out}"
    );
    assert_eq!(tree(env.home()), [""], "{out}");
    no_leak(
        &secret,
        &[&login.stdout, &login.stderr, &out.stdout, &out.stderr],
        env.home(),
    );
}
