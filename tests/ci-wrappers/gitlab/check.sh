#!/usr/bin/env bash
# GitLab wrapper checks: schema-validate both templates and the examples, check the two templates
# share one shell, then run the test pipelines with gitlab-ci-local (shell executor) against a
# loopback registry and the debug crlogin binary. Needs: check-jsonschema, gitlab-ci-local
# (GCL=path, default gitlab-ci-local on PATH), rsync, git, docker-registry, htpasswd, skopeo, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
gcl=${GCL:-gitlab-ci-local}
cd "$repo"

echo "== schema: check-jsonschema --builtin-schema vendor.gitlab-ci =="
python3 "$here/templates.py" "$repo" "$work/schema"
for f in .gitlab-ci.yml examples/gitlab/push-to-nebius-and-password-registry.gitlab-ci.yml examples/gitlab/push-to-nebius-keyless-oidc.gitlab-ci.yml "$here"/*.gitlab-ci.yml; do cp "$f" "$work/schema/$(echo "$f" | tr / _ | sed "s/^\./root/")"; done
check-jsonschema --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci "$work"/schema/*.yml

echo "== gitlab-ci-local =="
mkdir -p "$work/bin" "$work/home" "$work/project"
cp target/debug/crlogin "$work/bin/"
cp -r gitlab templates "$here"/*.gitlab-ci.yml "$work/project/"
python3 scripts/make-oci-image.py "$work/image" v1
# The "release" the jobs download crlogin from (the debug binary as this machine's asset), and one
# whose asset does not match its SHA256SUMS (tampered/).
start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
sed -i "s|release-url: RELEASE_URL|release-url: $release_url|" "$work/project/component.gitlab-ci.yml"
# PATH without curl and wget (and crlogin): every other tool of this machine's PATH.
path_without "$work/nofetch" curl wget crlogin
mkdir -p "$work/wgetonly" && ln -s "$(command -v wget)" "$work/wgetonly/wget"
u_ci=gitlab-ci-token p_ci=$(canary) p_iam=$(canary) u_dcr=alice p_dcr=$(canary)
start_registry "$u_ci=$p_ci" "iam=$p_iam" "$u_dcr=$p_dcr"
# The secrets, as a GitLab project's CI/CD variables would be (files outside the state dir we check).
printf 'CI_REGISTRY: localhost:%s\nCI_REGISTRY_USER: %s\nCI_REGISTRY_PASSWORD: %s\nMY_CR_KEY: %s\n' \
  "$port" "$u_ci" "$p_ci" "$p_iam" > "$work/component.vars.yml"
printf 'DCR_USERNAME: %s\nDCR_PASSWORD: %s\n' "$u_dcr" "$p_dcr" > "$work/plain.vars.yml"
(cd "$work/project" && git init -q -b main && git config user.name test && git config user.email test@example.com &&
  git remote add origin https://gitlab.example.com/group/project.git && git add -A && git commit -qm test &&
  git update-ref refs/remotes/origin/main HEAD && git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main)

# gcl FILE PATH JOB... (a clean environment: no XDG_RUNTIME_DIR, HOME is a scratch dir)
gcl() {
  local file=$1 path=$2; shift 2
  (cd "$work/project" && env -i PATH="$path" HOME="$work/home" LANG=C.UTF-8 \
    "$gcl" --file "$file" --variables-file "../${file%%.gitlab-ci.yml}.vars.yml" --no-color \
      --ignore-predefined-vars CI_REGISTRY,GITLAB_CI \
      --variable GITLAB_CI=true --variable "REGISTRY=127.0.0.1:$port" --variable "REGISTRY_LOCALHOST=localhost:$port" --variable "IMAGE=oci:$work/image:v1" "$@")
}
host_path=$work/bin:$PATH
time_start=$SECONDS
! command -v crlogin >/dev/null || fail "crlogin is on PATH; the download checks need it not to be"
gcl component.gitlab-ci.yml "$PATH" push push-podman > "$work/out-component.txt" 2>&1 || { cat "$work/out-component.txt"; fail "component pipeline"; }
grep -qE "PASS +push( |$)" "$work/out-component.txt" || fail "component job did not pass"
grep -q "PASS.*push-podman" "$work/out-component.txt" || fail "the second include's job did not pass"
grep -q "verified 127.0.0.1:$port" "$work/out-component.txt" || fail "component: the registry was not verified by default"
grep -q "crlogin dir removed (podman)" "$work/out-component.txt" || fail "the second include's cleanup"
grep -q "GET /crlogin-x86_64-unknown-linux-musl 200" "$work/requests.log" || fail "component: the job did not download crlogin"
grep -q "crlogin dir removed" "$work/out-component.txt" || { cat "$work/out-component.txt"; fail "component cleanup"; }
if ! target/debug/crlogin cleanup --help >/dev/null 2>&1; then   # until the binary has cleanup
  grep -q "logged out of 2 of 2 registries" "$work/out-component.txt" || fail "component: the logout fallback did not run"
fi
echo "component pipeline: PASS ($((SECONDS - time_start)) s)"

time_start=$SECONDS
gcl plain.gitlab-ci.yml "$host_path" push shared-home > "$work/out-plain.txt" 2>&1 || { cat "$work/out-plain.txt"; fail "plain pipeline"; }
grep -q "PASS.*shared-home" "$work/out-plain.txt" || fail "shared-home job did not pass"
for f in "$work/home/.docker/config.json" "$work/home/.config/containers/auth.json" "$work/home/.config/helm/registry/config.json"; do
  jq -e '(.auths // {}) | length == 0' "$f" >/dev/null || fail "shared-home: $f still has credentials after cleanup"
done
grep -q "verified 127.0.0.1:$port" "$work/out-plain.txt" || fail "plain: the registry (a URL) was not verified by default"

# A wrong password fails the job before its script, with nothing written; CRLOGIN_VERIFY=false writes it.
if gcl plain.gitlab-ci.yml "$host_path" wrong-password > "$work/out-wrong.txt" 2>&1; then cat "$work/out-wrong.txt"; fail "a wrong password passed"; fi
grep -q "did not accept the login: the registry rejected the credential (HTTP 401" "$work/out-wrong.txt" || { cat "$work/out-wrong.txt"; fail "wrong password: no clear error"; }
grep -q "nothing was written" "$work/out-wrong.txt" || fail "wrong password: the error does not say nothing was written"
! grep -q "the script ran after a refused login" "$work/out-wrong.txt" || fail "wrong password: the script ran"
! grep -q "logged in to" "$work/out-wrong.txt" || fail "wrong password: a 'logged in' line"
grep -q "no crlogin dir after a refused login" "$work/out-wrong.txt" || { cat "$work/out-wrong.txt"; fail "wrong password: a crlogin dir was made"; }
gcl plain.gitlab-ci.yml "$host_path" unverified > "$work/out-unverified.txt" 2>&1 || { cat "$work/out-unverified.txt"; fail "CRLOGIN_VERIFY=false"; }
grep -q "written without verification" "$work/out-unverified.txt" || fail "CRLOGIN_VERIFY=false: not written"
! grep -q "crlogin: verified " "$work/out-unverified.txt" || { cat "$work/out-unverified.txt"; fail "CRLOGIN_VERIFY=false still verified"; }
echo "plain pipeline: PASS ($((SECONDS - time_start)) s)"

# Download path (the plain include): crlogin is not on PATH; the loopback release stands in for GitHub's.
time_start=$SECONDS
ver=$(target/debug/crlogin --version | cut -d' ' -f2)
dl() { local out=$1 path=$2; shift 2; gcl plain.gitlab-ci.yml "$path" download --variable "CRLOGIN_VERSION=$ver" "$@" > "$work/out-$out.txt" 2>&1; }
dl download "$PATH" --variable "CRLOGIN_RELEASE_URL=$release_url" || { cat "$work/out-download.txt"; fail "download"; }
dl wget "$work/wgetonly:$work/nofetch" --variable "CRLOGIN_RELEASE_URL=$release_url" || { cat "$work/out-wget.txt"; fail "download with wget"; }
if dl badsum "$PATH" --variable "CRLOGIN_RELEASE_URL=${release_url}tampered/"; then fail "a wrong checksum was accepted"; fi
grep -q "the downloaded crlogin-x86_64-unknown-linux-musl does not match its SHA-256 (${release_url}tampered/SHA256SUMS); not running it" "$work/out-badsum.txt" || { cat "$work/out-badsum.txt"; fail "no checksum failure shown"; }
[ ! -e "$work/tampered-ran" ] || fail "the tampered download was run"
if dl pin "$PATH" --variable "CRLOGIN_RELEASE_URL=$release_url" --variable "CRLOGIN_SHA256=$(printf '%064d' 0)"; then fail "a wrong pinned checksum was accepted"; fi
grep -q "does not match its SHA-256 (CRLOGIN_SHA256, " "$work/out-pin.txt" || { cat "$work/out-pin.txt"; fail "no pinned-checksum failure shown"; }
if dl 404 "$PATH" --variable "CRLOGIN_RELEASE_URL=${release_url}missing/"; then fail "ran without a download"; fi
grep -q "cannot download crlogin $ver from ${release_url}missing/ (the error above): check the version and release-url" "$work/out-404.txt" || { cat "$work/out-404.txt"; fail "no clear error for a 404"; }
if dl nofetch "$work/nofetch" --variable "CRLOGIN_RELEASE_URL=$release_url"; then fail "ran without curl or wget"; fi
grep -q "crlogin is not in the image, and neither curl nor wget is there to download it" "$work/out-nofetch.txt" || { cat "$work/out-nofetch.txt"; fail "no clear error without curl and wget"; }
# userinfo_in_release_url_cannot_send_the_download_off_loopback, and a redirect to plain http.
for url in 'http://127.0.0.1:1@example.invalid/' 'http://[::1]:1@example.invalid/'; do
  if dl userinfo "$PATH" --variable "CRLOGIN_RELEASE_URL=$url"; then fail "$url was accepted"; fi
  grep -qF "the release URL ${url%/} must be an https URL (or http on loopback) with a plain host and no user:password@" "$work/out-userinfo.txt" || { cat "$work/out-userinfo.txt"; fail "no clear error for $url"; }
done
if dl redirect "$PATH" --variable "CRLOGIN_RELEASE_URL=${release_url}redirect-http/"; then fail "a redirect to plain http was followed"; fi
grep -q "cannot download crlogin $ver from ${release_url}redirect-http/" "$work/out-redirect.txt" || { cat "$work/out-redirect.txt"; fail "no clear error for a redirect to http"; }
echo "download (curl, wget, tampered, wrong pin, 404, no curl/wget, userinfo, http redirect): PASS ($((SECONDS - time_start)) s)"

echo "== after cleanup: no per-job directory is left; no canary in any output or log =="
left=$(find "$work/project.tmp" -maxdepth 1 -name 'crlogin-*' 2>/dev/null)
[ -z "$left" ] || fail "left behind: $left"
no_leak "$u_ci=$p_ci" "iam=$p_iam" "$u_dcr=$p_dcr" -- "$work"/out-*.txt "$work/project" "$work/project.tmp" "$work/home"
echo "checked $(cat "$work"/out-*.txt | wc -l) output lines and $(find "$work/project/.gitlab-ci-local" -type f | wc -l) gitlab-ci-local files"
echo "gitlab: OK"
