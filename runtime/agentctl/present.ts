import { ENV } from "../../contract/env.js";
import { escapeBytes, escapeText, toSafeJson, type Escaped } from "../operator/escape.js";
import type { PatchSpecial } from "../operator/specialFiles.js";

/**
 * agentctl's text output: tables, ages, one-line cells — every agent-controlled string goes
 * through the escaper (../operator/escape.ts) on its way out, and the counts of what was escaped
 * are kept so the command can warn at the end (an agent cannot fake those counts).
 */
export class Presenter {
  escaped = 0;
  bidi = 0;
  /** Loud warnings the command adds (binary files and symlinks), printed first by warnings(). */
  readonly loud: string[] = [];

  /** Text already escaped: counted for the closing warning. */
  tally(e: Escaped): string {
    this.escaped += e.escaped;
    this.bidi += e.bidi;
    return e.text;
  }

  /** One line of agent-controlled text: whitespace runs collapsed, cut to `max`, then escaped. */
  cell(s: string | null | undefined, max = Infinity): string {
    if (s === null || s === undefined || s === "") return "-";
    let t = s.replace(/[ \t\n]+/g, " ").trim();
    if (t.length > max) t = t.slice(0, max - 1) + "…";
    return this.tally(escapeText(t, { multiline: false }));
  }

  /** Multi-line agent-controlled text (newlines and tabs kept). */
  block(s: string): string {
    return this.tally(escapeText(s));
  }

  /** Multi-line agent-controlled bytes, invalid UTF-8 shown as \xNN. */
  bytes(b: Uint8Array): string {
    return this.tally(escapeBytes(b));
  }

  /** An agent-controlled path or link target in double quotes, nothing collapsed, everything escaped. */
  quoted(s: string): string {
    return `"${this.tally(escapeText(s, { multiline: false })).replace(/"/g, '\\"')}"`;
  }

  /**
   * The loud lines for binary files and symlinks a patch writes (`prefix` starts each line):
   * what the text of a diff does not show, with sizes and link targets.
   */
  specialLines(list: readonly PatchSpecial[], prefix: string): string[] {
    if (list.length === 0) return [];
    const binaries = list.filter((f) => f.kind === "binary").length;
    const links = list.length - binaries;
    const lines = [
      `${prefix}WARNING: this change writes ${binaries} BINARY file(s) and ${links} SYMLINK(s) (only an agent with ${ENV.allowBinary}=true may propose them); their content is not readable text below:`,
    ];
    for (const f of list) {
      if (f.kind === "symlink") {
        lines.push(`${prefix}  SYMLINK ${this.quoted(f.path)} -> ${this.quoted(f.target ?? "")}`);
        continue;
      }
      const size =
        f.bytes !== undefined
          ? `${f.bytes} bytes`
          : `size unknown${f.deltaBytes !== undefined ? ` (a binary delta of ${f.deltaBytes} bytes)` : ""}`;
      lines.push(`${prefix}  BINARY  ${this.quoted(f.path)}: ${size}`);
    }
    return lines;
  }

  json(v: unknown): string {
    return toSafeJson(v, 2) + "\n";
  }

  /** Warnings for stderr after the output, or "" when nothing was escaped. */
  warnings(): string {
    let w = this.loud.map((l) => `agentctl: WARNING: ${l}\n`).join("");
    if (this.bidi > 0) {
      w += `agentctl: WARNING: ${this.bidi} bidirectional control character(s) in agent-controlled text, shown as [BIDI U+XXXX NAME]: elsewhere this text may display in a different order than it is stored\n`;
    }
    if (this.escaped > 0) {
      w += `agentctl: note: ${this.escaped} control or invisible character(s) in agent-controlled text shown as escapes (\\xNN, \\uNNNN)\n`;
    }
    return w;
  }
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? "")].length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat(Math.max(0, widths[i]! - [...cell].length))))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** A compact age: 4.2s, 12m, 3h, 2d. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (Number.isNaN(s)) return "?";
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
