#!/bin/sh
# Idle scale-down, the host's half (runs as root on the host, never in a container: no container
# gets the Docker socket). One pass over the fleet's agents:
#   - an agent whose runtime declared itself idle (marker <shared>/agents/<name>/idle) while its
#     container runs is stopped with `docker stop`: a manual stop, which the `unless-stopped`
#     restart policy respects, also across a dockerd restart or a reboot, while a crash is still
#     restarted by Docker. The marker is copied to <state>/<name>.stopped first (the proposals it
#     waits for), so the agent is known to be stopped for idleness, not by an operator or `paused`.
#   - an idle-stopped agent is started again when a task it can take is pending (one for it by
#     name; one for anyone or for a capability it has, when no awake agent can take that one), or
#     when a decision arrives for a proposal it waits for.
# The runtime declares idle only with no task in hand and claims nothing while idle; if it took a
# task just before the stop, SIGTERM finishes or hands the task back, and the next pass wakes it.
#   AF_SHARED     the fleet's shared dir on the host
#   AF_DECISIONS  the fleet's decisions dir on the host
#   AF_STATE      this waker's own folder (created 0700)
#   AF_AGENTS     space-separated name:container:cap1,cap2 entries (the fleet's agents that run)
#   AF_INTERVAL   seconds between passes with `loop` (default 5)
# Usage: idle-waker.sh once | loop
set -eu
: "${AF_SHARED:?AF_SHARED is required}"
: "${AF_DECISIONS:?AF_DECISIONS is required}"
: "${AF_STATE:?AF_STATE is required}"
: "${AF_AGENTS?AF_AGENTS is required}"
interval=${AF_INTERVAL:-5}
case $interval in '' | *[!0-9]*) echo "idle-waker: AF_INTERVAL must be whole seconds, got $interval" >&2; exit 2 ;; esac
mode=${1:-once}
case $mode in once | loop) ;; *) echo "usage: idle-waker.sh once|loop" >&2; exit 2 ;; esac
pending="$AF_SHARED/tasks/pending"
mkdir -p "$AF_STATE"
chmod 700 "$AF_STATE"

# Whether any file matches a glob pattern.
any() {
  for _f in "$@"; do
    if [ -e "$_f" ]; then return 0; fi
  done
  return 1
}

# Whether a running agent that is not idle can take a task for $1 (any | cap-NAME).
awake_taker() {
  # (sh has no local variables: the helpers' names start with an underscore.)
  for _e in $awake; do
    _caps=${_e#*:}
    case $1 in
      any) return 0 ;;
      cap-*) case ",$_caps," in *",${1#cap-},"*) return 0 ;; esac ;;
    esac
  done
  return 1
}

# Whether idle-stopped agent $1 (capabilities $2) has something to do.
wanted() {
  if any "$pending"/*_agent-"$1"_*.json; then return 0; fi
  if any "$pending"/*_any_*.json && ! awake_taker any; then return 0; fi
  for _c in $(echo "$2" | tr ',' ' '); do
    if any "$pending"/*_cap-"$_c"_*.json && ! awake_taker "cap-$_c"; then return 0; fi
  done
  while read -r _pid; do
    case $_pid in p-*) ;; *) continue ;; esac
    case $_pid in *[!a-z0-9-]*) continue ;; esac
    if [ -e "$AF_DECISIONS/$_pid.json" ]; then return 0; fi
  done <"$AF_STATE/$1.stopped"
  return 1
}

pass() {
  # First the agents that run and are not idle (they take shared tasks themselves).
  awake=""
  stopped_list=""
  for entry in $AF_AGENTS; do
    name=${entry%%:*}
    rest=${entry#*:}
    container=${rest%%:*}
    caps=${rest#*:}
    state=$(docker inspect --format '{{.State.Running}}' "$container" 2>/dev/null || echo missing)
    marker="$AF_SHARED/agents/$name/idle"
    woken="$AF_STATE/$name.woken"
    if [ "$state" = true ]; then
      # A marker older than our last wake-up belongs to the run before it: the new run removes it.
      if [ -f "$marker" ] && { [ ! -e "$woken" ] || [ -n "$(find "$marker" -newer "$woken")" ]; }; then
        if cp "$marker" "$AF_STATE/$name.stopped.tmp" 2>/dev/null; then
          mv "$AF_STATE/$name.stopped.tmp" "$AF_STATE/$name.stopped"
          if docker stop "$container" >/dev/null; then echo "stopped $name (idle)"; fi
        fi
      else
        rm -f "$AF_STATE/$name.stopped"
        awake="$awake $name:$caps"
      fi
    elif [ "$state" = false ] && [ -f "$AF_STATE/$name.stopped" ]; then
      stopped_list="$stopped_list $name:$container:$caps"
    fi
  done
  for entry in $stopped_list; do
    name=${entry%%:*}
    rest=${entry#*:}
    container=${rest%%:*}
    caps=${rest#*:}
    if wanted "$name" "$caps"; then
      touch "$AF_STATE/$name.woken"
      if docker start "$container" >/dev/null; then
        rm -f "$AF_STATE/$name.stopped"
        awake="$awake $name:$caps"
        echo "woke $name"
      fi
    fi
  done
}

if [ "$mode" = once ]; then
  pass
  exit 0
fi
while :; do
  pass || echo "idle-waker: pass failed" >&2
  sleep "$interval"
done
