import * as fs from "node:fs";

/**
 * Read a small file an agent program left in its run dir for the runtime ($TASK_USAGE_FILE,
 * $TASK_VERDICT): hostile input. Never follows a link (the last component; the directory is the
 * runtime's), never blocks on a FIFO, refuses anything that is not a regular file owned by `uid`
 * (when given: a hard link to another user's file is not the agent's report) or is larger than
 * `maxBytes`. null: there is no such file. Errors name the file by its variable (`label`).
 */
export function readAgentFile(
  file: string,
  label: string,
  maxBytes: number,
  uid?: number,
): { text: string } | { error: string } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") return { error: `${label} is a symbolic link; write a regular file` };
    return { error: `${label} cannot be opened: ${code ?? (err as Error).message}` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { error: `${label} is not a regular file` };
    if (uid !== undefined && st.uid !== uid) return { error: `${label} is not the agent user's file` };
    if (st.size > maxBytes) return { error: `${label} is larger than ${maxBytes} bytes` };
    const buf = Buffer.alloc(maxBytes + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > maxBytes) return { error: `${label} is larger than ${maxBytes} bytes` };
    return { text: buf.subarray(0, n).toString("utf8") };
  } finally {
    fs.closeSync(fd);
  }
}
