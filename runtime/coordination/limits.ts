/**
 * The bounds of what one run may hand the runtime besides its change: tasks in $TASK_OUTBOX and
 * lines in $TASK_MESSAGES. Each is a runtime setting (runtime/settings.ts) whose default is here.
 */
export const COORDINATION_DEFAULTS = {
  /** Task files one run may queue; further files are rejected. */
  outboxMaxTasks: 20,
  /** Largest task file in the outbox (its JSON, not its context files). */
  outboxMaxFileBytes: 64 * 1024,
  /** All task files of one run plus the context files they name. */
  outboxMaxRunBytes: 4 * 1024 * 1024,
  /** Tasks created by one agent that may wait or run at once (pending or claimed). */
  outboxMaxPending: 100,
  /** Characters of one message line; longer lines are cut (and marked). */
  messageMaxChars: 2000,
  /** Message lines recorded per run; the rest are counted in one closing line. */
  messageMaxLines: 200,
} as const;

/** Fixed bounds of one outbox task file's fields (not settings: they shape the record). */
export const OUTBOX_FIELD_LIMITS = {
  titleChars: 200,
  /** Context files one task may name. */
  contextFiles: 16,
  contextPathChars: 1024,
} as const;

/** What an agent's tasks are marked with in `created_by`. */
export function agentCreator(agent: string): string {
  return `agent:${agent}`;
}
