#!/bin/sh
# Writes one of the console's secret files (standard input) as <root>/console/<file>: its tokens,
# or its notification sinks (AF_FILE=notify.json). Root-owned, mode 0600, from inside a throw-away container of the agent image: the console runs as root without
# capabilities, so it can read only a file that root owns, also on a workstation whose files
# belong to an ordinary user. The contents arrive on stdin, never on a command line.
#   AF_ROOT   fleet root on the host
#   AF_IMAGE  agent image
#   AF_FILE   file name in <root>/console (default tokens)
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_IMAGE:?AF_IMAGE is required}"
AF_FILE="${AF_FILE:-tokens}"
case "$AF_FILE" in tokens | notify.json) ;; *) echo "AF_FILE must be tokens or notify.json" >&2; exit 2 ;; esac
docker run -i --rm --network none --user 0:0 --entrypoint /bin/sh -e "AF_FILE=$AF_FILE" \
  --mount "type=bind,source=$AF_ROOT/console,target=/console" \
  "$AF_IMAGE" -c 'umask 077; cat >"/console/$AF_FILE.tmp"; mv "/console/$AF_FILE.tmp" "/console/$AF_FILE"'
echo "wrote $AF_ROOT/console/$AF_FILE"
