//! Azure Pipelines: logging commands (`##vso[task.setsecret]`, `##vso[task.logissue]`,
//! `##vso[task.setvariable]`, `##[group]`), on stderr so stdout stays data (`crlogin token`, the
//! `export` lines). The documentation describes stdout, but the agent hands the lines of both
//! streams to its command parser (azure-pipelines-agent's step handlers subscribe one handler to
//! stdout and stderr), and finds a command anywhere in a line. The ID token comes from the job's
//! OIDC endpoint (`SYSTEM_OIDCREQUESTURI`), asked with the job's access token for a service
//! connection.

use super::{Ci, IdToken, IdTokenRequest, Outcome};
use crate::env::Env;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The job's OIDC token endpoint, a predefined variable (`System.OidcRequestUri`).
const REQUEST_URI_VAR: &str = "SYSTEM_OIDCREQUESTURI";
/// The job's access token (`System.AccessToken`), which a step must map into its env.
const ACCESS_TOKEN_VAR: &str = "SYSTEM_ACCESSTOKEN";
/// The service connection whose identity the token carries: the name Azure's own tasks and the
/// Azure SDKs use for it.
pub const SERVICE_CONNECTION_VAR: &str = "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID";
/// The variable that carries login's state to the cleanup step.
const STATE_VAR: &str = "CRLOGIN_STATE";
/// The REST API version the OIDC token endpoint documents (Oidctoken - Create, 7.1).
const API_VERSION: &str = "7.1-preview.1";
/// The most crlogin reads of the endpoint's answer.
const MAX_BODY: usize = 64 * 1024;

/// Azure Pipelines (`TF_BUILD=True`).
pub struct Azure {
    temp: Option<PathBuf>,
}

impl Azure {
    /// Reads the agent's per-job temporary directory from the environment.
    pub fn new(env: &Env) -> Self {
        Self {
            temp: env.path("AGENT_TEMPDIRECTORY"),
        }
    }

    /// Writes logging command lines to stderr in one write.
    fn command(&self, lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// `##vso[task.setvariable variable=NAME;PROPERTIES]value`.
    fn set_variable(&self, name: &str, properties: &str, value: &str) {
        self.command(&[format!(
            "##vso[task.setvariable variable={}{properties}]{}",
            escape(name),
            escape(value)
        )]);
    }
}

/// Escapes a logging command's message or property value the way the agent unescapes both:
/// `;`, CR, LF and `]` as `%3B`, `%0D`, `%0A`, `%5D`. A `%` stays as it is: the agent decodes
/// `%AZP25` only when its `DecodePercents` knob is on, which it is not by default (so a value
/// holding one of those four codes literally cannot be written exactly; secrets do not).
fn escape(value: &str) -> String {
    value
        .replace(';', "%3B")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
}

impl Ci for Azure {
    fn name(&self) -> &'static str {
        "Azure Pipelines"
    }

    /// The whole value and each of its lines (a multi-line secret is printed line by line).
    fn mask(&self, value: &str) {
        let whole = value.trim();
        if whole.is_empty() {
            return;
        }
        let lines = std::iter::once(whole)
            .chain(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && *l != whole),
            )
            .map(|piece| format!("##vso[task.setsecret]{}", escape(piece)))
            .collect::<Vec<_>>();
        self.command(&lines);
    }

    /// The agent runs `##vso[...]` and formats `##[...]` wherever they are in a line: no line
    /// crlogin prints holds `##` at all.
    fn clean(&self, line: &str) -> String {
        let mut out = String::new();
        for c in super::one_line(line).chars() {
            if c == '#' && out.ends_with('#') {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    fn error(&self, message: &str) {
        let message = self.clean(&crate::wrapper::phrase(message));
        self.command(&[format!(
            "##vso[task.logissue type=error]crlogin: {}",
            escape(&message)
        )]);
    }

    fn warning(&self, message: &str) {
        let message = self.clean(&crate::wrapper::phrase(message));
        self.command(&[format!(
            "##vso[task.logissue type=warning]crlogin: {}",
            escape(&message)
        )]);
    }

    fn section(&self, title: &str, text: &str) {
        super::to_stderr(&format!(
            "##[group]{}\n{}##[endgroup]\n",
            self.clean(title),
            super::clean_lines(self, text)
        ));
    }

    fn export_var(&self, name: &str, value: &Path) -> Result<()> {
        let Some(value) = value.to_str().filter(|v| !v.contains(['\n', '\r'])) else {
            bail!("cannot export {name}: its path is not one line of UTF-8");
        };
        self.set_variable(name, "", value);
        Ok(())
    }

    /// A secret variable: masked, and (as Azure does with secrets) given to a later step only
    /// where that step maps it into its env.
    fn export_secret(&self, name: &str, value: &str) -> Result<()> {
        self.mask(value);
        self.set_variable(name, ";issecret=true", value);
        Ok(())
    }

    /// Output variables (`registries`, `username`, `expires-at`, for `$(step.registries)` and
    /// dependencies) and the state for the cleanup step.
    fn publish(&self, outcome: &Outcome) -> Result<()> {
        let registries: Vec<&str> = outcome.rows.iter().map(|r| r[0].as_str()).collect();
        self.set_variable("registries", ";isoutput=true", &registries.join(","));
        self.set_variable("username", ";isoutput=true", &outcome.usernames.join(","));
        let expires = outcome.expires_at.as_deref().unwrap_or("");
        self.set_variable("expires-at", ";isoutput=true", expires);
        self.set_variable(STATE_VAR, "", &outcome.state);
        Ok(())
    }

    fn saved_state(&self, env: &Env) -> Option<String> {
        env.get(STATE_VAR).ok().flatten()
    }

    /// `$AGENT_TEMPDIRECTORY`, which the agent empties after every job.
    fn isolated_base(&self, env: &Env) -> PathBuf {
        self.temp
            .clone()
            .or_else(|| env.path("TMPDIR"))
            .unwrap_or_else(std::env::temp_dir)
    }

    fn offers_id_token(&self, env: &Env) -> bool {
        env.is_set(REQUEST_URI_VAR)
    }

    fn id_token<'a>(&'a self, env: &'a Env, request: &'a IdTokenRequest) -> Option<IdToken<'a>> {
        Some(Box::pin(request_token(self, env, request)))
    }
}

/// POST `$SYSTEM_OIDCREQUESTURI?api-version=7.1-preview.1&serviceConnectionId=ID` with the job's access
/// token (masked first, though Azure masks it too); the answer is `{"oidcToken": "<jwt>"}`.
async fn request_token(
    azure: &Azure,
    env: &Env,
    request: &IdTokenRequest,
) -> Result<Zeroizing<String>> {
    let Some(uri) = env.get(REQUEST_URI_VAR)? else {
        bail!("Azure Pipelines gave this job no OIDC endpoint ({REQUEST_URI_VAR} is not set): run crlogin in a pipeline job on Azure DevOps Services");
    };
    let Some(access_token) = env.get(ACCESS_TOKEN_VAR)?.map(Zeroizing::new) else {
        bail!("{ACCESS_TOKEN_VAR} is not set: Azure gives it to a step only when mapped, so add `env: {{ {ACCESS_TOKEN_VAR}: $(System.AccessToken) }}` to the step");
    };
    azure.mask(&access_token);
    let Some(connection) = env.get(SERVICE_CONNECTION_VAR)? else {
        bail!("{SERVICE_CONNECTION_VAR} is not set: the OIDC token is issued for a service connection, so set it to the id of one this pipeline may use (Project settings > Service connections)");
    };
    if uuid::Uuid::parse_str(&connection).is_err() {
        bail!("{SERVICE_CONNECTION_VAR} is not a service connection id (a GUID): use the connection's id, not its name");
    }
    let mut url = reqwest::Url::parse(&uri).with_context(|| {
        format!("{REQUEST_URI_VAR} is not a URL: it is set by the agent; do not override it")
    })?;
    let loopback = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        bail!(
            "{REQUEST_URI_VAR} is not an https:// URL: it is set by the agent; do not override it"
        );
    }
    url.query_pairs_mut()
        .append_pair("api-version", API_VERSION)
        .append_pair("serviceConnectionId", &connection);
    let client = crate::tls::http_client()?
        .timeout(request.timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let mut response = client
        .post(url)
        .bearer_auth(access_token.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot reach Azure Pipelines' OIDC endpoint: {}: retry",
                e.without_url()
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        let hint = match status.as_u16() {
            401 | 403 => format!("check that {ACCESS_TOKEN_VAR} is mapped from $(System.AccessToken) and that this pipeline is allowed to use the service connection {connection}"),
            400 | 404 => format!("check {SERVICE_CONNECTION_VAR}: no service connection {connection} this pipeline can use"),
            _ => "retry later".to_string(),
        };
        bail!("Azure Pipelines refused to issue an OIDC token (HTTP {status}): {hint}");
    }
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        anyhow!(
            "Azure Pipelines' OIDC endpoint broke off its answer: {}: retry",
            e.without_url()
        )
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            bail!("Azure Pipelines' OIDC endpoint answered with more than {MAX_BODY} bytes: retry the job");
        }
        body.extend_from_slice(&chunk);
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "oidcToken")]
        oidc_token: Option<String>,
    }
    match serde_json::from_slice::<Answer>(&body) {
        Ok(Answer { oidc_token: Some(jwt) }) if !jwt.trim().is_empty() => {
            Ok(Zeroizing::new(jwt.trim().to_string()))
        }
        _ => bail!("Azure Pipelines' OIDC endpoint answered without a token (no \"oidcToken\"): retry the job"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_can_hold_a_logging_command() {
        let azure = Azure::new(&Env::default());
        assert_eq!(
            azure.clean("x ##vso[task.setvariable variable=a]b"),
            "x # #vso[task.setvariable variable=a]b"
        );
        assert_eq!(azure.clean("###[group]"), "# # #[group]");
        assert_eq!(
            azure.clean("#\x1b[0m#[x"),
            "# #[x",
            "stripping cannot join a command"
        );
    }

    #[test]
    fn escapes_command_data_and_properties_as_the_agent_unescapes_them() {
        assert_eq!(escape("a%b\r\nc"), "a%b%0D%0Ac");
        assert_eq!(escape("a;b]c"), "a%3Bb%5Dc");
    }

    #[test]
    fn isolates_in_the_agent_temp_directory() {
        let env = Env::from_pairs(&[("AGENT_TEMPDIRECTORY", "/a/_temp")]);
        assert_eq!(
            Azure::new(&env).isolated_base(&env),
            PathBuf::from("/a/_temp")
        );
    }
}
