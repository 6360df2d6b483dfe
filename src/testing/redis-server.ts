import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./child-service.js";

/**
 * A private redis-server for tests that must kill, restart or reconfigure Redis: it runs on a free
 * local port in a directory of its own, so the shared :6379 is never touched.
 *
 *   const redis = await RedisServer.start({ appendonly: true, appendfsync: "always" });
 *   … REDIS_URL: redis.url …
 *   await redis.kill("SIGKILL");   // dies mid-write, as in a crash
 *   await redis.restart();         // same port, same dir: replays its AOF, resolves once it serves
 *   await redis.stop();            // and removes the directory it created
 */
export type RedisServerOptions = {
  /** Append-only file on (`--appendonly yes`). Default: off. */
  appendonly?: boolean;
  /** `--appendfsync`: `always` fsyncs before every reply, `everysec` once a second. Default: everysec. */
  appendfsync?: "always" | "everysec" | "no";
  /** Directory for the AOF, the log and any dump; a fresh temporary one when absent (removed by stop). */
  dir?: string;
  /** More `--flag value` arguments, e.g. `["--maxmemory", "10mb"]`. */
  args?: readonly string[];
  /** How long start and restart wait for the server to answer PING (AOF replay included). Default 30 s. */
  readyTimeoutMs?: number;
};

const REDIS_SERVER = "redis-server";

/** Every private server still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly options: RedisServerOptions,
  ) {}

  /** Starts a server on a free port and resolves once it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "coupons-redis-")));
    const server = new RedisServer(await freePort(), dir, options.dir === undefined, options);
    await server.spawn();
    return server;
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The server's process id, undefined while it is not running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends a signal (SIGKILL by default: no shutdown, no final write) and waits until the process is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  /** Starts the server again on the same port and directory; resolves once it serves (its AOF replayed). */
  async restart(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is still running; kill it first`);
    await this.spawn();
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes the directory if start created it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child) {
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.kill("SIGTERM");
      await this.exited;
      clearTimeout(timer);
    }
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const o = this.options;
    const args = [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--dir", this.dir,
      "--save", "",
      "--appendonly", o.appendonly ? "yes" : "no",
      "--appendfsync", o.appendfsync ?? "everysec",
      "--logfile", "redis.log",
      "--daemonize", "no",
      ...(o.args ?? []),
    ];
    const child = spawn(REDIS_SERVER, args, { stdio: "ignore" });
    this.child = child;
    running.add(child);
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", () => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
    await Promise.race([spawnError, this.waitUntilServing(o.readyTimeoutMs ?? 30_000)]);
  }

  /** Polls PING until it answers PONG (a server replaying its AOF answers -LOADING meanwhile). */
  private async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.child) throw new Error(`redis-server on port ${this.port} exited during start (see ${join(this.dir, "redis.log")})`);
      if ((await ping(this.port)) === "+PONG") return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not serve within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The first line Redis answers to PING, or an empty string when nothing answers. */
function ping(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    let reply = "";
    const done = (line: string) => {
      socket.destroy();
      resolve(line);
    };
    socket.setTimeout(1000, () => done(""));
    socket.once("error", () => done(""));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d: Buffer) => {
      reply += d.toString();
      const end = reply.indexOf("\r\n");
      if (end >= 0) done(reply.slice(0, end));
    });
  });
}
