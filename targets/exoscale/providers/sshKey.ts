import * as pulumi from "@pulumi/pulumi";
import {
  configurable,
  clientFor,
  deleteIgnoringNotFound,
  isUnknown,
  readOrGone,
  type ExoscaleProvider,
  type ProviderTuning,
} from "./runtime.js";

/** An SSH key registered with Exoscale (a global resource, addressed by its name). */
export interface SshKeyInputs {
  zone: string;
  name: string;
  publicKey: string;
}

export interface SshKeyOutputs extends SshKeyInputs {
  fingerprint: string;
}

type Provider = ExoscaleProvider<SshKeyInputs, SshKeyOutputs>;

/**
 * SSH keys have no update operation in the API (only register, get, delete), so every change
 * replaces the key; the name is unique, so the old key is deleted first when the name stays.
 */
export function sshKeyProvider(tuning: ProviderTuning = {}): Provider {
  return {
    ...configurable(tuning),
    async check(_olds, news) {
      const failures: pulumi.dynamic.CheckFailure[] = [];
      if (!isUnknown(news.name) && !/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$/.test(news.name)) {
        failures.push({
          property: "name",
          reason: `SSH key name "${news.name}" must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$`,
        });
      }
      if (
        !isUnknown(news.publicKey) &&
        !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+/.test(news.publicKey.trim())
      ) {
        failures.push({
          property: "publicKey",
          reason: 'not an OpenSSH public key (expected e.g. "ssh-ed25519 AAAA... comment")',
        });
      }
      return { inputs: news, failures };
    },
    async create(inputs) {
      const c = clientFor(this.ctx, inputs.zone);
      await c.registerSshKey(inputs.name, inputs.publicKey.trim());
      const key = await c.getSshKey(inputs.name);
      return { id: inputs.name, outs: { ...inputs, fingerprint: key.fingerprint ?? "" } };
    },
    async read(id, props) {
      const p = props as SshKeyOutputs;
      return readOrGone(id, async () => {
        const key = await clientFor(this.ctx, p.zone).getSshKey(id);
        return { ...p, name: key.name ?? id, fingerprint: key.fingerprint ?? "" };
      });
    },
    async diff(_id, olds, news) {
      const replaces = (["zone", "name", "publicKey"] as const).filter((k) =>
        k === "publicKey" ? olds.publicKey?.trim() !== news.publicKey?.trim() : olds[k] !== news[k],
      );
      return { changes: replaces.length > 0, replaces, deleteBeforeReplace: olds.name === news.name };
    },
    async delete(id, props) {
      const c = clientFor(this.ctx, props.zone);
      await deleteIgnoringNotFound(() => c.deleteSshKey(id));
    },
  };
}

export class ExoscaleSshKey extends pulumi.dynamic.Resource {
  declare readonly fingerprint: pulumi.Output<string>;

  constructor(
    name: string,
    args: { [K in keyof SshKeyInputs]: pulumi.Input<SshKeyInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(sshKeyProvider(), name, { ...args, fingerprint: undefined }, opts, "exoscale", "SshKey");
  }
}
