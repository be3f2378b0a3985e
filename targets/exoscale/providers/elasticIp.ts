import * as pulumi from "@pulumi/pulumi";
import {
  configurable,
  clientFor,
  deleteIgnoringNotFound,
  isUnknown,
  readOrGone,
  removeIfUnfinished,
  sameLabels,
  type ExoscaleProvider,
  type ProviderTuning,
} from "./runtime.js";

/**
 * An elastic IP, and (separately) its attachment to an instance. They are two resources because
 * the address must be known before the instance exists: cloud-init configures it on the host
 * (Exoscale routes an elastic IP to the instance but the guest must add it to an interface).
 */
export interface ElasticIpInputs {
  zone: string;
  description: string;
  labels: Record<string, string>;
}

export interface ElasticIpOutputs extends ElasticIpInputs {
  elasticIpId: string;
  ip: string;
}

type EipProvider = ExoscaleProvider<ElasticIpInputs, ElasticIpOutputs>;

/** description and labels have `PUT /elastic-ip/{id}` → in place; the zone → replace. */
export function elasticIpProvider(tuning: ProviderTuning = {}): EipProvider {
  return {
    ...configurable(tuning),
    async check(_olds, news) {
      const failures: pulumi.dynamic.CheckFailure[] = [];
      if (!isUnknown(news.description) && String(news.description).length > 255) {
        failures.push({ property: "description", reason: "at most 255 characters" });
      }
      return { inputs: news, failures };
    },
    async create(inputs) {
      const c = clientFor(this.ctx, inputs.zone);
      const id = await c.createElasticIp({ description: inputs.description, labels: inputs.labels });
      return removeIfUnfinished(
        async () => ({ id, outs: { ...inputs, elasticIpId: id, ip: (await c.getElasticIp(id)).ip ?? "" } }),
        () => c.deleteElasticIp(id),
      );
    },
    async read(id, props) {
      const p = props as ElasticIpOutputs;
      return readOrGone(id, async () => {
        const e = await clientFor(this.ctx, p.zone).getElasticIp(id);
        return { ...p, elasticIpId: id, ip: e.ip ?? "", description: e.description ?? "", labels: e.labels ?? {} };
      });
    },
    async diff(_id, olds, news) {
      const replaces = olds.zone !== news.zone ? ["zone"] : [];
      const changes =
        replaces.length > 0 || olds.description !== news.description || !sameLabels(olds.labels, news.labels);
      return { changes, replaces };
    },
    async update(id, olds, news) {
      const c = clientFor(this.ctx, news.zone);
      await c.updateElasticIp(id, { description: news.description, labels: news.labels });
      const e = await c.getElasticIp(id);
      return { outs: { ...news, elasticIpId: id, ip: e.ip ?? olds.ip } };
    },
    async delete(id, props) {
      const c = clientFor(this.ctx, props.zone);
      await deleteIgnoringNotFound(() => c.deleteElasticIp(id));
    },
  };
}

export interface ElasticIpAttachmentInputs {
  zone: string;
  elasticIpId: string;
  instanceId: string;
}

type AttachProvider = ExoscaleProvider<ElasticIpAttachmentInputs, ElasticIpAttachmentInputs>;

/** Attach = `PUT /elastic-ip/{id}:attach`; any change detaches and attaches again (replace). */
export function elasticIpAttachmentProvider(tuning: ProviderTuning = {}): AttachProvider {
  return {
    ...configurable(tuning),
    async create(inputs) {
      const c = clientFor(this.ctx, inputs.zone);
      await c.attachElasticIp(inputs.elasticIpId, inputs.instanceId);
      return { id: `${inputs.elasticIpId}/${inputs.instanceId}`, outs: inputs };
    },
    async read(id, props) {
      const p = props as ElasticIpAttachmentInputs;
      return readOrGone(id, async () => {
        const inst = await clientFor(this.ctx, p.zone).getInstance(p.instanceId);
        return (inst["elastic-ips"] ?? []).some((e) => e.id === p.elasticIpId) ? p : undefined;
      });
    },
    async diff(_id, olds, news) {
      const replaces = (["zone", "elasticIpId", "instanceId"] as const).filter((k) => olds[k] !== news[k]);
      return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },
    async delete(_id, props) {
      const c = clientFor(this.ctx, props.zone);
      await deleteIgnoringNotFound(() => c.detachElasticIp(props.elasticIpId, props.instanceId));
    },
  };
}

export class ExoscaleElasticIp extends pulumi.dynamic.Resource {
  declare readonly elasticIpId: pulumi.Output<string>;
  declare readonly ip: pulumi.Output<string>;

  constructor(
    name: string,
    args: { [K in keyof ElasticIpInputs]: pulumi.Input<ElasticIpInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(elasticIpProvider(), name, { ...args, elasticIpId: undefined, ip: undefined }, opts, "exoscale", "ElasticIp");
  }
}

export class ExoscaleElasticIpAttachment extends pulumi.dynamic.Resource {
  constructor(
    name: string,
    args: { [K in keyof ElasticIpAttachmentInputs]: pulumi.Input<ElasticIpAttachmentInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(elasticIpAttachmentProvider(), name, { ...args }, opts, "exoscale", "ElasticIpAttachment");
  }
}
