//! The leak scanner behind `scripts/leak-audit.sh`. It reads an audit directory the suites
//! filled while running under strace (`CRLOGIN_LEAK_AUDIT`, see tests/harness/audit.rs):
//!
//! - `records/*.jsonl`: the secrets registered, the tests' own input files, the intended hosts,
//!   and each process's output (`outputs/`); `suites/NAME.{stdout,stderr}`: the test binaries'
//!   own output;
//! - `exec.log`: strace's log (every execve's argv, clones, paths written);
//! - `tmp/`: the test binaries' `TMPDIR`, with every temp tree kept.
//!
//! and searches every output, every file under `tmp/` (and every other file a traced process
//! wrote that still exists) and every argv for every secret in each of its [`forms`], after
//! cutting out only the intended places ([`targets`]). It also checks the audit saw everything:
//! every process a test started had its output recorded, every temp tree was kept, and every
//! suite registered secrets. Secrets labelled `canary planted-KIND-...` are the self-check's:
//! each must be found in a KIND (`output`, `file`, `argv`), and they are not counted as leaks.
#![allow(dead_code)]

pub mod forms;
mod records;
mod report;
pub mod strace;
pub mod targets;

pub use report::{Hit, Kind, Report};

use records::Records;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Direct children of a test whose output need not be recorded, and why.
const UNRECORDED_OK: [(&str, &str); 1] = [(
    "openssl",
    "tests/iam_server makes its test keys with openssl into files (kept and scanned as inputs)",
)];

/// The scan of one audit directory; see the module docs.
pub struct Scan {
    dir: PathBuf,
    records: Records,
    trace: strace::Trace,
    values: Vec<String>,
    labels: Vec<String>,
    matcher: forms::Matcher,
    report: Report,
}

impl Scan {
    /// Reads `dir` (records, exec.log).
    pub fn new(dir: &Path) -> Scan {
        let records = Records::load(dir);
        let log = read(&dir.join("exec.log"));
        let trace = strace::Trace::parse(&String::from_utf8_lossy(&log));
        let (values, labels): (Vec<String>, Vec<String>) = records
            .secrets
            .iter()
            .map(|(v, l)| (v.clone(), l.clone()))
            .unzip();
        let matcher = forms::Matcher::new(&values);
        Scan {
            dir: dir.to_path_buf(),
            records,
            trace,
            values,
            labels,
            matcher,
            report: Report::default(),
        }
    }

    /// Scans everything and checks completeness.
    pub fn run(mut self) -> Report {
        self.report.secrets = self.values.len();
        self.scan_outputs();
        self.scan_files();
        self.scan_argv();
        self.check_planted();
        self.check_complete();
        self.report
    }

    fn search(&mut self, kind: Kind, place: &str, text: &[u8]) {
        for needle in self.matcher.find(text) {
            let label = &self.labels[needle.secret];
            let hit = Hit {
                kind,
                place: place.to_string(),
                secret: label.clone(),
                form: needle.form.clone(),
            };
            if label.starts_with("canary planted-") {
                self.report.planted_hits.push(hit);
            } else {
                self.report.hits.push(hit);
            }
        }
        for literal in unregistered_canaries(text, &self.records.secrets) {
            self.report.hits.push(Hit {
                kind,
                place: place.to_string(),
                secret: literal,
                form: "raw, not registered: take it from harness::canary".into(),
            });
        }
    }

    fn scan_outputs(&mut self) {
        let outputs = std::mem::take(&mut self.records.outputs);
        for out in &outputs {
            let run = targets::classify(&out.argv);
            for (path, is_stdout) in [(&out.stdout, true), (&out.stderr, false)] {
                let bytes = read(path);
                let text = targets::output_text(
                    &run,
                    out.github,
                    is_stdout,
                    &bytes,
                    &self.records.hosts,
                    &self.values,
                );
                let stream = if is_stdout { "stdout" } else { "stderr" };
                let place = format!("{stream} of `{}`", out.argv.join(" "));
                self.search(Kind::Output, &place, &text);
                self.report.outputs += 1;
            }
        }
        self.records.outputs = outputs;
        let mut others: Vec<(String, PathBuf)> = std::mem::take(&mut self.records.logs);
        if let Ok(entries) = fs::read_dir(self.dir.join("suites")) {
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                others.push((format!("test binary {name}"), path));
            }
        }
        for (name, path) in others {
            let bytes = read(&path);
            self.search(Kind::Output, &name, &bytes);
            self.report.outputs += 1;
        }
    }

    fn scan_files(&mut self) {
        let tmp = self.dir.join("tmp");
        let mut files = Vec::new();
        walk(&tmp, &mut files);
        // Files written outside the temp trees (a shared cache, /var/tmp) that still exist.
        let skip = ["/dev/", "/proc/", "/sys/"];
        let mut outside: Vec<PathBuf> = self
            .trace
            .written
            .iter()
            .filter(|p| !p.starts_with(&self.dir) && !skip.iter().any(|s| p.starts_with(s)))
            .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
            .cloned()
            .collect();
        outside.sort();
        outside.dedup();
        files.extend(outside);
        for path in files {
            if self.records.inputs.contains(&canonical(&path)) {
                self.report.inputs += 1;
                continue;
            }
            let Ok(bytes) = fs::read(&path) else {
                let problem = format!("cannot read {}: not scanned", path.display());
                self.report.problems.push(problem);
                continue;
            };
            let text = targets::file_text(&path, &bytes, &self.records.hosts);
            self.search(Kind::File, &path.display().to_string(), &text);
            self.report.files += 1;
        }
    }

    fn scan_argv(&mut self) {
        let mut seen = HashSet::new();
        let execs: Vec<(u32, String, Vec<Vec<u8>>)> = self
            .trace
            .execs
            .iter()
            .map(|e| (e.pid, e.path.clone(), e.argv.clone()))
            .collect();
        for (pid, path, argv) in execs {
            // A PATH search tries the same argv under several paths: one process, one argv.
            if !seen.insert((pid, argv.clone())) {
                continue;
            }
            self.report.argv += 1;
            for (i, arg) in argv.iter().enumerate() {
                self.search(Kind::Argv, &format!("pid {pid} {path} argv[{i}]"), arg);
            }
        }
        if self.trace.truncated > 0 {
            self.report.problems.push(format!(
                "{} strace lines have strings cut short: raise strace -s",
                self.trace.truncated
            ));
        }
    }

    fn check_planted(&mut self) {
        for label in self
            .labels
            .iter()
            .filter(|l| l.starts_with("canary planted-"))
        {
            let kind = label["canary planted-".len()..]
                .split('-')
                .next()
                .unwrap_or("");
            let found = self
                .report
                .planted_hits
                .iter()
                .any(|h| &h.secret == label && h.kind.name() == kind);
            if !found {
                self.report.planted_missed.push(label.clone());
            }
        }
    }

    fn check_complete(&mut self) {
        let problems = &mut self.report.problems;
        if self.values.is_empty() {
            problems
                .push("no secret was registered: is CRLOGIN_LEAK_AUDIT reaching the tests?".into());
        }
        // Every test binary registered secrets and recorded outputs.
        let tests: HashMap<u32, String> = self
            .trace
            .execs
            .iter()
            .filter_map(|e| suite_name(&e.path).map(|name| (e.pid, name)))
            .collect();
        for (pid, name) in &tests {
            let secrets = self.records.secrets_by_pid.get(pid).copied().unwrap_or(0);
            let outputs = self.records.outputs_by_pid.get(pid).copied().unwrap_or(0);
            if secrets == 0 || outputs == 0 {
                problems.push(format!(
                    "test binary {name} registered {secrets} secrets and recorded {outputs} outputs: \
                     take its secrets from harness::canary and run its commands with harness::run"
                ));
            }
        }
        // Every process a test started had its output recorded.
        let recorded = &self.records.recorded;
        let mut unrecorded: BTreeMap<String, usize> = BTreeMap::new();
        let mut done = HashSet::new();
        for exec in self.trace.execs.iter().rev() {
            let Some(parent) = self.trace.parent.get(&exec.pid) else {
                continue;
            };
            let by_test = self.trace.program(*parent).and_then(suite_name).is_some();
            if !done.insert(exec.pid) || !by_test {
                continue;
            }
            self.report.test_children += 1;
            let program = exec.path.rsplit('/').next().unwrap_or("").to_string();
            let exempt = UNRECORDED_OK.iter().any(|(p, _)| *p == program);
            if !recorded.contains(&exec.pid) && !exempt {
                *unrecorded.entry(program).or_default() += 1;
            }
        }
        for (program, n) in unrecorded {
            problems.push(format!(
                "{n} run(s) of {program} started by a test had their output unrecorded: \
                 run them with harness::run (or record with harness::audit::output)"
            ));
        }
        // Every temp tree made in the tests' TMPDIR was kept.
        let tmp = self.dir.join("tmp");
        let mut gone: Vec<&PathBuf> = self
            .trace
            .mkdirs
            .iter()
            .chain(&self.trace.written)
            .filter(|p| p.parent() == Some(tmp.as_path()) && !p.exists())
            .collect();
        gone.sort();
        gone.dedup();
        if !gone.is_empty() {
            problems.push(format!(
                "{} temp dirs or files in the tests' TMPDIR were removed before the scan (first: {}): \
                 make them with harness::temp_dir",
                gone.len(),
                gone[0].display()
            ));
        }
    }
}

/// Raw `canary-...` words in `text` that are no registered secret (nor start with one): a canary
/// a test wrote as a literal instead of taking it from `harness::canary`, so the scan cannot
/// look for its encoded forms.
pub fn unregistered_canaries(text: &[u8], secrets: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = find_canary_prefix(rest) {
        let word: Vec<u8> = rest[at..]
            .iter()
            .copied()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .collect();
        let word = String::from_utf8_lossy(&word).into_owned();
        let registered = secrets
            .keys()
            .any(|secret| word.starts_with(secret.as_str()));
        if !registered && !found.contains(&word) {
            found.push(word);
        }
        rest = &rest[at + CANARY.len()..];
    }
    found
}

/// What every canary starts with.
const CANARY: &[u8] = b"canary-";

/// The first `canary-` in `text`. It reads one 4-byte block in every 4 (each `canary-` holds one
/// whole), and looks closer only at a block that is a piece of `canary-`: a plain search ran
/// for seconds over the hundreds of MB of a scan in the tests' debug build.
fn find_canary_prefix(text: &[u8]) -> Option<usize> {
    #[inline(always)]
    fn word(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }
    let pieces = [0, 1, 2, 3].map(|at| word(CANARY, at));
    let mut block = 0;
    while block + 4 <= text.len() {
        let block_word = word(text, block);
        // Compared one by one: a slice search is a loop of calls in a debug build.
        if block_word == pieces[0]
            || block_word == pieces[1]
            || block_word == pieces[2]
            || block_word == pieces[3]
        {
            let first = block.saturating_sub(3);
            if let Some(at) = (first..=block).find(|&at| text[at..].starts_with(CANARY)) {
                return Some(at);
            }
        }
        block += 4;
    }
    None
}

/// The suite name of a test binary path (`target/debug/deps/NAME-HASH`), else None.
fn suite_name(path: &str) -> Option<String> {
    let path = Path::new(path);
    if path.parent()?.file_name()? != "deps" {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let (suite, hash) = name.rsplit_once('-')?;
    (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| suite.to_string())
}

/// Every regular file under `dir` (symlinks not followed).
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, files);
        } else if meta.is_file() {
            files.push(path);
        }
    }
}

/// The bytes of a file the audit itself wrote; fails the scan if it is missing.
fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("leak audit: cannot read {}: {e}", path.display()))
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
