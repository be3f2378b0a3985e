#!/bin/sh
# Runs Pulumi for this project without any account or login: the state lives in the project
# (.pulumi-state/, git-ignored) and secrets are encrypted with a passphrase.
#
#   npm run up        [-- --stack NAME] [pulumi up options]      deploy (default stack: local)
#   npm run preview   [-- --stack NAME] [pulumi preview options] show what would change
#   npm run destroy   [-- --stack NAME] [pulumi destroy options] remove the containers
#   npm run pulumi -- <any pulumi command>                       e.g. config set approvalRequired false
#
# Passphrase: PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE when set; otherwise, for
# the local stack only, the fixed local-only passphrase "agent-fleet-local" (it protects nothing
# but a stack on your own machine). Any other stack needs your own passphrase.
set -eu

usage() {
  echo "usage: scripts/up.sh up|preview|destroy|pulumi [--stack NAME] [pulumi arguments...]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
action=$1
shift
case "$action" in up | preview | destroy | pulumi) ;; *) usage ;; esac

project=$(cd "$(dirname "$0")/.." && pwd)
cd "$project"

if ! command -v pulumi >/dev/null 2>&1; then
  echo "agent-fleet: the Pulumi CLI is not on PATH; install it from https://www.pulumi.com/docs/install/" >&2
  exit 1
fi

# The stack: --stack/-s NAME among the arguments, else $AGENT_FLEET_STACK, else local.
stack=${AGENT_FLEET_STACK:-local}
prev=""
for arg in "$@"; do
  case "$prev" in --stack | -s) stack=$arg ;; esac
  case "$arg" in --stack=*) stack=${arg#--stack=} ;; esac
  prev=$arg
done

state="$project/.pulumi-state"
mkdir -p "$state"
export PULUMI_BACKEND_URL="file://$state"
export PULUMI_SKIP_UPDATE_CHECK=true
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ "$stack" = local ]; then
    export PULUMI_CONFIG_PASSPHRASE=agent-fleet-local
  else
    echo "agent-fleet: stack '$stack' needs your own passphrase: export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)" >&2
    exit 1
  fi
fi

# Create the stack on first use (its config file in stacks/ may already exist).
if ! pulumi stack select "$stack" >/dev/null 2>&1; then
  # Pulumi prints its own "Created stack" line (on stderr): ours replaces it; a failure shows all.
  if ! init_out=$(pulumi stack init "$stack" --secrets-provider passphrase 2>&1 >/dev/null); then
    printf '%s\n' "$init_out" >&2
    exit 1
  fi
  echo "agent-fleet: created stack '$stack' (state in .pulumi-state/)"
fi

has_stack_flag=false
for arg in "$@"; do
  case "$arg" in --stack | -s | --stack=*) has_stack_flag=true ;; esac
done

case "$action" in
  pulumi) exec pulumi "$@" ;;
  *)
    if [ "$has_stack_flag" = true ]; then
      exec pulumi "$action" "$@"
    fi
    exec pulumi "$action" --stack "$stack" "$@"
    ;;
esac
