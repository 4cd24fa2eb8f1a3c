//! The docker credential-helper protocol (github.com/docker/docker-credential-helpers), both
//! sides: the names and messages crlogin's own helper answers with (`credential-helper`) and
//! the JSON shape it sends to and receives from other helpers (`credsStore`, `credHelpers`).

use serde::Serialize;

/// What clients match to tell "no credentials for this host" from a failure.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// The helper's name in `credHelpers` (the program is `docker-credential-` + this).
pub const HELPER_NAME: &str = "crlogin";

/// The name docker, helm and podman run the credential helper by (`credHelpers` value
/// `crlogin`).
pub const DOCKER_HELPER_PROGRAM: &str = "docker-credential-crlogin";

/// The program a helper called `name` is run as.
pub fn program(name: &str) -> String {
    format!("docker-credential-{name}")
}

/// The helper protocol's credentials, as docker-credential-helpers serialises them: what `get`
/// answers and `store` is given.
#[derive(Serialize)]
pub struct Credentials<'a> {
    /// The server, as the client will ask for it.
    #[serde(rename = "ServerURL")]
    pub server_url: &'a str,
    /// The registry username.
    #[serde(rename = "Username")]
    pub username: &'a str,
    /// The password or token.
    #[serde(rename = "Secret")]
    pub secret: &'a str,
}
