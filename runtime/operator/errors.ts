/**
 * Typed errors of the operator library (runtime/operator/): each caller maps them to its own
 * surface — agentctl to exit codes (InvalidInput 2, the others 1), the HTTP console to statuses
 * (400, 404, 409). Messages say what is wrong and name the input at fault.
 */
export abstract class OperatorError extends Error {
  abstract readonly kind: "invalid-input" | "not-found" | "conflict" | "hash-mismatch";
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value the caller gave is malformed or missing; `field` names it (e.g. "priority"). */
export class InvalidInput extends OperatorError {
  readonly kind = "invalid-input";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A task, proposal, agent or directory does not exist. */
export class NotFound extends OperatorError {
  readonly kind = "not-found";
}

/** The request is valid but the current state forbids it (e.g. the proposal is not pending). */
export class Conflict extends OperatorError {
  readonly kind = "conflict";
}

/** The sha256 the operator approved is not the sha256 of the patch as it is now. */
export class HashMismatch extends OperatorError {
  readonly kind = "hash-mismatch";
  constructor(
    readonly proposalId: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`proposal ${proposalId}: the patch's sha256 is ${actual}, not ${expected} as given; review the patch again`);
  }
}
