#!/usr/bin/env python3
"""Real Helm 4 OCI client for crlogin's automated tests (no helm CLI needed).

Drives the Helm 4 Go SDK embedded in the PyPI package ``helm-sdkpy`` (install it
with scripts/install-helm-client.sh and run this file with that venv's python).
Registry credentials come ONLY from the docker-style config.json named by
$HELM_REGISTRY_CONFIG (unset = anonymous); nothing secret is taken on argv or printed.

  helm_client.py package SRC_DIR DEST_DIR
  helm_client.py push CHART_DIR_OR_TGZ oci://HOST:PORT/REPO [--plain-http] [--ca-file PEM]
  helm_client.py pull oci://HOST:PORT/REPO/NAME VERSION DEST_DIR [--plain-http] [--ca-file PEM]

Exit 0 on success; 1 with Helm's error on stderr on failure.

Quirks of helm-sdkpy 0.1.32 worked around here:
  * plain HTTP / TLS settings only take effect on the Configuration's registry
    client (Push's own plain_http/ca_file options are ignored), so --plain-http
    goes to Configuration and --ca-file becomes SSL_CERT_FILE (read by Go's TLS stack).
  * helm_sdkpy.Pull crashes the process (Go nil-pointer panic) on oci:// refs, so
    pull uses Show.chart(), which fetches the chart through the authenticated
    registry client into a fresh per-run HELM_CACHE_HOME, and copies it out.
  * the Go runtime reads the environment the process started with, so env
    (HELM_*, SSL_CERT_FILE) is prepared here and the work runs in a child process.
"""
import argparse
import asyncio
import glob
import os
import shutil
import subprocess
import sys
import tempfile

_WORK = "_HELM_CLIENT_WORKDIR"


def parse_args():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--plain-http", action="store_true", help="use http:// instead of https://")
    common.add_argument("--ca-file", help="PEM CA bundle to trust (replaces system roots)")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("package", parents=[common])
    p.add_argument("src_dir")
    p.add_argument("dest_dir")
    p = sub.add_parser("push", parents=[common])
    p.add_argument("chart", help="chart directory or packaged .tgz")
    p.add_argument("remote", help="oci://HOST:PORT/REPO")
    p = sub.add_parser("pull", parents=[common])
    p.add_argument("ref", help="oci://HOST:PORT/REPO/NAME")
    p.add_argument("version")
    p.add_argument("dest_dir")
    return ap.parse_args()


def run(args, work):
    import helm_sdkpy as helm

    cfg = helm.Configuration(plain_http=args.plain_http)
    if args.cmd == "package":
        os.makedirs(args.dest_dir, exist_ok=True)
        print(asyncio.run(helm.Package(cfg).run(os.path.abspath(args.src_dir), os.path.abspath(args.dest_dir))))
    elif args.cmd == "push":
        chart = os.path.abspath(args.chart)
        if os.path.isdir(chart):
            chart = asyncio.run(helm.Package(cfg).run(chart, work))
        asyncio.run(helm.Push(cfg).run(chart, args.remote, plain_http=args.plain_http))
    else:
        asyncio.run(helm.Show(cfg).chart(f"{args.ref}:{args.version}"))
        found = glob.glob(os.path.join(os.environ["HELM_CACHE_HOME"], "content", "*", "*.chart"))
        if len(found) != 1:
            raise helm.HelmError(f"expected 1 downloaded chart in cache, found {len(found)}")
        os.makedirs(args.dest_dir, exist_ok=True)
        dest = os.path.join(args.dest_dir, f"{args.ref.rstrip('/').rsplit('/', 1)[-1]}-{args.version}.tgz")
        shutil.copyfile(found[0], dest)
        print(dest)


def main():
    args = parse_args()
    work = os.environ.get(_WORK)
    if work:  # child: environment already prepared
        try:
            run(args, work)
            return 0
        except Exception as e:  # HelmError (ChartError, ...) or local I/O errors
            sys.stdout.flush()
            print(f"helm_client {args.cmd} failed: {e}", file=sys.stderr)
            return 1
    # Parent: the Go runtime only sees the environment the process STARTED with
    # (os.environ changes are invisible to it), so set it up and run a child.
    # Fresh Helm state per run: pulls really hit the registry and ~ is never touched.
    # HELM_REGISTRY_CONFIG is passed through as given (unset = anonymous).
    work = tempfile.mkdtemp(prefix="helm-client-")
    env = dict(os.environ, **{_WORK: work})
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = os.path.join(work, var.lower())
    if args.ca_file:
        env["SSL_CERT_FILE"] = os.path.abspath(args.ca_file)
    try:
        rc = subprocess.run([sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env=env).returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if rc == 0 else 1  # a Go panic exits 2


if __name__ == "__main__":
    sys.exit(main())
