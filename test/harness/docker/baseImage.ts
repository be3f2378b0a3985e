import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
} from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { docker, dockerTry, mustRun, run, type DockerTarget } from "./cli.js";

/**
 * Base images built offline: no image can be pulled here, so the suites make their own from
 * Debian packages with `debootstrap --variant=minbase` and `docker import` the result.
 *
 * The root file system tarball is cached outside the repo under
 * `${AGENT_FLEET_CACHE:-$HOME/.cache/agent-fleet}/base-images/`, keyed by a hash of everything
 * that goes into it (suite, packages, mirror, the Node.js binary, this recipe's version), and the
 * image carries that key as a label, so a warm run neither bootstraps nor re-imports.
 */
export interface DebootstrapImageSpec {
  /** Image reference to tag, e.g. "agent-fleet-test/base:bookworm". */
  tag: string;
  /** Debian suite; default "bookworm". */
  suite?: string;
  /** Packages on top of minbase (debootstrap --include). */
  include: string[];
  /** Copy this Node.js binary to /usr/local/bin/node (the host's own by default when true). */
  node?: boolean | string;
  /** `docker import --change` instructions besides PATH and the key label, e.g. `CMD ["/bin/bash"]`. */
  changes?: string[];
  /** Remove docs, man pages, locales and apt caches (default true). */
  slim?: boolean;
  /**
   * Packages to purge after the bootstrap although others depend on them (`dpkg --purge
   * --force-depends`): dependencies the image's programs never use. Every container of the image
   * pays for its size on a copying storage driver such as vfs. apt then reports the dependents as
   * broken, so only for images nothing installs packages into.
   */
  purge?: string[];
}

export interface BuiltBaseImage {
  tag: string;
  /** Input hash, also the image label `agent-fleet.base-key`. */
  key: string;
  tarball: string;
  /** What this call did: nothing (image present), import only (tarball cached), or both. */
  action: "reused" | "imported" | "bootstrapped";
  seconds: number;
}

/** Bump when the recipe below changes in a way the inputs do not show. */
const RECIPE_VERSION = 2;
const KEY_LABEL = "agent-fleet.base-key";
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function cacheDir(): string {
  return process.env.AGENT_FLEET_CACHE ?? path.join(os.homedir(), ".cache", "agent-fleet");
}

/**
 * The Debian mirror: AGENT_FLEET_DEBIAN_MIRROR, else the first main-archive URI of this machine's
 * apt sources (deb822 or one-line format), else deb.debian.org.
 */
export function debianMirror(): string {
  const fromEnv = process.env.AGENT_FLEET_DEBIAN_MIRROR;
  if (fromEnv) return fromEnv;
  const files = ["/etc/apt/sources.list"];
  const d = "/etc/apt/sources.list.d";
  if (existsSync(d))
    files.push(
      ...readdirSync(d)
        .sort()
        .map((f) => path.join(d, f)),
    );
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    const uris = [
      ...[...text.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map((m) => m[1]!),
    ];
    const main = uris.find((u) => /\/debian\/?$/.test(u));
    if (main) return main.replace(/\/$/, "");
  }
  return "http://deb.debian.org/debian";
}

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function nodeBinary(spec: DebootstrapImageSpec): string | undefined {
  if (!spec.node) return undefined;
  const bin = typeof spec.node === "string" ? spec.node : (process.env.AGENT_FLEET_NODE_BINARY ?? process.execPath);
  if (!existsSync(bin)) throw new Error(`Node.js binary for the base image not found: ${bin}`);
  return bin;
}

/** The cache key: a hash of every input of the root file system. */
export function baseImageKey(spec: DebootstrapImageSpec, mirror = debianMirror()): string {
  const node = nodeBinary(spec);
  const inputs = {
    recipe: RECIPE_VERSION,
    suite: spec.suite ?? "bookworm",
    include: [...spec.include].sort(),
    mirror,
    node: node ? sha256File(node) : null,
    slim: spec.slim ?? true,
    changes: spec.changes ?? [],
    // Only when set: the keys of images without it (and their cached tarballs) stay as they were.
    ...(spec.purge?.length ? { purge: [...spec.purge].sort() } : {}),
  };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16);
}

async function imageKey(target: DockerTarget, tag: string): Promise<string | undefined> {
  const r = await dockerTry(target, ["image", "inspect", "--format", `{{index .Config.Labels "${KEY_LABEL}"}}`, tag]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Mount points under `root` (deepest first), from /proc/mounts. */
function mountsUnder(root: string): string[] {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => !!m && (m === root || m.startsWith(prefix)))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes a debootstrap work dir safely: debootstrap mounts /proc and /sys (and may bind the
 * host's /dev) into the target while it runs; after a failure those mounts can remain, and a
 * plain `rm -rf` would walk into the host's /dev. Unmount first, then never cross a file system.
 */
async function removeWorkDir(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await run("umount", ["-l", m]);
  if (mountsUnder(dir).length > 0) {
    throw new Error(`cannot remove ${dir}: still mounted: ${mountsUnder(dir).join(", ")}`);
  }
  await mustRun("rm", ["-rf", "--one-file-system", dir]);
}

async function bootstrapTarball(spec: DebootstrapImageSpec, mirror: string, tarball: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("building a base image with debootstrap needs root");
  const work = mkdtempSync(path.join(path.dirname(tarball), ".work-"));
  const rootfs = path.join(work, "rootfs");
  try {
    const args = ["--variant=minbase"];
    if (spec.include.length > 0) args.push(`--include=${spec.include.join(",")}`);
    const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    if (existsSync(keyring)) args.push(`--keyring=${keyring}`);
    args.push(spec.suite ?? "bookworm", rootfs, mirror);
    await mustRun("debootstrap", args, { timeoutMs: 30 * 60_000 });

    if (spec.purge && spec.purge.length > 0) {
      await mustRun("chroot", [rootfs, "dpkg", "--purge", "--force-depends", ...spec.purge], {
        timeoutMs: 10 * 60_000,
      });
    }
    const node = nodeBinary(spec);
    if (node) {
      copyFileSync(node, path.join(rootfs, "usr/local/bin/node"));
      chmodSync(path.join(rootfs, "usr/local/bin/node"), 0o755);
    }
    if (spec.slim ?? true) {
      for (const p of [
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "var/cache/apt",
        "var/lib/apt/lists",
      ]) {
        const full = path.join(rootfs, p);
        if (!existsSync(full)) continue;
        for (const entry of readdirSync(full)) rmSync(path.join(full, entry), { recursive: true, force: true });
      }
    }
    for (const m of mountsUnder(rootfs)) await run("umount", ["-l", m]);
    const partial = path.join(work, "rootfs.tar");
    // /proc, /sys and /dev stay empty: the engine provides them in every container.
    await mustRun("tar", [
      "--numeric-owner",
      "--xattrs",
      "-C",
      rootfs,
      "--exclude=./proc/*",
      "--exclude=./sys/*",
      "--exclude=./dev/*",
      "-cf",
      partial,
      ".",
    ]);
    renameSync(partial, tarball); // atomic: a tarball in the cache is always complete
  } finally {
    await removeWorkDir(work);
  }
}

/**
 * Builds (or reuses) a base image from Debian packages. Idempotent and cached: see the file comment.
 */
export async function buildDebootstrapImage(target: DockerTarget, spec: DebootstrapImageSpec): Promise<BuiltBaseImage> {
  const started = Date.now();
  const mirror = debianMirror();
  const key = baseImageKey(spec, mirror);
  const dir = path.join(cacheDir(), "base-images");
  mkdirSync(dir, { recursive: true });
  const safeName = spec.tag.replace(/[^a-zA-Z0-9_.-]+/g, "_");
  const tarball = path.join(dir, `${safeName}-${key}.tar`);
  const done = (action: BuiltBaseImage["action"]): BuiltBaseImage => ({
    tag: spec.tag,
    key,
    tarball,
    action,
    seconds: (Date.now() - started) / 1000,
  });

  if ((await imageKey(target, spec.tag)) === key) return done("reused");

  let action: BuiltBaseImage["action"] = "imported";
  if (!existsSync(tarball)) {
    await bootstrapTarball(spec, mirror, tarball);
    action = "bootstrapped";
  }
  const changes = [`ENV PATH=${PATH_ENV}`, `LABEL ${KEY_LABEL}=${key}`, ...(spec.changes ?? [])];
  await docker(target, ["import", ...changes.flatMap((c) => ["--change", c]), tarball, spec.tag], {
    timeoutMs: 20 * 60_000,
  });
  return done(action);
}

/** Tag of the agent image's offline base. */
export const BASE_IMAGE_TAG = "agent-fleet-test/base:bookworm";

/**
 * What git pulls in that the runtime never runs: Perl (git's Perl scripts: send-email, svn, cvs,
 * instaweb; the runtime uses builtins only: runtime/git.ts, runtime/sandbox.ts) and git's man
 * pages. About 46 MB of the base's 277 MB, which every agent container copies on vfs.
 */
const AGENT_BASE_PURGE = ["git-man", "liberror-perl", "libperl5.36", "perl", "perl-modules-5.36"];

/**
 * The agent image's base: minbase + git, tini, CA certificates and the host's Node.js binary,
 * without Perl (AGENT_BASE_PURGE). Stands in for the official node:*-bookworm-slim image where
 * nothing can be pulled.
 */
export function buildBaseImage(target: DockerTarget, tag = BASE_IMAGE_TAG): Promise<BuiltBaseImage> {
  return buildDebootstrapImage(target, {
    tag,
    include: ["ca-certificates", "git", "tini"],
    purge: AGENT_BASE_PURGE,
    node: true,
    changes: ['CMD ["/bin/bash"]'],
  });
}

export const VPS_BASE_IMAGE_TAG = "agent-fleet-test/vps:bookworm";

export interface VpsBaseImageOptions {
  tag?: string;
  /** Packages besides the defaults. */
  extraPackages?: string[];
  /** Also copy the host's Node.js binary in (default false). */
  node?: boolean;
}

/**
 * A stand-in for a fresh Debian VPS, for the e2e suite: OpenSSH server, sudo, iptables + ufw,
 * Docker (bookworm has no client-only package, so `docker.io` brings dockerd and containerd too;
 * the e2e suite can run that engine inside a privileged container or point the CLI elsewhere),
 * git and the basics a bootstrap script expects (curl, iproute2, procps, systemd-less).
 * Its default command runs sshd in the foreground; the e2e suite provides keys and users.
 */
export function buildVpsBaseImage(target: DockerTarget, opts: VpsBaseImageOptions = {}): Promise<BuiltBaseImage> {
  return buildDebootstrapImage(target, {
    tag: opts.tag ?? VPS_BASE_IMAGE_TAG,
    include: [
      "ca-certificates",
      "curl",
      "docker.io",
      "git",
      "iproute2",
      "iptables",
      "openssh-server",
      "procps",
      "sudo",
      "ufw",
      ...(opts.extraPackages ?? []),
    ],
    node: opts.node ?? false,
    changes: ['CMD ["/bin/sh", "-c", "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"]'],
  });
}
