//! What the clients do when a file names a credential helper (`credsStore`, or a `credHelpers`
//! entry) whose `docker-credential-NAME` is not on PATH, as the real clients behave
//! (tests/missing_helper.rs runs them): the docker CLI (28.x) reads the host's `auths` entry from
//! the file all the same, and only `docker login` fails, unable to store; Helm 4 fails every
//! registry command ("failed to resolve credential: exec: ...: executable file not found in
//! $PATH"); podman and skopeo ignore `credsStore`. The login warning and `doctor` say this.

/// What a missing `program` does to the tools that read the file: `helm_reads` when Helm reads
/// it, `docker_reads` when docker does.
pub fn consequences(program: &str, helm_reads: bool, docker_reads: bool) -> String {
    let helm = format!(
        "helm fails every registry command (\"failed to resolve credential: exec: \\\"{program}\\\": executable file not found in $PATH\")"
    );
    let docker = "docker reads the logins in the file all the same (only `docker login` fails, as it cannot store)";
    match (helm_reads, docker_reads) {
        (true, true) => format!("{helm}; {docker}"),
        (true, false) => helm,
        (false, _) => docker.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_is_named_only_where_it_reads_the_file() {
        let both = consequences("docker-credential-desktop", true, true);
        assert!(
            both.starts_with("helm fails") && both.contains("docker reads"),
            "{both}"
        );
        assert!(
            both.contains("exec: \\\"docker-credential-desktop\\\""),
            "{both}"
        );
        let docker = consequences("docker-credential-desktop", false, true);
        assert!(!docker.contains("helm"), "{docker}");
    }
}
