#!/bin/sh
# Host firewall: deny every incoming connection except SSH from the allowed networks.
# One nftables table of our own (inet agent_fleet), replaced as a whole on each run, so the
# result is the same however often it runs and other tables (Docker's) are left alone. Outgoing
# traffic and replies to it are untouched; ICMP stays on (IPv6 needs it), and DHCP replies are
# allowed so that cloud machines keep their address. The rules are also written to
# /etc/agent-fleet/firewall.nft and loaded at boot by a small systemd unit.
#   AF_SSH_PORT       SSH port
#   AF_ALLOWED_CIDRS  space-separated CIDR blocks (IPv4 and/or IPv6), validated by the program
#   AF_CONF_DIR       where the rules file goes (default /etc/agent-fleet; tests move it)
#   AF_SSH_CLIENT     $SSH_CLIENT of the session running this step (forwarded through sudo): the
#                     rules are refused when they would shut this very client out, since Pulumi's
#                     next step would then wait for a connection that can never come.
set -eu
: "${AF_SSH_PORT:?AF_SSH_PORT is required}"
: "${AF_ALLOWED_CIDRS:?AF_ALLOWED_CIDRS is required}"

v4=""
v6=""
for cidr in $AF_ALLOWED_CIDRS; do
  case "$cidr" in
    *:*) v6="${v6:+$v6, }$cidr" ;;
    *) v4="${v4:+$v4, }$cidr" ;;
  esac
done

# Would the new rules still admit the client that runs this step? nftables answers itself: an
# interval set of the allowed networks, asked whether it holds the client's address.
client=$(printf '%s' "${AF_SSH_CLIENT:-}" | cut -d' ' -f1)
client=${client%%%*}
case "$client" in ::ffff:*.*) client=${client#::ffff:} ;; esac
if [ -n "$client" ]; then
  case "$client" in
    *:*) family=ipv6_addr elements=$v6 ;;
    *) family=ipv4_addr elements=$v4 ;;
  esac
  admitted=false
  if [ -n "$elements" ]; then
    nft -f - <<CHECK
table inet agent_fleet_check
delete table inet agent_fleet_check
table inet agent_fleet_check {
  set allowed {
    type $family
    flags interval
    elements = { $elements }
  }
}
CHECK
    if nft get element inet agent_fleet_check allowed "{ $client }" >/dev/null 2>&1; then admitted=true; fi
    nft delete table inet agent_fleet_check
  fi
  if [ "$admitted" != true ]; then
    prefix=32
    case "$client" in *:*) prefix=128 ;; esac
    echo "agent-fleet: refusing to set the firewall: this connection comes from $client, which ssh.allowedCidrs ($AF_ALLOWED_CIDRS) does not include, so Pulumi (and you) would be locked out. Add your address ($client/$prefix) to ssh.allowedCidrs." >&2
    exit 1
  fi
fi

conf_dir=${AF_CONF_DIR:-/etc/agent-fleet}
rules="$conf_dir/firewall.nft"
install -d -m 0755 "$conf_dir"
{
  echo "# Managed by agent-fleet: incoming SSH from the allowed networks only."
  echo "table inet agent_fleet"
  echo "delete table inet agent_fleet"
  echo "table inet agent_fleet {"
  echo "  chain input {"
  echo "    type filter hook input priority filter; policy drop;"
  echo "    iif lo accept"
  echo "    ct state established,related accept"
  echo "    ct state invalid drop"
  echo "    meta l4proto icmp accept"
  echo "    meta l4proto ipv6-icmp accept"
  echo "    udp sport 67 udp dport 68 accept"
  echo "    udp sport 547 udp dport 546 accept"
  if [ -n "$v4" ]; then echo "    ip saddr { $v4 } tcp dport $AF_SSH_PORT accept"; fi
  if [ -n "$v6" ]; then echo "    ip6 saddr { $v6 } tcp dport $AF_SSH_PORT accept"; fi
  echo "  }"
  echo "}"
} >"$rules.tmp"

# Check the whole ruleset first; apply it atomically only when it parses.
if ! nft -c -f "$rules.tmp"; then
  rm -f "$rules.tmp"
  echo "agent-fleet: nftables rejected the generated rules" >&2
  exit 1
fi
mv "$rules.tmp" "$rules"
nft -f "$rules"

if [ -d /run/systemd/system ] && [ "$conf_dir" = /etc/agent-fleet ]; then
  unit=/etc/systemd/system/agent-fleet-firewall.service
  cat >"$unit.tmp" <<UNIT
[Unit]
Description=agent-fleet host firewall (SSH from allowed networks only)
Wants=network-pre.target
Before=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f $rules

[Install]
WantedBy=multi-user.target
UNIT
  mv "$unit.tmp" "$unit"
  systemctl daemon-reload
  systemctl enable agent-fleet-firewall.service >/dev/null 2>&1
fi

client=$(printf '%s' "${SSH_CLIENT:-}" | cut -d' ' -f1)
echo "firewall: incoming tcp/$AF_SSH_PORT from ${AF_ALLOWED_CIDRS}; everything else dropped${client:+ (this session came from $client)}"
