#!/bin/sh
# Creates the fleet's folders (see components/hostLayout.ts). The shared folders are created from
# inside a throw-away container of the agent image, as its root user: the runtime runs as root
# with every capability dropped, so it can only write folders that root owns, also when the
# Docker engine runs on a workstation whose files belong to an ordinary user.
#   AF_ROOT    fleet root on the host
#   AF_IMAGE   agent image
#   AF_HELPER  the script run inside the helper container (prepare-dirs-helper.sh)
#   AF_EGRESS_AGENTS  agents with an allow-list, space-separated (their egress socket folders)
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_IMAGE:?AF_IMAGE is required}"
: "${AF_HELPER:?AF_HELPER is required}"

install -d -m 0755 "$AF_ROOT"
install -d -m 0700 "$AF_ROOT/secrets"
docker run --rm --network none --user 0:0 --entrypoint /bin/sh \
  --env "AF_EGRESS_AGENTS=${AF_EGRESS_AGENTS:-}" \
  --mount "type=bind,source=$AF_ROOT,target=/fleet" \
  "$AF_IMAGE" -c "$AF_HELPER"
