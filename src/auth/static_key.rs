//! `NEBIUS_STATIC_KEY` (or `_FILE`): a Container Registry static key, written as it is.

use super::iam_token::GivenSource;
use super::PasswordKind;

/// The source.
pub static SOURCE: GivenSource = GivenSource {
    name: "static-key",
    help: "NEBIUS_STATIC_KEY: a Container Registry static key",
    variable: "NEBIUS_STATIC_KEY",
    kind: PasswordKind::StaticKey,
};
