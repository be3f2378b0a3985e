#!/bin/sh
# Inside the helper container (root, git available): /fleet is the fleet root, the code is at
# /seed (a directory) or /seed.tar. Files are copied as root and without their owners, so that the
# runtime (root without CAP_DAC_OVERRIDE) can write them and the agent user can only read them.
# (AF_FLEET_DIR, AF_SEED_DIR and AF_SEED_TAR move those paths for the tests.)
set -eu
: "${AF_AGENT:?AF_AGENT is required}"
AF_REVISION=${AF_REVISION:-}
fleet=${AF_FLEET_DIR:-/fleet}
seed_dir=${AF_SEED_DIR:-/seed}
seed_tar=${AF_SEED_TAR:-/seed.tar}
dest="$fleet/agents/$AF_AGENT"
marker="$fleet/seed/$AF_AGENT.revision"
incoming="$fleet/agents/.$AF_AGENT.incoming"

rm -rf "$incoming"
mkdir -p "$incoming"
if [ -f "$seed_tar" ]; then
  tar -xf "$seed_tar" -C "$incoming" --no-same-owner
else
  cp -R "$seed_dir/." "$incoming/"
fi
# The agent's own history lives on the host; a .git folder in the source would replace it.
rm -rf "$incoming/.git"
if [ "$(id -u)" -eq 0 ]; then chown -R 0:0 "$incoming"; fi
chmod -R u+rwX,go+rX,go-w "$incoming"

if [ ! -e "$dest" ]; then
  mv "$incoming" "$dest"
  printf '%s\n' "$AF_REVISION" >"$marker"
  echo "seeded agents/$AF_AGENT"
  exit 0
fi

current=$(cat "$marker" 2>/dev/null || true)
if [ -z "$AF_REVISION" ] || [ "$AF_REVISION" = "$current" ]; then
  rm -rf "$incoming"
  echo "kept agents/$AF_AGENT as it is (it belongs to the runtime now; change codeRevision to push new code)"
  exit 0
fi

# A deliberate push: replace the working tree (not .git) and record it as one commit.
find "$dest" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
cp -R "$incoming/." "$dest/"
rm -rf "$incoming"
if [ -d "$dest/.git" ] && command -v git >/dev/null 2>&1; then
  git -C "$dest" add -A
  git -C "$dest" -c user.name=agent-fleet -c user.email=agent-fleet@localhost \
    commit --quiet --allow-empty -m "Operator push: code revision $AF_REVISION" \
    -m "Pushed by agent-fleet (pulumi up) because codeRevision changed from '${current}' to '${AF_REVISION}'."
  echo "pushed revision $AF_REVISION to agents/$AF_AGENT as commit $(git -C "$dest" rev-parse --short HEAD)"
else
  echo "pushed revision $AF_REVISION to agents/$AF_AGENT (not a git repository yet; the runtime creates it)"
fi
printf '%s\n' "$AF_REVISION" >"$marker"
