#!/bin/sh
# Deletes everything of the fleet on the host: agent code with its history, the shared folder
# (queue, proposals, logs), decisions, secrets, build contexts, shared projects, the console's and
# the egress proxy's folders. Runs on `pulumi destroy` only
# when the stack set purgeOnDestroy: true; by default destroy keeps all of it.
#   AF_ROOT   fleet root on the host
#   AF_IMAGE  agent image (root-owned files are removed from inside a helper container)
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_IMAGE:?AF_IMAGE is required}"
if [ ! -d "$AF_ROOT" ]; then
  exit 0
fi
if docker image inspect "$AF_IMAGE" >/dev/null 2>&1; then
  docker run --rm --network none --user 0:0 --entrypoint /bin/sh \
    --mount "type=bind,source=$AF_ROOT,target=/fleet" \
    "$AF_IMAGE" -c 'rm -rf /fleet/agents /fleet/shared /fleet/decisions /fleet/seed /fleet/image /fleet/upload /fleet/console /fleet/run /fleet/egress /fleet/projects'
fi
rm -rf "${AF_ROOT:?}/agents" "${AF_ROOT:?}/shared" "${AF_ROOT:?}/decisions" "${AF_ROOT:?}/seed" \
  "${AF_ROOT:?}/image" "${AF_ROOT:?}/upload" "${AF_ROOT:?}/secrets" "${AF_ROOT:?}/bin" \
  "${AF_ROOT:?}/console" "${AF_ROOT:?}/run" "${AF_ROOT:?}/egress" "${AF_ROOT:?}/projects"
rmdir "$AF_ROOT" 2>/dev/null || true
docker image rm "$AF_IMAGE" >/dev/null 2>&1 || true
echo "purged $AF_ROOT"
