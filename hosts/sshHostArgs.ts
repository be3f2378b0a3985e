import * as pulumi from "@pulumi/pulumi";
import { PROJECT, type CommonFleetConfig } from "../config/fleetConfig.js";

/** SshHost arguments from config; the private key comes from the secret `ssh.privateKey`. */
export function sshHostArgs(cfg: CommonFleetConfig) {
  return {
    port: cfg.ssh.port,
    user: cfg.ssh.user,
    privateKey: sshPrivateKey(),
    ...(cfg.ssh.bootstrapUser !== undefined ? { bootstrapUser: cfg.ssh.bootstrapUser } : {}),
    ...(cfg.ssh.publicKey !== undefined ? { publicKey: cfg.ssh.publicKey } : {}),
    ...(cfg.ssh.hostKey !== undefined ? { hostKey: cfg.ssh.hostKey } : {}),
    allowedCidrs: cfg.ssh.allowedCidrs,
    root: cfg.hostRoot,
  };
}

export function sshPrivateKey(): pulumi.Output<string> {
  return new pulumi.Config(PROJECT).requireSecretObject<{ privateKey: string }>("ssh").apply((s) => s.privateKey);
}
