#!/bin/sh
# Writes the console's tokens file (standard input) as <root>/console/tokens, root-owned, mode
# 0600, from inside a throw-away container of the agent image: the console runs as root without
# capabilities, so it can read only a file that root owns, also on a workstation whose files
# belong to an ordinary user. The tokens arrive on stdin, never on a command line.
#   AF_ROOT   fleet root on the host
#   AF_IMAGE  agent image
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_IMAGE:?AF_IMAGE is required}"
docker run -i --rm --network none --user 0:0 --entrypoint /bin/sh \
  --mount "type=bind,source=$AF_ROOT/console,target=/console" \
  "$AF_IMAGE" -c 'umask 077; cat >/console/tokens.tmp; mv /console/tokens.tmp /console/tokens'
echo "wrote $AF_ROOT/console/tokens"
