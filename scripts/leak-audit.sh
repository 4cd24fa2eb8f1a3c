#!/usr/bin/env bash
# Leak audit: runs the secret-handling test suites with canary secrets under strace, then scans
# every stdout/stderr, every file they left (temp trees are kept) and every child's argv for
# every registered secret, raw and base64 (see tests/leak_scan/mod.rs). Exits non-zero on any
# hit, on a suite failure, on a self-check plant not found, or if the audit missed something.
#
#   bash scripts/leak-audit.sh            # needs strace (apt-get install strace)
#
# Everything is left in target/leak-audit/ for inspection: exec.log (strace), records/,
# outputs/, suites/ (each test binary's own output), tmp/ (the kept temp trees).
set -euo pipefail
cd "$(dirname "$0")/.."

# The integration suites that handle secrets; leak_audit's plant_leaks is the self-check.
# Not crash: it kills crlogin with strace, and a process strace traces cannot be traced again.
suites=(e2e exec examples wrapper_errors cli nebius_iam nebius_oidc ci_native nebius_metadata sdk_parity credential_helper cred_store
  kubelet_provider kubelet_federation k8s_secret doctor faults docker_habits github_token
  bad_input local_files hostile cleanup missing_helper leak_audit)

command -v strace >/dev/null || {
  echo "leak-audit: strace is not installed: apt-get install strace (scripts/install-deps.sh)" >&2
  exit 1
}
audit="$PWD/target/leak-audit"
rm -rf "$audit"
mkdir -p "$audit/tmp" "$audit/suites"

# Build the test binaries; cargo's JSON names each one's executable.
targets=()
for suite in "${suites[@]}"; do targets+=(--test "$suite"); done
if ! cargo test --locked --no-run --message-format=json "${targets[@]}" \
  >"$audit/build.json" 2>"$audit/build.log"; then
  tail -n 30 "$audit/build.log" >&2
  echo "leak-audit: the build failed" >&2
  exit 1
fi
mapfile -t binaries < <(python3 - "$audit/build.json" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["profile"]["test"]:
        print(f'{msg["target"]["name"]}={msg["executable"]}')
EOF
)
if ((${#binaries[@]} != ${#suites[@]})); then
  echo "leak-audit: expected ${#suites[@]} test binaries, cargo built ${#binaries[@]}" >&2
  exit 1
fi

# Run them all under one strace (one pid space): every execve's argv, clones (who started
# whom) and the paths written. Without -v, strace prints no environment (it carries secrets
# legitimately). Each suite's exit status goes to suites/NAME.status.
run_suites() {
  local audit=$1 entry name bin args
  shift
  for entry in "$@"; do
    name=${entry%%=*} bin=${entry#*=} args=(-q)
    [[ $name == leak_audit ]] && args=(-q --ignored --exact plant_leaks)
    local status=0
    "$bin" "${args[@]}" >"$audit/suites/$name.stdout" 2>"$audit/suites/$name.stderr" || status=$?
    echo "$status" >"$audit/suites/$name.status"
  done
}
export -f run_suites
# A loopback proxy that every crlogin the suites run is pointed at (the harness sets the proxy
# variables from CRLOGIN_LEAK_AUDIT_PROXY). crlogin never proxies loopback, and every test talks
# to loopback only, so it must see no loopback request; what does reach it is scanned with the
# outputs (suites/proxy.log) and gets 502.
coproc PROXY {
  exec python3 -c '
import socket, sys, threading
log = open(sys.argv[1], "ab", buffering=0)
lock = threading.Lock()
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
def serve(conn):
    head = b""
    try:
        conn.settimeout(10)
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()
        with lock:
            log.write(head + b"\n--- end of a proxied request ---\n")
while True:
    threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
' "$audit/suites/proxy.log"
}
proxy_pid=$PROXY_PID
read -r proxy_port <&"${PROXY[0]}"
trap 'kill "$proxy_pid" 2>/dev/null || true' EXIT
start=$SECONDS
CRLOGIN_LEAK_AUDIT="$audit" TMPDIR="$audit/tmp" CRLOGIN_LEAK_AUDIT_PROXY="http://127.0.0.1:$proxy_port" \
  strace -f -qq -y --seccomp-bpf -s 1048576 -e signal=none -o "$audit/exec.log" \
  -e trace=execve,execveat,clone,clone3,fork,vfork,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2 \
  bash -c 'run_suites "$@"' run_suites "$audit" "${binaries[@]}"
ran=$((SECONDS - start)) start=$SECONDS

failed=()
for suite in "${suites[@]}"; do
  status=$(cat "$audit/suites/$suite.status" 2>/dev/null || echo missing)
  if [[ $status != 0 ]]; then
    failed+=("$suite")
    echo "leak-audit: suite $suite failed under the audit (exit $status); its output:" >&2
    tail -n 40 "$audit/suites/$suite.stdout" "$audit/suites/$suite.stderr" >&2
  fi
done
kill "$proxy_pid" 2>/dev/null || true
touch "$audit/suites/proxy.log"
if grep -aEq '^[A-Z]+ (https?://)?(127\.|localhost[:/ ]|\[::1\]|\[::ffff:127\.)' "$audit/suites/proxy.log"; then
  failed+=(proxy)
  echo "leak-audit: loopback traffic went through the proxy:" >&2
  grep -aE '^[A-Z]+ ' "$audit/suites/proxy.log" | head -n 20 >&2
fi
if ! grep -aq '^CONNECT audit-proxy.crlogin.test:443 ' "$audit/suites/proxy.log"; then
  failed+=(proxy)
  echo "leak-audit: the proxy never saw hostile.rs's request to audit-proxy.crlogin.test: crlogin did not run with it set" >&2
fi
echo "leak-audit: the proxy saw $(grep -ac 'end of a proxied request' "$audit/suites/proxy.log") request(s), none to loopback"
# The suites' own output files are scanned as outputs; the status files are not output.
rm -f "$audit"/suites/*.status

scanner=""
for entry in "${binaries[@]}"; do [[ ${entry%%=*} == leak_audit ]] && scanner=${entry#*=}; done
scan_status=0
CRLOGIN_LEAK_SCAN="$audit" "$scanner" --ignored --exact scan --nocapture -q \
  >"$audit/scan.log" 2>&1 || scan_status=$?
grep -E '^(leak audit:|hits by kind:|LEAK |SELF-CHECK:|INCOMPLETE:)' "$audit/scan.log" || tail -n 30 "$audit/scan.log"
echo "leak-audit: ${#suites[@]} suites under strace in ${ran} s, scanned in $((SECONDS - start)) s; details in target/leak-audit/"

if ((${#failed[@]})) || ((scan_status != 0)); then
  ((${#failed[@]})) && echo "leak-audit: FAILED suites: ${failed[*]}" >&2
  ((scan_status != 0)) && echo "leak-audit: FAILED: the scan found leaks or gaps (above)" >&2
  exit 1
fi
