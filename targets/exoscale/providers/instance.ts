import * as pulumi from "@pulumi/pulumi";
import { splitInstanceType, type ExoscaleClient } from "../client.js";
import type { Instance } from "../types.js";
import { encodeUserData } from "../userData.js";
import {
  configurable,
  clientFor,
  deleteIgnoringNotFound,
  isUnknown,
  readOrGone,
  removeIfUnfinished,
  sameLabels,
  sameStringSet,
  type ExoscaleProvider,
  type ProviderTuning,
} from "./runtime.js";

/** A compute instance. The template and the instance type are looked up by name in the zone. */
export interface InstanceInputs {
  zone: string;
  name: string;
  /** `family.size`, e.g. `standard.small`. */
  instanceType: string;
  /** Root disk in GiB (10..51200). */
  diskSizeGb: number;
  /** Public template name, e.g. `Linux Ubuntu 24.04 LTS 64-bit`. */
  templateName: string;
  /** The `#cloud-config` document (plain text; sent base64-encoded, at most 32 KiB). */
  userData: string;
  securityGroupIds: string[];
  sshKeyName: string;
  labels: Record<string, string>;
}

export interface InstanceOutputs extends InstanceInputs {
  instanceId: string;
  publicIp: string;
  templateId: string;
  instanceTypeId: string;
  state: string;
}

type Provider = ExoscaleProvider<InstanceInputs, InstanceOutputs>;

function outputsOf(inputs: InstanceInputs, inst: Instance, id: string): InstanceOutputs {
  return {
    ...inputs,
    instanceId: id,
    publicIp: inst["public-ip"] ?? "",
    templateId: inst.template?.id ?? "",
    instanceTypeId: inst["instance-type"]?.id ?? "",
    state: inst.state ?? "",
  };
}

async function resolveType(c: ExoscaleClient, familySize: string): Promise<string> {
  const t = await c.findInstanceType(familySize);
  if (!t.id) throw new Error(`Exoscale instance type ${familySize} has no id`);
  return t.id;
}

/**
 * Per field, as the API allows (openapi-v2.json):
 *   - name, user-data, labels: `PUT /instance/{id}` (update-instance) → in place. cloud-init reads
 *     user data on first boot only, so a changed document reaches a running host only on a new instance.
 *   - security groups: `:attach` / `:detach` on the group → in place.
 *   - instance type: `:scale` within the same family (the instance is stopped and restarted);
 *     another family → replace.
 *   - disk size: `:resize-disk` can only grow → grow in place, shrink → replace.
 *   - zone, template, SSH key: no update operation → replace.
 */
export function instanceProvider(tuning: ProviderTuning = {}): Provider {
  return {
    ...configurable(tuning),
    async check(_olds, news) {
      const failures: pulumi.dynamic.CheckFailure[] = [];
      if (!isUnknown(news.instanceType)) {
        try {
          splitInstanceType(news.instanceType);
        } catch (err) {
          failures.push({ property: "instanceType", reason: (err as Error).message });
        }
      }
      if (
        !isUnknown(news.diskSizeGb) &&
        !(Number.isInteger(news.diskSizeGb) && news.diskSizeGb >= 10 && news.diskSizeGb <= 51200)
      ) {
        failures.push({
          property: "diskSizeGb",
          reason: `disk size ${news.diskSizeGb} GiB is not an integer in 10..51200`,
        });
      }
      if (typeof news.userData === "string" && !isUnknown(news.userData)) {
        try {
          encodeUserData(news.userData);
        } catch (err) {
          failures.push({ property: "userData", reason: (err as Error).message });
        }
      }
      if (!isUnknown(news.name) && (typeof news.name !== "string" || news.name.length < 1 || news.name.length > 255)) {
        failures.push({ property: "name", reason: "instance name must be 1..255 characters" });
      }
      return { inputs: news, failures };
    },
    async create(inputs) {
      const c = clientFor(this.ctx, inputs.zone);
      const template = await c.findTemplateByName(inputs.templateName);
      const typeId = await resolveType(c, inputs.instanceType);
      const id = await c.createInstance({
        name: inputs.name,
        "instance-type": { id: typeId },
        template: { id: template.id },
        "disk-size": inputs.diskSizeGb,
        "user-data": encodeUserData(inputs.userData),
        "security-groups": inputs.securityGroupIds.map((sg) => ({ id: sg })),
        "ssh-keys": [{ name: inputs.sshKeyName }],
        labels: inputs.labels,
        "public-ip-assignment": "inet4",
      });
      return removeIfUnfinished(
        async () => ({ id, outs: outputsOf(inputs, await c.getInstance(id), id) }),
        () => c.deleteInstance(id),
      );
    },
    async read(id, props) {
      const p = props as InstanceOutputs;
      return readOrGone(id, async (): Promise<InstanceOutputs | undefined> => {
        const inst = await clientFor(this.ctx, p.zone).getInstance(id);
        // An instance on its way out is gone as far as the stack is concerned.
        if (inst.state === "destroying" || inst.state === "destroyed" || inst.state === "expunging") return undefined;
        return {
          ...outputsOf(p, inst, id),
          name: inst.name ?? p.name,
          diskSizeGb: inst["disk-size"] ?? p.diskSizeGb,
          labels: inst.labels ?? {},
          securityGroupIds: (inst["security-groups"] ?? []).map((g) => g.id ?? ""),
        };
      });
    },
    async diff(_id, olds, news) {
      const replaces: string[] = [];
      for (const k of ["zone", "templateName", "sshKeyName"] as const) if (olds[k] !== news[k]) replaces.push(k);
      if (olds.instanceType !== news.instanceType && !isUnknown(news.instanceType)) {
        const [oldFamily] = splitInstanceType(olds.instanceType);
        const [newFamily] = splitInstanceType(news.instanceType);
        if (oldFamily !== newFamily) replaces.push("instanceType");
      }
      if (typeof news.diskSizeGb === "number" && news.diskSizeGb < olds.diskSizeGb) replaces.push("diskSizeGb");
      const changed =
        replaces.length > 0 ||
        olds.name !== news.name ||
        olds.userData !== news.userData ||
        olds.instanceType !== news.instanceType ||
        olds.diskSizeGb !== news.diskSizeGb ||
        !sameLabels(olds.labels, news.labels) ||
        !sameStringSet(olds.securityGroupIds, news.securityGroupIds);
      return { changes: changed, replaces, deleteBeforeReplace: false };
    },
    async update(id, olds, news) {
      const c = clientFor(this.ctx, news.zone);
      const put: Record<string, unknown> = {};
      if (olds.name !== news.name) put.name = news.name;
      if (olds.userData !== news.userData) put["user-data"] = encodeUserData(news.userData);
      const labelsChanged = !sameLabels(olds.labels, news.labels);
      if (labelsChanged && Object.keys(news.labels ?? {}).length > 0) put.labels = news.labels;
      if (Object.keys(put).length > 0) await c.updateInstance(id, put);
      if (labelsChanged && Object.keys(news.labels ?? {}).length === 0) await c.resetInstanceLabels(id);

      const oldSgs = new Set(olds.securityGroupIds);
      const newSgs = new Set(news.securityGroupIds);
      for (const sg of news.securityGroupIds) if (!oldSgs.has(sg)) await c.attachInstanceToSecurityGroup(sg, id);
      for (const sg of olds.securityGroupIds) if (!newSgs.has(sg)) await c.detachInstanceFromSecurityGroup(sg, id);

      const scale = olds.instanceType !== news.instanceType;
      const grow = news.diskSizeGb > olds.diskSizeGb;
      if (scale || grow) {
        // Scaling needs a stopped instance; the disk is resized in the same window.
        const wasRunning = (await c.getInstance(id)).state === "running";
        if (wasRunning) await c.stopInstance(id);
        if (scale) await c.scaleInstance(id, await resolveType(c, news.instanceType));
        if (grow) await c.resizeInstanceDisk(id, news.diskSizeGb);
        if (wasRunning) await c.startInstance(id);
      }
      return { outs: outputsOf(news, await c.getInstance(id), id) };
    },
    async delete(id, props) {
      const c = clientFor(this.ctx, props.zone);
      await deleteIgnoringNotFound(() => c.deleteInstance(id));
    },
  };
}

export class ExoscaleInstance extends pulumi.dynamic.Resource {
  declare readonly instanceId: pulumi.Output<string>;
  declare readonly publicIp: pulumi.Output<string>;
  declare readonly templateId: pulumi.Output<string>;
  declare readonly instanceTypeId: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;

  constructor(
    name: string,
    args: { [K in keyof InstanceInputs]: pulumi.Input<InstanceInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      instanceProvider(),
      name,
      {
        ...args,
        instanceId: undefined,
        publicIp: undefined,
        templateId: undefined,
        instanceTypeId: undefined,
        state: undefined,
      },
      opts,
      "exoscale",
      "Instance",
    );
  }
}
