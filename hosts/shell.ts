import * as fs from "node:fs";
import * as path from "node:path";
import { quote } from "shell-quote";

/**
 * Shell programs for hosts. Scripts live as real files next to the components that run them (so
 * shellcheck can read them); parameters are prepended as quoted `export` lines. Only non-secret
 * values may go into a program: the program text is part of the resource's inputs and therefore
 * of Pulumi's state and preview. Secrets travel on stdin.
 */

const cache = new Map<string, string>();

/** Reads `<dir>/scripts/<name>` once per process. */
export function readScript(dir: string, name: string): string {
  const file = path.join(dir, "scripts", name);
  let text = cache.get(file);
  if (text === undefined) {
    text = fs.readFileSync(file, "utf8");
    cache.set(file, text);
  }
  return text;
}

/** A shell word: as is when it only holds characters no shell treats specially, else quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_/.:=@%+,-]+$/.test(s) ? s : quote([s]);
}

/** `export K='v'` lines (sorted, so equal inputs give equal programs), `set --` args, then the script. */
export function shellProgram(script: string, env: Record<string, string> = {}, args: string[] = []): string {
  const lines = Object.keys(env)
    .sort()
    .map((k) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`not a shell variable name: ${k}`);
      return `export ${k}=${shellWord(env[k]!)}`;
    });
  if (args.length > 0) lines.push(`set -- ${args.map(shellWord).join(" ")}`);
  // Drop the script's shebang: the program is run by `sh -c`.
  const body = script.replace(/^#!.*\n/, "");
  return `${lines.join("\n")}\n${body}`;
}

/**
 * Runs a program through `sh -c`, as root via `sudo -n` unless the login user is root already.
 * With `forwardSshClient`, the session's `$SSH_CLIENT` (which sudo would drop) reaches the program
 * as `AF_SSH_CLIENT`; the remote login shell expands it, so it is never part of Pulumi's inputs.
 */
export function asRoot(program: string, loginUser: string, opts: { forwardSshClient?: boolean } = {}): string {
  const run = quote(["sh", "-c", program]);
  const env = opts.forwardSshClient ? 'env "AF_SSH_CLIENT=${SSH_CLIENT:-}" ' : "";
  return loginUser === "root" ? `${env}${run}` : `sudo -n ${env}${run}`;
}
