#!/bin/sh
# Key-only SSH: no passwords, no keyboard-interactive, no root login. The settings go into a
# drop-in that sshd reads first, the configuration is tested with `sshd -t` before sshd reloads,
# and a failing test restores the previous state, so a bad step never locks anyone out.
set -eu

dropin_dir=/etc/ssh/sshd_config.d
dropin="$dropin_dir/10-agent-fleet.conf"
main=/etc/ssh/sshd_config
if [ ! -f "$main" ]; then
  echo "agent-fleet: $main not found; is openssh-server installed?" >&2
  exit 1
fi
install -d -m 0755 "$dropin_dir"

backup=""
if [ -f "$dropin" ]; then
  backup="$dropin.previous"
  cp -p "$dropin" "$backup"
fi
cat >"$dropin.tmp" <<'CONF'
# Managed by agent-fleet: key-only logins, no root.
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PermitEmptyPasswords no
CONF
chmod 0644 "$dropin.tmp"
mv "$dropin.tmp" "$dropin"

# Older configurations have no Include line; without it the drop-in would be ignored. sshd keeps
# the first value it reads, so the Include goes first.
if ! grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' "$main"; then
  cp -p "$main" "$main.agent-fleet.bak"
  { echo "Include /etc/ssh/sshd_config.d/*.conf"; cat "$main.agent-fleet.bak"; } >"$main.tmp"
  chmod 0644 "$main.tmp"
  mv "$main.tmp" "$main"
fi

sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)
mkdir -p /run/sshd
if ! "$sshd_bin" -t; then
  echo "agent-fleet: sshd rejected the new configuration; restoring the previous one" >&2
  if [ -n "$backup" ]; then mv "$backup" "$dropin"; else rm -f "$dropin"; fi
  exit 1
fi
rm -f "$dropin.previous"

# A running sshd re-reads its configuration on SIGHUP (what `systemctl reload` sends). A
# socket-activated sshd (Ubuntu 22.10 and later: ssh.socket) starts afresh for every connection
# and needs nothing.
reloaded=false
if [ -d /run/systemd/system ]; then
  for unit in ssh.service sshd.service; do
    if systemctl is-active --quiet "$unit"; then
      systemctl reload "$unit"
      reloaded=true
      break
    fi
  done
  if [ "$reloaded" = false ] && systemctl is-active --quiet ssh.socket; then reloaded=true; fi
elif [ -f /run/sshd.pid ]; then
  kill -HUP "$(cat /run/sshd.pid)"
  reloaded=true
fi
if [ "$reloaded" = false ]; then
  echo "agent-fleet: found no running sshd to reload; the settings apply at its next start" >&2
fi
echo "sshd: key-only, root login disabled"
