//! The forms a secret can leak in (raw, and base64 in both alphabets at each of the three byte
//! alignments it can have inside a longer encoded text), and one pass over a text that finds any
//! of them.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use std::collections::{HashMap, HashSet};

/// Every needle is at least this long; the matcher looks up windows of this many bytes.
const WINDOW: usize = 16;

/// One searched-for form of one secret.
pub struct Needle {
    /// Index of the secret in the list given to [`Matcher::new`].
    pub secret: usize,
    /// "raw", or "base64@K" / "base64url@K": the secret started K bytes (mod 3) into the text
    /// that was encoded.
    pub form: String,
    /// The bytes searched for.
    pub bytes: Vec<u8>,
}

/// The part of the base64 of `prefix + value + anything` that depends only on `value`, for a
/// `prefix` of `offset` bytes: its characters from the first one holding no prefix bit to the
/// last one holding no bit after `value`.
pub fn base64_core(value: &[u8], offset: usize) -> String {
    let mut padded = vec![0u8; offset];
    padded.extend_from_slice(value);
    let encoded = STANDARD_NO_PAD.encode(&padded);
    let start = (8 * offset).div_ceil(6);
    let end = 8 * padded.len() / 6;
    encoded[start..end].to_string()
}

/// The raw secret and its six base64 forms (fewer when the URL-safe ones are the same).
pub fn forms(value: &str) -> Vec<(String, String)> {
    let mut forms = vec![("raw".to_string(), value.to_string())];
    for offset in 0..3 {
        let standard = base64_core(value.as_bytes(), offset);
        let url = standard.replace('+', "-").replace('/', "_");
        if url != standard {
            forms.push((format!("base64url@{offset}"), url));
        }
        forms.push((format!("base64@{offset}"), standard));
    }
    forms
}

/// Finds every form of a set of secrets in one pass: a hash of each needle's first
/// [`WINDOW`] bytes, looked up at every position of the text.
pub struct Matcher {
    needles: Vec<Needle>,
    heads: HashMap<[u8; WINDOW], Vec<usize>>,
}

impl Matcher {
    /// A matcher for `secrets`; panics on one too short to search for safely.
    pub fn new(secrets: &[String]) -> Matcher {
        let mut needles = Vec::new();
        for (i, secret) in secrets.iter().enumerate() {
            assert!(
                secret.len() >= WINDOW,
                "a registered secret is shorter than {WINDOW} bytes"
            );
            for (form, text) in forms(secret) {
                needles.push(Needle {
                    secret: i,
                    form,
                    bytes: text.into_bytes(),
                });
            }
        }
        let mut heads: HashMap<[u8; WINDOW], Vec<usize>> = HashMap::new();
        for (i, needle) in needles.iter().enumerate() {
            let head: [u8; WINDOW] = needle.bytes[..WINDOW].try_into().unwrap();
            heads.entry(head).or_default().push(i);
        }
        Matcher { needles, heads }
    }

    /// Every needle found in `text`, each once, in the order found.
    pub fn find(&self, text: &[u8]) -> Vec<&Needle> {
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        for (at, window) in text.windows(WINDOW).enumerate() {
            let Some(candidates) = self.heads.get(window) else {
                continue;
            };
            for &i in candidates {
                if text[at..].starts_with(&self.needles[i].bytes) && seen.insert(i) {
                    found.push(&self.needles[i]);
                }
            }
        }
        found
    }
}
