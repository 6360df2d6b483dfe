import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export type ProxyMode =
  /** Forward bytes both ways. */
  | "pass"
  /** Reset every open connection and refuse new ones: the server looks down. */
  | "refuse"
  /** Accept connections and read requests but never answer: the server looks hung. */
  | "blackhole";

/** One client connection and its upstream, with whether bytes still flow each way. */
type Pair = { client: Socket; upstream: Socket; forwarding: boolean; dropReplies: boolean };

/**
 * A trap for the "ran, but its answer was lost" fault: the next time a client sends bytes that
 * contain `match` (a command name, say `RPUSH`), they are forwarded, so the server runs the
 * command; the server's reply is then thrown away and both connections are cut. The client sees
 * its connection close with the command in flight, exactly as when a line drops at that moment.
 */
type Trap = { match: Buffer; sprung: () => void };

/**
 * A TCP proxy for fault tests (toxiproxy is not available here): put it between the service and
 * MariaDB or Redis and switch modes to cut the line for real.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** By client socket, to stop forwarding on open connections when the line goes silent. */
  private readonly pairs = new Map<Socket, Pair>();
  private mode: ProxyMode = "pass";
  private trap: Trap | undefined;
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
    const pair: Pair = { client, upstream, forwarding: true, dropReplies: false };
    client.on("data", (bytes: Buffer) => {
      if (!pair.forwarding) return;
      const trap = this.trap;
      if (trap && bytes.includes(trap.match)) {
        this.trap = undefined;
        pair.dropReplies = true;
        // The upstream's next bytes prove it ran the command; they never reach the client.
        upstream.once("data", () => {
          client.destroy();
          upstream.destroy();
          trap.sprung();
        });
      }
      upstream.write(bytes);
    });
    upstream.on("data", (bytes: Buffer) => {
      if (pair.forwarding && !pair.dropReplies) client.write(bytes);
    });
    this.pairs.set(client, pair);
  }

  /**
   * Arms a trap (see `Trap`): resolves once a command containing `match` reached the server, ran,
   * and its reply was dropped with the connection. One command per call.
   */
  dropReplyTo(match: string): Promise<void> {
    return new Promise((resolve) => {
      this.trap = { match: Buffer.from(match), sprung: resolve };
    });
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
      for (const pair of this.pairs.values()) pair.forwarding = false;
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
