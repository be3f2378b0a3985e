/**
 * A config value that is stored encrypted (`pulumi config set --secret`).
 *
 * Config sources (the Pulumi runtime, a stack file read by `agent-fleet check`) replace every
 * secret leaf with this marker before validation, and never put the plaintext in it: the schema
 * only needs to know that a secret is there. Resources read the value itself with
 * `config.requireSecret`, so the plaintext only ever travels inside a Pulumi secret Output.
 */
export class SecretValue {
  readonly secret = true as const;
  toString(): string {
    return "[secret]";
  }
  toJSON(): string {
    return "[secret]";
  }
}

export function isSecretValue(v: unknown): v is SecretValue {
  return v instanceof SecretValue;
}
