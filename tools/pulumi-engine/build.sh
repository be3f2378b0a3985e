#!/usr/bin/env bash
# Builds the Pulumi CLI the end-to-end tests drive, from its Go module, at the version matching the
# npm SDK in package.json:
#
#   pulumi                   github.com/pulumi/pulumi/pkg/v3/cmd/pulumi                       (@pulumi/pulumi)
#
# and links the dynamic-provider plugin (pulumi-resource-pulumi-nodejs, shipped inside @pulumi/pulumi)
# next to it. The Node.js language host and the command provider are not built here (the module
# proxy does not serve them; see docs/engine.md): the e2e suite finds them on the machine.
#
# The CLI has a tools module under tools/pulumi-engine/pulumi/ (go.mod + tools.go) that requires the
# upstream module at the release version and repeats the replace directives of the upstream go.mod;
# the script checks that promise against the downloaded upstream go.mod before it builds. Binaries go
# to a cache directory OUTSIDE the repository:
#
#   ${AGENT_FLEET_CACHE:-$HOME/.cache/agent-fleet}/pulumi-engine/<key>/bin
#
# where <key> hashes the versions, the Go toolchain and every tools go.mod/go.sum, so a change to any
# of them builds into a fresh directory and an unchanged tree reuses the binaries (seconds).
#
# A module the Go proxy refuses is reported as BLOCKED with the proxy's exact error in
# <key>/manifest.json and on stderr. Exit status: 0 when the pulumi CLI is available, 1 otherwise.
#
# Usage: tools/pulumi-engine/build.sh [--print-bin-dir]
#   --print-bin-dir   print only the bin directory on stdout (logs go to stderr)
# Environment: AGENT_FLEET_CACHE (cache root), GOFLAGS/GOPROXY/GOMODCACHE/GOCACHE as usual.
set -euo pipefail

PULUMI_VERSION=3.248.0   # package.json: @pulumi/pulumi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
CACHE_ROOT="${AGENT_FLEET_CACHE:-$HOME/.cache/agent-fleet}/pulumi-engine"

print_bin_dir=false
while [ $# -gt 0 ]; do
  case "$1" in
    --print-bin-dir) print_bin_dir=true ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[pulumi-engine] $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

command -v node >/dev/null || { log "ERROR: 'node' is not on PATH"; exit 1; }

# Go: the tools modules say `go 1.25.11` (as upstream's go.mod files do). Without a recent enough `go` on
# PATH (Debian bookworm ships 1.19), fetch the Go toolchain the way `GOTOOLCHAIN` does, as the module
# golang.org/toolchain from the module proxy, pinned by its SHA-256, into the cache.
GO_MIN=1.25.11
GO_TOOLCHAIN=1.26.8
GO_TOOLCHAIN_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
go_ok() { command -v go >/dev/null && [ "$(printf '%s\n' "$GO_MIN" "$(go env GOVERSION 2>/dev/null | sed 's/^go//')" | sort -V | head -1)" = "$GO_MIN" ]; }
if ! go_ok; then
  tc_root="${AGENT_FLEET_CACHE:-$HOME/.cache/agent-fleet}/go-toolchain/go$GO_TOOLCHAIN"
  tc_go="$tc_root/golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN.linux-amd64"
  if [ ! -x "$tc_go/bin/go" ]; then
    log "no Go >= $GO_MIN on PATH; fetching golang.org/toolchain go$GO_TOOLCHAIN from ${GOPROXY:-https://proxy.golang.org}"
    for tool in curl unzip; do
      command -v "$tool" >/dev/null || { log "ERROR: '$tool' is needed to fetch the Go toolchain (apt-get install $tool)"; exit 1; }
    done
    mkdir -p "$tc_root"
    proxy="${GOPROXY:-https://proxy.golang.org}"; proxy="${proxy%%,*}"
    curl -fsSL -o "$tc_root/toolchain.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$GO_TOOLCHAIN.linux-amd64.zip"
    echo "$GO_TOOLCHAIN_SHA256  $tc_root/toolchain.zip" | sha256sum -c --quiet - \
      || { log "ERROR: Go toolchain zip does not match the pinned SHA-256"; rm -f "$tc_root/toolchain.zip"; exit 1; }
    (cd "$tc_root" && unzip -q -o toolchain.zip && rm -f toolchain.zip)
    # Module zips carry no file modes; `go` marks these executable the same way when it switches toolchains.
    chmod +x "$tc_go"/bin/* "$tc_go"/pkg/tool/*/*
  fi
  export GOROOT="$tc_go" PATH="$tc_go/bin:$PATH"
  go_ok || { log "ERROR: Go toolchain at $tc_go does not work"; exit 1; }
fi
export GOTOOLCHAIN=local
# Only the module proxy is reachable: without this, a module the proxy lacks falls back to `direct`
# (git over the network) and the proxy's answer is buried under a git DNS error.
GOPROXY="$(go env GOPROXY)"; export GOPROXY="${GOPROXY%,direct}"

# The sum database is not reachable from here (only the module proxy is). go.sum files are committed
# and pin every module hash, so verification against the checked-in sums still happens on every build.
export GOSUMDB="${GOSUMDB:-off}"
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"
export CGO_ENABLED=0
GO_VERSION="$(go env GOVERSION)"

# Verify the SDK version we pin here is what package.json installs; a mismatch would make the engine
# speak a protocol that differs from the SDK's.
have="$(node -p "require('$REPO_ROOT/node_modules/@pulumi/pulumi/package.json').version" 2>/dev/null || echo missing)"
if [ "$have" != "$PULUMI_VERSION" ]; then
  log "ERROR: node_modules/@pulumi/pulumi is $have but build.sh builds $PULUMI_VERSION; update PULUMI_VERSION in $0"
  exit 1
fi

key="$( {
  echo "pulumi=$PULUMI_VERSION go=$GO_VERSION"
  sed -n '/^build_piece()/,$p' "$0"
  # Paths relative to this directory: the same tree in another checkout reuses the same binaries.
  for f in "$HERE"/*/go.mod "$HERE"/*/go.sum "$HERE"/*/tools.go; do [ -f "$f" ] && { echo "${f#"$HERE"/}"; cat "$f"; }; done
} | sha256sum | cut -c1-16)"
OUT="$CACHE_ROOT/$key"
BIN="$OUT/bin"
mkdir -p "$BIN" "$OUT/logs"
MANIFEST_LINES="$OUT/logs/manifest.lines"
: > "$MANIFEST_LINES"

# Serialise concurrent runs (vitest globalSetup of several projects, a developer shell): the second
# waits for the first and then finds the cache warm.
exec 9>"$OUT/.lock"
flock 9

record() { # name status detail
  node -e 'process.stdout.write(JSON.stringify({name:process.argv[1],status:process.argv[2],detail:process.argv[3]})+"\n")' \
    "$1" "$2" "$3" >> "$MANIFEST_LINES"
}

# Fails (prints a reason) unless every non-local replace directive of the upstream go.mod is repeated
# verbatim in our tools go.mod. Local ones (=> ../sdk) point into the same repository at the same
# release and are satisfied by requiring that published module version instead.
check_replaces() { # upstream-go.mod ours-go.mod release-version
  node - "$1" "$2" "$3" <<'EOF'
const { execFileSync } = require("node:child_process");
const edit = (f) => JSON.parse(execFileSync("go", ["mod", "edit", "-json", f], { encoding: "utf8" }));
const [upstream, ours] = process.argv.slice(2, 4).map(edit);
const release = process.argv[4];
const fmt = (r) => `${r.Old.Path}${r.Old.Version ? "@" + r.Old.Version : ""} => ${r.New.Path}${r.New.Version ? " " + r.New.Version : ""}`;
const have = new Set((ours.Replace ?? []).map(fmt));
const missing = (upstream.Replace ?? []).filter((r) => r.New.Version && !have.has(fmt(r))).map(fmt);
const local = (upstream.Replace ?? []).filter((r) => !r.New.Version).map((r) => r.Old.Path);
const required = new Map((ours.Require ?? []).map((r) => [r.Path, r.Version]));
const unpinned = local.filter((p) => required.get(p) !== release);
if (missing.length || unpinned.length) {
  if (missing.length) console.log(`replace directives of the upstream go.mod missing here: ${missing.join("; ")}`);
  if (unpinned.length) console.log(`modules the upstream go.mod replaces with local paths must be required at the release version ${release}: ${unpinned.join(", ")}`);
  process.exit(1);
}
EOF
}

build_piece() { # binary module version package ldflags
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="$5"
  local dir="$HERE/$name" target="$BIN/$name" t0 info err upstream_mod why
  if [ -x "$target" ]; then
    log "$name: cached ($target)"
    record "$name" built "$module@$version (cached)"
    return 0
  fi
  t0="$(now)"
  info="$(cd "$dir" && go mod download -json "$module@$version" 2>/dev/null || true)"
  err="$(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")||"{}");process.stdout.write(j.Error||(j.GoMod?"":"no answer from go mod download"))' <<<"$info")"
  if [ -n "$err" ]; then
    log "$name: BLOCKED: go mod download $module@$version: $err"
    record "$name" blocked "go mod download $module@$version: $err"
    return 0
  fi
  upstream_mod="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).GoMod)' <<<"$info")"
  if ! why="$(check_replaces "$upstream_mod" "$dir/go.mod" "$version")"; then
    log "$name: ERROR: $dir/go.mod does not match upstream $module@$version: $why"
    record "$name" failed "$why"
    return 0
  fi
  log "$name: building $module@$version ($pkg) ..."
  if (cd "$dir" && go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$target.tmp" "$pkg") \
      > "$OUT/logs/$name.log" 2>&1; then
    mv -f "$target.tmp" "$target"
    log "$name: built in $(elapsed "$t0")"
    record "$name" built "$module@$version"
  else
    log "$name: ERROR: go build failed after $(elapsed "$t0"); last lines of $OUT/logs/$name.log:"
    tail -n 20 "$OUT/logs/$name.log" >&2
    rm -f "$target.tmp"
    record "$name" failed "go build failed: $(tail -n 5 "$OUT/logs/$name.log" | tr '\n' ' ')"
  fi
}

T0="$(now)"
log "cache $OUT (go $GO_VERSION)"

# Flags as in pulumi's .goreleaser.yml (release builds): -trimpath, -s -w, the version stamp, and the
# osusergo/grpcnotrace tags.
PULUMI_LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
build_piece pulumi github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_LDFLAGS"

# The dynamic-provider plugin is a shell script inside @pulumi/pulumi; the engine finds plugins on PATH.
# The link is refreshed on every run: it points into this checkout's node_modules.
dyn="$REPO_ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
if [ -x "$dyn" ]; then
  ln -sfn "$dyn" "$BIN/pulumi-resource-pulumi-nodejs"
  record pulumi-resource-pulumi-nodejs built "$dyn"
else
  record pulumi-resource-pulumi-nodejs blocked "not found: $dyn (run npm ci)"
fi

node - "$MANIFEST_LINES" "$OUT/manifest.json" "$BIN" "$PULUMI_VERSION" <<'EOF'
const fs = require("node:fs");
const [lines, out, binDir, pulumiVersion] = process.argv.slice(2);
const pieces = fs.readFileSync(lines, "utf8").trim().split("\n").map((l) => JSON.parse(l));
fs.writeFileSync(out, JSON.stringify({ binDir, pulumiVersion, pieces }, null, 2) + "\n");
EOF

log "done in $(elapsed "$T0"); manifest $OUT/manifest.json"
status=0
[ -x "$BIN/pulumi" ] || { log "ERROR: the pulumi CLI is not available"; status=1; }
if $print_bin_dir; then echo "$BIN"; fi
exit $status
