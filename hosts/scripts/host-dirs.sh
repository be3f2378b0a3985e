#!/bin/sh
# The fleet root on an SSH host, and the upload folder the operator account copies build
# contexts and agent code into (SFTP runs as that account, not as root).
#   AF_ROOT  fleet root, e.g. /srv/agent-fleet
#   AF_USER  operator account
set -eu
: "${AF_ROOT:?AF_ROOT is required}"
: "${AF_USER:?AF_USER is required}"
install -d -m 0755 -o root -g root "$AF_ROOT"
install -d -m 0700 -o "$AF_USER" -g "$(id -gn "$AF_USER")" "$AF_ROOT/upload"
echo "fleet root $AF_ROOT ready"
