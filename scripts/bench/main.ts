import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MAX_SHARDS } from "../../src/campaigns/sub-pools.js";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { benchPids, type PidGroups } from "./box-load.js";
import { freePort, startBenchService, startNodeChild, type Child } from "./child-process.js";
import { measureCreationFigures } from "./creation-figures.js";
import { measureIssueFigures } from "./issue-figures.js";
import { describeMachine } from "./machine.js";
import { renderBenchmarks, type BenchResults } from "./markdown.js";
import { dropDatabase } from "./mysql-probe.js";
import { deleteKeysWithPrefix } from "./redis-cleanup.js";
import { measureRoundTrips } from "./round-trips.js";
import { runEntry } from "./entry.js";

/**
 * `npm run bench`: builds nothing itself (the npm script runs `npm run build` first). First the
 * IssueCoupon figures (./issue-figures.ts: throughput, latency, refusals and persistence of the
 * production build against a bare node:http server, each service in a database and Redis prefix
 * of its own), then the time to create campaigns of 100,000 and 1,000,000 codes on another such
 * service. Between the two, Redis round trips per IssueCoupon with one pool and with 8 sub-pools
 * (./round-trips.ts, on a service and Redis of its own; alone: node dist/scripts/bench/round-trips-main.js).
 * Writes docs/benchmarks.md. BENCH_GENERATOR=node|wrk picks the closed-loop generator.
 * `--shards K` splits the campaigns of the IssueCoupon and creation figures into K sub-pools.
 */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url));
const MYSQL_URI = "mysql://root@127.0.0.1:3306";
const REDIS_URL = "redis://127.0.0.1:6379";
const DATABASE = "coupons_bench";
/** `npm run bench -- --creation-10m` adds the 10,000,000-code creation (minutes; off by default). */
const CREATION_10M = process.argv.includes("--creation-10m");

/** `--shards K` (1 to MAX_SHARDS; default 1, one pool), or exit 2 with what is wrong. */
function shardsFlag(argv: readonly string[]): number {
  const at = argv.indexOf("--shards");
  if (at < 0) return 1;
  const raw = argv[at + 1];
  const k = Number(raw);
  if (raw === undefined || !Number.isInteger(k) || k < 1 || k > MAX_SHARDS) {
    console.error(`bench: --shards must be an integer from 1 to ${MAX_SHARDS}, got ${JSON.stringify(raw ?? "")}`);
    process.exit(2);
  }
  return k;
}
const SHARDS = shardsFlag(process.argv);

const say = (line: string) => console.error(`bench: ${line}`);

function startService(prefix: string): Promise<Child> {
  return startBenchService(ROOT, `${MYSQL_URI}/${DATABASE}`, REDIS_URL, prefix);
}

async function startBareServer(): Promise<Child> {
  const port = await freePort();
  return startNodeChild(`${ROOT}dist/scripts/bench/bare-server.js`, { PORT: String(port) }, `http://127.0.0.1:${port}`, "/", 10_000);
}

type Figures = Pick<BenchResults, "creation">;

/** The figures after IssueCoupon's: campaign creation and Redis memory (./creation-figures.ts). */
async function takeFigures(service: Child, prefix: string, pids: () => PidGroups): Promise<Figures> {
  const client = new ControlClient(service.url);
  try {
    const creation = await measureCreationFigures({
      root: ROOT,
      client,
      service: { url: service.url, pid: service.process.pid ?? 0 },
      pids,
      databaseUrl: `${MYSQL_URI}/${DATABASE}`,
      redisUrl: REDIS_URL,
      prefix,
      say,
      tenMillion: CREATION_10M,
      shards: SHARDS,
    });
    return { creation };
  } finally {
    await client.close();
  }
}

async function main(): Promise<number> {
  const machine = await describeMachine(MYSQL_URI, REDIS_URL);
  const prefix = `bench:${process.pid}:`;
  await dropDatabase(MYSQL_URI, DATABASE);
  const bare = await startBareServer();
  let service: Child | undefined;
  /** Teardowns registered by the IssueCoupon figures (their services, a private Redis), newest first. */
  const deferred: Array<() => Promise<void>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const task of [...deferred].reverse()) await task().catch(() => undefined);
      await Promise.all([service?.stop(), bare.stop()]);
      await dropDatabase(MYSQL_URI, DATABASE);
      await deleteKeysWithPrefix(REDIS_URL, prefix);
    })());
  // Ctrl-C mid-run must not leave a service, a bare server or the bench's data behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping the service and removing the bench's data`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  // Resolved at the start of each figure: the service's workers exist by then.
  const pids = (): PidGroups => benchPids(service!.process.pid!, bare.process.pid ?? 0);
  try {
    // First, with services of their own and nothing else of the bench running beside them.
    const issue = await measureIssueFigures({
      root: ROOT,
      mysqlUri: MYSQL_URI,
      redisUrl: REDIS_URL,
      bare: { url: bare.url, pid: bare.process.pid ?? 0 },
      generator: process.env.BENCH_GENERATOR,
      say,
      defer: (task) => void deferred.push(task),
      shards: SHARDS,
    });
    const roundTrips = await measureRoundTrips({ root: ROOT, mysqlUri: MYSQL_URI, say, defer: (task) => void deferred.push(task) }).catch((err: unknown) => ({
      error: (err as Error).message,
    }));
    service = await startService(prefix);
    const figures = await takeFigures(service, prefix, pids);
    // The service inherits our environment, so WORKERS=1 npm run bench measures one process.
    const workers = process.env.WORKERS ? `WORKERS=${process.env.WORKERS}` : `WORKERS default: one process per core, ${machine.cores}`;
    const flags = SHARDS > 1 ? ` -- --shards ${SHARDS}` : "";
    const command = `${process.env.WORKERS ? `WORKERS=${process.env.WORKERS} ` : ""}npm run bench${flags}`;
    const markdown = renderBenchmarks({ date: new Date(), command, workers, machine, issue, roundTrips, shards: SHARDS, ...figures });
    mkdirSync(`${ROOT}docs`, { recursive: true });
    writeFileSync(`${ROOT}docs/benchmarks.md`, markdown);
    console.log(markdown);
    const roundTripViolations = "error" in roundTrips ? [] : roundTrips.violations;
    return issue.violations.length === 0 && roundTripViolations.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

runEntry(main);
