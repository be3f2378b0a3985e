/** Paths inside every agent container, on every target; the runtime's defaults match these. */
export const CONTAINER_PATHS = {
  /** The agent's code: a git repository the runtime commits to. */
  app: "/app",
  /** Tasks, proposals, status and logs, shared by every agent of the fleet. */
  shared: "/shared",
  /** Operator decisions: read-only for the runtime on Docker hosts. */
  decisions: "/decisions",
  /** Per-task working copies (the root file system is read-only). */
  scratch: "/scratch",
  /** The agent's egress-proxy socket folder (allow-listed agents on Docker hosts only). */
  egress: "/egress",
  /** Shared projects, one git repository per project at /projects/<name>, mounted only where assigned. */
  projects: "/projects",
} as const;
