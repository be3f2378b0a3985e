#!/bin/sh
# Inside the helper container (root, git available): /fleet is the fleet root, the project's
# folder is at /seed (a directory) or /seed.tar. Creates <fleet>/projects/<name> once, as a bare
# repository owned by root (the runtimes, root without CAP_DAC_OVERRIDE, can write it; agent users
# can only read it), with the folder as the first commit of AF_BRANCH and HEAD naming that branch.
# An existing repository is kept as it is. (AF_FLEET_DIR, AF_SEED_DIR and AF_SEED_TAR move those
# paths for the tests and for Fargate's seeding; AF_PROJECT_DIR names the repository itself where it
# is not <fleet>/projects/<name>, as in a Fargate task, where it is the project's access point.)
set -eu
: "${AF_PROJECT:?AF_PROJECT is required}"
: "${AF_BRANCH:?AF_BRANCH is required}"
fleet=${AF_FLEET_DIR:-/fleet}
seed_dir=${AF_SEED_DIR:-/seed}
seed_tar=${AF_SEED_TAR:-/seed.tar}
AF_REMOTE=${AF_REMOTE:-}
dest=${AF_PROJECT_DIR:-$fleet/projects/$AF_PROJECT}

g() {
  git -c safe.directory='*' -c init.defaultBranch="$AF_BRANCH" -c core.hooksPath=/dev/null \
    -c user.name=agent-fleet -c user.email=agent-fleet@localhost "$@"
}
# The remote the runtimes push applied commits to (agent-fleet.remote in the repository's own
# config, which only root writes); set on every run, so a changed setting reaches a kept repository.
set_remote() {
  if [ -n "$AF_REMOTE" ]; then
    g --git-dir="$1" config agent-fleet.remote "$AF_REMOTE"
  else
    g --git-dir="$1" config --unset-all agent-fleet.remote || true
  fi
}

if [ -e "$dest" ]; then
  set_remote "$dest"
  echo "kept projects/$AF_PROJECT as it is (it belongs to its agents' runtimes now)"
  exit 0
fi
install -d -m 0755 "$fleet/projects"
incoming="$fleet/projects/.$AF_PROJECT.incoming"
work="$fleet/projects/.$AF_PROJECT.work"
rm -rf "$incoming" "$work"
mkdir -p "$work"
if [ -f "$seed_tar" ]; then
  tar -xf "$seed_tar" -C "$work" --no-same-owner
else
  cp -R "$seed_dir/." "$work/"
fi
# The project's history starts here; a .git folder in the source is not imported.
rm -rf "$work/.git"
g init -q --bare "$incoming"
set_remote "$incoming"
g --git-dir="$incoming" symbolic-ref HEAD "refs/heads/$AF_BRANCH"
g --git-dir="$incoming" --work-tree="$work" add -A
g --git-dir="$incoming" --work-tree="$work" commit -q --allow-empty \
  -m "Initial import of project $AF_PROJECT" -m "Seeded by agent-fleet (pulumi up)." -m "Approved-By: operator"
rm -f "$incoming/index"
rm -rf "$work"
if [ "$(id -u)" -eq 0 ]; then chown -R 0:0 "$incoming"; fi
chmod -R u+rwX,go+rX,go-w "$incoming"
mv "$incoming" "$dest"
echo "seeded projects/$AF_PROJECT (branch $AF_BRANCH, $(g --git-dir="$dest" rev-parse --short HEAD))"
