//! One `crlogin login` into six registries for docker, helm and podman, against the loops users
//! paste today: `skopeo login`, `helm registry login` and `docker login`, one process per
//! registry, each with `--password-stdin`. Every side gets a fresh HOME for each run (made
//! before the clock starts) and is checked afterwards to have written all six entries.
//!
//! Every side runs with the same PATH: a directory holding only the client programs. From an
//! empty HOME, docker and Helm pick any `docker-credential-pass` or `-secretservice` on PATH as
//! their default store (install-deps.sh installs both for the store tests) and then fail or
//! write nothing to the file; without them on PATH each side writes its file, as its row says.

use crate::harness::{self, Auth, Env, Out, Registry};
use crate::timing::{self, Samples};
use base64::Engine as _;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How many registries each side logs into.
pub const REGISTRIES: usize = 6;

/// How many times crlogin runs per round (the client loops run once per round).
pub const CRLOGIN_PER_ROUND: usize = 5;

/// One registry's credential.
#[derive(Clone)]
struct Login {
    prefix: String,
    user: String,
    password: String,
    host: String,
}

/// One side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `crlogin login --from-env REG1,...,REG6`: writes the three files, contacts no registry.
    Crlogin,
    /// The same with `--verify`: then checks each registry accepts its credential.
    CrloginVerify,
    /// `skopeo login` per registry (podman's auth file).
    Skopeo,
    /// `helm registry login` per registry (helm's file), through helm-sdkpy.
    Helm,
    /// `docker login` per registry (docker's file).
    Docker,
}

/// Every side, in the order they run within a round.
pub const SIDES: [Side; 5] = [
    Side::Crlogin,
    Side::CrloginVerify,
    Side::Skopeo,
    Side::Helm,
    Side::Docker,
];

impl Side {
    /// The command as a user would type it, for the report.
    pub fn label(self) -> &'static str {
        match self {
            Side::Crlogin => "`crlogin login` (6 registries × docker, helm, podman)",
            Side::CrloginVerify => "`crlogin login --verify` (the same, then checks each registry)",
            Side::Skopeo => "`skopeo login --password-stdin` × 6",
            Side::Helm => "`helm registry login --password-stdin` × 6 (Helm 4 via helm-sdkpy)",
            Side::Docker => "`docker login --password-stdin` × 6",
        }
    }
}

/// What was measured for one side.
pub struct Measured {
    /// Which side.
    pub side: Side,
    /// Wall-clock time of one whole run (all six logins), or why the side could not run.
    pub samples: Result<Samples, String>,
    /// Whether a wrong password makes it fail, i.e. whether it asks the registry.
    pub contacts_registry: bool,
}

/// Everything the login comparison found.
pub struct Results {
    /// One entry per side, in [`SIDES`] order.
    pub sides: Vec<Measured>,
    /// Starting Python and loading helm-sdkpy's Go library, once (a helm CLI binary has no
    /// such cost): paid by each of the six helm processes.
    pub helm_sdk_load: Samples,
    /// Client versions, for the report.
    pub versions: Vec<String>,
}

impl Results {
    /// The median of one side, if it ran.
    pub fn median(&self, side: Side) -> Option<std::time::Duration> {
        self.sides
            .iter()
            .find(|m| m.side == side)
            .and_then(|m| m.samples.as_ref().ok())
            .map(Samples::median)
    }
}

/// Where the clients and crlogin find their files in one fresh HOME.
struct Job {
    env: Env,
}

/// A directory with links to the client programs only, for PATH: no credential helper, so no
/// client picks a default credential store (the PATH lookup docker and Helm make from an empty
/// HOME finds nothing).
pub struct ClientsPath {
    dir: tempfile::TempDir,
}

impl ClientsPath {
    /// Links each of `programs` found on PATH (the ones not installed are left out).
    pub fn new(programs: &[&str]) -> ClientsPath {
        let dir = tempfile::tempdir().unwrap();
        for program in programs {
            if let Ok(found) = which::which(program) {
                std::os::unix::fs::symlink(found, dir.path().join(program)).unwrap();
            }
        }
        ClientsPath { dir }
    }

    /// The PATH value.
    pub fn value(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
}

impl Job {
    fn new(clients: &ClientsPath) -> Job {
        let mut env = Env::new();
        let home = env.home().to_path_buf();
        let path = |rel: &str| home.join(rel).to_str().unwrap().to_string();
        env.set("PATH", clients.value())
            .set("DOCKER_CONFIG", path("docker"))
            .set("HELM_REGISTRY_CONFIG", path("helm/registry/config.json"))
            .set("HELM_CACHE_HOME", path("helm/cache"))
            .set("HELM_CONFIG_HOME", path("helm/config"))
            .set("HELM_DATA_HOME", path("helm/data"))
            .set("REGISTRY_AUTH_FILE", path("containers/auth.json"));
        Job { env }
    }

    fn docker_file(&self) -> PathBuf {
        self.env.home().join("docker/config.json")
    }

    fn helm_file(&self) -> PathBuf {
        self.env.home().join("helm/registry/config.json")
    }

    fn podman_file(&self) -> PathBuf {
        self.env.home().join("containers/auth.json")
    }

    /// The files `side` writes.
    fn files(&self, side: Side) -> Vec<PathBuf> {
        match side {
            Side::Crlogin | Side::CrloginVerify => {
                vec![self.docker_file(), self.helm_file(), self.podman_file()]
            }
            Side::Skopeo => vec![self.podman_file()],
            Side::Helm => vec![self.helm_file()],
            Side::Docker => vec![self.docker_file()],
        }
    }
}

/// The tools the client loops use.
struct Clients {
    path: ClientsPath,
    bin: PathBuf,
    helm_python: PathBuf,
    helm_login: PathBuf,
}

impl Clients {
    /// Runs `side`'s logins in `job`: one crlogin process, or one client process per registry.
    fn login(&self, side: Side, job: &Job, logins: &[Login]) -> Vec<Out> {
        match side {
            Side::Crlogin | Side::CrloginVerify => {
                let prefixes: Vec<&str> = logins.iter().map(|l| l.prefix.as_str()).collect();
                let mut cmd = job.env.command(&self.bin);
                cmd.args(["login", "--from-env", &prefixes.join(",")]);
                if side == Side::CrloginVerify {
                    cmd.arg("--verify");
                }
                for l in logins {
                    cmd.env(format!("{}_USERNAME", l.prefix), &l.user)
                        .env(format!("{}_PASSWORD", l.prefix), &l.password)
                        .env(format!("{}_REGISTRY", l.prefix), &l.host);
                }
                vec![harness::run(&mut cmd, None)]
            }
            Side::Skopeo => logins
                .iter()
                .map(|l| {
                    let mut cmd = job.env.command("skopeo");
                    cmd.args(["login", "--tls-verify=false", "--password-stdin", "-u"])
                        .args([&l.user, &l.host]);
                    harness::run(&mut cmd, Some(&l.password))
                })
                .collect(),
            Side::Helm => logins
                .iter()
                .map(|l| {
                    let mut cmd = job.env.command(&self.helm_python);
                    cmd.arg(&self.helm_login).args([&l.host, &l.user]);
                    harness::run(&mut cmd, Some(&l.password))
                })
                .collect(),
            Side::Docker => logins
                .iter()
                .map(|l| {
                    let mut cmd = job.env.command("docker");
                    cmd.args(["login", "--password-stdin", "-u"])
                        .args([&l.user, &l.host]);
                    harness::run(&mut cmd, Some(&l.password))
                })
                .collect(),
        }
    }
}

/// Fails loudly unless every process succeeded.
fn assert_all_succeeded(side: Side, outs: &[Out]) {
    for out in outs {
        out.assert_success(side.label());
    }
}

/// Fails loudly unless each of `side`'s files holds every registry's credential, and crlogin
/// printed no password.
fn check_written(side: Side, job: &Job, logins: &[Login], outs: &[Out]) {
    for file in job.files(side) {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{}: {} was not written: {e}", side.label(), file.display())
        });
        let doc: Value = serde_json::from_str(&text).unwrap();
        for l in logins {
            let want = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", l.user, l.password));
            assert_eq!(
                doc["auths"][&l.host]["auth"].as_str(),
                Some(want.as_str()),
                "{}: {} lacks {}",
                side.label(),
                file.display(),
                l.host
            );
        }
    }
    if matches!(side, Side::Crlogin | Side::CrloginVerify) {
        for l in logins {
            let forms = harness::secret_forms(&l.password, Some(&l.user));
            for out in outs {
                for form in &forms {
                    assert!(
                        !out.stdout.contains(form) && !out.stderr.contains(form),
                        "crlogin printed a password"
                    );
                }
            }
        }
    }
}

/// Whether a wrong password for the first registry makes `side` fail: if not, it did not ask.
fn contacts_registry(clients: &Clients, side: Side, logins: &[Login]) -> bool {
    let mut wrong = logins.to_vec();
    wrong[0].password.push_str("-wrong");
    let outs = match side {
        Side::Crlogin | Side::CrloginVerify => {
            clients.login(side, &Job::new(&clients.path), &wrong)
        }
        _ => clients.login(side, &Job::new(&clients.path), &wrong[..1]),
    };
    outs.iter().any(|o| !o.success())
}

/// Runs the comparison: `rounds` rounds, each running every side in turn (crlogin
/// [`CRLOGIN_PER_ROUND`] times), so that load from elsewhere on the machine hits all alike.
pub fn run(bin: &Path, rounds: usize) -> Results {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let helm_python = root.join("target/helm-venv/bin/python");
    assert!(
        helm_python.exists(),
        "Helm 4 (helm-sdkpy) is not installed in target/helm-venv: run `bash scripts/install-helm-client.sh`"
    );
    harness::require_tool("skopeo");
    let clients = Clients {
        path: ClientsPath::new(&["skopeo", "docker"]),
        bin: bin.to_path_buf(),
        helm_python,
        helm_login: root.join("benches/performance/helm_login.py"),
    };

    eprintln!("starting {REGISTRIES} loopback registries (htpasswd)");
    let logins: Vec<Login> = (1..=REGISTRIES)
        .map(|i| Login {
            prefix: format!("REG{i}"),
            user: format!("bench-user-{i}"),
            password: format!("bench-password-{i}-5f0c2a"),
            host: String::new(),
        })
        .collect();
    let registries: Vec<Registry> = logins
        .iter()
        .map(|l| Registry::start(Auth::user(&l.user, &l.password)))
        .collect();
    let logins: Vec<Login> = logins
        .into_iter()
        .zip(&registries)
        .map(|(l, r)| Login {
            host: r.host(),
            ..l
        })
        .collect();

    // docker without a daemon falls back to a client-side login; find out whether it works.
    let mut docker_error = None;
    if which::which("docker").is_err() {
        docker_error = Some("the docker CLI is not installed".to_string());
    } else {
        let job = Job::new(&clients.path);
        let outs = clients.login(Side::Docker, &job, &logins[..1]);
        if !outs[0].success() {
            let why = outs[0].stderr.lines().last().unwrap_or("").to_string();
            docker_error = Some(format!("docker login failed here: {why}"));
        }
    }

    let mut samples: Vec<Samples> = vec![Samples::default(); SIDES.len()];
    for round in 1..=rounds {
        eprintln!("login round {round}/{rounds}");
        for (i, &side) in SIDES.iter().enumerate() {
            if side == Side::Docker && docker_error.is_some() {
                continue;
            }
            let times = if matches!(side, Side::Crlogin | Side::CrloginVerify) {
                CRLOGIN_PER_ROUND
            } else {
                1
            };
            for _ in 0..times {
                let job = Job::new(&clients.path);
                let mut outs = Vec::new();
                let took = timing::time(|| {
                    outs = clients.login(side, &job, &logins);
                    assert_all_succeeded(side, &outs);
                });
                check_written(side, &job, &logins, &outs);
                samples[i].push(took);
            }
        }
    }

    let sides = SIDES
        .iter()
        .zip(samples)
        .map(|(&side, samples)| {
            let unavailable = (side == Side::Docker)
                .then(|| docker_error.clone())
                .flatten();
            Measured {
                side,
                contacts_registry: unavailable.is_none()
                    && contacts_registry(&clients, side, &logins),
                samples: unavailable.map_or(Ok(samples), Err),
            }
        })
        .collect();

    let env = Env::new();
    let helm_sdk_load = timing::sample(1, rounds, || {
        harness::run(
            env.command(&clients.helm_python)
                .args(["-c", "import helm_sdkpy; helm_sdkpy.Configuration()"]),
            None,
        )
        .assert_success("loading helm-sdkpy");
    });
    let versions = versions(&env, &clients.helm_python);
    drop(registries);
    Results {
        sides,
        helm_sdk_load,
        versions,
    }
}

/// One line per client: its version.
fn versions(env: &Env, helm_python: &Path) -> Vec<String> {
    let first_line = |out: Out| out.stdout.lines().next().unwrap_or("").trim().to_string();
    let mut lines = vec![first_line(harness::run(
        env.command("skopeo").arg("--version"),
        None,
    ))];
    if which::which("docker").is_ok() {
        lines.push(first_line(harness::run(
            env.command("docker").arg("--version"),
            None,
        )));
    }
    lines.push(format!(
        "helm-sdkpy {} (Helm 4 Go SDK) on {}",
        first_line(harness::run(
            env.command(helm_python).args([
                "-c",
                "import importlib.metadata as m; print(m.version('helm-sdkpy'))"
            ]),
            None
        )),
        first_line(harness::run(
            env.command(helm_python).arg("--version"),
            None
        ))
    ));
    lines.push(first_line(harness::run(
        env.command("docker-registry").arg("--version"),
        None,
    )));
    lines
}
