#!/usr/bin/env bash
# Installs what crlogin's demo and tests need on a fresh Debian machine: the CNCF distribution
# registry, htpasswd, skopeo and openssl (apt), and the Helm 4 test client (PyPI, in a venv).
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v skopeo >/dev/null || need+=(skopeo)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
  echo "install-deps: apt-get install ${need[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# The Debian package starts no registry by itself unless systemd runs; crlogin's tests start their own.
bash scripts/install-helm-client.sh >/dev/null
