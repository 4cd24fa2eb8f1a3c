//! crlogin's benchmarks (issue 6): one run, loopback only, figures not assertions.
//!
//! `scripts/bench.sh` builds the release binaries and runs this with `CRLOGIN_BENCH_BIN` (the
//! glibc release binary, measured) and `CRLOGIN_BENCH_STATIC_BIN` (the static musl one, sized and
//! cold-started). It measures `crlogin login` into six loopback registries against the client
//! login loops, token exchanges per run, cold start, credential-helper `get` on a cache hit, and
//! binary size; prints a markdown table and writes it to `target/bench/results.md`. Any step that
//! fails stops it with the failing command's output; the servers it started stop on exit.
//!
//! Knobs: `CRLOGIN_BENCH_ROUNDS` (login rounds, default 10), `CRLOGIN_BENCH_RUNS` (runs of each
//! fast command, default 300; hyperfine makes 1000 runs of `--version`), `CRLOGIN_BENCH_RESULTS`
//! (the file for the table, default `target/bench/results.md`); `CRLOGIN_BENCH_ONLY=kubelet`
//! measures only the kubelet provider's per-pod federation rows.

#[path = "../../tests/harness/mod.rs"]
mod harness;
#[path = "../../tests/iam_grpc/mod.rs"]
mod iam_grpc;
#[path = "../../tests/iam_server/mod.rs"]
mod iam_server;
mod kubelet;
mod logins;
mod metadata;
#[path = "../../tests/metadata_server/mod.rs"]
mod metadata_server;
mod nebius;
mod report;
mod timing;

use harness::Env;
use logins::Side;
use report::Row;
use std::path::{Path, PathBuf};
use std::time::Duration;
use timing::ms;

const COLD_START_GOAL: Duration = Duration::from_millis(2);
const HELPER_GOAL: Duration = Duration::from_millis(3);
const SIZE_GOAL: u64 = 8_000_000;
const SPEEDUP_GOAL: f64 = 10.0;
const HYPERFINE_RUNS: usize = 1000;

/// What to measure and how often.
struct Config {
    bin: PathBuf,
    static_bin: Option<PathBuf>,
    rounds: usize,
    runs: usize,
}

impl Config {
    fn from_env() -> Config {
        let number = |name: &str, default: usize| match std::env::var(name) {
            Ok(v) => v
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or_else(|| panic!("{name} must be a positive number, not {v:?}")),
            Err(_) => default,
        };
        let bin = std::env::var_os("CRLOGIN_BENCH_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_crlogin")),
            PathBuf::from,
        );
        let static_bin = std::env::var_os("CRLOGIN_BENCH_STATIC_BIN").map(PathBuf::from);
        for path in std::iter::once(&bin).chain(&static_bin) {
            assert!(
                path.is_file(),
                "{} does not exist: build it first (scripts/bench.sh does)",
                path.display()
            );
        }
        Config {
            bin,
            static_bin,
            rounds: number("CRLOGIN_BENCH_ROUNDS", 10),
            runs: number("CRLOGIN_BENCH_RUNS", 300),
        }
    }
}

/// `crlogin --version` under hyperfine, after checking it runs.
fn cold_start(env: &Env, bin: &Path) -> timing::Hyperfine {
    harness::run(env.command(bin).arg("--version"), None).assert_success("crlogin --version");
    timing::hyperfine(env, bin, &["--version"], 50, HYPERFINE_RUNS)
}

/// The rows of the kubelet provider's per-pod federation.
fn kubelet_rows(kubelet: &kubelet::Results) -> Vec<Row> {
    vec![
        Row::info(
            "`kubelet-credential-provider`, per-pod federation, cold: the pod's token exchanged at the loopback gRPC IAM stand-in",
            kubelet.cold.summary(),
            kubelet.cold.len(),
        ),
        Row::goal(
            "`kubelet-credential-provider`, per-pod federation, cache hit",
            format!(
                "{} ({} exchanges)",
                kubelet.hit.summary(),
                kubelet.hit_exchanges
            ),
            kubelet.hit.len(),
            "≤ 3 ms",
            kubelet.hit.median() <= HELPER_GOAL && kubelet.hit_exchanges == 0,
        ),
    ]
}

/// A size for people: "5.21 MB (5,210,112 bytes)".
fn size(bytes: u64) -> String {
    let grouped = bytes
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    format!("{:.2} MB ({grouped} bytes)", bytes as f64 / 1e6)
}

fn main() {
    let config = Config::from_env();
    which::which("hyperfine")
        .expect("hyperfine is not installed: `apt-get install hyperfine` (Debian/Ubuntu)");
    let machine = report::machine();
    eprintln!("measuring {}", config.bin.display());
    if config.bin.components().any(|c| c.as_os_str() == "debug") {
        eprintln!(
            "warning: {} is a debug build; scripts/bench.sh measures the release build",
            config.bin.display()
        );
    }

    if std::env::var("CRLOGIN_BENCH_ONLY").as_deref() == Ok("kubelet") {
        let kubelet = kubelet::run(&config.bin, config.runs.min(100));
        println!(
            "\n{}",
            report::render(&kubelet_rows(&kubelet), &machine, &[])
        );
        return;
    }
    let logins = logins::run(&config.bin, config.rounds);
    eprintln!("token exchanges and credential-helper get");
    let nebius = nebius::run(&config.bin, config.runs);
    eprintln!("the metadata source: probe cost, credential-helper get");
    let metadata = metadata::run(&config.bin, config.runs.min(100));
    eprintln!("the kubelet provider with per-pod federation: cold call, cache hit");
    let kubelet = kubelet::run(&config.bin, config.runs.min(100));
    eprintln!("cold start (hyperfine, {HYPERFINE_RUNS} runs)");
    let env = Env::new();
    let cold = cold_start(&env, &config.bin);
    let cold_static = config.static_bin.as_deref().map(|b| cold_start(&env, b));
    let own_timer = timing::sample(10, config.runs, || {
        harness::run(env.command(&config.bin).arg("--version"), None).assert_success("--version");
    });

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for measured in &logins.sides {
        rows.push(match &measured.samples {
            Ok(samples) => Row::info(measured.side.label(), samples.summary(), samples.len()),
            Err(why) => Row::info(measured.side.label(), format!("not run: {why}"), ""),
        });
    }
    let crlogin = logins.median(Side::Crlogin).unwrap();
    let verify = logins.median(Side::CrloginVerify).unwrap();
    let skopeo = logins.median(Side::Skopeo).unwrap();
    let helm = logins.median(Side::Helm).unwrap();
    let docker = logins.median(Side::Docker).unwrap_or_default();
    let loops = skopeo + helm + docker;
    let without_helm = skopeo + docker;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let loops_label = if logins.median(Side::Docker).is_some() {
        "skopeo + helm + docker"
    } else {
        "skopeo + helm (docker not run)"
    };
    rows.push(Row::info(
        format!("client loops, sum of medians ({loops_label})"),
        ms(loops),
        "",
    ));
    rows.push(Row::goal(
        "speed-up: client loops ÷ `crlogin login --verify` (both ask every registry)",
        format!("{:.0}×", ratio(loops, verify)),
        "",
        "≥ 10×",
        ratio(loops, verify) >= SPEEDUP_GOAL,
    ));
    rows.push(Row::goal(
        "speed-up: client loops ÷ `crlogin login` (writes only)",
        format!("{:.0}×", ratio(loops, crlogin)),
        "",
        "≥ 10×",
        ratio(loops, crlogin) >= SPEEDUP_GOAL,
    ));
    rows.push(Row::goal(
        "speed-up without the helm loop: skopeo + docker loops ÷ `crlogin login --verify`",
        format!("{:.0}×", ratio(without_helm, verify)),
        "",
        "≥ 10×",
        ratio(without_helm, verify) >= SPEEDUP_GOAL,
    ));

    let exchanges_ok = nebius.first_login_exchanges == 1 && nebius.second_login_exchanges == 0;
    rows.push(Row::goal(
        format!(
            "token exchanges: `crlogin login --all-regions` with a service-account key ({} hosts), first run / second run",
            nebius::HOSTS
        ),
        format!(
            "{} / {} ({} / {})",
            nebius.first_login_exchanges,
            nebius.second_login_exchanges,
            ms(nebius.first_login),
            ms(nebius.second_login)
        ),
        1,
        "1 per run (0 cached)",
        exchanges_ok,
    ));
    rows.push(Row::goal(
        "cold start: `crlogin --version`, glibc release binary (hyperfine)",
        cold.summary(),
        cold.runs,
        "≤ 2 ms",
        cold.median <= COLD_START_GOAL,
    ));
    if let Some(cold) = &cold_static {
        rows.push(Row::goal(
            "cold start: `crlogin --version`, static musl binary (hyperfine)",
            cold.summary(),
            cold.runs,
            "≤ 2 ms",
            cold.median <= COLD_START_GOAL,
        ));
    }
    for (what, samples) in [
        (
            "`credential-helper get`, cache hit, static key",
            &nebius.helper_static,
        ),
        (
            "`credential-helper get`, cache hit, service-account key",
            &nebius.helper_sa_cached,
        ),
    ] {
        rows.push(Row::goal(
            what,
            samples.summary(),
            samples.len(),
            "≤ 3 ms",
            samples.median() <= HELPER_GOAL,
        ));
    }
    rows.push(Row::info(
        "`credential-helper get`, service-account key, no cache (one exchange with the loopback IAM stand-in)",
        nebius.helper_sa_exchange.summary(),
        nebius.helper_sa_exchange.len(),
    ));
    for (what, samples) in [
        ("`login` with nothing configured, off Nebius: the metadata probe runs (the name does not resolve)", &metadata.probed),
        ("the same with a `~/.nebius/config.yaml`, which turns the probe off", &metadata.not_probed),
        ("`credential-helper get`, metadata source, no cache (one request to the loopback metadata stand-in)", &metadata.helper_fetch),
    ] {
        rows.push(Row::info(what, samples.summary(), samples.len()));
    }
    rows.push(Row::goal(
        "`credential-helper get`, cache hit, metadata source",
        format!(
            "{} ({} requests to the stand-in)",
            metadata.helper_cached.summary(),
            metadata.cached_requests
        ),
        metadata.helper_cached.len(),
        "≤ 3 ms",
        metadata.helper_cached.median() <= HELPER_GOAL,
    ));
    rows.extend(kubelet_rows(&kubelet));
    if let Some(path) = &config.static_bin {
        let bytes = std::fs::metadata(path).unwrap().len();
        rows.push(Row::goal(
            "binary size: static musl release (`scripts/build-release.sh`)",
            size(bytes),
            "",
            "≤ 8 MB",
            bytes <= SIZE_GOAL,
        ));
        let file = harness::run(std::process::Command::new("file").arg("-b").arg(path), None);
        file.assert_success("file");
        notes.push(format!(
            "`file` on the static binary: {}",
            file.stdout.trim()
        ));
    } else {
        rows.push(Row::info(
            "binary size: static musl release",
            "not measured: set CRLOGIN_BENCH_STATIC_BIN (scripts/bench.sh does)",
            "",
        ));
    }
    rows.push(Row::info(
        "binary size: glibc release (`cargo build --release`)",
        size(std::fs::metadata(&config.bin).unwrap().len()),
        "",
    ));

    let contacts = |side: Side| {
        let m = logins.sides.iter().find(|m| m.side == side).unwrap();
        match (&m.samples, m.contacts_registry) {
            (Err(_), _) => "not run",
            (Ok(_), true) => "asks the registry (a wrong password fails)",
            (Ok(_), false) => "does not ask the registry (a wrong password still succeeds)",
        }
    };
    notes.extend([
        format!(
            "Login comparison: {} loopback `docker-registry` instances with htpasswd (bcrypt) auth, plain HTTP; each run starts from an empty HOME. crlogin writes docker's, helm's and podman's files (18 entries) in one process; each client loop writes its own tool's file, one process per registry. Timings are medians with mean ± σ, wall clock from spawn to exit; crlogin runs {} times per round, each client loop once, rounds interleaved.",
            logins::REGISTRIES,
            logins::CRLOGIN_PER_ROUND
        ),
        format!(
            "What each side does, checked with a wrong password: `crlogin login` {}; `crlogin login --verify` {}; skopeo {}; helm {}; docker {}.",
            contacts(Side::Crlogin),
            contacts(Side::CrloginVerify),
            contacts(Side::Skopeo),
            contacts(Side::Helm),
            contacts(Side::Docker)
        ),
        format!(
            "Helm: there is no helm CLI here, so each login is one process of target/helm-venv's python running benches/performance/helm_login.py, which calls Helm 4's registry login through the Go SDK in PyPI's helm-sdkpy. Starting Python and loading that library alone takes {} per process (median of {}), so the helm loop is slower than a helm binary would be; the row without the helm loop is the conservative figure.",
            ms(logins.helm_sdk_load.median()),
            logins.helm_sdk_load.len()
        ),
        "docker: the docker CLI with no daemon running falls back to a client-side login: it asks the registry itself (HTTPS first, then HTTP for a loopback host) and writes `$DOCKER_CONFIG/config.json`.".to_string(),
        format!(
            "Token exchanges: the loopback IAM stand-in (tests/iam_server) counts requests; the second login finds the token in the cache, and the {} cached `credential-helper get` runs made {} exchanges.",
            nebius.helper_sa_cached.len(),
            nebius.helper_cached_exchanges
        ),
        "aws-lc is built without its CPU-jitter entropy source (.cargo/config.toml), which cost every process about 40 ms of CPU on its first RSA signature or TLS handshake; its random generator is seeded by the kernel (getrandom). Server-side bcrypt (the registries' htpasswd) is part of every `--verify` and every client login.".to_string(),
        format!(
            "Our own timer (used for the login and helper rows: spawn to exit, as hyperfine --shell=none) gives {} for `crlogin --version`, for comparison with hyperfine's figure.",
            own_timer.summary()
        ),
        format!("Goals are judged on medians. Clients: {}.", logins.versions.join("; ")),
    ]);
    let md = report::render(&rows, &machine, &notes);
    println!("\n{md}");
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        std::env::var_os("CRLOGIN_BENCH_RESULTS")
            .map_or_else(|| PathBuf::from("target/bench/results.md"), PathBuf::from),
    );
    std::fs::create_dir_all(results.parent().unwrap()).unwrap();
    std::fs::write(&results, &md).unwrap();
    eprintln!("written to {}", results.display());
}
