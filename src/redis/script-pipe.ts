import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { RedisReplyError, RespReader, type Reply } from "./resp-reader.js";

export type ScriptPipeOptions = {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  /** CLIENT SETNAME, as the ioredis connections name themselves. */
  connectionName: string;
  /** A call unanswered this long fails, and the connection is cut (everything behind it waits too). */
  commandTimeoutMs: number;
  /** The Lua source of the one script this connection runs. */
  lua: string;
  /** Answered calls kept at the front of the queue before it is compacted (default 4,096; tests use fewer). */
  compactAfter?: number;
};

/** One command in flight, answered in the order it was sent. */
type Waiter = {
  resolve: (reply: unknown[]) => void;
  reject: (err: Error) => void;
  sentAtMs: number;
  /**
   * An EVALSHA's array header and its keys and arguments as sent (all but the command name and the
   * SHA): what runs it once by EVAL if Redis answers NOSCRIPT. Undefined for other commands.
   */
  scriptHeader: string | undefined;
  scriptRest: string | undefined;
};

const CONNECT_TIMEOUT_MS = 2000;
/** Answered waiters kept at the front of the queue before it is compacted. */
const COMPACT_AFTER = 4096;

/**
 * A Redis connection of its own for one hot path (IssueCoupon's; the persister's): it runs one Lua
 * script by EVALSHA, and the few plain commands that path needs, the calls of one event-loop turn
 * written together, the replies read with a RESP reader of its own (./resp-reader.ts). ioredis
 * spends ~50 µs of CPU per call when calls arrive a few at a time (a Command, a Pipeline, a timer
 * and several promises each; the benchmark's open loop), this about a tenth of it
 * (docs/benchmarks.md); and ioredis decodes a reply into Buffers and then into strings, twice the
 * work for the persister's batches of stream entries. Everything else keeps using ioredis.
 *
 * The same promises as the ioredis connections (./client.ts requestPathOptions), kept by
 * construction: nothing is queued while disconnected (a call then fails at once); a call in flight
 * when the connection closes fails at once and is never sent again (it may have run); a call
 * unanswered after `commandTimeoutMs` fails and cuts the connection, since every later reply
 * would wait behind it. The only resend is EVAL after NOSCRIPT, which Redis answers without
 * running anything. It reconnects by itself, 100 ms to 2 s apart, and loads the script on each
 * new connection.
 */
export class ScriptPipe extends EventEmitter {
  private readonly sha: string;
  private readonly evalshaHead: string;
  private socket: Socket | undefined;
  private ready = false;
  private closing = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly reader = new RespReader();
  private readonly waiting: Waiter[] = [];
  /** Index of the oldest unanswered waiter (shifting an array per reply is slower). */
  private head = 0;
  /** Commands of this event-loop turn, written together by `flush`. */
  private out: string[] = [];
  private flushScheduled = false;
  /** Handshake replies are taken here, before any script call is accepted. */
  private handshake: { left: number; resolve: () => void; reject: (err: Error) => void } | undefined;
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly options: ScriptPipeOptions) {
    super();
    // Errors are reported to whoever listens (metrics, logs); a call's own error goes to its caller.
    this.on("error", () => undefined);
    this.sha = createHash("sha1").update(options.lua).digest("hex");
    this.evalshaHead = `$7\r\nEVALSHA\r\n$40\r\n${this.sha}\r\n`;
    const every = Math.max(25, Math.floor(options.commandTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkTimeout(), every);
    this.watchdog.unref();
  }

  /** "ready" while calls are taken, as ioredis names it; "closed" after quit; "connecting" otherwise. */
  get status(): "ready" | "connecting" | "closed" {
    return this.closing ? "closed" : this.ready ? "ready" : "connecting";
  }

  /** Connects and loads the script; rejects if Redis cannot be reached or refuses the handshake. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.options.host, port: this.options.port, noDelay: true, keepAlive: true });
      this.socket = socket;
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`connect to Redis timed out after ${CONNECT_TIMEOUT_MS} ms`)));
      socket.on("data", (chunk: Buffer) => this.read(chunk));
      socket.on("error", (err) => this.emit("error", err));
      socket.on("close", () => this.closed(socket, reject));
      socket.once("connect", () => {
        socket.setTimeout(0);
        const commands = [
          ...(this.options.password !== undefined
            ? [this.options.username ? ["AUTH", this.options.username, this.options.password] : ["AUTH", this.options.password]]
            : []),
          ...(this.options.db !== 0 ? [["SELECT", String(this.options.db)]] : []),
          ["CLIENT", "SETNAME", this.options.connectionName],
          ["SCRIPT", "LOAD", this.options.lua],
        ];
        this.handshake = {
          left: commands.length,
          resolve: () => {
            this.handshake = undefined;
            this.ready = true;
            this.attempts = 0;
            resolve();
          },
          reject: (err) => {
            this.handshake = undefined;
            socket.destroy();
            reject(err);
          },
        };
        socket.write(commands.map(encode).join(""));
      });
    });
  }

  /** Runs the script with these keys and arguments; the raw reply array. */
  run(keys: readonly string[], args: readonly string[]): Promise<unknown[]> {
    let rest = bulk(String(keys.length));
    for (const k of keys) rest += bulk(k);
    for (const a of args) rest += bulk(a);
    const header = `*${3 + keys.length + args.length}\r\n`;
    return this.call(header + this.evalshaHead + rest, header, rest) as Promise<unknown[]>;
  }

  /** PING through the same line, behind the calls in flight: /readyz asks whether the issue path answers. */
  ping(): Promise<unknown> {
    return this.command(["PING"]);
  }

  /** Any other command, with the same promises as the script's calls; its decoded reply. */
  command(parts: readonly string[]): Promise<Reply> {
    return this.call(encode(parts), undefined, undefined) as Promise<Reply>;
  }

  /** Waits for the calls in flight, then closes; no reconnect. */
  async quit(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    this.flush();
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      if (this.head === this.waiting.length) socket.end();
      else this.once("drained", () => socket.end());
    });
  }

  /** Queues one command for this turn's write; nothing is queued while the line is not ready. */
  private call(command: string, scriptHeader: string | undefined, scriptRest: string | undefined): Promise<unknown> {
    if (!this.ready) return Promise.reject(new Error("Redis connection is not ready"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve: resolve as Waiter["resolve"], reject, sentAtMs: Date.now(), scriptHeader, scriptRest });
      this.send(command);
    });
  }

  private send(command: string): void {
    this.out.push(command);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the I/O callbacks of this turn: the calls that arrived together share one write.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0) return;
    const data = this.out.length === 1 ? this.out[0]! : this.out.join("");
    this.out = [];
    this.socket?.write(data);
  }

  private read(chunk: Buffer): void {
    try {
      this.reader.feed(chunk, (reply) => this.answer(reply));
    } catch (err) {
      this.socket?.destroy(err as Error);
    }
  }

  private answer(reply: Reply): void {
    const hs = this.handshake;
    if (hs) {
      if (reply instanceof RedisReplyError) hs.reject(new Error(`Redis refused the connection's set-up: ${reply.message}`));
      else if (--hs.left === 0) hs.resolve();
      return;
    }
    const w = this.waiting[this.head];
    if (!w) return;
    this.waiting[this.head++] = undefined as unknown as Waiter;
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
      this.emit("drained");
    } else if (this.head >= (this.options.compactAfter ?? COMPACT_AFTER)) {
      // Under steady load the line may never be empty: drop the answered part now and then.
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    if (reply instanceof RedisReplyError) {
      if (w.scriptHeader !== undefined && reply.message.startsWith("NOSCRIPT")) {
        // Not run: Redis lost its scripts (SCRIPT FLUSH). Once by EVAL, which also caches it again.
        this.waiting.push({ ...w, sentAtMs: Date.now(), scriptHeader: undefined, scriptRest: undefined });
        this.send(`${w.scriptHeader}$4\r\nEVAL\r\n${bulk(this.options.lua)}${w.scriptRest}`);
        return;
      }
      w.reject(reply);
      return;
    }
    w.resolve(reply as unknown[]);
  }

  private checkTimeout(): void {
    const oldest = this.waiting[this.head];
    if (oldest && Date.now() - oldest.sentAtMs > this.options.commandTimeoutMs) {
      this.socket?.destroy(new Error(`Redis did not answer within ${this.options.commandTimeoutMs} ms`));
    }
  }

  /** Every call in flight fails (it may or may not have run); then a new connection, later. */
  private closed(socket: Socket, rejectConnect: (err: Error) => void): void {
    if (socket !== this.socket) return;
    this.ready = false;
    this.reader.reset();
    this.out = [];
    const gone = new Error("Connection is closed.");
    this.handshake?.reject(gone);
    rejectConnect(gone);
    const inFlight = this.waiting.slice(this.head);
    this.waiting.length = 0;
    this.head = 0;
    for (const w of inFlight) w.reject(gone);
    this.emit("drained");
    if (this.closing) return;
    const delayMs = Math.min(++this.attempts * 100, 2000);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch(() => undefined); // a failure closes the socket, which schedules the next try
    }, delayMs);
    this.reconnectTimer.unref();
  }
}

/**
 * Where a `redis://[[user]:password@]host[:port][/db]` URL points, for a ScriptPipe; undefined
 * for anything else (TLS, a socket path): those keep the issue script on ioredis.
 */
export function scriptPipeTarget(url: string): Pick<ScriptPipeOptions, "host" | "port" | "username" | "password" | "db"> | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "redis:" || u.hostname === "") return undefined;
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) return undefined;
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
  };
}

/** A command as a RESP array of bulk strings. */
function encode(parts: readonly string[]): string {
  let s = `*${parts.length}\r\n`;
  for (const p of parts) s += bulk(p);
  return s;
}

/** One RESP bulk string: its length in bytes, then itself. */
function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}
