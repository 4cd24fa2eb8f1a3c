//! A plain shell, or a CI crlogin has no special support for.

use super::Ci;

/// No CI: nothing to mask (crlogin never prints a secret anyway).
pub struct Local;

impl Ci for Local {
    fn name(&self) -> &'static str {
        "local shell"
    }

    fn mask(&self, _value: &str) {}
}
