import type { ProgramRun, Registered } from "../../unit/program/harness.js";

/**
 * The order in which the host programs of a program run are executed, taken from Pulumi's own
 * dependency graph: for every resource, the URNs the SDK put into its RegisterResourceRequest
 * (`dependsOn`, expanded through component resources, plus the resources its inputs come from;
 * recorded by the mock harness). That is what the engine orders creates by; it may run independent
 * steps in parallel, this runs them one at a time, and among the steps whose dependencies are done
 * it takes the one the program registered first. Deletes run in the reverse order, as the engine
 * deletes dependents before what they depend on.
 *
 * This is not the Pulumi engine and not the command provider: it tests the host programs our
 * components register, executed in an order the engine could choose.
 */
export function createOrder(run: ProgramRun, types: readonly string[]): Registered[] {
  const steps = run.resources.filter((r) => types.includes(r.type));
  const byUrn = new Map<string, Registered>();
  for (const r of run.resources) {
    if (!r.urn || !r.dependencies) throw new Error(`no URN or dependencies recorded for ${r.type} ${r.name}`);
    byUrn.set(r.urn, r);
  }
  // Dependencies on resources that are not steps (components) are followed through to the steps
  // they lead to, so nothing is lost when a component stands in between.
  const stepDeps = (r: Registered, seen = new Set<string>()): Set<Registered> => {
    const out = new Set<Registered>();
    for (const urn of r.dependencies ?? []) {
      if (seen.has(urn)) continue;
      seen.add(urn);
      const d = byUrn.get(urn);
      if (!d) throw new Error(`${r.name} depends on ${urn}, which was never registered`);
      if (steps.includes(d)) out.add(d);
      else for (const x of stepDeps(d, seen)) out.add(x);
    }
    return out;
  };
  const deps = new Map(steps.map((s) => [s, stepDeps(s)]));
  const done: Registered[] = [];
  while (done.length < steps.length) {
    const next = steps.find((s) => !done.includes(s) && [...deps.get(s)!].every((d) => done.includes(d)));
    if (!next)
      throw new Error(
        `dependency cycle among: ${steps
          .filter((s) => !done.includes(s))
          .map((s) => s.name)
          .join(", ")}`,
      );
    done.push(next);
  }
  return done;
}

/** Names of the direct step dependencies of one step (for assertions on the graph). */
export function dependencyNames(run: ProgramRun, name: string): string[] {
  const r = run.byName(name);
  return (r.dependencies ?? []).map((urn) => run.resources.find((x) => x.urn === urn)?.name ?? urn).sort();
}
