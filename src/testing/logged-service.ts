import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { TEST_MYSQL_URI, TEST_REDIS_URL } from "./harness.js";

export type LogLine = { msg: string; url?: string; [k: string]: unknown };

export type LoggedService = {
  child: ChildProcess;
  /** Every JSON log line the service printed so far, in order. */
  logs: LogLine[];
  /** Resolves with the URL once `readyWorkers` processes said "coupon service started". */
  url: Promise<string>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
};

/**
 * The real entry point (src/main.ts) in a child process, in `ns`'s database and key prefix, with
 * its logs at info read line by line: for tests of how the process stops. `detached` gives it a
 * process group of its own, as a terminal runs `npm start`.
 */
export function spawnLoggedService(
  ns: { database: string; prefix: string },
  opts: { workers: string; readyWorkers?: number; detached?: boolean; env?: Record<string, string> },
): LoggedService {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: ns.prefix,
      LOG_LEVEL: "info",
      WORKERS: opts.workers,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "inherit"],
    detached: opts.detached ?? false,
  });
  const logs: LogLine[] = [];
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const url = new Promise<string>((resolve, reject) => {
    let ready = 0;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as LogLine;
      logs.push(entry);
      if (entry.msg === "coupon service started" && entry.url && ++ready === (opts.readyWorkers ?? 1)) resolve(entry.url);
    });
    void exited.then(([code]) => reject(new Error(`the service exited with ${code} before it started`)));
  });
  return { child, logs, url, exited };
}
