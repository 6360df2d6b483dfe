import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./child-process.js";

export type PrivateRedis = {
  url: string;
  dir: string;
  version: string;
  process: ChildProcess;
  /** Counters whose difference over a run is the fsyncs Redis did in it (see `writeCounters`). */
  writeCounters: () => Promise<WriteCounters>;
  stop: () => Promise<void>;
};

/**
 * With `appendfsync always`, Redis writes its AOF once per event-loop pass that changed data and
 * fdatasyncs it before answering, so its AOF writes are its fsyncs. They are the redis-server
 * process's write syscalls (/proc/<pid>/io syscw) less its writes to clients (INFO stats
 * total_writes_processed, one per client answered per pass; replies here are small enough for
 * one write each), counted without slowing Redis down the way tracing every syscall would.
 */
export type WriteCounters = { syscalls: number; clientWrites: number };

/** Fsyncs between two readings of `writeCounters`. */
export function fsyncsBetween(a: WriteCounters, b: WriteCounters): number {
  return Math.max(0, b.syscalls - a.syscalls - (b.clientWrites - a.clientWrites));
}

/** redis-server's version, or undefined when it is not installed. */
export function redisServerVersion(): string | undefined {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (r.error) return undefined;
  return /v=(\S+)/.exec(r.stdout)?.[1] ?? "unknown";
}

/**
 * A Redis of the bench's own, on a free port, with the durability the docker compose setting
 * gives (AOF on, `appendfsync always`: every write is on disk before its answer) and no RDB
 * snapshots, writing into a fresh directory under the system's temp dir (on this machine's disk,
 * not a tmpfs: a tmpfs would make every fsync free). Removed with its files on stop.
 * `durability: "none"` turns the AOF off, like the machine's shared Redis: a Redis whose counters
 * (INFO commandstats) only the bench moves, for figures that count commands, not fsyncs.
 */
export async function startPrivateRedis(durability: "always" | "none" = "always"): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), "coupon-bench-redis-"));
  const port = await freePort();
  const aof = durability === "always" ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, ...aof, "--save", "", "--daemonize", "no", "--loglevel", "warning"];
  const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "inherit"] });
  let exited = false;
  child.once("exit", () => (exited = true));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`redis-server ${args.join(" ")} exited before answering`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined); // not up yet: the loop tries again
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`redis-server did not answer on ${url} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopping: Promise<void> | undefined;
  const teardown = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(force);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const info = new Redis(url);
  info.on("error", () => undefined); // a reading fails loudly through its promise
  const writeCounters = async (): Promise<WriteCounters> => {
    const stats = await info.info("stats");
    const io = readFileSync(`/proc/${child.pid}/io`, "utf8");
    return { syscalls: Number(/syscw:\s*(\d+)/.exec(io)?.[1] ?? 0), clientWrites: Number(/total_writes_processed:(\d+)/.exec(stats)?.[1] ?? 0) };
  };
  const stop = () => (stopping ??= (info.disconnect(), teardown()));
  return { url, dir, version: redisServerVersion() ?? "unknown", process: child, writeCounters, stop };
}
