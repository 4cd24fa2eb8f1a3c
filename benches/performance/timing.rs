//! Wall-clock times of whole processes: our own sampler (spawn to exit, as hyperfine's
//! `--shell=none` measures) and hyperfine itself for the cold start.

use crate::harness::{self, Env};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// The wall-clock times of repeated runs of one thing.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// Adds one run's time.
    pub fn push(&mut self, took: Duration) {
        self.0.push(took);
    }

    /// How many runs were timed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The median (the mean of the middle two for an even count).
    pub fn median(&self) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let n = sorted.len();
        assert!(n > 0, "no samples");
        if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        }
    }

    /// The arithmetic mean.
    pub fn mean(&self) -> Duration {
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }

    /// The sample standard deviation (0 for a single run).
    pub fn stddev(&self) -> Duration {
        let n = self.0.len();
        if n < 2 {
            return Duration::ZERO;
        }
        let mean = self.mean().as_secs_f64();
        let var = self
            .0
            .iter()
            .map(|d| (d.as_secs_f64() - mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        Duration::from_secs_f64(var.sqrt())
    }

    /// "median M (mean A ± S)".
    pub fn summary(&self) -> String {
        format!(
            "median {} (mean {} ± {})",
            ms(self.median()),
            ms(self.mean()),
            ms(self.stddev())
        )
    }
}

/// Times one call of `work`, which panics if what it runs fails.
pub fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

/// Runs `work` `warmup` times untimed, then `runs` times timed.
pub fn sample(warmup: usize, runs: usize, mut work: impl FnMut()) -> Samples {
    for _ in 0..warmup {
        work();
    }
    let mut samples = Samples::default();
    for _ in 0..runs {
        samples.push(time(&mut work));
    }
    samples
}

/// A duration for people: "0.93 ms", "412 ms", "6.61 s".
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// What hyperfine reported for one command.
#[derive(Debug, Clone)]
pub struct Hyperfine {
    /// The mean run.
    pub mean: Duration,
    /// The standard deviation of the runs.
    pub stddev: Duration,
    /// The median run.
    pub median: Duration,
    /// The fastest run.
    pub min: Duration,
    /// How many runs were timed.
    pub runs: usize,
}

impl Hyperfine {
    /// "mean A ± S (median M, min N)".
    pub fn summary(&self) -> String {
        format!(
            "mean {} ± {} (median {}, min {})",
            ms(self.mean),
            ms(self.stddev),
            ms(self.median),
            ms(self.min)
        )
    }
}

/// Runs `hyperfine --shell=none` on `program args` in `env`, and reads its JSON export.
pub fn hyperfine(
    env: &Env,
    program: &Path,
    args: &[&str],
    warmup: usize,
    runs: usize,
) -> Hyperfine {
    let program = program.to_str().expect("a UTF-8 path");
    assert!(
        !program.contains(char::is_whitespace),
        "hyperfine --shell=none splits on spaces: move {program} to a path without any"
    );
    let command_line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let json_path = env.home().join("hyperfine.json");
    let out = harness::run(
        env.command("hyperfine")
            .args(["--shell=none", "--style=none", "--warmup"])
            .arg(warmup.to_string())
            .arg("--runs")
            .arg(runs.to_string())
            .arg("--export-json")
            .arg(&json_path)
            .arg(&command_line),
        None,
    );
    out.assert_success(&format!("hyperfine {command_line}"));
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let result = &doc["results"][0];
    let secs = |name: &str| {
        Duration::from_secs_f64(
            result[name]
                .as_f64()
                .unwrap_or_else(|| panic!("hyperfine's JSON has no {name}: {doc}")),
        )
    };
    Hyperfine {
        mean: secs("mean"),
        stddev: secs("stddev"),
        median: secs("median"),
        min: secs("min"),
        runs: result["times"].as_array().map_or(0, Vec::len),
    }
}
