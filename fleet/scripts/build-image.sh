#!/bin/sh
# Builds the agent image on the Docker host, once per content hash: the tag carries the hash of
# the build context, so an unchanged context is never rebuilt and a changed one gets a new tag
# (and, through the container specs, new containers).
#   AF_IMAGE       tag to build, e.g. agent-fleet-agent:3f2a…
#   AF_CONTEXT     build context directory (the repository root, or where the archive unpacks)
#   AF_ARCHIVE     optional: tar archive of the context to unpack into AF_CONTEXT first
#   AF_DOCKERFILE  Dockerfile path relative to the context
#   "$@"           build args, each NAME=VALUE
set -eu
: "${AF_IMAGE:?AF_IMAGE is required}"
: "${AF_CONTEXT:?AF_CONTEXT is required}"
: "${AF_DOCKERFILE:?AF_DOCKERFILE is required}"

if docker image inspect "$AF_IMAGE" >/dev/null 2>&1; then
  echo "image $AF_IMAGE already present"
  exit 0
fi

if [ -n "${AF_ARCHIVE:-}" ]; then
  rm -rf "$AF_CONTEXT.tmp"
  mkdir -p "$AF_CONTEXT.tmp"
  tar -xf "$AF_ARCHIVE" -C "$AF_CONTEXT.tmp"
  rm -rf "$AF_CONTEXT"
  mv "$AF_CONTEXT.tmp" "$AF_CONTEXT"
fi

set -- "$@" --end--
while [ "$1" != --end-- ]; do
  set -- "$@" --build-arg "$1"
  shift
done
shift

docker build --quiet -f "$AF_CONTEXT/$AF_DOCKERFILE" -t "$AF_IMAGE" "$@" "$AF_CONTEXT"

if [ -n "${AF_ARCHIVE:-}" ]; then
  # Only the newest context (and its archive) is kept on the host.
  for old in "$(dirname "$AF_CONTEXT")"/*; do
    if [ "$old" != "$AF_CONTEXT" ]; then rm -rf "$old"; fi
  done
  for old in "$(dirname "$AF_ARCHIVE")"/image-*.tar; do
    if [ "$old" != "$AF_ARCHIVE" ]; then rm -f "$old"; fi
  done
fi
echo "built $AF_IMAGE"
