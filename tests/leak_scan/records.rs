//! The records the tests wrote under the audit directory (tests/harness/audit.rs).

use super::canonical;
use super::targets::Hosts;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One recorded process output.
pub struct Output {
    /// The command line (program first).
    pub argv: Vec<String>,
    /// Whether it ran with `GITHUB_ACTIONS=true`.
    pub github: bool,
    /// The file holding its stdout.
    pub stdout: PathBuf,
    /// The file holding its stderr.
    pub stderr: PathBuf,
}

/// Everything the records say.
#[derive(Default)]
pub struct Records {
    /// Secret value -> its label.
    pub secrets: BTreeMap<String, String>,
    /// The tests' own input files (canonical paths), skipped by the scan.
    pub inputs: HashSet<PathBuf>,
    /// The hosts credentials are meant for.
    pub hosts: Hosts,
    /// Every recorded process output.
    pub outputs: Vec<Output>,
    /// Server logs: (whose, file).
    pub logs: Vec<(String, PathBuf)>,
    /// Processes whose output was recorded (outputs and logs).
    pub recorded: HashSet<u32>,
    /// Test process id -> secrets it registered.
    pub secrets_by_pid: HashMap<u32, usize>,
    /// Test process id -> outputs it recorded.
    pub outputs_by_pid: HashMap<u32, usize>,
}

impl Records {
    /// Reads DIR/records/*.jsonl.
    pub fn load(dir: &Path) -> Records {
        let mut records = Records::default();
        let Ok(entries) = fs::read_dir(dir.join("records")) else {
            return records;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let pid: u32 = name.split('-').next().unwrap().parse().unwrap();
            for line in fs::read_to_string(&path).unwrap().lines() {
                let record: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: bad record ({e})", path.display()));
                records.add(pid, &record);
            }
        }
        records
    }

    fn add(&mut self, pid: u32, record: &Value) {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        if let Some(label) = record.get("secret") {
            self.secrets.insert(text(&record["value"]), text(label));
            *self.secrets_by_pid.entry(pid).or_default() += 1;
        } else if let Some(path) = record.get("input") {
            self.inputs.insert(canonical(Path::new(&text(path))));
        } else if let Some(host) = record.get("host") {
            self.hosts.add(&text(host));
        } else if let Some(out) = record.get("output") {
            let argv: Vec<String> = out["argv"].as_array().unwrap().iter().map(text).collect();
            for (i, arg) in argv.iter().enumerate() {
                if let Some(list) = arg.strip_prefix("--registry=") {
                    self.hosts.add(list);
                } else if arg == "--registry" {
                    self.hosts.add(argv.get(i + 1).map_or("", String::as_str));
                }
            }
            for list in out["registries"].as_array().unwrap() {
                self.hosts.add(&text(list));
            }
            let child = out["pid"].as_u64().unwrap() as u32;
            self.recorded.insert(child);
            self.outputs.push(Output {
                argv,
                github: out["github_actions"].as_bool().unwrap_or(false),
                stdout: PathBuf::from(text(&out["stdout"])),
                stderr: PathBuf::from(text(&out["stderr"])),
            });
            *self.outputs_by_pid.entry(pid).or_default() += 1;
        } else if let Some(log) = record.get("log") {
            self.recorded
                .insert(log["pid"].as_u64().unwrap_or(0) as u32);
            self.logs
                .push((text(&log["name"]), PathBuf::from(text(&log["file"]))));
        }
    }
}
