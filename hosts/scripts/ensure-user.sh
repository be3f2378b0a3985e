#!/bin/sh
# Creates the operator account that Pulumi (and you) log in with: key-only, passwordless sudo.
# Run once through ssh.bootstrapUser (e.g. root on a fresh VPS). Idempotent: an existing user is
# kept; the key is added to authorized_keys only when missing.
#   AF_USER        account to create, e.g. ops
#   AF_PUBLIC_KEY  OpenSSH public key line to authorize for it
set -eu
: "${AF_USER:?AF_USER is required}"
: "${AF_PUBLIC_KEY:?AF_PUBLIC_KEY is required}"

if [ "$(id -u)" -ne 0 ]; then
  echo "agent-fleet: ensure-user must run as root (through sudo)" >&2
  exit 1
fi

# Every later step runs through `sudo -n` as this user; minimal images come without sudo.
if ! command -v sudo >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends sudo
fi

if ! id "$AF_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$AF_USER"
  echo "created user $AF_USER"
fi
# No password at all: key-only logins.
passwd --lock "$AF_USER" >/dev/null 2>&1 || true

home=$(getent passwd "$AF_USER" | cut -d: -f6)
group=$(id -gn "$AF_USER")
install -d -m 0700 -o "$AF_USER" -g "$group" "$home/.ssh"
keys="$home/.ssh/authorized_keys"
touch "$keys"
if ! grep -qxF "$AF_PUBLIC_KEY" "$keys"; then
  printf '%s\n' "$AF_PUBLIC_KEY" >>"$keys"
  echo "authorized the key for $AF_USER"
fi
chown "$AF_USER:$group" "$keys"
chmod 0600 "$keys"

sudoers="/etc/sudoers.d/90-agent-fleet-$AF_USER"
tmp="$sudoers.tmp"
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$AF_USER" >"$tmp"
chmod 0440 "$tmp"
if command -v visudo >/dev/null 2>&1 && ! visudo -cf "$tmp" >/dev/null; then
  rm -f "$tmp"
  echo "agent-fleet: generated sudoers entry did not validate" >&2
  exit 1
fi
mv "$tmp" "$sudoers"
echo "user $AF_USER ready"
