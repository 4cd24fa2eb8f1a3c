// crlogin step: logs docker, helm and podman into container registries for the block, then removes
// the credentials (help: crlogin.txt). Unix agents run it with sh, Windows agents with powershell.
//
//   crlogin(credentialsId: 'nebius-sa', regions: ['eu-north1']) { sh 'docker push ...' }
//
// Secrets are bound with withCredentials for the login alone and reach crlogin only as environment
// variables: every sh script here is a single-quoted literal, never Groovy-interpolated. Settings
// go in with withEnv. The block runs with DOCKER_CONFIG, HELM_REGISTRY_CONFIG and REGISTRY_AUTH_FILE
// pointing at a per-build directory under ${WORKSPACE}@tmp, without the secret variables.

import groovy.transform.Field

@Field static final List<String> PARAMETERS = ['credentialsId', 'kind', 'type', 'regions', 'registry',
                                               'registries', 'tools', 'verify', 'binary', 'version', 'releaseUrl']

@Field static final String LOGIN = '''\
command -v "${CRLOGIN_BIN:-crlogin}" >/dev/null || { echo "crlogin: error: ${CRLOGIN_BIN:-crlogin} not found: put crlogin on the agent's PATH or pass binary: '/path/to/crlogin'" >&2; exit 127; }
unset CRLOGIN_ISOLATED
"${CRLOGIN_BIN:-crlogin}" login --config-dir "$CRLOGIN_CONFIG_DIR"
'''

@Field static final String CLEANUP = '''\
if "${CRLOGIN_BIN:-crlogin}" cleanup --help >/dev/null 2>&1; then "${CRLOGIN_BIN:-crlogin}" cleanup --config-dir "$CRLOGIN_CONFIG_DIR" || true; fi
rm -rf "$CRLOGIN_CONFIG_DIR" "$CRLOGIN_CONFIG_DIR.bin"
'''

// With version: crlogin on the agent's PATH, else that release's binary for the agent, downloaded
// into the build's tmp dir and checked against the release's SHA256SUMS before it runs. Prints the
// path to use. Runs before any credential is bound.
@Field static final String INSTALL = '''\
if command -v crlogin >/dev/null 2>&1; then command -v crlogin; exit 0; fi
d="$CRLOGIN_CONFIG_DIR.bin"; v="$CRLOGIN_VERSION"
u="${CRLOGIN_RELEASE_URL:-https://github.com/crlogin/crlogin/releases/download/v$v/}"; u="${u%/}"
# The URL's host, parsed (http://127.0.0.1:1@evil/ is host evil): https, or http to this machine;
# a plain host and a numeric port, no user:password@. Redirects stay on https.
h=${u#*://}; h=${h%%[/?#]*}
case $u in https://*) s=https ;; http://*) s=http ;; *) s= ;; esac
case $h in
  ""|*[!A-Za-z0-9.:\\[\\]-]*) s= ;;
  127.0.0.1|localhost|\\[::1\\]) ;;
  127.0.0.1:*|localhost:*|\\[::1\\]:*) case ${h##*:} in ""|*[!0-9]*) s= ;; esac ;;
  *) [ "$s" = https ] || s= ;;
esac
[ -n "$s" ] || { echo "crlogin: error: the release URL $u must be an https URL (or http on loopback) with a plain host and no user:password@: correct releaseUrl:" >&2; exit 1; }
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64|Linux-amd64) a=crlogin-x86_64-unknown-linux-musl ;;
  Linux-aarch64|Linux-arm64) a=crlogin-aarch64-unknown-linux-musl ;;
  *) echo "crlogin: error: no crlogin release binary for $(uname -s) $(uname -m) (there are Linux x86_64 and aarch64): install crlogin on the agent" >&2; exit 1 ;;
esac
if command -v curl >/dev/null 2>&1; then get() { curl -fsSL --retry 3 --proto "=$s" --proto-redir =https -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then get() { wget -q -O "$2" "$1"; }
else echo "crlogin: error: crlogin is not on the agent, and neither curl nor wget is there to download it: install crlogin (or curl) on the agent" >&2; exit 1
fi
mkdir -p "$d"
if ! get "$u/SHA256SUMS" "$d/SHA256SUMS" || ! get "$u/$a" "$d/download"; then
  echo "crlogin: error: cannot download crlogin $v from $u/: check version: and releaseUrl:, set HTTPS_PROXY behind a proxy, or install crlogin on the agent" >&2; exit 1
fi
want=$(awk -v f="$a" '$2 == f || $2 == "*" f { print $1 }' "$d/SHA256SUMS")
got=$(sha256sum "$d/download" | cut -d' ' -f1)
if [ -z "$want" ] || [ "$got" != "$want" ]; then
  rm -f "$d/download"; echo "crlogin: error: the downloaded $a does not match its SHA-256 in $u/SHA256SUMS; not running it" >&2; exit 1
fi
chmod 755 "$d/download" && mv "$d/download" "$d/crlogin"
set -- $("$d/crlogin" --version)
[ "${2:-}" = "$v" ] || { echo "crlogin: error: the download is crlogin ${2:-(unknown)}, not $v" >&2; exit 1; }
echo "$d/crlogin"
'''

// The same two scripts for Windows agents (isUnix() false), run with the powershell step: also
// single-quoted literals that read everything from the environment.
@Field static final String LOGIN_PS = '''\
$bin = if ($env:CRLOGIN_BIN) { $env:CRLOGIN_BIN } else { 'crlogin' }
if (-not (Get-Command $bin -ErrorAction SilentlyContinue)) { [Console]::Error.WriteLine("crlogin: error: $bin not found: put crlogin.exe on the agent's PATH or pass binary: 'C:\\path\\to\\crlogin.exe'"); exit 127 }
Remove-Item Env:CRLOGIN_ISOLATED -ErrorAction SilentlyContinue
& $bin login --config-dir $env:CRLOGIN_CONFIG_DIR
exit $LASTEXITCODE
'''

@Field static final String CLEANUP_PS = '''\
$bin = if ($env:CRLOGIN_BIN) { $env:CRLOGIN_BIN } else { 'crlogin' }
try { & $bin cleanup --help *> $null; if ($LASTEXITCODE -eq 0) { & $bin cleanup --config-dir $env:CRLOGIN_CONFIG_DIR } } catch { }
Remove-Item -LiteralPath $env:CRLOGIN_CONFIG_DIR -Recurse -Force -ErrorAction SilentlyContinue
exit 0
'''

def call(Map args = [:], Closure body) {
    List unknown = args.keySet().findAll { !(it in PARAMETERS) } as List
    if (unknown) {
        error "crlogin: unknown parameter ${unknown.join(', ')}: use ${PARAMETERS.join(', ')}"
    }
    boolean verify = booleanParameter(args, 'verify', true)
    String id = args.credentialsId
    if (!id) {
        error "crlogin: credentialsId is required, e.g. crlogin(credentialsId: 'nebius-sa') { ... }"
    }
    String kind = args.kind ?: args.type ?: 'file'
    List credentials
    switch (kind) {
        case 'file':    // a Nebius authorized-key JSON (Secret file)
            credentials = [file(credentialsId: id, variable: 'NEBIUS_SA_CREDENTIALS_FILE')]
            break
        case 'string':  // a Nebius Container Registry static key (Secret text)
            credentials = [string(credentialsId: id, variable: 'NEBIUS_STATIC_KEY')]
            break
        case 'usernamePassword':
            if (!args.registry) {
                error "crlogin: kind 'usernamePassword' needs registry: 'host[/path]'"
            }
            credentials = [usernamePassword(credentialsId: id, usernameVariable: 'DCR_USERNAME',
                                            passwordVariable: 'DCR_PASSWORD')]
            break
        default:
            error "crlogin: kind must be 'file', 'string' or 'usernamePassword', not '${kind}'"
    }

    String dir = "${pwd(tmp: true)}/crlogin-${env.BUILD_NUMBER}-${UUID.randomUUID()}"
    // CRLOGIN_WRAPPER: crlogin words its errors with this step's parameters.
    List<String> settings = ["CRLOGIN_CONFIG_DIR=${dir}".toString(), "CRLOGIN_BIN=${args.binary ?: 'crlogin'}".toString(),
                             'CRLOGIN_WRAPPER=jenkins-step']
    addList(settings, 'NEBIUS_REGIONS', args.regions)
    addList(settings, 'CRLOGIN_REGISTRIES', args.registries)
    addList(settings, 'CRLOGIN_FOR', args.tools)
    addList(settings, 'DCR_REGISTRY', args.registry)
    if (args.version && !args.binary) {
        String version = args.version.toString().replaceFirst(/^v/, '')
        if (!(version ==~ /[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+-]*/)) {
            error "crlogin: version must be X.Y.Z, not '${args.version}'"
        }
        settings << "CRLOGIN_VERSION=${version}".toString()
        addList(settings, 'CRLOGIN_RELEASE_URL', args.releaseUrl)
    }
    // Each registry is asked before anything is written; verify: false turns that off.
    settings << "CRLOGIN_VERIFY=${verify}".toString()

    String bin = args.binary ?: 'crlogin'
    withEnv(settings) {
        try {
            // The download is for Unix agents; a Windows agent needs crlogin.exe on PATH (install.ps1).
            if (args.version && !args.binary && isUnix()) {
                bin = sh(script: INSTALL, returnStdout: true).trim()
            }
            withEnv(["CRLOGIN_BIN=${bin}".toString()]) {
                String exports = ''
                withCredentials(credentials) {
                    exports = agentScript(LOGIN, LOGIN_PS, true)
                }
                withEnv(exportedEnv(exports)) {
                    body()
                }
            }
        } finally {
            withEnv(["CRLOGIN_BIN=${bin}".toString()]) {
                agentScript(CLEANUP, CLEANUP_PS, false)
            }
        }
    }
}

// Runs the sh script on a Unix agent, the PowerShell one on a Windows agent.
String agentScript(String unix, String windows, boolean stdout) {
    isUnix() ? sh(script: unix, returnStdout: stdout) : powershell(script: windows, returnStdout: stdout)
}

// A boolean parameter: true or false, as a boolean or the string 'true' or 'false' (Groovy would
// take any non-empty string, 'false' too, for true); absent is `absent`; anything else is an error.
boolean booleanParameter(Map args, String name, boolean absent = false) {
    def value = args[name]
    if (value == null) {
        return absent
    }
    if (value == false || value == 'false') {
        return false
    }
    if (value == true || value == 'true') {
        return true
    }
    error "crlogin: ${name} must be true or false (a boolean, or the string 'true' or 'false'), not '${value}'"
}

// Adds NAME=a,b for a list or a string value; nothing for null or empty.
void addList(List<String> settings, String name, value) {
    String joined = value instanceof Collection ? value.join(',') : (value ?: '').toString()
    if (joined) {
        settings << "${name}=${joined}".toString()
    }
}

// crlogin's stdout is only `export NAME='value'` lines (the CI contract): keep the three we expect.
@NonCPS
List<String> exportedEnv(String stdout) {
    List<String> vars = []
    stdout.eachLine { String line ->
        def m = line =~ /^export (DOCKER_CONFIG|HELM_REGISTRY_CONFIG|REGISTRY_AUTH_FILE)='((?:[^']|'\\'')*)'$/
        if (m.matches()) {
            vars << "${m.group(1)}=${m.group(2).replace("'\\''", "'")}".toString()
        }
    }
    vars
}
