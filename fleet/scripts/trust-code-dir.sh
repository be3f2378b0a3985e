#!/bin/sh
# Lets the operator read an agent's code folder with git as themselves (`git -C <dir> log`): the
# folder belongs to root, so git refuses it ("detected dubious ownership") unless the system
# gitconfig names it in safe.directory. Adds exactly this folder, once; never "*". Run as root on
# a host the fleet owns (vps, exoscale), never on a workstation. The .git folder it trusts is
# written only by the runtime (root in the agent's container); agents cannot write it.
#   AF_DIR        the agent's code folder (absolute)
#   AF_GITCONFIG  the system gitconfig (normally /etc/gitconfig)
set -eu
: "${AF_DIR:?AF_DIR is required}"
: "${AF_GITCONFIG:?AF_GITCONFIG is required}"
case $AF_DIR in
  /*) ;;
  *) echo "agent-fleet: $AF_DIR is not an absolute path" >&2; exit 1 ;;
esac
nl='
'
case $AF_DIR in *"$nl"*) echo "agent-fleet: a code folder path must be one line" >&2; exit 1 ;; esac

# A gitconfig value in double quotes: backslash and double quote escaped.
quoted=$(printf '%s' "$AF_DIR" | sed 's/[\\"]/\\&/g')
line="	directory = \"$quoted\""
if [ -f "$AF_GITCONFIG" ] && grep -qxF "$line" "$AF_GITCONFIG"; then
  exit 0
fi
printf '[safe]\n%s\n' "$line" >>"$AF_GITCONFIG"
chmod 0644 "$AF_GITCONFIG"
