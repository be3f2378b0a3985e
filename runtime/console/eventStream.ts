import type * as http from "node:http";
import { STREAM_KEEPALIVE_MS } from "./limits.js";

/** A client that reads slower than this much buffered output is cut off (its stream ends). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * A server-sent-events response (`text/event-stream`). Every event's data is one line of JSON
 * (JSON.stringify never emits a raw CR or LF, the only characters that could end an SSE field),
 * so nothing in it — agent-controlled text included — can forge another event.
 */
export class EventStream {
  private readonly keepalive: NodeJS.Timeout;
  private closed = false;
  private readonly onClose: Array<() => void> = [];

  constructor(private readonly res: http.ServerResponse) {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "X-Accel-Buffering": "no",
      Connection: "keep-alive",
    });
    res.flushHeaders();
    this.keepalive = setInterval(() => this.write(": keep-alive\n\n"), STREAM_KEEPALIVE_MS);
    res.on("close", () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while the client keeps up (callers skip a poll otherwise). */
  get ready(): boolean {
    return !this.closed && this.res.writableLength < MAX_BUFFERED_BYTES / 4;
  }

  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  whenClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.onClose.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    for (const fn of this.onClose.splice(0)) fn();
    this.res.end();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      this.close();
      return;
    }
    this.res.write(chunk);
  }
}
