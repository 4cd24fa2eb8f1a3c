//! What a scan found: the hits (never a secret's value, only its label and form), the
//! self-check's plants, the gaps in what the audit saw, and the counts.

use std::collections::{BTreeMap, HashSet};

/// Where a hit was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A process's stdout or stderr, or a server log.
    Output,
    /// A file.
    File,
    /// A program's argv.
    Argv,
}

impl Kind {
    /// "output", "file" or "argv".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Output => "output",
            Kind::File => "file",
            Kind::Argv => "argv",
        }
    }
}

/// One secret found somewhere.
#[derive(Debug)]
pub struct Hit {
    /// What kind of place.
    pub kind: Kind,
    /// The place (a file's path, an output's command and stream, an exec's pid and program).
    pub place: String,
    /// The secret's label (never its value).
    pub secret: String,
    /// The form found ("raw", "base64@1", ...).
    pub form: String,
}

/// The outcome of a scan.
#[derive(Default, Debug)]
pub struct Report {
    /// Leaks of registered secrets (self-check secrets excluded).
    pub hits: Vec<Hit>,
    /// Hits of the self-check's planted secrets.
    pub planted_hits: Vec<Hit>,
    /// Planted secrets not found where they were planted.
    pub planted_missed: Vec<String>,
    /// Why the audit is incomplete (empty when it saw everything).
    pub problems: Vec<String>,
    /// Outputs scanned.
    pub outputs: usize,
    /// Files scanned.
    pub files: usize,
    /// Test input files skipped.
    pub inputs: usize,
    /// Argv scanned (one per process started, or tried).
    pub argv: usize,
    /// Processes the tests started themselves (each needs its output recorded).
    pub test_children: usize,
    /// Distinct secrets searched for.
    pub secrets: usize,
}

impl Report {
    /// Whether the audit passed: no leak, no missed plant, nothing unseen.
    pub fn passed(&self) -> bool {
        self.hits.is_empty() && self.planted_missed.is_empty() && self.problems.is_empty()
    }

    /// A short summary: one line on success, else the counts, the hits and the problems.
    pub fn summary(&self) -> String {
        let planted = self
            .planted_hits
            .iter()
            .map(|h| &h.secret)
            .collect::<HashSet<_>>();
        let mut text = format!(
            "leak audit: {} hits in {} outputs, {} files, {} argv ({} secrets, up to 7 forms each; \
             {} processes started by tests; {} test input files skipped); \
             self-check: {} of {} planted leaks found",
            self.hits.len(),
            self.outputs,
            self.files,
            self.argv,
            self.secrets,
            self.test_children,
            self.inputs,
            planted.len(),
            planted.len() + self.planted_missed.len(),
        );
        if !self.hits.is_empty() {
            let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
            for hit in &self.hits {
                *counts.entry(hit.kind).or_default() += 1;
            }
            let counts: Vec<String> = counts
                .iter()
                .map(|(k, n)| format!("{n} {}", k.name()))
                .collect();
            text.push_str(&format!("\nhits by kind: {}", counts.join(", ")));
        }
        for hit in self.hits.iter().take(30) {
            text.push_str(&format!(
                "\nLEAK in {} {}: {} ({})",
                hit.kind.name(),
                hit.place,
                hit.secret,
                hit.form
            ));
        }
        for missed in &self.planted_missed {
            text.push_str(&format!("\nSELF-CHECK: planted {missed} was not found"));
        }
        for problem in &self.problems {
            text.push_str(&format!("\nINCOMPLETE: {problem}"));
        }
        text
    }
}
