#!/bin/sh
# Removes the fleet's older agent images once every container runs the current one, so that a
# host does not fill up with one image per runtime update. An image some container still uses
# is kept. Nothing outside this fleet's image repository is touched.
#   AF_IMAGE  the image in use, e.g. sim/agent:70628be20dee15f2
set -eu
: "${AF_IMAGE:?AF_IMAGE is required}"
repo=${AF_IMAGE%:*}
docker image ls --format '{{.Repository}}:{{.Tag}}' "$repo" | while read -r old; do
  if [ "$old" != "$AF_IMAGE" ]; then
    if docker image rm "$old" >/dev/null 2>&1; then echo "removed $old"; fi
  fi
done
echo "current image: $AF_IMAGE"
