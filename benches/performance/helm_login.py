#!/usr/bin/env python3
"""`helm registry login HOST -u USER --password-stdin --plain-http`, for the benchmarks.

There is no helm CLI package here, so this drives Helm 4's own registry login through the Go
SDK embedded in PyPI's helm-sdkpy (run it with target/helm-venv's python). One process per
login, as the CLI is used. The password comes on stdin, never argv; Helm writes the credential
to $HELM_REGISTRY_CONFIG, which the caller sets before starting this process (the Go runtime
reads the environment the process started with).

  helm_login.py HOST USER < password

Exit 0 on success; 1 with Helm's error on stderr.
"""
import asyncio
import sys

import helm_sdkpy as helm


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, user = sys.argv[1:]
    password = sys.stdin.read().rstrip("\n")
    config = helm.Configuration(plain_http=True)
    try:
        asyncio.run(
            helm.RegistryLogin(config).run(
                hostname=host, username=user, password=password, plain_http=True
            )
        )
    except helm.HelmError as e:
        print(f"helm registry login failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
