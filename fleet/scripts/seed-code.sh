#!/bin/sh
# Seeds one agent's code folder on the host, once. After that the folder belongs to the runtime
# (every applied proposal is a commit in it) and is left alone, unless the operator asks for a
# push by changing the agent's codeRevision: then the agent's container is stopped, the new code
# replaces the working tree as one new commit on top of the history, and the container starts
# again if it was running. Nothing in the history is lost.
#   AF_ROOT       fleet root on the host
#   AF_AGENT      agent name
#   AF_CONTAINER  the agent's container name
#   AF_IMAGE      agent image (runs the helper, which has git)
#   AF_SOURCE     the code on the host: a directory, or a tar archive
#   AF_REVISION   requested code revision ("" when none was ever requested)
#   AF_HELPER     the script run inside the helper container (seed-code-helper.sh)
#   AF_TRUST      on a host the fleet owns: trust-code-dir.sh (the operator may `git log` the folder)
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_AGENT:?AF_AGENT is required}"
: "${AF_CONTAINER:?AF_CONTAINER is required}"
: "${AF_IMAGE:?AF_IMAGE is required}"
: "${AF_SOURCE:?AF_SOURCE is required}"
: "${AF_HELPER:?AF_HELPER is required}"
AF_REVISION=${AF_REVISION:-}

if [ ! -e "$AF_SOURCE" ]; then
  echo "agent-fleet: code source $AF_SOURCE does not exist" >&2
  exit 1
fi
target=/seed
if [ -f "$AF_SOURCE" ]; then target=/seed.tar; fi

current=$(cat "$AF_ROOT/seed/$AF_AGENT.revision" 2>/dev/null || true)
restart=false
if [ -d "$AF_ROOT/agents/$AF_AGENT" ] && [ -n "$AF_REVISION" ] && [ "$AF_REVISION" != "$current" ]; then
  if [ "$(docker inspect --format '{{.State.Running}}' "$AF_CONTAINER" 2>/dev/null || echo false)" = true ]; then
    docker stop --time 60 "$AF_CONTAINER" >/dev/null
    restart=true
  fi
fi

docker run --rm --network none --user 0:0 --entrypoint /bin/sh \
  --env "AF_AGENT=$AF_AGENT" --env "AF_REVISION=$AF_REVISION" \
  --mount "type=bind,source=$AF_ROOT,target=/fleet" \
  --mount "type=bind,source=$AF_SOURCE,target=$target,readonly" \
  "$AF_IMAGE" -c "$AF_HELPER"

if [ -n "${AF_TRUST:-}" ]; then
  AF_DIR="$AF_ROOT/agents/$AF_AGENT" AF_GITCONFIG=/etc/gitconfig sh -c "$AF_TRUST"
fi

if [ "$restart" = true ]; then
  docker start "$AF_CONTAINER" >/dev/null
fi
