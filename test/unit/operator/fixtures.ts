import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { proposalIdForTask } from "../../../runtime/ids.js";
import { ProposalStore, type Proposal } from "../../../runtime/proposals/proposal.js";
import { ensureSharedLayout, sharedLayout } from "../../../runtime/sharedLayout.js";

/** A shared dir and a decisions dir on a temp dir, with real queue and proposal files. */
export interface OperatorWorld {
  dir: string;
  shared: string;
  decisions: string;
  cleanup(): void;
}

export function operatorWorld(): OperatorWorld {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "operator-"));
  const shared = path.join(dir, "shared");
  const decisions = path.join(dir, "decisions");
  fs.mkdirSync(shared);
  fs.mkdirSync(decisions);
  ensureSharedLayout(sharedLayout(shared));
  return { dir, shared, decisions, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let seq = 0;

/** A proposal as an agent's runtime writes it (the real store), with this patch. */
export function writeProposal(w: OperatorWorld, patch: string | Buffer, changes: Partial<Proposal> = {}): Proposal {
  seq++;
  const taskId = `t-261129-1200${String(seq).padStart(2, "0")}-abcdef`;
  const now = new Date().toISOString();
  const p: Proposal = {
    id: proposalIdForTask(taskId),
    task_id: taskId,
    task_title: "change hello",
    agent: "agent-1",
    base_commit: "0".repeat(40),
    created_at: now,
    approval_required: true,
    state: "pending",
    diffstat: { files: [{ path: "hello.txt", added: 1, removed: 0 }], added: 1, removed: 0 },
    patch_file: "",
    patch_bytes: Buffer.byteLength(patch),
    decided_by: null,
    decided_at: null,
    note: null,
    reason: null,
    commit: null,
    applied_at: null,
    rolled_back_at: null,
    rollback_commit: null,
    updated_at: now,
    ...changes,
  };
  const store = new ProposalStore(sharedLayout(w.shared));
  store.create(p, patch.toString());
  if (Buffer.isBuffer(patch)) fs.writeFileSync(sharedLayout(w.shared).patchFile(p.id), patch);
  return p;
}

function gitIn(cwd: string, args: string[]): string {
  const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** A patch as the runtime builds it (--binary --full-index, no renames): `change` made on a commit of `base`. */
export function gitPatch(base: Record<string, string | Buffer>, change: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "patch-"));
  try {
    gitIn(dir, ["init", "-q"]);
    for (const [f, c] of Object.entries(base)) fs.writeFileSync(path.join(dir, f), c);
    gitIn(dir, ["add", "-A"]);
    gitIn(dir, ["commit", "-q", "--allow-empty", "-m", "base"]);
    change(dir);
    gitIn(dir, ["add", "-A"]);
    return gitIn(dir, ["diff", "--cached", "--binary", "--full-index", "--no-renames", "HEAD"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
