/**
 * Linux capabilities the runtime keeps after dropping all others (`--cap-drop ALL`, or
 * linuxParameters.capabilities on Fargate):
 * - SETUID, SETGID: to start agent programs as the unprivileged `agent` user;
 * - KILL: to kill an agent program's whole process group on timeout or SIGTERM (it runs under
 *   another uid, so root needs CAP_KILL to signal it).
 * Agent programs never hold any of them: the switch to a non-root uid clears the effective and
 * permitted sets, and `no-new-privileges` keeps setuid binaries from giving them back.
 */
export const RUNTIME_CAPABILITIES = ["KILL", "SETGID", "SETUID"] as const;
