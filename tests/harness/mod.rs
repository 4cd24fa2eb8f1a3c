//! Integration test harness: a real CNCF distribution registry on loopback (htpasswd auth, plain
//! HTTP or TLS with a test CA), a minimal OCI image layout, real clients (skopeo) and the
//! `crlogin` binary run from a cleared environment, and a secret-leak check.
//!
//! Every server listens on 127.0.0.1 on a free port and is killed (and waited for) on drop;
//! every file lives under a `tempfile::TempDir`. Nothing sleeps: the registry is ready when its
//! own log says "listening on". A missing tool fails the test and says how to install it.
//!
//! Under `scripts/leak-audit.sh` ([`audit`]) every process's output is recorded and every temp
//! dir kept for the leak scan; tests take their secrets from [`canary`].
#![allow(dead_code)]

pub mod audit;
pub mod github_log;
pub mod helm;
#[allow(unused_imports)] // Not every test binary uses both.
pub use audit::{canary, temp_dir};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tempfile::TempDir;

/// How long the registry may take to log "listening on" before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Finds `tool` on PATH, or fails the test saying how to install it (never skips).
pub fn require_tool(tool: &str) -> PathBuf {
    which::which(tool).unwrap_or_else(|_| {
        panic!(
            "`{tool}` is not installed, and this test needs it. Run `.ci/run` (or \
             `bash scripts/install-deps.sh`), which installs the Debian packages \
             docker-registry, apache2-utils, skopeo and openssl"
        )
    })
}

/// What one process printed, and how it ended.
#[derive(Debug)]
pub struct Out {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stdout (lossy UTF-8).
    pub stdout: String,
    /// Everything written to stderr (lossy UTF-8).
    pub stderr: String,
}

impl Out {
    /// Whether the process exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Fails the test, showing both streams, unless the process succeeded.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(self.success(), "{what}: expected success, got {self}");
        self
    }

    /// Fails the test, showing both streams, unless the process failed.
    pub fn assert_failure(&self, what: &str) -> &Self {
        assert!(!self.success(), "{what}: expected failure, got {self}");
        self
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion with `stdin` (or no stdin at all), capturing both output streams.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Out {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id();
    if let Some(input) = stdin {
        // Dropping the handle at the end of this statement closes the pipe.
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    audit::output(cmd, pid, &out.stdout, &out.stderr);
    Out {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A cleared environment for one test's processes: only PATH, HOME and TMPDIR (both a fresh
/// temp dir) and the variables set with [`Env::set`].
pub struct Env {
    home: TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    /// A new environment with an empty temp HOME.
    pub fn new() -> Env {
        Env {
            home: temp_dir(),
            vars: Vec::new(),
        }
    }

    /// The temp HOME (also TMPDIR); removed on drop.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Sets `name=value` for every later command (a later set of the same name wins).
    pub fn set(&mut self, name: &str, value: impl AsRef<str>) -> &mut Env {
        self.vars
            .push((name.to_string(), value.as_ref().to_string()));
        self
    }

    /// Leaves `name` out of every later command.
    pub fn unset(&mut self, name: &str) -> &mut Env {
        self.vars.retain(|(k, _)| k != name);
        self
    }

    /// A command for `program` in this environment (nothing inherited but PATH).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("TMPDIR", self.home())
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// A builder for one run of the `crlogin` binary under test in this environment.
    pub fn crlogin<I, S>(&self, args: I) -> Crlogin
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_crlogin"));
        // Under the leak audit, crlogin runs with a proxy set (scripts/leak-audit.sh records what
        // reaches it); a test's own proxy variables still win.
        if let Some(proxy) = std::env::var_os(audit::PROXY_VAR) {
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                if !self.vars.iter().any(|(k, _)| k == name) {
                    cmd.env(name, &proxy);
                }
            }
        }
        cmd.args(args);
        Crlogin { cmd, stdin: None }
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

/// One run of the binary under test; see [`Env::crlogin`].
pub struct Crlogin {
    cmd: Command,
    stdin: Option<String>,
}

impl Crlogin {
    /// Sets a variable for this run only.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Crlogin {
        self.cmd.env(name, value);
        self
    }

    /// Feeds `input` on stdin (otherwise stdin is /dev/null).
    pub fn stdin(mut self, input: &str) -> Crlogin {
        self.stdin = Some(input.to_string());
        self
    }

    /// Runs crlogin to completion and captures its output.
    pub fn run(mut self) -> Out {
        run(&mut self.cmd, self.stdin.as_deref())
    }
}

/// How the registry authenticates clients.
pub enum Auth {
    /// Anyone may push and pull.
    None,
    /// HTTP basic auth against an htpasswd file of these (user, password) pairs (bcrypt).
    Htpasswd { users: Vec<(String, String)> },
}

impl Auth {
    /// Htpasswd auth with a single user.
    pub fn user(user: &str, password: &str) -> Auth {
        Auth::Htpasswd {
            users: vec![(user.to_string(), password.to_string())],
        }
    }
}

/// A running CNCF distribution registry (`docker-registry serve`) on 127.0.0.1; killed on drop.
pub struct Registry {
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
    port: u16,
    tls: bool,
    // Last, so it is removed after the registry has stopped.
    dir: TempDir,
}

impl Registry {
    /// Starts a plain-HTTP registry.
    pub fn start(auth: Auth) -> Registry {
        Registry::launch(auth, false)
    }

    /// Starts an HTTPS registry whose certificate (for 127.0.0.1 and localhost) is signed by a
    /// fresh test CA, found at [`Registry::ca_pem_path`] and in [`Registry::cert_dir`].
    pub fn start_tls(auth: Auth) -> Registry {
        Registry::launch(auth, true)
    }

    fn launch(auth: Auth, tls: bool) -> Registry {
        let binary = require_tool("docker-registry");
        let dir = temp_dir();
        let root = dir.path();
        let q = |p: PathBuf| serde_json::to_string(&p).unwrap(); // a JSON string is valid YAML
        let mut http_tls = String::new();
        if tls {
            write_test_pki(root);
            http_tls = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                q(root.join("server.pem")),
                q(root.join("server-key.pem"))
            );
        }
        let auth_yaml = match auth {
            Auth::None => String::new(),
            Auth::Htpasswd { users } => {
                write_htpasswd(&root.join("htpasswd"), &users);
                let path = q(root.join("htpasswd"));
                format!("auth:\n  htpasswd:\n    realm: crlogin-test\n    path: {path}\n")
            }
        };
        // A free port can be taken between our probe and the registry's bind: retry then.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let data = q(root.join("data"));
            let config = format!(
                "version: 0.1\nlog:\n  level: info\n\
                 storage:\n  filesystem:\n    rootdirectory: {data}\n\
                 http:\n  addr: 127.0.0.1:{port}\n{http_tls}{auth_yaml}"
            );
            fs::write(root.join("config.yml"), config).unwrap();
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(root.join("config.yml"))
                .env_clear()
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let (ready_tx, ready_rx) = mpsc::channel();
            let log = Arc::new(Mutex::new(String::new()));
            let stderr = child.stderr.take().unwrap();
            let sink = Arc::clone(&log);
            // Drains stderr for the registry's whole life, so its pipe never fills up.
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let ready = line.contains("msg=\"listening on ");
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                    drop(log);
                    if ready {
                        let _ = ready_tx.send(true);
                    }
                }
                let _ = ready_tx.send(false); // EOF: the registry exited
            });
            let outcome = ready_rx.recv_timeout(START_TIMEOUT);
            if outcome == Ok(true) {
                audit::host(&format!("127.0.0.1:{port}"));
                return Registry {
                    child,
                    log,
                    reader: Some(reader),
                    port,
                    tls,
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            last_log = log.lock().unwrap().clone();
            match outcome {
                Ok(false) if last_log.contains("address already in use") => continue,
                Ok(_) => panic!("the registry exited; its log:\n{last_log}"),
                Err(_) => panic!(
                    "the registry did not log \"listening on\" within {START_TIMEOUT:?}; \
                     its log:\n{last_log}"
                ),
            }
        }
        panic!("the registry found no free port in 5 tries; last log:\n{last_log}");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
            let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
            audit::log("docker-registry", self.child.id(), log.as_bytes());
        }
    }

    /// "127.0.0.1:PORT", the registry's name in auth files and image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// The registry's own temp directory (config.yml, htpasswd, certificates, data/).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where the registry stores blobs and manifests.
    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// The test CA certificate (PEM) that signed the server certificate; panics if not TLS.
    pub fn ca_pem_path(&self) -> PathBuf {
        assert!(self.tls, "ca_pem_path: this registry serves plain HTTP");
        self.dir().join("ca.pem")
    }

    /// A directory holding only `ca.crt` (the test CA), as skopeo's `--*-cert-dir` and
    /// Docker's `certs.d/HOST/` expect; panics if not TLS.
    pub fn cert_dir(&self) -> PathBuf {
        assert!(self.tls, "cert_dir: this registry serves plain HTTP");
        self.dir().join("certs")
    }

    /// Everything the registry logged so far (stderr).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// skopeo flags to reach this registry as a source ("src") or destination ("dest"):
    /// `--{side}-cert-dir=CERTS` with TLS (verified, never skipped), else
    /// `--{side}-tls-verify=false`.
    pub fn skopeo_tls_args(&self, side: &str) -> Vec<String> {
        if self.tls {
            vec![format!("--{side}-cert-dir={}", self.cert_dir().display())]
        } else {
            vec![format!("--{side}-tls-verify=false")]
        }
    }

    /// `docker://HOST/REPO_TAG`, e.g. for `repo_tag` "demo/app:v1".
    pub fn image(&self, repo_tag: &str) -> String {
        format!("docker://{}/{repo_tag}", self.host())
    }

    /// Pushes `src` (e.g. from [`oci_layout`]) to `repo_tag` with skopeo in `env`.
    pub fn push(&self, env: &Env, src: &str, repo_tag: &str, authfile: Option<&Path>) -> Out {
        let tls = self.skopeo_tls_args("dest");
        let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
        skopeo_copy(env, src, &self.image(repo_tag), authfile, &tls)
    }

    /// Pulls `repo_tag` into the OCI layout `dest` (e.g. "oci:DIR:v1") with skopeo in `env`.
    pub fn pull(&self, env: &Env, repo_tag: &str, dest: &str, authfile: Option<&Path>) -> Out {
        let tls = self.skopeo_tls_args("src");
        let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
        skopeo_copy(env, &self.image(repo_tag), dest, authfile, &tls)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes a bcrypt htpasswd file with `htpasswd -iBn USER`, the password on stdin (not argv).
fn write_htpasswd(path: &Path, users: &[(String, String)]) {
    let htpasswd = require_tool("htpasswd");
    let mut file = String::new();
    for (user, password) in users {
        let out = run(Command::new(&htpasswd).args(["-iBn", user]), Some(password));
        out.assert_success("htpasswd");
        file.push_str(out.stdout.trim());
        file.push('\n');
    }
    fs::write(path, file).unwrap();
}

/// Writes ca.pem, certs/ca.crt, server.pem and server-key.pem (for 127.0.0.1 and localhost).
fn write_test_pki(dir: &Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "crlogin test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server
        .signed_by(&server_key, &Issuer::new(ca, ca_key))
        .unwrap();

    fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    fs::create_dir(dir.join("certs")).unwrap();
    fs::write(dir.join("certs/ca.crt"), ca_cert.pem()).unwrap();
    fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    fs::write(dir.join("server-key.pem"), server_key.serialize_pem()).unwrap();
}

/// Runs `skopeo copy SRC DST` in `env` and captures its output. With `authfile`, passes it as
/// `--src-authfile` / `--dest-authfile` for whichever side is `docker://`; without it, skopeo
/// looks where it normally does ($REGISTRY_AUTH_FILE, then files under HOME). `--insecure-policy`
/// spares the tests a /etc/containers/policy.json. `extra_args` go before SRC.
pub fn skopeo_copy(
    env: &Env,
    src: &str,
    dst: &str,
    authfile: Option<&Path>,
    extra_args: &[&str],
) -> Out {
    let mut cmd = env.command(require_tool("skopeo"));
    cmd.args(["--insecure-policy", "copy", "--quiet"]);
    if let Some(file) = authfile {
        if src.starts_with("docker://") {
            cmd.arg("--src-authfile").arg(file);
        }
        if dst.starts_with("docker://") {
            cmd.arg("--dest-authfile").arg(file);
        }
    }
    cmd.args(extra_args).args([src, dst]);
    run(&mut cmd, None)
}

/// skopeo and the docker CLI both read the docker file in `config_dir` and reach `team/app:v1`
/// (as [`seeded_registry`] pushes it); `what` names the login in failures.
pub fn clients_read(env: &Env, registry: &Registry, config_dir: &Path, what: &str) {
    let pulled = temp_dir();
    registry
        .pull(
            env,
            "team/app:v1",
            &format!("oci:{}:v1", pulled.path().display()),
            Some(&config_dir.join("config.json")),
        )
        .assert_success(&format!("skopeo pull {what}"));
    require_tool("docker");
    let inspect = run(
        env.command("docker")
            .env("DOCKER_CONFIG", config_dir)
            .args([
                "manifest",
                "inspect",
                "--insecure",
                &format!("{}/team/app:v1", registry.host()),
            ]),
        None,
    );
    inspect.assert_success(&format!("docker manifest inspect {what}"));
}

/// Writes a Docker-style auth file `{"auths":{HOST:{"auth":base64(USER:PASSWORD)}}}` to `path`.
pub fn write_auth_file(path: &Path, host: &str, user: &str, password: &str) {
    audit::host(host);
    let auth = B64.encode(format!("{user}:{password}"));
    let json = serde_json::json!({ "auths": { host: { "auth": auth } } });
    fs::write(path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

/// A registry accepting only `user`/`password`, with `team/app:v1` pushed into it (through `env`,
/// with an auth file outside its HOME). The temp dir holding that file and the image goes with it.
pub fn seeded_registry(env: &Env, user: &str, password: &str) -> (Registry, TempDir) {
    let registry = Registry::start(Auth::user(user, password));
    let seed = temp_dir();
    let seed_auth = seed.path().join("auth.json");
    write_auth_file(&seed_auth, &registry.host(), user, password);
    let image = oci_layout(&seed.path().join("image"));
    registry
        .push(env, &image, "team/app:v1", Some(&seed_auth))
        .assert_success("seeding push");
    (registry, seed)
}

/// Writes a minimal valid OCI image layout to `dir` (one uncompressed tar layer holding
/// `hello.txt`, its config and manifest, tagged "v1") and returns skopeo's `oci:DIR:v1`.
pub fn oci_layout(dir: &Path) -> String {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    // Stores a blob; returns its descriptor fields (digest, size).
    let blob = |media_type: &str, data: &[u8]| {
        let hex: String = Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        fs::write(blobs.join(&hex), data).unwrap();
        let digest = format!("sha256:{hex}");
        serde_json::json!({ "mediaType": media_type, "digest": digest, "size": data.len() })
    };
    let layer = blob(
        "application/vnd.oci.image.layer.v1.tar",
        &tar_one_file("hello.txt", b"hello from crlogin's tests\n"),
    );
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": [layer["digest"]] },
    });
    let config = blob(
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).unwrap(),
    );
    let manifest_type = "application/vnd.oci.image.manifest.v1+json";
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config,
        "layers": [layer],
    });
    let mut manifest = blob(manifest_type, &serde_json::to_vec(&manifest).unwrap());
    manifest["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": "v1" });
    let index = serde_json::json!({ "schemaVersion": 2, "manifests": [manifest] });
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    format!("oci:{}:v1", dir.display())
}

/// A tar archive of one regular file: a 512-byte ustar header, the data padded to 512 bytes,
/// and two zero blocks.
fn tar_one_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let mut put =
        |offset: usize, bytes: &[u8]| header[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(0, name.as_bytes());
    put(100, b"0000644\0"); // mode
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{:011o}\0", data.len()).as_bytes()); // size
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // checksum: spaces while summing
    put(156, b"0"); // regular file
    put(257, b"ustar\0"); // magic
    put(263, b"00"); // version
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(data);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    tar
}

/// The strings that would betray `secret`: itself, its standard base64, and (with `user`) the
/// base64 of "user:secret" as in an auth file's "auth" field. Base64 forms have their '='
/// padding trimmed, so padded and unpadded copies both match.
pub fn secret_forms(secret: &str, user: Option<&str>) -> Vec<String> {
    let mut forms = vec![secret.to_string(), B64.encode(secret)];
    if let Some(user) = user {
        forms.push(B64.encode(format!("{user}:{secret}")));
    }
    forms
        .iter()
        .map(|f| f.trim_end_matches('=').to_string())
        .collect()
}

/// A loopback "registry" answering every request (the HTTPS try included, which then fails and
/// falls back to plain HTTP) with 401 and a Bearer challenge naming `realm`, until the test
/// process ends.
pub fn challenging_registry(realm: &'static str) -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let accepting = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        for mut stream in accepting.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    listener
}

/// An HTTP server on 127.0.0.1 that answers every request `200 OK` with a 600 MiB body of `x`,
/// written until the client stops reading: a server feeding crlogin more than any answer needs.
/// Returns the listener (its address is the server's) and, per request, how many body bytes it
/// managed to send before the client went away.
pub fn flooding_server() -> (TcpListener, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let accepting = listener.try_clone().unwrap();
    let (record, sent) = mpsc::channel();
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for mut stream in accepting.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let total: usize = 600 << 20;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
            );
            let mut n = 0;
            while n < total && stream.write_all(&chunk).is_ok() {
                n += chunk.len();
            }
            let _ = record.send(n);
        }
    });
    (listener, sent)
}

/// Asserts that no string in `forbidden` (see [`secret_forms`]) appears in any of `outputs` or
/// in any file under `root` other than `allowed_files`, and that `secret` itself appears in no
/// file under `root` at all (allowed files hold it encoded, never raw). Symlinks are not
/// followed.
pub fn assert_no_leak(
    secret: &str,
    forbidden: &[String],
    outputs: &[&str],
    root: &Path,
    allowed_files: &[PathBuf],
) {
    assert!(!secret.is_empty(), "assert_no_leak: empty secret");
    for (i, output) in outputs.iter().enumerate() {
        for form in forbidden.iter().chain([&secret.to_string()]) {
            assert!(
                !output.contains(form.as_str()),
                "output #{i} leaks the secret (as {form:?}):\n{output}"
            );
        }
    }
    let allowed: Vec<PathBuf> = allowed_files.iter().map(|p| canonical(p)).collect();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            for entry in fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        let is_allowed = allowed.contains(&canonical(&path));
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "{} holds the raw secret",
            path.display()
        );
        if !is_allowed {
            for form in forbidden {
                assert!(
                    !contains(&bytes, form.as_bytes()),
                    "{} leaks the secret (as {form:?})",
                    path.display()
                );
            }
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
