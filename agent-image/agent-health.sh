#!/bin/sh
# agent-health: the image's HEALTHCHECK, cheap enough to run every couple of seconds.
#
# Healthy while this agent's status file (<AGENT_SHARED_DIR>/agents/<AGENT_NAME>/status.json,
# which the runtime rewrites by tmp+rename at every heartbeat) is younger than the agent's lease
# and its state is not "stopped": the rule of `agentctl health` (runtime/operator/status.ts), with
# the file's modification time as the heartbeat. It starts no Node.js process, only `date` and
# `stat`; `agentctl health` stays the thorough command for a human. Reads the file as text and
# never evaluates it.
set -u

# DEFAULT_LEASE_SECONDS of runtime/operator/status.ts (a unit test keeps them equal).
lease=30
name=${AGENT_NAME:-}
# The default is the contract's container path (contract/paths.ts), as for `agentctl health`.
shared=${AGENT_SHARED_DIR:-/shared}
if [ -z "$name" ]; then
  echo "agent-health: AGENT_NAME must be set"
  exit 1
fi
file="$shared/agents/$name/status.json"
if [ ! -f "$file" ]; then
  echo "$name: unhealthy (no status file yet)"
  exit 1
fi

# The runtime writes JSON indented by two spaces: top-level keys start with exactly two.
state=""
while IFS= read -r line; do
  case $line in
    '  "state": "'*)
      state=${line#'  "state": "'}
      state=${state%%\"*}
      ;;
    '  "lease_seconds": '[0-9]*)
      value=${line#'  "lease_seconds": '}
      value=${value%%[!0-9]*}
      [ -n "$value" ] && lease=$value
      ;;
  esac
done <"$file"

if ! now=$(date +%s) || ! modified=$(stat -c %Y "$file"); then
  echo "$name: unhealthy (cannot read the status file's time)"
  exit 1
fi
age=$((now - modified))
if [ "$state" = "stopped" ]; then
  echo "$name: unhealthy (stopped)"
  exit 1
fi
if [ "$age" -gt "$lease" ]; then
  echo "$name: unhealthy (heartbeat ${age}s ago, lease ${lease}s)"
  exit 1
fi
echo "$name: healthy (heartbeat ${age}s ago)"
