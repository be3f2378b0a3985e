import { quote } from "shell-quote";
import { ENV } from "../contract/env.js";
import { CONTAINER_PATHS } from "../contract/paths.js";
import { OPERATOR_FALLBACK_EXIT, OPERATOR_FRAME } from "../contract/console.js";
import { hostLayout } from "../hosts/hostLayout.js";

/** Where the wrapper is installed on Docker hosts. */
export const AGENTCTL_WRAPPER_PATH = "/usr/local/bin/agentctl";

export interface AgentctlWrapperOptions {
  /** The agent image (it carries the `agentctl` CLI). */
  image: string;
  /** Root of the fleet's files on the host (see hostLayout.ts). */
  hostRoot: string;
  /** The docker CLI to call; default `docker`. */
  docker?: string;
  /**
   * The console's operator socket on the host (fleet/console.ts), when the fleet runs a console:
   * commands are answered there in milliseconds, and only those it hands back start a container.
   */
  socket?: string;
}

/**
 * The socket client: Perl, because perl-base is part of every Debian and Ubuntu system (it is
 * "Essential") and IO::Socket::UNIX is in it, while Node.js is not on the host. It sends the
 * operator's name and the arguments, then copies the stdout/stderr frames through and exits with
 * the command's code. It exits ${OPERATOR_FALLBACK_EXIT} (the wrapper then starts a container) only when nothing was run:
 * no socket to connect to, no Perl module, or the console hands the command back. Once it has
 * sent a command it never falls back, so a command never runs twice.
 */
export function socketClientProgram(): string {
  const f = OPERATOR_FRAME;
  return [
    "use strict; use warnings;",
    `eval { require IO::Socket::UNIX; require Socket; 1 } or exit ${OPERATOR_FALLBACK_EXIT};`,
    "my $path = shift @ARGV;",
    `my $s = IO::Socket::UNIX->new(Type => Socket::SOCK_STREAM(), Peer => $path) or exit ${OPERATOR_FALLBACK_EXIT};`,
    'my @f = (defined $ENV{AGENTCTL_USER} ? $ENV{AGENTCTL_USER} : "", @ARGV);',
    'my $req = pack("N", scalar @f); $req .= pack("N", length $_) . $_ for @f;',
    "binmode $s; binmode STDOUT; binmode STDERR; $| = 1;",
    'my $off = 0; while ($off < length $req) { my $w = syswrite($s, $req, length($req) - $off, $off); die "agentctl: operator socket: $!\\n" unless defined $w; $off += $w; }',
    'sub rd { my ($n) = @_; my $b = ""; while (length($b) < $n) { my $r = sysread($s, $b, $n - length($b), length($b)); return undef unless $r; } return $b; }',
    "my $first = 1;",
    "while (1) {",
    '  my $h = rd(5); my ($t, $n) = defined $h ? unpack("CN", $h) : (0, 0); my $p = defined $h ? rd($n) : undef;',
    '  if (!defined $p) { print STDERR "agentctl: the console closed the operator socket before the command finished\\n"; exit 1; }',
    `  if ($t == ${f.stdout}) { print STDOUT $p; }`,
    `  elsif ($t == ${f.stderr}) { print STDERR $p; }`,
    `  elsif ($t == ${f.exit}) { exit(($p =~ /^\\d+$/) ? $p : 1); }`,
    `  elsif ($t == ${f.fallback} && $first) { exit ${OPERATOR_FALLBACK_EXIT}; }`,
    '  else { print STDERR "agentctl: unexpected answer on the operator socket\\n"; exit 1; }',
    "  $first = 0;",
    "}",
  ].join("\n");
}

/**
 * The host-side `agentctl`: a small POSIX sh script that runs the image's own `agentctl` in a
 * throw-away container with the fleet's shared dir and the decisions dir (writable here: this is
 * the operator's side) mounted, so that `ssh ops@host agentctl proposals` and
 * `agentctl approve <id>` work without Node.js on the host. The current directory is mounted
 * read-only at the same path so `agentctl task add --instructions ./task.md` finds its files.
 * No network, no capabilities, read-only root.
 */
export function agentctlWrapperScript(o: AgentctlWrapperOptions): string {
  const layout = hostLayout(o.hostRoot);
  const docker = o.docker ?? "docker";
  const fixed = quote([
    "--rm",
    "--network",
    "none",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--mount",
    `type=bind,source=${layout.sharedDir},target=${CONTAINER_PATHS.shared}`,
    "--mount",
    `type=bind,source=${layout.decisionsDir},target=${CONTAINER_PATHS.decisions}`,
    "--env",
    `${ENV.sharedDir}=${CONTAINER_PATHS.shared}`,
    "--env",
    `${ENV.decisionsDir}=${CONTAINER_PATHS.decisions}`,
    "--entrypoint",
    "agentctl",
  ]);
  // Decisions and tasks record who made them; inside the container $USER is unset, so the
  // operator's name is passed in (sudo keeps the real person in SUDO_USER).
  const who = '--env "AGENTCTL_USER=$AGENTCTL_USER"';
  const fast = o.socket
    ? [
        "# Fast path: the console container answers on its operator socket (fleet/console.ts).",
        `sock=${quote([o.socket])}`,
        'if [ -S "$sock" ] && [ -w "$sock" ] && command -v perl >/dev/null 2>&1; then',
        "  rc=0",
        `  perl -e ${quote([socketClientProgram()])} -- "$sock" "$@" || rc=$?`,
        `  [ "$rc" -eq ${OPERATOR_FALLBACK_EXIT} ] || exit "$rc"`,
        "fi",
      ]
    : [];
  return [
    "#!/bin/sh",
    "# agentctl: installed by agent-fleet. Runs the agent image's agentctl against this host's fleet.",
    "# shell-quote escapes '=' ',' ':' where sh needs no escape; the words are the same.",
    "# shellcheck disable=SC1001",
    "set -eu",
    'AGENTCTL_USER="${AGENTCTL_USER:-${SUDO_USER:-$(id -un)}}"',
    "export AGENTCTL_USER",
    ...fast,
    "# Slow path: the image's agentctl in a throw-away container.",
    'tty=""',
    'if [ -t 0 ] && [ -t 1 ]; then tty="-t"; fi',
    "cwd=$(pwd -P)",
    `exec ${quote([docker])} run -i $tty ${fixed} ${who} \\`,
    '  --mount "type=bind,source=$cwd,target=$cwd,readonly" --workdir "$cwd" \\',
    `  ${quote([o.image])} "$@"`,
    "",
  ].join("\n");
}
