#!/usr/bin/env bash
# Install a real Helm 4 client for the test suite: a venv with PyPI's helm-sdkpy
# (Helm 4 Go SDK as a shared library), driven by tests/clients/helm_client.py.
# Idempotent. Prints the python interpreter to use on the last line of stdout.
#   HELM_VENV  venv location (default target/helm-venv, relative to repo root)
set -euo pipefail

HELM_SDKPY_VERSION=0.1.32   # 0.1.32 declares Python>=3.12 but works on 3.11

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${HELM_VENV:-target/helm-venv}"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    python3 -m venv "$venv" >&2
fi

if [ "$("$py" -c 'import importlib.metadata as m; print(m.version("helm-sdkpy"))' 2>/dev/null)" != "$HELM_SDKPY_VERSION" ]; then
    "$py" -m pip install --quiet --disable-pip-version-check --ignore-requires-python \
        "helm-sdkpy==$HELM_SDKPY_VERSION" >&2
fi

# Smoke test: load the Go library.
"$py" -c 'import helm_sdkpy; helm_sdkpy.get_version()' >&2
echo "$py"
