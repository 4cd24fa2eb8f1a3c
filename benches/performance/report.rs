//! The results table (markdown), and what it needs to say about the machine.

use std::fmt::Write as _;
use std::process::Command;

/// One line of the results table.
pub struct Row {
    /// What was measured.
    pub what: String,
    /// The figure.
    pub result: String,
    /// How many timed runs the figure is made of ("" when not a timing).
    pub runs: String,
    /// The goal from the issue, if there is one.
    pub goal: &'static str,
    /// Whether the goal is met (`None`: no goal).
    pub met: Option<bool>,
}

impl Row {
    /// A row without a goal.
    pub fn info(what: impl Into<String>, result: impl Into<String>, runs: impl ToString) -> Row {
        Row {
            what: what.into(),
            result: result.into(),
            runs: runs.to_string(),
            goal: "",
            met: None,
        }
    }

    /// A row with a goal and whether it is met.
    pub fn goal(
        what: impl Into<String>,
        result: impl Into<String>,
        runs: impl ToString,
        goal: &'static str,
        met: bool,
    ) -> Row {
        Row {
            goal,
            met: Some(met),
            ..Row::info(what, result, runs)
        }
    }
}

/// The markdown document: a heading, the machine, the table, then `notes` as a list.
pub fn render(rows: &[Row], machine: &[String], notes: &[String]) -> String {
    let mut md = String::from("## crlogin benchmarks\n\n");
    for line in machine {
        let _ = writeln!(md, "- {line}");
    }
    md.push_str("\n| benchmark | result | runs | goal | met |\n|---|---|---|---|---|\n");
    for row in rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            row.what, row.result, row.runs, row.goal, met
        );
    }
    md.push('\n');
    for note in notes {
        let _ = writeln!(md, "- {note}");
    }
    md
}

/// The machine the figures come from: CPU, cores, kernel, and the load when the run started
/// (the figures are only comparable on an otherwise idle machine).
pub fn machine() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = Command::new("uname")
        .arg("-sr")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        format!("machine: {model}, {cores} cores, {kernel}"),
        format!("load average at start: {load}"),
    ]
}
