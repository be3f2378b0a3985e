import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  ctl,
  ctlJson,
  git,
  makeApp,
  makeWorld,
  settled,
  startAgent,
  tearDown,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

/** review.approvals: N distinct human approvers (AGENT_REVIEW_APPROVALS), on a real runtime. */

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

interface View {
  id: string;
  state: string;
  approvals_required?: number;
  approvals?: Array<{ by: string }>;
  decision: unknown;
}
const proposal = (id: string) => ctlJson<View[]>(w, ["proposals"]).find((p) => p.id === id)!;

async function proposed(title: string, file: string): Promise<string> {
  const id = addEditTask(w, title, [{ append: { path: file, content: `${title}\n` } }]);
  const t = await waitFor(title, settled(w, id));
  expect(t.result?.outcome).toBe("proposed");
  return t.result!.proposal_id!;
}

describe("N distinct human approvers", () => {
  it("applies only once two different people approved; the same name twice counts once", async () => {
    w = makeWorld();
    const app = makeApp(w, "n1");
    const agent = startAgent(w, "n1", { APPROVAL_REQUIRED: "true", AGENT_REVIEW_APPROVALS: "2" });
    running.push(agent);
    const pid = await proposed("needs two", "two.md");
    expect(proposal(pid)).toMatchObject({ state: "pending", approvals_required: 2, approvals: [] });

    const first = ctl(w, ["approve", pid, "--by", "alice"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/1 of 2 distinct approvals; it applies once 1 more approve/);
    const again = ctl(w, ["approve", pid, "--by", "alice"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/alice has approved proposal .* already: it needs 2 distinct approvers/);
    expect(ctl(w, ["proposals"]).stdout).toMatch(/pending \(1 of 2 approvals\)/);
    expect(ctl(w, ["diff", pid]).stdout).toMatch(/# needs 2 distinct approvers; approved so far by: alice\n/);
    expect(proposal(pid).decision).toBeNull();
    expect(fs.existsSync(path.join(app, "two.md"))).toBe(false);

    const second = ctlJson<{ by: string; approvers: string[]; approvals: { have: number } }>(w, [
      "approve",
      pid,
      "--by",
      "bob",
    ]);
    expect(second).toMatchObject({ by: "alice, bob", approvers: ["alice", "bob"], approvals: { have: 2, need: 2 } });
    await waitFor("applied", () => proposal(pid).state === "applied");
    expect(fs.readFileSync(path.join(app, "two.md"), "utf8")).toBe("needs two\n");
    expect(git(app, ["log", "-1", "--format=%(trailers:key=Approved-By,valueonly)"]).trim()).toBe("alice, bob");
  });

  it("a decision file naming fewer approvers than required is not applied; one rejection is enough", async () => {
    w = makeWorld();
    const app = makeApp(w, "n2");
    const agent = startAgent(w, "n2", { APPROVAL_REQUIRED: "true", AGENT_REVIEW_APPROVALS: "3" });
    running.push(agent);
    const forged = await proposed("forged", "forged.md");
    const sha = ctlJson<{ sha256: string }>(w, ["diff", forged]).sha256;
    // What an old agentctl, or a hand-written file, would leave: one name only.
    fs.writeFileSync(
      path.join(w.decisions, `${forged}.json`),
      JSON.stringify({
        proposal: forged,
        decision: "approve",
        by: "mallory",
        at: new Date().toISOString(),
        sha256: sha,
      }),
    );
    await waitFor("refused as invalid", () =>
      agent.output().includes("needs 3 distinct approvers, the decision names 1"),
    );
    expect(proposal(forged).state).toBe("pending");
    expect(fs.existsSync(path.join(app, "forged.md"))).toBe(false);

    const rejected = await proposed("rejected", "rejected.md");
    expect(ctl(w, ["approve", rejected, "--by", "alice"]).code).toBe(0);
    expect(ctl(w, ["reject", rejected, "--by", "bob", "--reason", "not this way"]).code).toBe(0);
    await waitFor("rejected", () => proposal(rejected).state === "rejected");
    expect(fs.existsSync(path.join(app, "rejected.md"))).toBe(false);
  });
});
