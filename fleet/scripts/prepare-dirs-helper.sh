#!/bin/sh
# Inside the helper container (root): the fleet root is mounted at /fleet.
set -eu
fleet=${AF_FLEET_DIR:-/fleet}
install -d -m 0755 "$fleet/agents" "$fleet/shared" "$fleet/decisions" "$fleet/seed" "$fleet/run" "$fleet/egress"
install -d -m 0700 "$fleet/console"
# Agent names are DNS labels (checked by the config), so word splitting is what is meant here.
for agent in ${AF_EGRESS_AGENTS:-}; do
  install -d -m 0755 "$fleet/egress/$agent"
done
echo "fleet folders ready"
