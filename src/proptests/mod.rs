//! Property tests (proptest) for every input crlogin parses from outside: the credentials JSON,
//! the docker/helm/podman auth files it merges into, the registry names and server URLs the
//! helpers are given, the kubelet's request and the Nebius CLI profile. They run inside
//! `cargo test` with a fixed case count per property (see [`config`]); `PROPTEST_CASES` raises
//! it for a longer run. Failures proptest finds are kept under `proptest-regressions/` and
//! replayed first on every run.
//!
//! The whole-process properties (arbitrary stdin to the two helpers) are in
//! `tests/helper_stdin_props.rs`.

// Unix only: it checks modes and inode numbers (the private-file rules per OS are tested in `os`).
#[cfg(unix)]
mod auth_files;
pub(crate) mod credentials;
mod kubelet;
mod profile;
mod registry;

use crate::ci::Ci;
#[cfg(unix)]
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
#[cfg(unix)]
use base64::Engine;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::cell::RefCell;

/// The proptest settings for a property: `cases` cases, unless `PROPTEST_CASES` says otherwise.
pub fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// A CI that records what it was asked to mask.
#[derive(Default)]
pub struct Recorder {
    /// Every value passed to [`Ci::mask`], in order.
    pub masked: RefCell<Vec<String>>,
}

impl Ci for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn mask(&self, value: &str) {
        self.masked.borrow_mut().push(value.to_string());
    }
}

/// The form of `secret` that `text` contains, if any: itself, or its standard or URL-safe
/// base64 (padding trimmed), with or without `user:` in front.
#[cfg(unix)]
pub fn leaked_form(text: &str, secret: &str, user: Option<&str>) -> Option<String> {
    let mut forms = vec![secret.to_string()];
    for plain in [
        Some(secret.to_string()),
        user.map(|u| format!("{u}:{secret}")),
    ]
    .into_iter()
    .flatten()
    {
        forms.push(STANDARD.encode(&plain).trim_end_matches('=').to_string());
        forms.push(URL_SAFE.encode(&plain).trim_end_matches('=').to_string());
    }
    forms
        .into_iter()
        .find(|form| !form.is_empty() && text.contains(form.as_str()))
}

/// Any JSON value, nested up to `depth` levels, with arbitrary (also control and non-ASCII)
/// strings and keys.
pub fn json_value(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A JSON object key: usually a short name, sometimes any string.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-zA-Z._-]{1,12}", 1 => any::<String>()]
}

/// Any JSON object (a document's top level).
pub fn json_object(depth: u32) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key(), json_value(depth)), 0..6)
        .prop_map(|entries| entries.into_iter().collect())
}

/// `inner` nested in `levels` arrays or objects: past serde's recursion limit at 128.
pub fn nested(levels: usize, inner: &str, objects: bool) -> String {
    let (open, close) = if objects {
        (r#"{"a":"#, "}")
    } else {
        ("[", "]")
    };
    format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
}

/// How a valid text is damaged: the arbitrary half of every input generator.
#[derive(Debug, Clone)]
pub enum Damage {
    /// Left as it is.
    None,
    /// Cut at this fraction (per mille) of its length.
    Truncate(u16),
    /// These bytes put in at this fraction (per mille) of its length.
    Insert(u16, Vec<u8>),
    /// This many bytes removed at this fraction (per mille) of its length.
    Remove(u16, u8),
    /// One byte flipped at this fraction (per mille) of its length.
    Flip(u16, u8),
}

/// A random [`Damage`], `None` about half of the time.
pub fn damage() -> impl Strategy<Value = Damage> {
    let at = 0u16..=1000;
    prop_oneof![
        4 => Just(Damage::None),
        1 => at.clone().prop_map(Damage::Truncate),
        1 => (at.clone(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
        1 => (at.clone(), 1u8..32).prop_map(|(at, n)| Damage::Remove(at, n)),
        1 => (at, 1u8..=255).prop_map(|(at, mask)| Damage::Flip(at, mask)),
    ]
}

impl Damage {
    /// Applies the damage to `bytes` (the result may well not be UTF-8).
    pub fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let pos = |per_mille: u16| bytes.len() * usize::from(per_mille) / 1000;
        let mut out = bytes.to_vec();
        match self {
            Damage::None => {}
            Damage::Truncate(at) => out.truncate(pos(*at)),
            Damage::Insert(at, extra) => {
                let at = pos(*at);
                out.splice(at..at, extra.iter().copied());
            }
            Damage::Remove(at, n) => {
                let at = pos(*at);
                let end = (at + usize::from(*n)).min(out.len());
                out.drain(at..end);
            }
            Damage::Flip(at, mask) => {
                if let Some(b) = out.get_mut(pos(*at).min(bytes.len().saturating_sub(1))) {
                    *b ^= mask;
                }
            }
        }
        out
    }

    /// Applies the damage to `text`; invalid UTF-8 becomes U+FFFD.
    pub fn apply_str(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.apply(text.as_bytes())).into_owned()
    }
}

/// Arbitrary bytes: short or long, often UTF-8, sometimes not.
pub fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        any::<String>().prop_map(String::into_bytes),
        (any::<u8>(), 0usize..200_000).prop_map(|(b, n)| vec![b; n]),
    ]
}
