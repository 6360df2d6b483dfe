import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { IssuePool } from "../loadtest/http/issue-pool.js";
import { LatencyHistogram, type LatencySummaryMs } from "../loadtest/stats/latency-histogram.js";

/**
 * The closed-loop generator of `npm run bench`: `connections` callers, each sending its next
 * IssueCoupon the moment the previous one is answered, for a fixed time. wrk when it is installed
 * (a C generator, the cheapest per call on the two cores it shares with the server), else the
 * load test's raw-socket Node client; the same one for the service and for the bare server of a
 * run, so that their ratio is fair either way. docs/benchmarks.md says which one was used.
 */

/** Who the calls are for. */
export type Callers =
  /** A user id of its own per call (`<tag>-<n>`): nobody asks twice. */
  | { kind: "unique"; tag: string }
  /** No user id: anonymous callers. */
  | { kind: "anon" }
  /** `<tag>-0` … `<tag>-(count-1)` in turn: users who already hold a code. */
  | { kind: "holders"; tag: string; count: number };

export type ClosedLoopSpec = {
  url: string;
  campaignId: string;
  callers: Callers;
  durationMs: number;
  connections: number;
  /** End at the first refusal (a burst until sold out); durationMs is then only a bound. */
  stopOnRefusal?: boolean;
};

export type ClosedLoopResult = {
  /** Answers counted (every HTTP answer, coupon or refusal). */
  calls: number;
  /** Answers with HTTP 200 (a coupon). */
  ok: number;
  /** Answers with an error status (a Connect error: sold out, not started…). */
  refused: number;
  /** Calls that got no answer: connection errors and timeouts. */
  failed: number;
  durationMs: number;
  /** Answers per second. */
  rps: number;
  /** Closed-loop latency: from send to answer (a busy server slows the senders, so no tail beyond that). */
  latencyMs: LatencySummaryMs;
  /** CPU time of the generator itself per answer, in µs: what it took from the server's cores. */
  generatorCpuUsPerCall: number;
  /** stopOnRefusal: wall-clock ms (Date.now) when the first refusal was seen, e.g. when the pool ran dry. */
  firstRefusalAtMs?: number;
};

export type ClosedLoopGenerator = {
  name: "wrk" | "node";
  /** One line for the report: what it is and how it was driven. */
  description: string;
  run(spec: ClosedLoopSpec): Promise<ClosedLoopResult>;
};

const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url));
const WRK_SCRIPT = `${ROOT}scripts/bench/wrk-issue.lua`;
/** wrk threads: one per core, as the issue's reference measurement ran it (wrk -t2 on two cores). */
const WRK_THREADS = availableParallelism();

/** CPU time of this process's reaped children (wrk) so far, in ms: /proc/self/stat cutime + cstime. */
export function childrenCpuMs(): number {
  if (process.platform !== "linux") return 0;
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10; // USER_HZ = 100 ticks per second
}

/** wrk's version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const r = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  if (r.error) return undefined;
  return `${r.stdout}${r.stderr}`.split("\n")[0]?.replace(/ Copyright.*/, "").trim() || "wrk";
}

type WrkSummary = { requests: number; durationUs: number; connect: number; read: number; write: number; status: number; timeout: number; p50: number; p90: number; p99: number; max: number };

const ms = (us: number) => Math.round(us / 10) / 100;

function wrkArgs(spec: ClosedLoopSpec): string[] {
  const c = spec.callers;
  const users = c.kind === "anon" ? ["anon", "-", "0"] : c.kind === "holders" ? ["holders", c.tag, String(c.count)] : ["unique", c.tag, "0"];
  const connections = Math.max(WRK_THREADS, spec.connections - (spec.connections % WRK_THREADS));
  return [
    `-t${WRK_THREADS}`,
    `-c${connections}`,
    `-d${Math.max(1, Math.round(spec.durationMs / 1000))}s`,
    "--timeout",
    "10s",
    "-s",
    WRK_SCRIPT,
    spec.url,
    "--",
    spec.campaignId,
    ...users,
    spec.stopOnRefusal ? "stop-on-refusal" : "-",
  ];
}

function runWrk(spec: ClosedLoopSpec): Promise<ClosedLoopResult> {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuMs();
    const child = spawn("wrk", wrkArgs(spec), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let refusals = 0;
    let firstRefusalAtMs: number | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (!spec.stopOnRefusal) return;
      const seen = out.split("\n").filter((l) => l === "REFUSED").length;
      if (seen > refusals) {
        firstRefusalAtMs ??= Date.now();
        refusals = seen;
        // Every thread stopped sending: end wrk now rather than at its -d bound (SIGINT makes it report).
        if (refusals >= WRK_THREADS) child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("WRK "));
      if (!line) return reject(new Error(`wrk exited with ${code} without a summary: ${err.trim() || out.trim()}`));
      const s = JSON.parse(line.slice(4)) as WrkSummary;
      const failed = s.connect + s.read + s.write + s.timeout;
      const durationMs = s.durationUs / 1000;
      resolve({
        calls: s.requests,
        ok: s.requests - s.status,
        refused: s.status,
        failed,
        durationMs: Math.round(durationMs),
        rps: Math.round(s.requests / (durationMs / 1000)),
        latencyMs: { p50: ms(s.p50), p90: ms(s.p90), p99: ms(s.p99), max: ms(s.max) },
        generatorCpuUsPerCall: s.requests > 0 ? Math.round(((childrenCpuMs() - cpuBefore) * 1000) / s.requests) : 0,
        ...(firstRefusalAtMs !== undefined ? { firstRefusalAtMs } : {}),
      });
    });
  });
}

function userIdOf(callers: Callers, n: number): string {
  if (callers.kind === "anon") return "";
  return callers.kind === "holders" ? `${callers.tag}-${n % callers.count}` : `${callers.tag}-${n}`;
}

/** The fallback: the load test's raw-socket keep-alive client (scripts/loadtest/http), one request per connection at a time. */
async function runNode(spec: ClosedLoopSpec): Promise<ClosedLoopResult> {
  const pool = new IssuePool(spec.url, { connections: spec.connections, timeoutMs: 10_000 });
  const latency = new LatencyHistogram();
  let calls = 0;
  let ok = 0;
  let refused = 0;
  let failed = 0;
  let firstRefusalAtMs: number | undefined;
  let stop = false;
  try {
    await pool.warm();
    const timer = setTimeout(() => (stop = true), spec.durationMs);
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    const caller = async () => {
      while (!stop) {
        const sent = performance.now();
        const outcome = await pool.issue(spec.campaignId, userIdOf(spec.callers, next++));
        latency.recordMs(performance.now() - sent);
        calls++;
        if (outcome.ok) ok++;
        else if (outcome.error === "unavailable" || outcome.error === "deadline_exceeded") failed++;
        else {
          refused++;
          if (spec.stopOnRefusal) {
            firstRefusalAtMs ??= Date.now();
            stop = true;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: spec.connections }, caller));
    clearTimeout(timer);
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      calls,
      ok,
      refused,
      failed,
      durationMs: Math.round(elapsedMs),
      rps: Math.round(calls / (elapsedMs / 1000)),
      latencyMs: latency.summary(),
      generatorCpuUsPerCall: calls > 0 ? Math.round((cpu.user + cpu.system) / calls) : 0,
      ...(firstRefusalAtMs !== undefined ? { firstRefusalAtMs } : {}),
    };
  } finally {
    pool.close();
  }
}

/**
 * The generator for this run: `choice` "wrk" requires wrk, "node" forces the fallback, undefined
 * takes wrk when it is installed.
 */
export function closedLoopGenerator(choice: string | undefined): ClosedLoopGenerator {
  const version = choice === "node" ? undefined : wrkVersion();
  if (choice === "wrk" && !version) throw new Error("BENCH_GENERATOR=wrk but wrk is not installed (Debian/Ubuntu: apt-get install wrk)");
  if (version) {
    return { name: "wrk", description: `${version}, ${WRK_THREADS} threads, scripts/bench/wrk-issue.lua`, run: runWrk };
  }
  const why = choice === "node" ? "chosen with BENCH_GENERATOR=node" : "wrk is not installed";
  return { name: "node", description: `the load test's raw-socket Node client (scripts/loadtest/http/issue-pool.ts), ${why}`, run: runNode };
}
