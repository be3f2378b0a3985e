import * as fs from "node:fs";
import * as path from "node:path";
import { SecretValue } from "../../../config/secretRef.js";
import { tempDir } from "../program/tmp.js";

/** A project folder with agents/a1 and agents/a2 and a plain file (not a folder) at agents/file. */
export function makeConfigProject(): string {
  const dir = tempDir("config-");
  for (const a of ["a1", "a2"]) {
    fs.mkdirSync(path.join(dir, "agents", a), { recursive: true });
    fs.writeFileSync(path.join(dir, "agents", a, "agent.json"), "{}");
  }
  fs.writeFileSync(path.join(dir, "agents", "file"), "not a folder");
  return dir;
}

export const secret = () => new SecretValue();

export const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMuZ8Qj8pS6b7W4yXlM0CqR3vT2mN9dK1eH5aF7sB0Lx ops@test";

/** Minimal valid configs per target (namespace-stripped keys, as the sources produce them). */
export function validLocal(): Record<string, unknown> {
  return { target: "local", agents: [{ name: "a1" }, { name: "a2" }] };
}

export function validVps(): Record<string, unknown> {
  return {
    target: "vps",
    vps: { host: "192.0.2.10" },
    ssh: { privateKey: secret(), allowedCidrs: ["198.51.100.0/24"] },
    agents: [{ name: "a1" }],
  };
}

export function validExoscale(): Record<string, unknown> {
  return {
    target: "exoscale",
    exoscale: { zone: "ch-gva-2" },
    ssh: { privateKey: secret(), publicKey: PUBLIC_KEY, allowedCidrs: ["198.51.100.7/32"] },
    agents: [{ name: "a1" }],
  };
}

export function validAws(): Record<string, unknown> {
  return { target: "aws", aws: { region: "eu-central-1" }, agents: [{ name: "a1" }] };
}
