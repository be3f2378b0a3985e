#!/bin/sh
# Inside the helper container (root): the fleet root is mounted at /fleet.
set -eu
fleet=${AF_FLEET_DIR:-/fleet}
install -d -m 0755 "$fleet/agents" "$fleet/shared" "$fleet/decisions" "$fleet/seed" "$fleet/run"
install -d -m 0700 "$fleet/console"
echo "fleet folders ready"
