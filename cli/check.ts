import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { parse as parseYaml } from "yaml";
import { formatProblems } from "../config/fleetConfig.js";
import { rawConfigFromStackFile, StackFileError } from "../config/stackFile.js";
import { checkStackConfig } from "../targets/index.js";

/**
 * `agent-fleet check`: validates stack files offline with the program's own validation (targets/index.ts checkStackConfig) and prints the
 * very messages `pulumi up` would (exit 1 on any problem). Needs neither the Pulumi CLI, nor a
 * login, nor the passphrase: secrets are only checked to be stored as secrets.
 */

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface CheckOptions {
  stack?: string;
  projectDir: string;
  json?: boolean;
}

interface FileReport {
  file: string;
  stack: string;
  ok: boolean;
  target?: string;
  agents?: number;
  problems?: Array<{ key: string; message: string }>;
  /** What the target will not enforce as written (the stack is still valid). */
  warnings?: Array<{ key: string; message: string }>;
  error?: string;
}

/** The folder of stack files: Pulumi.yaml's stackConfigDir, else the project folder. */
export function stackConfigDir(projectDir: string): string {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(projectFile)) {
    throw new StackFileError(`no Pulumi.yaml in ${projectDir}; run from the project folder or pass --project-dir`);
  }
  const project = parseYaml(fs.readFileSync(projectFile, "utf8")) as { stackConfigDir?: string } | null;
  return path.resolve(projectDir, project?.stackConfigDir ?? ".");
}

/** A stack file's name: Pulumi.<stack>.yaml (or .yml). */
const STACK_FILE_NAME = /^Pulumi\.(.+)\.ya?ml$/;

/** Stack name from a file name: Pulumi.<stack>.yaml (or .yml). */
export function stackNameOf(file: string): string {
  const m = STACK_FILE_NAME.exec(path.basename(file));
  if (!m) throw new StackFileError(`${file}: a stack file is named Pulumi.<stack>.yaml`);
  return m[1]!;
}

export function checkFiles(files: string[], projectDir: string): FileReport[] {
  return files.map((file) => {
    const rel = path.relative(process.cwd(), file) || file;
    let stack = "";
    try {
      stack = stackNameOf(file);
      const raw = rawConfigFromStackFile(file);
      const result = checkStackConfig(raw.ns, { stack, projectDir, foreign: raw.foreign });
      if (result.ok) {
        return {
          file: rel,
          stack,
          ok: true,
          target: result.config.target,
          agents: result.config.agents.length,
          ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
        };
      }
      return { file: rel, stack, ok: false, problems: result.problems };
    } catch (e) {
      if (e instanceof StackFileError) return { file: rel, stack, ok: false, error: e.message };
      throw e;
    }
  });
}

/** The files to check: FILE as given, `Pulumi.<stack>.yaml` for --stack, else every stack file. */
function stackFilesToCheck(fileArg: string | undefined, opts: CheckOptions): string[] {
  if (fileArg !== undefined) {
    const file = path.resolve(fileArg);
    if (!fs.existsSync(file)) throw new StackFileError(`${fileArg}: no such file`);
    return [file];
  }
  const dir = stackConfigDir(opts.projectDir);
  if (opts.stack !== undefined) {
    const file = path.join(dir, `Pulumi.${opts.stack}.yaml`);
    if (!fs.existsSync(file))
      throw new StackFileError(`stack "${opts.stack}": ${path.relative(process.cwd(), file) || file} does not exist`);
    return [file];
  }
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => STACK_FILE_NAME.test(f))
        .sort()
        .map((f) => path.join(dir, f))
    : [];
  if (files.length === 0) throw new StackFileError(`no stack files (Pulumi.<stack>.yaml) in ${dir}`);
  return files;
}

export function runCheck(fileArg: string | undefined, opts: CheckOptions, io: Io): number {
  if (fileArg !== undefined && opts.stack !== undefined) {
    io.err("agent-fleet check: give either --stack NAME or FILE, not both");
    return 2;
  }
  let files: string[];
  try {
    files = stackFilesToCheck(fileArg, opts);
  } catch (e) {
    if (e instanceof StackFileError) {
      io.err(`agent-fleet check: ${e.message}`);
      return 1;
    }
    throw e;
  }

  const reports = checkFiles(files, opts.projectDir);
  if (opts.json) {
    io.out(JSON.stringify(reports, null, 2));
  } else {
    for (const r of reports) {
      if (r.ok) io.out(`${r.file}: ok (target ${r.target}, ${r.agents} agent${r.agents === 1 ? "" : "s"})`);
      else if (r.error) io.err(`${r.file}: ${r.error}`);
      else io.err(`${r.file}: ${formatProblems(r.problems!)}`);
      for (const w of r.warnings ?? []) io.err(`${r.file}: warning: ${w.key}: ${w.message}`);
    }
  }
  return reports.every((r) => r.ok) ? 0 : 1;
}

/** The `agent-fleet` command line; returns the exit code. */
export async function main(
  argv: string[],
  io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Promise<number> {
  let code = 0;
  const program = new Command("agent-fleet")
    .description("Tools for agent-fleet stacks")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  program
    .command("check")
    .description("validate stack config offline with the program's schema (exit 1 on any problem)")
    .argument("[file]", "a stack file, e.g. stacks/Pulumi.vps.yaml")
    .option("-s, --stack <name>", "check stacks/Pulumi.<name>.yaml (default: every stack file)")
    .option("-C, --project-dir <dir>", "the folder holding Pulumi.yaml", process.cwd())
    .option("--json", "print a machine-readable report")
    .action((file: string | undefined, o: { stack?: string; projectDir: string; json?: boolean }) => {
      code = runCheck(file, { ...o, projectDir: path.resolve(o.projectDir) }, io);
    });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}
