//! A plain shell, or a CI crlogin has no special support for.

use super::Ci;

/// The name a plain shell reports as.
pub const NAME: &str = "local shell";

/// No CI: nothing to mask (crlogin never prints a secret anyway).
pub struct Local;

impl Ci for Local {
    fn name(&self) -> &'static str {
        NAME
    }

    fn mask(&self, _value: &str) {}
}
