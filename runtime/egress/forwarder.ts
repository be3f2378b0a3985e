import * as net from "node:net";

/**
 * The agent container's end of the egress path: a loopback TCP listener (what HTTP_PROXY and
 * HTTPS_PROXY name) that pipes every connection to the fleet's egress proxy on a unix socket.
 * The runtime runs it; the container has no other network interface, so this is the only way out
 * and the proxy decides what passes.
 */
export function startEgressForwarder(o: {
  port: number;
  socket: string;
  onError?: (err: Error) => void;
}): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(o.socket);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", (err) => {
      o.onError?.(err);
      close();
    });
  });
  server.maxConnections = 256;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, "127.0.0.1", () => resolve(server));
  });
}
