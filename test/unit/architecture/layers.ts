import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The import graph of the project's own code, and the layering rules it must follow
 * (docs/architecture.md "Who may import whom"). Pure: the test feeds it the real tree and,
 * to prove the rules can fail, a tree with a deliberate violation.
 */

export interface ImportEdge {
  /** Repository-relative POSIX path of the importing file. */
  from: string;
  /** The specifier as written. */
  spec: string;
  /** Repository-relative path it resolves to (relative specifiers), else undefined (a package). */
  to?: string;
}

/** Every static import, re-export and dynamic import() of a TypeScript source. */
export function importSpecifiers(source: string): string[] {
  const specs: string[] = [];
  const re =
    /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2])!);
  return specs;
}

export function edgesOf(file: string, source: string): ImportEdge[] {
  return importSpecifiers(source).map((spec) => {
    if (!spec.startsWith(".")) return { from: file, spec };
    const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, ".ts");
    return { from: file, spec, to };
  });
}

/** The top-level area of a repository path: contract, runtime, config, hosts, fleet, targets/<name>, ... */
export function areaOf(file: string): string {
  const [head, second] = file.split("/");
  if (head === "targets") return second && second.endsWith(".ts") ? `targets:${second}` : `targets/${second}`;
  if (head && !head.endsWith(".ts")) return head;
  return file; // a top-level file: program.ts, index.ts
}

/** Why an import breaks the layering, or undefined. */
export function violation(e: ImportEdge): string | undefined {
  const from = areaOf(e.from);
  if (e.to === undefined) {
    // Packages: the contract takes none; the runtime only Node built-ins (the image compiles it offline).
    if (from === "contract") return `contract/ imports nothing, not even "${e.spec}"`;
    // Two exceptions, carried into the image by the build context's allow-list: agentctl's parser
    // and the console's SMTP client for notifications.
    const agentctlParser = e.spec === "commander" && e.from.startsWith("runtime/agentctl/");
    const smtpClient = e.spec === "nodemailer" && e.from === "runtime/notify/deliver.ts";
    if (from === "runtime" && !e.spec.startsWith("node:") && !agentctlParser && !smtpClient) {
      return `runtime/ uses Node built-ins only (and commander in runtime/agentctl/, nodemailer in runtime/notify/deliver.ts), not "${e.spec}"`;
    }
    return undefined;
  }
  const to = areaOf(e.to);
  // index.ts (what Pulumi runs) calls program.ts; nothing else imports either.
  if ((to === "program.ts" && from !== "index.ts") || to === "index.ts")
    return `nothing imports the program's wiring (${e.to})`;
  if (from === "contract" && to !== "contract") return `contract/ imports only contract/, not ${e.to}`;
  if (from === "runtime" && to !== "runtime" && to !== "contract")
    return `runtime/ imports only runtime/ and contract/, not ${e.to}`;
  const core = ["config", "hosts", "fleet"];
  if (core.includes(from) && to.startsWith("targets"))
    return `${from}/ is below the targets; it may not import ${e.to}`;
  if (core.includes(from) && to === "cli") return `${from}/ may not import the CLI (${e.to})`;
  if (from === "config" && (to === "hosts" || to === "fleet"))
    return `config/ is below hosts/ and fleet/; it may not import ${e.to}`;
  if (from === "hosts" && to === "fleet") return `hosts/ is below fleet/; it may not import ${e.to}`;
  if (from.startsWith("targets/") && to.startsWith("targets/") && to !== from) {
    return `${from} may not import another target (${e.to}); shared code belongs in hosts/, fleet/ or config/`;
  }
  return undefined;
}

const SKIP = new Set(["node_modules", "dist", ".git", "test", "agents", "tools", ".agent-fleet"]);

/** Repository-relative paths of the project's own .ts files (not tests). */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name)) walk(p);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(p);
    }
  };
  walk("");
  return out.sort();
}
