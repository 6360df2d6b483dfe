import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export type ProxyMode =
  /** Forward bytes both ways. */
  | "pass"
  /** Reset every open connection and refuse new ones: the server looks down. */
  | "refuse"
  /** Accept connections and read requests but never answer: the server looks hung. */
  | "blackhole";

/**
 * A TCP proxy for fault tests (toxiproxy is not available here): put it between the service and
 * MariaDB or Redis and switch modes to cut the line for real.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** client → upstream, to stop forwarding on open connections when the line goes silent. */
  private readonly pairs = new Map<Socket, Socket>();
  private mode: ProxyMode = "pass";
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => client.destroy());
    if (this.mode === "blackhole") {
      client.resume(); // swallow whatever the client sends
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => {
      upstream.destroy();
      this.pairs.delete(client);
    });
    client.pipe(upstream).pipe(client);
    this.pairs.set(client, upstream);
  }

  /**
   * Switches mode. `refuse` resets every connection; `blackhole` keeps open connections open but
   * stops forwarding on them (a hung server); going back to `pass` drops the silenced ones so
   * clients reconnect.
   */
  async set(mode: ProxyMode): Promise<void> {
    if (mode === this.mode) return;
    const previous = this.mode;
    this.mode = mode;
    if (mode === "refuse") {
      const closed = this.closeServer();
      this.destroyAll();
      await closed;
    } else if (mode === "blackhole") {
      for (const [client, upstream] of this.pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.resume();
      }
    } else {
      if (previous === "refuse") await this.listen(this.port);
      else this.destroyAll();
    }
  }

  private destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.pairs.clear();
  }

  private closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async stop(): Promise<void> {
    const closed = this.closeServer();
    this.destroyAll();
    await closed;
  }
}
