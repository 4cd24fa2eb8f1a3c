//! The secret type and bounded reads of text that may be secret: the lowest layer every other
//! module builds on, knowing nothing of crlogin's inputs or outputs.

use anyhow::Result;
use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// Largest secret file crlogin reads; anything bigger is a wrong path, not a credential.
const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// A secret value: zeroed on drop, and shown as `***` by `Debug`. It has no `Display`: the only
/// way to the text is [`Secret::expose`], whose callers are the few places that must use it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value read from a trusted place (tests, token exchange responses).
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// Wraps text already held in zeroed memory.
    pub fn from_zeroizing(value: Zeroizing<String>) -> Self {
        Self(value)
    }

    /// The secret text, for the auth-file writer, the verify request and similar.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads a small UTF-8 secret file (at most 1 MiB); errors name the problem, never the content.
pub fn read_file(path: &Path) -> Result<Zeroizing<String>> {
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    read_text(file, MAX_SECRET_FILE).map_err(|e| match e {
        TextError::Io(kind) => anyhow::anyhow!("{kind}"),
        TextError::TooLarge => anyhow::anyhow!("larger than 1 MiB, which no credential is"),
        TextError::NotUtf8 => anyhow::anyhow!("not UTF-8 text"),
    })
}

/// Why [`read_text`] failed; each caller words it for what it was reading.
pub enum TextError {
    /// Reading failed.
    Io(std::io::ErrorKind),
    /// More than the limit.
    TooLarge,
    /// Not UTF-8.
    NotUtf8,
}

/// Reads at most `limit` bytes of UTF-8 text from `reader` into memory that is zeroed when
/// dropped (what is read may be a secret); more than `limit` is an error, not a truncation.
pub fn read_text(reader: impl Read, limit: u64) -> Result<Zeroizing<String>, TextError> {
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| TextError::Io(e.kind()))?;
    if bytes.len() as u64 > limit {
        return Err(TextError::TooLarge);
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(TextError::NotUtf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_value() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2".into())),
            "Secret(***)"
        );
    }
}
