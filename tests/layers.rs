//! The crate's layering, checked mechanically: every top-level module of `src/` has a place in
//! [`LAYERS`] (the table docs/src/contributing/architecture.md shows), no module imports one in a
//! higher layer, and there is no cycle between modules, counting every `crate::` reference
//! outside `#[cfg(test)]` modules as an edge (as `../shared/tools/modgraph.py src` counts them).
//! A change that adds a cycle or an upward import fails here, naming the modules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top: a module may import its own layer or a lower one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "platform",
        &[
            "env", "os", "secret", "expiry", "dcred", "proxy", "tls", "wrapper", "child",
        ],
    ),
    (
        "primitives",
        &[
            "ci",
            "files",
            "registry",
            "registry_url",
            "tools",
            "connect_error",
            "no_credentials",
        ],
    ),
    ("sources", &["secrets", "auth", "docker_login"]),
    (
        "plan and sinks",
        &["plan", "sinks", "state", "verify", "report"],
    ),
    (
        "commands",
        &[
            "cli",
            "help_examples",
            "commands",
            "helper",
            "exec",
            "k8s_secret",
            "doctor",
        ],
    ),
];

/// Test-only code and the crate roots, which are not layered.
const SKIPPED: &[&str] = &["lib", "main", "proptests", "fuzzing"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` without its `#[cfg(test)] mod NAME { ... }` blocks and `//` comments.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_mod = trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ");
        match (is_mod, after.find('{'), after.find(';')) {
            (true, Some(open), semi) if semi.is_none_or(|s| s > open) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = open + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules each one refers to through `crate::`.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let unit = |path: &Path| {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let units: BTreeSet<String> = files
        .iter()
        .map(|f| unit(f))
        .filter(|u| !SKIPPED.contains(&u.as_str()))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        units.iter().map(|u| (u.clone(), BTreeSet::new())).collect();
    for file in &files {
        let from = unit(file);
        if SKIPPED.contains(&from.as_str()) {
            continue;
        }
        let code = production_code(&fs::read_to_string(file).unwrap());
        for (at, _) in code.match_indices("crate::") {
            let after = &code[at + "crate::".len()..];
            let names: Vec<&str> = match after.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or_default())
                    .collect(),
                None => vec![after
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default()],
            };
            for name in names {
                if name != from && units.contains(name) {
                    graph.get_mut(&from).unwrap().insert(name.to_string());
                }
            }
        }
    }
    graph
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// A cycle through `start`, if one exists (depth-first search).
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in &graph[&node] {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn modules_import_only_their_own_layer_or_lower_and_form_no_cycle() {
    let graph = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut problems = Vec::new();
    for (module, imports) in &graph {
        let Some(layer) = layer_of(module) else {
            problems.push(format!(
                "src/{module} has no layer: add it to LAYERS in tests/layers.rs and to the table in docs/src/contributing/architecture.md"
            ));
            continue;
        };
        for import in imports {
            if layer_of(import).is_some_and(|l| l > layer) {
                problems.push(format!(
                    "{module} ({}) imports {import} ({}), a higher layer",
                    LAYERS[layer].0,
                    LAYERS[layer_of(import).unwrap()].0
                ));
            }
        }
        if let Some(cycle) = cycle_from(&graph, module) {
            problems.push(format!("cycle: {}", cycle.join(" -> ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_cycle_and_an_upward_import() {
    let mut graph = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph["commands"].contains("auth"), "edges are found");
    graph.get_mut("auth").unwrap().insert("commands".into());
    assert!(cycle_from(&graph, "auth").is_some());
    assert!(layer_of("auth") < layer_of("commands"));
    assert_eq!(
        production_code("a\n#[cfg(test)]\nmod tests {\n use crate::x;\n}\nb // crate::y"),
        "a\n\nb "
    );
}
