#!/bin/sh
# Makes sure the Docker engine runs on the host. A working engine is left exactly as it is (the
# operator may have installed Docker CE); otherwise the distribution's docker.io package is
# installed (no third-party repository, works from the distribution mirror alone).
# Also installs the few tools later steps use, and lets the operator account use docker.
#   AF_USER  operator account to add to the docker group
set -eu
: "${AF_USER:?AF_USER is required}"

missing=""
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
command -v tar >/dev/null 2>&1 || missing="$missing tar"
if ! command -v docker >/dev/null 2>&1; then
  missing="$missing docker.io"
fi
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -q --no-install-recommends $missing
fi

if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    systemctl enable --now docker.service
  else
    service docker start || true
  fi
  tries=0
  until docker info >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "agent-fleet: the Docker engine does not answer (docker info failed for 60s)" >&2
      exit 1
    fi
    sleep 2
  done
fi

if getent group docker >/dev/null 2>&1 && ! id -nG "$AF_USER" | tr ' ' '\n' | grep -qx docker; then
  usermod -aG docker "$AF_USER"
  echo "added $AF_USER to the docker group"
fi
echo "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown) ready"
