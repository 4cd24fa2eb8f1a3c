//! What differs between Linux, macOS and Windows, one module per concern, so the rest of crlogin
//! is the same code everywhere: who may open the files crlogin writes ([`private`]), how a file
//! is replaced atomically ([`replace`]), how the `docker-credential-crlogin` helper is put on
//! disk ([`helper_link`]), where each tool keeps its files by default ([`paths`]), and how `exec`
//! holds on to its private directory ([`pinned_dir`]). The
//! README's "Paths and behaviour per OS" table says the same for users.

pub mod helper_link;
pub mod paths;
pub mod pinned_dir;
pub mod private;
pub mod replace;
#[cfg(windows)]
mod windows_acl;

/// The operating systems whose conventions crlogin follows. Path rules take one as a value, so
/// every OS's rules are unit-tested on any OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Linux and the other Unix systems (XDG directories).
    Linux,
    /// macOS (`~/Library`).
    Mac,
    /// Windows (`%USERPROFILE%`, `%APPDATA%`, `%LOCALAPPDATA%`).
    Windows,
}

impl Os {
    /// The OS crlogin was built for.
    pub const CURRENT: Os = if cfg!(windows) {
        Os::Windows
    } else if cfg!(target_os = "macos") {
        Os::Mac
    } else {
        Os::Linux
    };
}
