//! The clients crlogin writes credentials for, as data: one [`Row`] per tool says where its
//! auth file is on each OS, which variable points it elsewhere, which format the file is in and
//! whether the tool obeys a global `credsStore`. Adding a tool that reads docker-format files is
//! one row and one line in [`TOOLS`].

use crate::env::Env;
use crate::os::{paths, Os};
use anyhow::Result;
use std::fmt;
use std::path::{Path, PathBuf};

/// The format of a tool's auth file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// docker's `config.json`: `auths`, `credsStore`, `credHelpers` (docker, helm,
    /// containers/image).
    DockerConfig,
}

/// Everything crlogin knows about one tool.
pub struct Row {
    /// Its name in `--for`, reports and outputs.
    pub name: &'static str,
    /// Its line in `--for`'s help.
    pub help: &'static str,
    /// The auth file it reads, from its own variables and defaults on `os`.
    pub file: fn(&Env, Os) -> Result<PathBuf>,
    /// The variables that choose its file on `os`, for messages.
    pub variables: fn(Os) -> &'static str,
    /// The variable to export so it reads a given file, and whether that variable names the
    /// file's directory (docker's `DOCKER_CONFIG`) rather than the file.
    pub export: (&'static str, bool),
    /// The file's format.
    pub format: Format,
    /// Whether it obeys a global `credsStore` (every tool obeys `credHelpers`).
    pub reads_creds_store: bool,
    /// The `auths` key it keeps Docker Hub under, when not the host (docker's legacy URL).
    pub docker_hub_key: Option<&'static str>,
}

/// The docker CLI.
const DOCKER: Row = Row {
    name: "docker",
    help: "The docker CLI (and buildx, compose)",
    file: paths::docker_config,
    variables: |_| "DOCKER_CONFIG",
    export: ("DOCKER_CONFIG", true),
    format: Format::DockerConfig,
    reads_creds_store: true,
    docker_hub_key: Some("https://index.docker.io/v1/"),
};

/// Helm's OCI registry support.
const HELM: Row = Row {
    name: "helm",
    help: "Helm's OCI registry support",
    file: paths::helm_registry_config,
    variables: |os| match os {
        Os::Windows => "HELM_REGISTRY_CONFIG, HELM_CONFIG_HOME, XDG_CONFIG_HOME, APPDATA",
        Os::Linux | Os::Mac => "HELM_REGISTRY_CONFIG, HELM_CONFIG_HOME, XDG_CONFIG_HOME",
    },
    export: ("HELM_REGISTRY_CONFIG", false),
    format: Format::DockerConfig,
    reads_creds_store: true,
    docker_hub_key: None,
};

/// podman, skopeo and buildah (containers/image).
const PODMAN: Row = Row {
    name: "podman",
    help: "podman, skopeo and buildah (containers/image)",
    file: paths::podman_auth_file,
    variables: paths::podman_variables,
    export: ("REGISTRY_AUTH_FILE", false),
    format: Format::DockerConfig,
    reads_creds_store: false,
    docker_hub_key: None,
};

/// A client whose credentials crlogin writes: a row of the table.
#[derive(Clone, Copy)]
pub struct Tool(&'static Row);

#[allow(non_upper_case_globals)]
impl Tool {
    /// The docker CLI (and buildx, compose).
    pub const Docker: Tool = Tool(&DOCKER);
    /// Helm's OCI registry support.
    pub const Helm: Tool = Tool(&HELM);
    /// podman, skopeo and buildah (containers/image).
    pub const Podman: Tool = Tool(&PODMAN);
}

/// Every tool, in the order `--for` lists them.
pub static TOOLS: &[Tool] = &[Tool::Docker, Tool::Helm, Tool::Podman];

/// `--for`'s default: every tool (a unit test keeps it equal to [`TOOLS`]).
pub const DEFAULT_TOOLS: &str = "docker,helm,podman";

impl Tool {
    /// Its row.
    pub fn row(self) -> &'static Row {
        self.0
    }

    /// The tool's name in reports.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The auth file the tool reads, from its own variables and defaults.
    pub fn auth_file(self, env: &Env) -> Result<PathBuf> {
        (self.0.file)(env, Os::CURRENT)
    }

    /// The variables that choose the tool's file, for messages.
    pub fn variables(self) -> &'static str {
        (self.0.variables)(Os::CURRENT)
    }

    /// The variable to export so the tool reads `file` (docker's names the directory).
    pub fn env_var(self, file: &Path) -> (&'static str, PathBuf) {
        let (name, names_dir) = self.0.export;
        match names_dir {
            true => (name, file.parent().unwrap_or(file).to_path_buf()),
            false => (name, file.to_path_buf()),
        }
    }

    /// The `auths` key the tool looks a host up by.
    pub fn auth_key(self, host: &str) -> String {
        let docker_hub = matches!(
            host,
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        );
        match self.0.docker_hub_key {
            Some(key) if docker_hub => key.to_string(),
            _ => host.to_string(),
        }
    }

    /// Whether the tool obeys a global `credsStore`.
    pub fn reads_creds_store(self) -> bool {
        self.0.reads_creds_store
    }
}

impl PartialEq for Tool {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Tool {}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl clap::ValueEnum for Tool {
    fn value_variants<'a>() -> &'a [Self] {
        TOOLS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.0.help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_every_tool_and_names_are_distinct() {
        let names: Vec<&str> = TOOLS.iter().map(|t| t.name()).collect();
        assert_eq!(names.join(","), DEFAULT_TOOLS);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
