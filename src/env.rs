//! A snapshot of the process environment, read once, so every stage sees the same values and
//! tests can build one by hand.

use anyhow::{bail, Result};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variables crlogin reads, captured at start-up.
#[derive(Debug, Default, Clone)]
pub struct Env {
    vars: HashMap<String, OsString>,
}

impl Env {
    /// Captures the current process environment.
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
                .collect(),
        }
    }

    /// Builds an environment from pairs (for tests).
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        }
    }

    /// The value of `name`, or `None` when it is unset or empty. A value that is not UTF-8 is an
    /// error naming the variable (never its value).
    pub fn get(&self, name: &str) -> Result<Option<String>> {
        match self.vars.get(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => match v.to_str() {
                Some(s) => Ok(Some(s.to_string())),
                None => bail!("{name} is not valid UTF-8: set it to UTF-8 text"),
            },
        }
    }

    /// Whether `name` is set to a non-empty value.
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| !v.is_empty())
    }

    /// Whether `name` is `true` (as CI systems set their markers).
    pub fn is_true(&self, name: &str) -> bool {
        self.vars
            .get(name)
            .and_then(|v| v.to_str())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A path-valued variable (non-UTF-8 paths allowed).
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.vars
            .get(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }
}
