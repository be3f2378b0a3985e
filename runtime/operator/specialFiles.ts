import type { SpecialFile } from "../proposals/proposal.js";

/**
 * What a patch writes that a text diff does not show a reviewer: binary files (a base85 blob)
 * and symlinks (a one-line "file" whose content is a path). They are refused unless the agent may
 * propose them (AGENT_ALLOW_BINARY), and then `agentctl diff` and `proposals` show them loudly.
 * Read from the patch bytes themselves (what is applied), not only from the runtime's record of
 * them; the record's sizes fill in what a binary delta does not say.
 */
export interface PatchSpecial {
  path: string;
  kind: "binary" | "symlink";
  /** Bytes the file will have (a binary literal's size, or the runtime's record); undefined when unknown. */
  bytes?: number;
  /** A binary delta's own size (the result's size is then the record's, when there is one). */
  deltaBytes?: number;
  /** A symlink's target, as the patch sets it. */
  target?: string;
}

/** Binary files and symlinks `patch` creates or changes (deletions write nothing and are left out). */
export function patchSpecials(patch: Buffer | string, recorded: readonly SpecialFile[] = []): PatchSpecial[] {
  const text = Buffer.isBuffer(patch) ? patch.toString("utf8") : patch;
  const sizes = new Map(recorded.map((f) => [f.path, f.bytes]));
  const out: PatchSpecial[] = [];
  for (const section of text.split(/^(?=diff --git )/m)) {
    if (!section.startsWith("diff --git ")) continue;
    const lines = section.split("\n");
    const file = headerPath(lines[0]!);
    if (file === undefined) continue;
    const meta: string[] = [];
    let i = 1;
    for (; i < lines.length && !/^(@@|GIT binary patch|Binary files |--- )/.test(lines[i]!); i++) meta.push(lines[i]!);
    if (meta.some((l) => l.startsWith("deleted file mode "))) continue;
    const newMode = meta
      .map((l) => /^(?:new file mode|new mode) (\d{6})$/.exec(l)?.[1] ?? /^index \S+ (\d{6})$/.exec(l)?.[1])
      .find((m) => m !== undefined);
    const rest = lines.slice(i);
    if (newMode === "120000") {
      const hunk = rest.findIndex((l) => l.startsWith("@@"));
      const added = hunk < 0 ? [] : rest.slice(hunk + 1).filter((l) => l.startsWith("+"));
      const target = added.map((l) => l.slice(1)).join("\n");
      out.push({ path: file, kind: "symlink", target, bytes: Buffer.byteLength(target) });
      continue;
    }
    const bin = rest.findIndex((l) => l === "GIT binary patch" || l.startsWith("Binary files "));
    if (bin < 0) continue;
    const first = /^(literal|delta) (\d+)$/.exec(rest[bin + 1] ?? "");
    const special: PatchSpecial = { path: file, kind: "binary" };
    if (first?.[1] === "literal") special.bytes = Number(first[2]);
    else {
      if (first) special.deltaBytes = Number(first[2]);
      const known = sizes.get(file);
      if (known !== undefined) special.bytes = known;
    }
    out.push(special);
  }
  return out;
}

/** The path of a `diff --git a/P b/P` line (no renames: both sides name the same path), unquoted. */
function headerPath(line: string): string | undefined {
  const rest = line.slice("diff --git ".length);
  if (rest.startsWith('"')) {
    const a = unquote(rest, 0);
    if (!a) return undefined;
    const b = rest.slice(a.end).trimStart();
    const bq = b.startsWith('"') ? unquote(b, 0)?.value : b;
    return bq?.startsWith("b/") ? bq.slice(2) : undefined;
  }
  // `a/P b/P`: the same P twice, so the split is in the middle.
  if (!rest.startsWith("a/") || (rest.length - 5) % 2 !== 0) return undefined;
  const len = (rest.length - 5) / 2;
  const a = rest.slice(2, 2 + len);
  return rest.slice(2 + len) === ` b/${a}` ? a : undefined;
}

/** A C-style quoted string as git writes paths (`"a/\303\251\t"`) starting at `from`; bytes decoded as UTF-8. */
function unquote(s: string, from: number): { value: string; end: number } | undefined {
  if (s[from] !== '"') return undefined;
  const bytes: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, "\\": 92 };
  for (let i = from + 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return { value: Buffer.from(bytes).toString("utf8"), end: i + 1 };
    if (c !== "\\") {
      bytes.push(...Buffer.from(c, "utf8"));
      continue;
    }
    const n = s[++i];
    if (n === undefined) return undefined;
    if (/[0-7]/.test(n)) {
      bytes.push(parseInt(s.slice(i, i + 3), 8) & 0xff);
      i += 2;
    } else if (n in simple) bytes.push(simple[n]!);
    else return undefined;
  }
  return undefined;
}
