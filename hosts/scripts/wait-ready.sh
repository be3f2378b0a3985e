#!/bin/sh
# Waits until a freshly booted Debian/Ubuntu machine is ready to be configured: cloud-init has
# finished (when present) and no other apt/dpkg run (unattended-upgrades on first boot) holds the
# package locks. Fails on anything that is not Debian or Ubuntu. Safe to run any number of times.
set -eu

if [ ! -r /etc/os-release ]; then
  echo "agent-fleet: /etc/os-release is missing; only Debian and Ubuntu hosts are supported" >&2
  exit 1
fi
# shellcheck disable=SC1091
. /etc/os-release
case "${ID:-}:${ID_LIKE:-}" in
  debian:* | ubuntu:* | *:*debian*) ;;
  *)
    echo "agent-fleet: unsupported OS '${PRETTY_NAME:-unknown}'; only Debian and Ubuntu hosts are supported" >&2
    exit 1
    ;;
esac

if command -v cloud-init >/dev/null 2>&1; then
  # "status --wait" exits non-zero when cloud-init reported (recoverable) errors; say so, go on.
  cloud-init status --wait >/dev/null 2>&1 || echo "agent-fleet: cloud-init finished with warnings (see /var/log/cloud-init.log)" >&2
fi

# fuser (psmisc) is missing from minimal images; without it there is nothing to wait for anyway
# (no unattended-upgrades either), so the check is skipped.
waited=0
while command -v fuser >/dev/null 2>&1 &&
  fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
  if [ "$waited" -ge 600 ]; then
    echo "agent-fleet: apt/dpkg is still locked by another process after 10 minutes" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done

echo "ready: ${PRETTY_NAME:-$ID}"
