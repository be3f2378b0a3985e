#!/bin/sh
# Seeds one shared project on the host, once: a bare git repository at <root>/projects/<name>
# whose branch holds the project's folder as its first commit. After that the repository belongs
# to the runtimes of the agents assigned to it (every applied change is a commit on the branch)
# and is never touched again by `pulumi up`.
#   AF_ROOT       fleet root on the host
#   AF_PROJECT    project name
#   AF_BRANCH     the branch agents commit to (the repository's HEAD names it)
#   AF_IMAGE      agent image (runs the helper, which has git)
#   AF_SOURCE     the project's folder on the host: a directory, or a tar archive
#   AF_REMOTE     git URL the applied commits are pushed to ("" for none)
#   AF_HELPER     the script run inside the helper container (seed-project-helper.sh)
#   AF_TRUST      on a host the fleet owns: trust-code-dir.sh (the operator may `git log` the repository)
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_PROJECT:?AF_PROJECT is required}"
: "${AF_BRANCH:?AF_BRANCH is required}"
: "${AF_IMAGE:?AF_IMAGE is required}"
: "${AF_SOURCE:?AF_SOURCE is required}"
: "${AF_HELPER:?AF_HELPER is required}"

if [ ! -e "$AF_SOURCE" ]; then
  echo "agent-fleet: project source $AF_SOURCE does not exist" >&2
  exit 1
fi
target=/seed
if [ -f "$AF_SOURCE" ]; then target=/seed.tar; fi

docker run --rm --network none --user 0:0 --entrypoint /bin/sh \
  --env "AF_PROJECT=$AF_PROJECT" --env "AF_BRANCH=$AF_BRANCH" --env "AF_REMOTE=${AF_REMOTE:-}" \
  --mount "type=bind,source=$AF_ROOT,target=/fleet" \
  --mount "type=bind,source=$AF_SOURCE,target=$target,readonly" \
  "$AF_IMAGE" -c "$AF_HELPER"

if [ -n "${AF_TRUST:-}" ]; then
  AF_DIR="$AF_ROOT/projects/$AF_PROJECT" AF_GITCONFIG=/etc/gitconfig sh -c "$AF_TRUST"
fi
