//! Command-line interface. Every flag that is not a secret has an environment fallback; secrets
//! are read only from the environment and files (never flags, which show in `ps`).

use crate::auth::{source_parser, AuthSource};
use crate::help_examples;
use crate::tools::{Tool, DEFAULT_TOOLS};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Log docker, helm and podman into container registries from CI, without leaking a secret.
// `--version` also names the commit and the target triple (build.rs).
#[derive(Debug, Parser)]
#[command(name = "crlogin", version = env!("CRLOGIN_VERSION_LONG"), about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How long a command that writes the tools' files waits for another writer: only the commands
/// that write take it (`completions -h` has no business listing it).
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Seconds to wait for another process writing the same auth file (its lock) before giving up.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::files::DEFAULT_LOCK_WAIT.as_secs(),
        value_parser = clap::value_parser!(u64).range(0..=3600),
        env = "CRLOGIN_LOCK_TIMEOUT"
    )]
    pub lock_timeout: u64,
}

impl Command {
    /// `--lock-timeout` of a command that writes the tools' files (None: this one writes none).
    pub fn lock_timeout(&self) -> Option<u64> {
        let lock = match self {
            Command::Login(a) => &a.lock,
            Command::Logout(a) => &a.lock,
            Command::Cleanup(a) => &a.lock,
            Command::ConfigureHelper(a) => &a.lock,
            Command::Exec(a) => &a.lock,
            _ => return None,
        };
        Some(lock.lock_timeout)
    }
}

/// crlogin's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write registry credentials for docker, helm and podman from environment secrets.
    #[command(before_help = help_examples::login(), help_template = help_examples::TEMPLATE)]
    Login(LoginArgs),
    /// Remove the entries `login` writes (same registry selection) from every tool's file.
    #[command(before_help = help_examples::logout(), help_template = help_examples::TEMPLATE)]
    Logout(LogoutArgs),
    /// Undo exactly what this job's `login` added, from the state it saved (GitHub's post step,
    /// or the state file in the config dir), and remove the directory `--isolated` made.
    Cleanup(CleanupArgs),
    /// Print a Nebius registry password (an IAM access token, or the static key) on stdout, for
    /// `crlogin token | docker login -u iam --password-stdin cr.eu-north1.nebius.cloud`.
    Token(TokenArgs),
    /// Speak the docker credential-helper protocol (`get`, `list`, `store`, `erase`, `version`)
    /// for the Nebius registries; also run as `docker-credential-crlogin`.
    CredentialHelper(CredentialHelperArgs),
    /// Make docker, helm and podman ask crlogin for Nebius credentials on every pull and push
    /// (`credHelpers` entries and a `docker-credential-crlogin` link); `--remove` undoes it.
    ConfigureHelper(ConfigureHelperArgs),
    /// Answer a kubelet CredentialProviderRequest on stdin for a Nebius image; also run as
    /// `crlogin-credential-provider`. A pod whose service account is annotated
    /// `nebius.com/service-account-id` pulls as that Nebius service account (its token exchanged).
    KubeletCredentialProvider(KubeletArgs),
    /// Print a `kubernetes.io/dockerconfigjson` Secret for every registry `login` would write,
    /// for `crlogin k8s-secret --name pull | kubectl apply -f -`.
    K8sSecret(K8sSecretArgs),
    /// Log in as `login` does, into a fresh private directory, run COMMAND with DOCKER_CONFIG,
    /// HELM_REGISTRY_CONFIG and REGISTRY_AUTH_FILE pointing there and without the secret
    /// variables, then remove the directory. Exits with COMMAND's status (127: not found, 126:
    /// not executable).
    #[command(before_help = help_examples::exec(), help_template = help_examples::TEMPLATE)]
    Exec(ExecArgs),
    /// Print a shell completion script on stdout, e.g. `crlogin completions bash >
    /// /etc/bash_completion.d/crlogin`.
    Completions(CompletionsArgs),
    /// Check what `login` would need, without writing or exchanging anything: CI, credential
    /// source, tool config files, credential helpers, regions, clock skew and reachability.
    #[command(before_help = help_examples::doctor(), help_template = help_examples::TEMPLATE)]
    Doctor(DoctorArgs),
}

/// How the Nebius credential is found and, for a service-account key, exchanged.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Use only this Nebius credential source (default: the first one set, in this order).
    #[arg(long = "auth", value_name = "SOURCE", value_parser = source_parser(), env = "CRLOGIN_AUTH")]
    pub source: Option<AuthSource>,

    /// Exchange the Nebius credential's token for this service account's (impersonation; the
    /// credential's account needs the right to impersonate it). Overrides a profile's
    /// `impersonate-service-account-id`.
    #[arg(long, value_name = "SA", env = "NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID")]
    pub impersonate: Option<String>,

    /// Retries of the Nebius token exchange, and of each `login --verify` registry check, after
    /// network errors, timeouts, HTTP 429 and 5xx.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(0..=20),
        env = "CRLOGIN_RETRIES"
    )]
    pub retries: u32,

    /// Seconds the Nebius token exchange may take in all, retries included; the same bound
    /// applies to `login --verify`'s registry checks.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=600),
        env = "CRLOGIN_TIMEOUT"
    )]
    pub timeout: u64,

    /// Neither reuse nor store exchanged tokens in the token cache (~/.cache/crlogin).
    #[arg(
        long,
        env = "CRLOGIN_NO_CACHE",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_cache: bool,
}

impl AuthArgs {
    /// Which Nebius credential these flags choose.
    pub fn choice(&self) -> crate::auth::Choice {
        crate::auth::Choice {
            source: self.source,
            impersonate: self.impersonate.clone(),
        }
    }
}

/// Flags of `crlogin token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The Nebius credential.
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Which registries and tools, and where to write: shared by `login` and `logout`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Registries and tools.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Write one config.json for all tools into DIR (and print `export` lines for it), leaving
    /// the shared home untouched.
    #[arg(long, value_name = "DIR", env = "CRLOGIN_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
}

/// Which registries and tools: `login`'s selection without a place to write (`exec` makes its own).
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Credentials and registries.
    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Which tools to write credentials for.
    #[arg(
        long = "for",
        value_name = "TOOLS",
        value_enum,
        value_delimiter = ',',
        env = "CRLOGIN_FOR",
        default_value = DEFAULT_TOOLS
    )]
    pub tools: Vec<Tool>,
}

/// Which credentials and registries, as `login` reads them (`k8s-secret` writes for no tool).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Also the username/password registry PREFIX_REGISTRY, with PREFIX_USERNAME and
    /// PREFIX_PASSWORD or PREFIX_PASSWORD_FILE (repeatable). DCR_USERNAME, DCR_PASSWORD and
    /// DCR_REGISTRY are read without this flag.
    #[arg(
        long = "from-env",
        value_name = "PREFIX",
        value_delimiter = ',',
        env = "CRLOGIN_FROM_ENV"
    )]
    pub from_env: Vec<String>,

    /// Nebius regions and extra hosts.
    #[command(flatten)]
    pub nebius: NebiusTargetArgs,
}

/// Flags of `crlogin logout`.
#[derive(Debug, Args)]
#[command(
    mut_arg("config_dir", |a| a.help("Remove the entries from the one config.json in DIR, where `login --config-dir DIR` wrote them")),
    mut_arg("tools", |a| a.help("Which tools' files to remove the entries from")),
    mut_arg("from_env", |a| a.help("Also log out of PREFIX_REGISTRY (repeatable; DCR_REGISTRY is read without asking); no password is read")),
    mut_arg("registries", |a| a.help("Also remove the entries for this registry host, any registry (repeatable)")),
)]
pub struct LogoutArgs {
    /// Registries, tools and config directory, as for `login`.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Waiting for another writer.
    #[command(flatten)]
    pub lock: LockArgs,

    /// Log out of this registry only (`host[:port][/path]` or a URL), as `docker logout
    /// REGISTRY` does.
    #[arg(value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Also print what was removed on stdout: `json` for scripts (the human report stays on
    /// stderr).
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub output: ReportFormat,
}

/// Flags of `crlogin cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The directory login wrote into (default: $DOCKER_CONFIG, as login exported it).
    #[arg(long, value_name = "DIR", env = "CRLOGIN_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,

    /// Waiting for another writer.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// Flags of `crlogin login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registries and tools.
    #[command(flatten)]
    pub target: TargetArgs,

    /// The Nebius credential.
    #[command(flatten)]
    pub auth: AuthArgs,

    /// Waiting for another writer.
    #[command(flatten)]
    pub lock: LockArgs,

    /// docker's `-u USER --password-stdin REGISTRY`.
    #[command(flatten)]
    pub docker: crate::docker_login::DockerLoginArgs,

    /// Like --config-dir, in a fresh private directory made for this job (the default on
    /// Jenkins; CRLOGIN_ISOLATED=false turns that off).
    #[arg(long, env = "CRLOGIN_ISOLATED", value_parser = clap::builder::BoolishValueParser::new())]
    pub isolated: bool,

    /// On GitHub Actions, also export the Nebius token to later steps as NEBIUS_IAM_TOKEN
    /// (masked), for tools that want the token itself.
    #[arg(long, env = "CRLOGIN_EXPORT_ENV", value_parser = clap::builder::BoolishValueParser::new())]
    pub export_env: bool,

    /// Before writing anything, check that each registry accepts the credential (unreachable,
    /// 5xx and 429 answers are retried within --retries and --timeout); a refusal writes nothing.
    #[arg(long, env = "CRLOGIN_VERIFY", value_parser = clap::builder::BoolishValueParser::new())]
    pub verify: bool,

    /// Seconds each attempt at a registry check may take.
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

    /// Also print what was written on stdout: `json` for scripts (hosts, users, sources,
    /// expiry, tools, files, exported variables; never a secret), instead of `export` lines.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub output: ReportFormat,
}

/// Flags of `crlogin exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Registries and tools.
    #[command(flatten)]
    pub select: SelectArgs,

    /// The Nebius credential.
    #[command(flatten)]
    pub auth: AuthArgs,

    /// Waiting for another writer.
    #[command(flatten)]
    pub lock: LockArgs,

    /// Leave out the report of what was logged in (`--quiet=false` prints it). Default: quiet
    /// in a local shell, the report on a CI.
    #[arg(
        long,
        short = 'q',
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        env = "CRLOGIN_QUIET",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub quiet: Option<bool>,

    /// The command to run, and its arguments (after `--` when one starts with `-`).
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(std::ffi::OsString)
    )]
    pub command: Vec<std::ffi::OsString>,
}

/// Flags of `crlogin completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for `shell` on stdout.
pub fn print_completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "crlogin",
        &mut script,
    );
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the completion script to stdout: {}", e.kind()))
}

/// Flags of `crlogin credential-helper` (the docker credential-helper protocol).
#[derive(Debug, Args)]
pub struct CredentialHelperArgs {
    /// The protocol action: get, list, store, erase or version.
    #[arg(value_name = "ACTION")]
    pub action: Option<String>,

    /// The hosts served and the credential.
    #[command(flatten)]
    pub serve: ProviderArgs,
}

/// What the on-demand commands (`kubelet-credential-provider`, `credential-helper`) serve: the
/// Nebius hosts and the credential.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// Nebius registries besides cr.<region>.nebius.cloud (repeatable, or comma-separated).
    #[arg(
        long = "registry",
        value_name = "HOST",
        value_delimiter = ',',
        env = "CRLOGIN_REGISTRIES"
    )]
    pub registries: Vec<String>,

    /// The Nebius credential.
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Flags of `kubelet-credential-provider`.
#[derive(Debug, Args)]
pub struct KubeletArgs {
    /// The hosts served and the node's credential.
    #[command(flatten)]
    pub serve: ProviderArgs,

    /// What a pull gets when the pod's service account names no Nebius service account (or the
    /// kubelet sends no service-account token): the node's credential, or a refusal (strict,
    /// for multi-tenant nodes).
    #[arg(
        long,
        value_name = "WHAT",
        value_enum,
        default_value_t = Unannotated::Node,
        env = "CRLOGIN_KUBELET_UNANNOTATED"
    )]
    pub unannotated: Unannotated,
}

/// What the kubelet provider answers for a pod without a Nebius service account of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Unannotated {
    /// The node's credential (environment, profile or the VM's metadata token).
    Node,
    /// Refuse: only pods whose service account is annotated pull.
    Refuse,
}

/// Which Nebius registries: regions and extra hosts, as `login` selects them.
#[derive(Debug, Args)]
pub struct NebiusTargetArgs {
    /// Nebius region (repeatable, or comma-separated; default: NEBIUS_REGION, else every region).
    #[arg(
        long = "region",
        value_name = "REGION",
        value_delimiter = ',',
        env = "NEBIUS_REGIONS"
    )]
    pub regions: Vec<String>,

    /// Every Nebius region.
    #[arg(long)]
    pub all_regions: bool,

    /// Also this host, with the Nebius credential: a Nebius registry under another name
    /// (repeatable). A username/password registry is named by DCR_REGISTRY or --from-env.
    #[arg(
        long = "registry",
        value_name = "HOST",
        value_delimiter = ',',
        env = "CRLOGIN_REGISTRIES"
    )]
    pub registries: Vec<String>,
}

/// Flags of `crlogin configure-helper`.
#[derive(Debug, Args)]
pub struct ConfigureHelperArgs {
    /// Registries.
    #[command(flatten)]
    pub target: NebiusTargetArgs,

    /// Also let the helper serve the username/password login in PREFIX_USERNAME,
    /// PREFIX_PASSWORD and PREFIX_REGISTRY of the client's environment (repeatable; DCR_* is
    /// served without asking). Name its registry with --registry too.
    #[arg(long = "from-env", value_name = "PREFIX", value_delimiter = ',')]
    pub from_env: Vec<String>,

    /// Which tools' files get the `credHelpers` entries.
    #[arg(
        long = "for",
        value_name = "TOOLS",
        value_enum,
        value_delimiter = ',',
        env = "CRLOGIN_FOR",
        default_value = DEFAULT_TOOLS
    )]
    pub tools: Vec<Tool>,

    /// Where to put the `docker-credential-crlogin` link (default: next to crlogin if that
    /// directory is writable, else ~/.local/bin).
    #[arg(long, value_name = "DIR", env = "CRLOGIN_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Remove the entries and the link instead.
    #[arg(long)]
    pub remove: bool,

    /// Waiting for another writer.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// How `k8s-secret` prints the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ManifestFormat {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// Flags of `crlogin k8s-secret`.
#[derive(Debug, Args)]
pub struct K8sSecretArgs {
    /// The Secret's name (what pods name in `imagePullSecrets`).
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// The Secret's namespace (default: none, so kubectl uses its current one).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,

    /// Credentials and registries, as for `login`.
    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Also print this ServiceAccount with the Secret added to its `imagePullSecrets`. The
    /// current ServiceAccount is read on stdin (`kubectl get serviceaccount NAME -o json`), so
    /// its other entries are kept; empty stdin makes a new one.
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,

    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "yaml"
    )]
    pub output: ManifestFormat,

    /// The Nebius credential.
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// How `doctor` prints its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One line per check, for people.
    Text,
    /// One JSON document, for programs.
    Json,
}

/// Flags of `crlogin doctor`: the selection `login` takes, so it checks what that login would do.
#[derive(Debug, Args)]
#[command(
    mut_arg("config_dir", |a| a.help("Check the one config.json in DIR that `login --config-dir DIR` would write, instead of each tool's own file")),
    mut_arg("tools", |a| a.help("Which tools' files to check")),
)]
pub struct DoctorArgs {
    /// Registries, tools and config directory, as for `login`.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Check only this Nebius credential source (default: the first one set, as `login`).
    #[arg(long = "auth", value_name = "SOURCE", value_parser = source_parser(), env = "CRLOGIN_AUTH")]
    pub source: Option<AuthSource>,

    /// Exchange the Nebius credential's token for this service account's (impersonation; the
    /// credential's account needs the right to impersonate it). Overrides a profile's
    /// `impersonate-service-account-id`.
    #[arg(long, value_name = "SA", env = "NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID")]
    pub impersonate: Option<String>,

    /// Seconds each network check may take (they all run at once).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=600),
        env = "CRLOGIN_TIMEOUT"
    )]
    pub timeout: u64,

    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub output: ReportFormat,
}
