//! Where docker, helm, podman and crlogin's token cache keep their files on each OS, found the
//! way each tool finds them: the tool's own variable first, then its per-OS default.

use super::Os;
use crate::env::Env;
use anyhow::{bail, Result};
use std::path::PathBuf;

/// The variable that names the user's home directory: `USERPROFILE` on Windows (as docker's,
/// podman's and the Go runtime's home lookup read it), `HOME` elsewhere.
pub fn home_var(os: Os) -> &'static str {
    match os {
        Os::Windows => "USERPROFILE",
        Os::Linux | Os::Mac => "HOME",
    }
}

/// The user's home directory, from [`home_var`].
pub fn home(env: &Env, os: Os) -> Result<PathBuf> {
    let var = home_var(os);
    match env.path(var) {
        Some(home) => Ok(home),
        None => bail!("{var} is not set: set {var}, or use --config-dir DIR"),
    }
}

/// docker's `config.json`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
/// (`%USERPROFILE%\.docker\config.json` on Windows).
pub fn docker_config(env: &Env, os: Os) -> Result<PathBuf> {
    Ok(match env.path("DOCKER_CONFIG") {
        Some(dir) => dir.join("config.json"),
        None => home(env, os)?.join(".docker").join("config.json"),
    })
}

/// Helm's registry config: `$HELM_REGISTRY_CONFIG`, else `registry/config.json` in Helm's config
/// home: `$HELM_CONFIG_HOME`, else `$XDG_CONFIG_HOME/helm`, else the OS's own (`%APPDATA%\helm`,
/// `~/Library/Preferences/helm`, `~/.config/helm`), as Helm's `helmpath` resolves it.
pub fn helm_registry_config(env: &Env, os: Os) -> Result<PathBuf> {
    if let Some(file) = env.path("HELM_REGISTRY_CONFIG") {
        return Ok(file);
    }
    let helm_home = match env.path("HELM_CONFIG_HOME") {
        Some(dir) => dir,
        None => config_home(env, os)?.join("helm"),
    };
    Ok(helm_home.join("registry").join("config.json"))
}

/// The user's configuration directory, where Helm and crlogin keep their settings:
/// `$XDG_CONFIG_HOME`, else `%APPDATA%` on Windows, `~/Library/Preferences` on macOS, `~/.config`
/// elsewhere.
pub fn config_home(env: &Env, os: Os) -> Result<PathBuf> {
    if let Some(xdg) = env.path("XDG_CONFIG_HOME") {
        return Ok(xdg);
    }
    Ok(match os {
        Os::Windows => match env.path("APPDATA") {
            Some(appdata) => appdata,
            None => bail!("APPDATA is not set: set APPDATA, or XDG_CONFIG_HOME"),
        },
        Os::Mac => home(env, os)?.join("Library").join("Preferences"),
        Os::Linux => home(env, os)?.join(".config"),
    })
}

/// The containers/image auth file (podman, skopeo, buildah): `$REGISTRY_AUTH_FILE`, else on
/// Linux `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json` (the
/// only default on macOS and Windows, where containers/image ignores `XDG_RUNTIME_DIR`).
pub fn podman_auth_file(env: &Env, os: Os) -> Result<PathBuf> {
    if let Some(file) = env.path("REGISTRY_AUTH_FILE") {
        return Ok(file);
    }
    if let (Os::Linux, Some(runtime)) = (os, env.path("XDG_RUNTIME_DIR")) {
        return Ok(runtime.join("containers").join("auth.json"));
    }
    Ok(home(env, os)?
        .join(".config")
        .join("containers")
        .join("auth.json"))
}

/// The variables that choose podman's file on `os`, for messages.
pub fn podman_variables(os: Os) -> &'static str {
    match os {
        Os::Linux => "REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR",
        Os::Mac | Os::Windows => "REGISTRY_AUTH_FILE",
    }
}

/// crlogin's token cache directory: `%LOCALAPPDATA%\crlogin` on Windows,
/// `~/Library/Caches/crlogin` on macOS, else `$XDG_CACHE_HOME/crlogin` (an absolute one) or
/// `~/.cache/crlogin`.
pub fn token_cache_dir(env: &Env, os: Os) -> Result<PathBuf> {
    let base = match os {
        Os::Windows => match env.path("LOCALAPPDATA").filter(|p| p.is_absolute()) {
            Some(dir) => dir,
            None => {
                bail!("LOCALAPPDATA is not set to an absolute path: set it, or pass --no-cache")
            }
        },
        Os::Mac => home(env, os)?.join("Library").join("Caches"),
        Os::Linux => match env.path("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
            Some(dir) => dir,
            None => home(env, os)?.join(".cache"),
        },
    };
    Ok(base.join("crlogin"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    #[test]
    fn docker_lives_under_the_home_of_each_os() {
        let all = env(&[("HOME", "/h"), ("USERPROFILE", r"C:\Users\u")]);
        assert_eq!(
            docker_config(&all, Os::Linux).unwrap(),
            Path::new("/h/.docker/config.json")
        );
        assert_eq!(
            docker_config(&all, Os::Mac).unwrap(),
            Path::new("/h/.docker/config.json")
        );
        assert_eq!(
            docker_config(&all, Os::Windows).unwrap(),
            Path::new(r"C:\Users\u").join(".docker").join("config.json")
        );
        let set = env(&[("DOCKER_CONFIG", "/d")]);
        assert_eq!(
            docker_config(&set, Os::Windows).unwrap(),
            Path::new("/d/config.json")
        );
        // Windows reads USERPROFILE, never HOME.
        let err = docker_config(&env(&[("HOME", "/h")]), Os::Windows).unwrap_err();
        assert_eq!(
            err.to_string(),
            "USERPROFILE is not set: set USERPROFILE, or use --config-dir DIR"
        );
    }

    #[test]
    fn helm_prefers_its_variables_then_xdg_then_the_os_default() {
        let base = [("HOME", "/h"), ("USERPROFILE", "/u"), ("APPDATA", "/a")];
        let helm = |extra: &[(&str, &str)], os| {
            let pairs: Vec<_> = base.iter().chain(extra).copied().collect();
            helm_registry_config(&env(&pairs), os).unwrap()
        };
        assert_eq!(
            helm(&[], Os::Linux),
            Path::new("/h/.config/helm/registry/config.json")
        );
        assert_eq!(
            helm(&[], Os::Mac),
            Path::new("/h/Library/Preferences/helm/registry/config.json")
        );
        assert_eq!(
            helm(&[], Os::Windows),
            Path::new("/a/helm/registry/config.json")
        );
        for os in [Os::Linux, Os::Mac, Os::Windows] {
            assert_eq!(
                helm(&[("XDG_CONFIG_HOME", "/x")], os),
                Path::new("/x/helm/registry/config.json")
            );
            let both = [("XDG_CONFIG_HOME", "/x"), ("HELM_CONFIG_HOME", "/hc")];
            assert_eq!(helm(&both, os), Path::new("/hc/registry/config.json"));
            let all = [
                ("HELM_CONFIG_HOME", "/hc"),
                ("HELM_REGISTRY_CONFIG", "/r.json"),
            ];
            assert_eq!(helm(&all, os), Path::new("/r.json"));
        }
    }

    #[test]
    fn podman_uses_the_runtime_dir_on_linux_only() {
        let e = env(&[
            ("HOME", "/h"),
            ("USERPROFILE", "/u"),
            ("XDG_RUNTIME_DIR", "/run/u"),
        ]);
        assert_eq!(
            podman_auth_file(&e, Os::Linux).unwrap(),
            Path::new("/run/u/containers/auth.json")
        );
        assert_eq!(
            podman_auth_file(&e, Os::Mac).unwrap(),
            Path::new("/h/.config/containers/auth.json")
        );
        assert_eq!(
            podman_auth_file(&e, Os::Windows).unwrap(),
            Path::new("/u/.config/containers/auth.json")
        );
        let set = env(&[("REGISTRY_AUTH_FILE", "/f.json")]);
        assert_eq!(
            podman_auth_file(&set, Os::Windows).unwrap(),
            Path::new("/f.json")
        );
    }

    #[test]
    fn the_token_cache_follows_each_os() {
        // Absolute on the OS running the test (the cache takes only absolute variables).
        let abs = |name: &str| std::env::temp_dir().join(name);
        let (local, xdg) = (abs("l"), abs("x"));
        let e = env(&[
            ("HOME", "/h"),
            ("LOCALAPPDATA", local.to_str().unwrap()),
            ("XDG_CACHE_HOME", xdg.to_str().unwrap()),
        ]);
        assert_eq!(token_cache_dir(&e, Os::Linux).unwrap(), xdg.join("crlogin"));
        assert_eq!(
            token_cache_dir(&e, Os::Mac).unwrap(),
            Path::new("/h/Library/Caches/crlogin")
        );
        assert_eq!(
            token_cache_dir(&e, Os::Windows).unwrap(),
            local.join("crlogin")
        );
        let relative = env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "rel")]);
        assert_eq!(
            token_cache_dir(&relative, Os::Linux).unwrap(),
            Path::new("/h/.cache/crlogin")
        );
        assert!(token_cache_dir(&env(&[("HOME", "/h")]), Os::Windows).is_err());
    }
}
