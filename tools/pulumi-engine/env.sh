# Source this file (bash) to use the locally built Pulumi engine:
#
#   source tools/pulumi-engine/env.sh && pulumi version
#
# It builds the engine if the cache is cold (tools/pulumi-engine/build.sh; minutes the first time,
# about a second afterwards) and exports an environment in which the engine never reaches the
# network: no update check, no plugin downloads, state in a local file backend, and a test
# passphrase for the passphrase secrets provider. Values already set in the environment win, so a
# caller can point PULUMI_BACKEND_URL or PULUMI_HOME elsewhere.
#
# Exports: PATH (engine bin dir first), PULUMI_ENGINE_BIN_DIR, PULUMI_SKIP_UPDATE_CHECK,
# PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, PULUMI_HOME, PULUMI_BACKEND_URL,
# PULUMI_CONFIG_PASSPHRASE (unless PULUMI_CONFIG_PASSPHRASE_FILE is set).

_pe_here="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"

if [ -z "${PULUMI_ENGINE_BIN_DIR:-}" ] || [ ! -x "${PULUMI_ENGINE_BIN_DIR}/pulumi" ]; then
  if ! PULUMI_ENGINE_BIN_DIR="$("$_pe_here/build.sh" --print-bin-dir)"; then
    echo "env.sh: tools/pulumi-engine/build.sh failed; the engine environment is not set" >&2
    unset _pe_here
    return 1 2>/dev/null || exit 1
  fi
fi
export PULUMI_ENGINE_BIN_DIR

case ":$PATH:" in
  *":$PULUMI_ENGINE_BIN_DIR:"*) ;;
  *) export PATH="$PULUMI_ENGINE_BIN_DIR:$PATH" ;;
esac

# Never phone home, never download a plugin: every plugin must come from PULUMI_ENGINE_BIN_DIR.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# A private PULUMI_HOME keeps the user's ~/.pulumi (credentials, plugin cache) out of the picture.
if [ -z "${PULUMI_HOME:-}" ]; then
  PULUMI_HOME="$(mktemp -d "${TMPDIR:-/tmp}/pulumi-home.XXXXXX")"
  export PULUMI_HOME
fi
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  export PULUMI_BACKEND_URL="file://$PULUMI_HOME/state"
fi
# The file backend does not create its directory.
case "$PULUMI_BACKEND_URL" in
  file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;;
esac
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="agent-fleet-test-passphrase"
fi

unset _pe_here
