#!/bin/sh
# Uses a ready image from a registry instead of building one: pulled once, when absent.
#   AF_IMAGE  image reference
set -eu
: "${AF_IMAGE:?AF_IMAGE is required}"
if docker image inspect "$AF_IMAGE" >/dev/null 2>&1; then
  echo "image $AF_IMAGE already present"
else
  docker pull --quiet "$AF_IMAGE"
fi
