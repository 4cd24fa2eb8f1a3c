//! The examples `login`, `logout`, `doctor` and `exec` open their help with: one per credential
//! kind, each giving its secret through a variable or a file (never a flag).

/// Where the examples go in a command's help: after the one-line description, before the usage.
pub const TEMPLATE: &str =
    "{about-with-newline}\n{before-help}{usage-heading} {usage}\n\n{all-args}{after-help}";

/// One credential kind: what it is, and the variables that give it.
struct Kind {
    what: &'static str,
    vars: &'static str,
    nebius: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        what: "a Nebius Container Registry static key",
        vars: "NEBIUS_STATIC_KEY_FILE=/run/secrets/cr-key",
        nebius: true,
    },
    Kind {
        what: "a Nebius service-account authorized key (the JSON `nebius iam auth-public-key generate` writes)",
        vars: "NEBIUS_SA_CREDENTIALS_FILE=/run/secrets/sa.json",
        nebius: true,
    },
    Kind {
        what: "a Nebius IAM access token",
        vars: "NEBIUS_IAM_TOKEN=\"$(nebius iam get-access-token)\"",
        nebius: true,
    },
    Kind {
        what: "keyless: the CI's OIDC token exchanged for the service account's (GitHub: `id-token: write`)",
        vars: "NEBIUS_SERVICE_ACCOUNT_ID=serviceaccount-e00example",
        nebius: true,
    },
    Kind {
        what: "a username and password for any registry",
        vars: "DCR_USERNAME=robot DCR_PASSWORD_FILE=/run/secrets/dcr DCR_REGISTRY=dcr.example.io/team",
        nebius: false,
    },
];

/// One example per kind: `crlogin COMMAND`, with `nebius` after it for a Nebius kind and
/// `plain` for the username/password one.
fn per_kind(command: &str, nebius: &str, plain: &str) -> String {
    let mut text = String::from(
        "Examples, one per credential kind (a secret comes from a variable or a file, never a flag):",
    );
    for kind in KINDS {
        let args = if kind.nebius { nebius } else { plain };
        text.push_str(&format!(
            "\n  # {}\n  {} crlogin {command}{args}",
            kind.what, kind.vars
        ));
    }
    text
}

/// `crlogin login --help`.
pub fn login() -> String {
    per_kind("login", " --region eu-north1", "")
}

/// `crlogin doctor --help`.
pub fn doctor() -> String {
    per_kind("doctor", " --region eu-north1", "")
}

/// `crlogin exec --help`.
pub fn exec() -> String {
    per_kind(
        "exec",
        " --region eu-north1 -- docker push cr.eu-north1.nebius.cloud/e00example/app:1",
        " -- docker push dcr.example.io/team/app:1",
    )
}

/// `crlogin logout --help`: logout reads no secret, so one example per kind of login.
pub fn logout() -> String {
    "Examples (logout reads no password, key or token: only which hosts):\n  \
     # a Nebius login, whatever its credential (static key, service-account key, IAM token, OIDC)\n  \
     crlogin logout --region eu-north1\n  \
     # a username/password login, by the registry variable login read\n  \
     DCR_REGISTRY=dcr.example.io/team crlogin logout\n  \
     # any registry, by its host, as `docker logout` takes it\n  \
     crlogin logout dcr.example.io"
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_has_an_example_in_each_command() {
        for (text, command) in [
            (super::login(), "login"),
            (super::doctor(), "doctor"),
            (super::exec(), "exec"),
        ] {
            for var in [
                "NEBIUS_STATIC_KEY_FILE",
                "NEBIUS_SA_CREDENTIALS_FILE",
                "NEBIUS_IAM_TOKEN",
                "NEBIUS_SERVICE_ACCOUNT_ID",
                "DCR_USERNAME",
            ] {
                let line = text.lines().find(|l| l.contains(var)).unwrap();
                assert!(line.contains(&format!("crlogin {command}")), "{line}");
            }
        }
    }
}
