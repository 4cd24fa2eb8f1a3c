# The plugin's two hooks, sourced by bash as the agent runs them: the options arrive as
# BUILDKITE_PLUGIN_CRLOGIN_* variables (a list option as _0, _1, ...).

# crlogin_option NAME: the option's value; a list joined with commas.
crlogin_option() {
  local var="BUILDKITE_PLUGIN_CRLOGIN_$1" i=0 out=""
  if [ -n "${!var:-}" ]; then printf '%s' "${!var}"; return; fi
  while local item="${var}_$i"; [ -n "${!item+x}" ]; do
    out="${out:+$out,}${!item}"
    i=$((i + 1))
  done
  printf '%s' "$out"
}

# Per-job paths: the downloaded binary, outside the checkout.
crlogin_paths() {
  CRLOGIN_PLUGIN_BIN="${TMPDIR:-/tmp}/crlogin-bin-${BUILDKITE_JOB_ID:?BUILDKITE_JOB_ID is not set: run the plugin on a Buildkite agent}"
}

# crlogin_run ARGS...: crlogin with the options as its variables and the mapped secrets, in a
# subshell, so the job's environment never holds the copies.
crlogin_run() (
  { set +x; } 2>/dev/null
  export CRLOGIN_WRAPPER=buildkite-plugin
  crlogin_map NEBIUS_STATIC_KEY "$(crlogin_option STATIC_KEY_VARIABLE)" &&
  crlogin_map NEBIUS_IAM_TOKEN "$(crlogin_option IAM_TOKEN_VARIABLE)" &&
  crlogin_map NEBIUS_SA_CREDENTIALS "$(crlogin_option SA_CREDENTIALS_VARIABLE)" || exit 1
  local name value
  for pair in REGIONS=NEBIUS_REGIONS REGISTRIES=CRLOGIN_REGISTRIES TOOLS=CRLOGIN_FOR AUTH=CRLOGIN_AUTH \
    SERVICE_ACCOUNT_ID=NEBIUS_SERVICE_ACCOUNT_ID AUDIENCE=NEBIUS_OIDC_AUDIENCE FROM_ENV=CRLOGIN_FROM_ENV; do
    value=$(crlogin_option "${pair%%=*}")
    name=${pair#*=}
    if [ -n "$value" ]; then export "$name=$value"; fi
  done
  # Each registry is asked before anything is written, unless option verify (or CRLOGIN_VERIFY) is false.
  case $(crlogin_option VERIFY) in
    false) export CRLOGIN_VERIFY=false ;;
    true) export CRLOGIN_VERIFY=true ;;
    *) export CRLOGIN_VERIFY="${CRLOGIN_VERIFY:-true}" ;;
  esac
  case $(crlogin_option ISOLATED) in false) export CRLOGIN_ISOLATED=false ;; *) unset CRLOGIN_ISOLATED ;; esac
  crlogin "$@"
)
