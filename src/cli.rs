//! Command-line interface. Every flag that is not a secret has an environment fallback; secrets
//! are read only from the environment and files (never flags, which show in `ps`).

use crate::sinks::Tool;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Log docker, helm and podman into container registries from CI, without leaking a secret.
#[derive(Debug, Parser)]
#[command(name = "crlogin", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// crlogin's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write registry credentials for docker, helm and podman from environment secrets.
    Login(LoginArgs),
    /// Remove the entries `login` writes (same registry selection) from every tool's file.
    Logout(TargetArgs),
}

/// Which registries and tools: shared by `login` and `logout`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Also read PREFIX_USERNAME, PREFIX_PASSWORD and PREFIX_REGISTRY (repeatable; DCR is read
    /// without asking).
    #[arg(
        long = "from-env",
        value_name = "PREFIX",
        value_delimiter = ',',
        env = "CRLOGIN_FROM_ENV"
    )]
    pub from_env: Vec<String>,

    /// Nebius region to log into (repeatable, or comma-separated).
    #[arg(
        long = "region",
        value_name = "REGION",
        value_delimiter = ',',
        env = "NEBIUS_REGIONS"
    )]
    pub regions: Vec<String>,

    /// Log into every Nebius region.
    #[arg(long)]
    pub all_regions: bool,

    /// Also use the Nebius credential for this registry host (repeatable).
    #[arg(
        long = "registry",
        value_name = "HOST",
        value_delimiter = ',',
        env = "CRLOGIN_REGISTRIES"
    )]
    pub registries: Vec<String>,

    /// Which tools to write credentials for.
    #[arg(
        long = "for",
        value_name = "TOOLS",
        value_enum,
        value_delimiter = ',',
        env = "CRLOGIN_FOR",
        default_value = "docker,helm,podman"
    )]
    pub tools: Vec<Tool>,

    /// Write one config.json for all tools into DIR (and print `export` lines for it), leaving
    /// the shared home untouched.
    #[arg(long, value_name = "DIR", env = "CRLOGIN_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
}

/// Flags of `crlogin login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registries and tools.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Like --config-dir, in a fresh private directory made for this job.
    #[arg(long, conflicts_with = "config_dir", env = "CRLOGIN_ISOLATED")]
    pub isolated: bool,

    /// After writing, check that each registry accepts the credential.
    #[arg(long, env = "CRLOGIN_VERIFY")]
    pub verify: bool,

    /// Seconds each registry check may take.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 15,
        env = "CRLOGIN_VERIFY_TIMEOUT"
    )]
    pub verify_timeout: u64,

    /// Show what would be written, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}
