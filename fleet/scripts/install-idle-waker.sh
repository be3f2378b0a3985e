#!/bin/sh
# Installs the idle waker (its program on stdin) at AF_PATH, 0755. With AF_UNIT (SSH hosts: root,
# systemd) it also installs and (re)starts that systemd unit, whose text is in AF_UNIT_TEXT; without
# it (the local target) the program is only installed: `AF_PATH loop` runs it.
# With `remove` as argument it stops and removes both instead.
#   AF_PATH       where the program goes, e.g. /srv/agent-fleet/bin/idle-waker
#   AF_UNIT       systemd unit name, or empty
#   AF_UNIT_TEXT  the unit file's text (when AF_UNIT is set)
set -eu
: "${AF_PATH:?AF_PATH is required}"
unit=${AF_UNIT:-}
if [ "${1:-}" = remove ]; then
  if [ -n "$unit" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$unit.service" >/dev/null 2>&1 || true
    rm -f "/etc/systemd/system/$unit.service"
    systemctl daemon-reload || true
  fi
  rm -f "$AF_PATH"
  echo "idle waker removed"
  exit 0
fi
mkdir -p "$(dirname "$AF_PATH")"
tmp="$AF_PATH.tmp.$$"
cat >"$tmp"
chmod 0755 "$tmp"
mv "$tmp" "$AF_PATH"
if [ -n "$unit" ]; then
  : "${AF_UNIT_TEXT:?AF_UNIT_TEXT is required with AF_UNIT}"
  printf '%s' "$AF_UNIT_TEXT" >"/etc/systemd/system/$unit.service.tmp"
  mv "/etc/systemd/system/$unit.service.tmp" "/etc/systemd/system/$unit.service"
  systemctl daemon-reload
  systemctl enable "$unit.service" >/dev/null 2>&1
  systemctl restart "$unit.service"
  echo "idle waker running as $unit.service"
else
  echo "idle waker installed at $AF_PATH (run \`$AF_PATH loop\` to keep it running)"
fi
