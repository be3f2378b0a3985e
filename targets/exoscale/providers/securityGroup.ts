import * as pulumi from "@pulumi/pulumi";
import type { ExoscaleClient } from "../client.js";
import type { SecurityGroup } from "../types.js";
import {
  configurable,
  clientFor,
  deleteIgnoringNotFound,
  isUnknown,
  readOrGone,
  removeIfUnfinished,
  sameStringSet,
  type ExoscaleProvider,
  type ProviderTuning,
} from "./runtime.js";

/**
 * A security group whose only ingress rules admit TCP `port` (SSH) from each of `allowedCidrs`.
 * Nothing else is allowed in (Exoscale security groups deny ingress that no rule matches).
 */
export interface SecurityGroupInputs {
  zone: string;
  name: string;
  description: string;
  allowedCidrs: string[];
  port: number;
}

export interface SecurityGroupOutputs extends SecurityGroupInputs {
  securityGroupId: string;
  /** The rule id for each CIDR, as the API reports them. */
  rules: { cidr: string; ruleId: string }[];
}

type Provider = ExoscaleProvider<SecurityGroupInputs, SecurityGroupOutputs>;

const RULE_DESCRIPTION = "agent-fleet: SSH";

function ingressRules(g: SecurityGroup, port: number): { cidr: string; ruleId: string }[] {
  return (g.rules ?? [])
    .filter(
      (r) =>
        r["flow-direction"] === "ingress" &&
        r.protocol === "tcp" &&
        r["start-port"] === port &&
        r["end-port"] === port &&
        r.network &&
        r.id,
    )
    .map((r) => ({ cidr: r.network!, ruleId: r.id! }));
}

async function addRules(c: ExoscaleClient, id: string, cidrs: string[], port: number): Promise<void> {
  for (const cidr of cidrs) {
    await c.addSecurityGroupRule(id, {
      "flow-direction": "ingress",
      protocol: "tcp",
      network: cidr,
      "start-port": port,
      "end-port": port,
      description: RULE_DESCRIPTION,
    });
  }
}

/**
 * The API has no update for a group's name or description (only create, get, delete): a new name
 * or zone replaces the group (the new one is created and attached before the old one is deleted);
 * the description is kept as created. Rules have add and delete operations, so CIDR and port
 * changes are made in place.
 */
export function securityGroupProvider(tuning: ProviderTuning = {}): Provider {
  return {
    ...configurable(tuning),
    async check(_olds, news) {
      const failures: pulumi.dynamic.CheckFailure[] = [];
      if (Array.isArray(news.allowedCidrs)) {
        if (news.allowedCidrs.length === 0)
          failures.push({ property: "allowedCidrs", reason: "at least one CIDR must be allowed to reach SSH" });
        for (const c of news.allowedCidrs) {
          if (!isUnknown(c) && !/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c))
            failures.push({ property: "allowedCidrs", reason: `"${c}" is not a CIDR (e.g. 203.0.113.4/32)` });
        }
        if (new Set(news.allowedCidrs).size !== news.allowedCidrs.length)
          failures.push({ property: "allowedCidrs", reason: "duplicate CIDRs" });
      }
      if (!isUnknown(news.port) && !(Number.isInteger(news.port) && news.port >= 1 && news.port <= 65535)) {
        failures.push({ property: "port", reason: `port ${news.port} is not in 1..65535` });
      }
      return { inputs: news, failures };
    },
    async create(inputs) {
      const c = clientFor(this.ctx, inputs.zone);
      const id = await c.createSecurityGroup(inputs.name, inputs.description);
      return removeIfUnfinished(
        async () => {
          await addRules(c, id, inputs.allowedCidrs, inputs.port);
          const g = await c.getSecurityGroup(id);
          return { id, outs: { ...inputs, securityGroupId: id, rules: ingressRules(g, inputs.port) } };
        },
        () => c.deleteSecurityGroup(id),
      );
    },
    async read(id, props) {
      const p = props as SecurityGroupOutputs;
      return readOrGone(id, async () => {
        const g = await clientFor(this.ctx, p.zone).getSecurityGroup(id);
        const rules = ingressRules(g, p.port);
        return {
          ...p,
          name: g.name ?? p.name,
          description: g.description ?? "",
          securityGroupId: id,
          rules,
          allowedCidrs: rules.map((r) => r.cidr),
        };
      });
    },
    async diff(_id, olds, news) {
      // The description is fixed at creation: the API cannot update it, and a group with the same
      // name cannot be created beside an attached one, so a new description alone changes nothing.
      const replaces = (["zone", "name"] as const).filter((k) => olds[k] !== news[k]);
      const changes =
        replaces.length > 0 || !sameStringSet(olds.allowedCidrs, news.allowedCidrs) || olds.port !== news.port;
      return { changes, replaces, deleteBeforeReplace: false };
    },
    async update(id, olds, news) {
      const c = clientFor(this.ctx, news.zone);
      const current = ingressRules(await c.getSecurityGroup(id), olds.port);
      const keep = olds.port === news.port ? new Set(news.allowedCidrs) : new Set<string>();
      // Add before removing, so SSH access is never narrower than both the old and new sets.
      const present = new Set(current.filter((r) => keep.has(r.cidr)).map((r) => r.cidr));
      await addRules(
        c,
        id,
        news.allowedCidrs.filter((cidr) => !present.has(cidr)),
        news.port,
      );
      for (const r of current.filter((r) => !keep.has(r.cidr))) {
        await deleteIgnoringNotFound(() => c.deleteSecurityGroupRule(id, r.ruleId));
      }
      const g = await c.getSecurityGroup(id);
      return { outs: { ...news, securityGroupId: id, rules: ingressRules(g, news.port) } };
    },
    async delete(id, props) {
      const c = clientFor(this.ctx, props.zone);
      await deleteIgnoringNotFound(() => c.deleteSecurityGroup(id));
    },
  };
}

export class ExoscaleSecurityGroup extends pulumi.dynamic.Resource {
  declare readonly securityGroupId: pulumi.Output<string>;
  declare readonly rules: pulumi.Output<{ cidr: string; ruleId: string }[]>;

  constructor(
    name: string,
    args: { [K in keyof SecurityGroupInputs]: pulumi.Input<SecurityGroupInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      securityGroupProvider(),
      name,
      { ...args, securityGroupId: undefined, rules: undefined },
      opts,
      "exoscale",
      "SecurityGroup",
    );
  }
}
