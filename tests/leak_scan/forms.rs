//! The forms a secret can leak in (raw, and base64 in both alphabets at each of the three byte
//! alignments it can have inside a longer encoded text), and one pass over a text that finds any
//! of them.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use std::collections::{HashMap, HashSet};

/// Every needle is at least this long; the matcher looks up windows of this many bytes.
const WINDOW: usize = 16;

/// The prefilter reads blocks of this many bytes ...
const BLOCK: usize = 4;

/// ... one every `STRIDE` bytes of a text: every window holds one whole sampled block.
const STRIDE: usize = WINDOW - BLOCK + 1;

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

/// A set of 4-byte blocks, hashed into 2^20 bits (128 KiB): no false negatives, and few false
/// positives for the few ten thousand blocks of a scan.
struct Blocks(Vec<u64>);

impl Blocks {
    const BITS: u32 = 20;

    fn new() -> Blocks {
        Blocks(vec![0; (1 << Self::BITS) / 64])
    }

    /// The bit of the block at `text[at..]`. (Inlined even in the tests' debug build: this runs
    /// for every few bytes scanned.)
    #[inline(always)]
    fn bit(text: &[u8], at: usize) -> usize {
        let word = u32::from_le_bytes([text[at], text[at + 1], text[at + 2], text[at + 3]]);
        (word.wrapping_mul(0x9E37_79B1) >> (32 - Self::BITS)) as usize
    }

    fn insert(&mut self, text: &[u8], at: usize) {
        let bit = Self::bit(text, at);
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    #[inline(always)]
    fn contains(&self, text: &[u8], at: usize) -> bool {
        let bit = Self::bit(text, at);
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// Finds every form of a set of secrets in one pass. It reads one 4-byte block in every
/// [`STRIDE`] bytes of the text; only where that block occurs somewhere in a needle's first
/// [`WINDOW`] bytes does it look at the windows that could hold it, and hashes those that start
/// like a needle (hashing every window made a scan of a few hundred MB take minutes).
pub struct Matcher {
    needles: Vec<Needle>,
    /// Needle indexes by their first [`WINDOW`] bytes.
    heads: HashMap<[u8; WINDOW], Vec<usize>>,
    /// Every block of every needle's first [`WINDOW`] bytes.
    inside: Blocks,
    /// The first block of every needle.
    starts: Blocks,
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
        let (mut inside, mut starts) = (Blocks::new(), Blocks::new());
        for (i, needle) in needles.iter().enumerate() {
            let head: [u8; WINDOW] = needle.bytes[..WINDOW].try_into().unwrap();
            heads.entry(head).or_default().push(i);
            starts.insert(&head, 0);
            for at in 0..STRIDE {
                inside.insert(&head, at);
            }
        }
        Matcher {
            needles,
            heads,
            inside,
            starts,
        }
    }

    /// Every needle found in `text`, each once, in the order found.
    pub fn find(&self, text: &[u8]) -> Vec<&Needle> {
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        // A needle at `at` holds the block at the one multiple of STRIDE in at..at + STRIDE.
        let mut block = 0;
        while block + BLOCK <= text.len() {
            if self.inside.contains(text, block) {
                let mut at = block.saturating_sub(STRIDE - 1);
                while at <= block && at + WINDOW <= text.len() {
                    if self.starts.contains(text, at) {
                        for &i in self.heads.get(&text[at..at + WINDOW]).into_iter().flatten() {
                            if text[at..].starts_with(&self.needles[i].bytes) && seen.insert(i) {
                                found.push(&self.needles[i]);
                            }
                        }
                    }
                    at += 1;
                }
            }
            block += STRIDE;
        }
        found
    }
}
