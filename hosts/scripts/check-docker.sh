#!/bin/sh
# The local machine as a Docker host: the docker CLI must be on PATH and its engine must answer.
# Changes nothing; prints the engine version.
set -eu
if ! command -v docker >/dev/null 2>&1; then
  echo "agent-fleet: the docker CLI is not on PATH; install Docker (https://docs.docker.com/engine/install/)" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "agent-fleet: docker is installed but its engine does not answer (is the daemon running, and may you use it?)" >&2
  docker info >/dev/null || true
  exit 1
fi
echo "docker $(docker version --format '{{.Server.Version}}') ready"
