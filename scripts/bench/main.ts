import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolveOptions } from "../loadtest/options.js";
import { formatSummary, type LoadtestReport } from "../loadtest/report.js";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { runLoadtest } from "../loadtest/run.js";
import type { PersistProbe } from "../loadtest/verify/persist-drain.js";
import { measureCeiling } from "./bare-ceiling.js";
import { meterLoad, pidsNamed, waitForQuiet, withDescendants, type Measured } from "./box-load.js";
import { freePort, startNodeChild, type Child } from "./child-process.js";
import { timeCreation, type CreationTiming } from "./creation-timing.js";
import { describeMachine } from "./machine.js";
import { renderBenchmarks } from "./markdown.js";
import { dropDatabase, mysqlPersistProbe } from "./mysql-probe.js";
import { deleteKeysWithPrefix } from "./redis-cleanup.js";

/**
 * `npm run bench`: builds nothing itself (the npm script runs `npm run build` first), starts the
 * production build of the service in a database and Redis prefix of its own, and measures:
 * (a) a burst on a 100,000-coupon campaign with more callers than coupons, (b) the original seed
 * scenario, (c) the same generator against a bare node:http server, and the time to create
 * campaigns of 100,000 and 1,000,000 codes. Writes docs/benchmarks.md.
 */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url));
const MYSQL_URI = "mysql://root@127.0.0.1:3306";
const REDIS_URL = "redis://127.0.0.1:6379";
const DATABASE = "coupons_bench";
const BURST = { coupons: 100_000, calls: 120_000, concurrency: 100 };
const CREATION_SIZES = [100_000, 1_000_000];

/** A run starts once the machine is at most this busy (other people's builds skew every figure). */
const QUIET_BUSY_PCT = 15;
const QUIET_TIMEOUT_MS = 180_000;

const say = (line: string) => console.error(`bench: ${line}`);

/** Waits for a quiet machine, then runs `fn` while metering how busy the machine was and who made it so. */
async function measured<T>(what: string, pids: () => number[], fn: () => Promise<T>): Promise<Measured<T>> {
  const quiet = await waitForQuiet(QUIET_BUSY_PCT, QUIET_TIMEOUT_MS);
  say(`${what} (machine ${quiet.busyPct ?? "?"} % busy after waiting ${Math.round(quiet.waitedMs / 1000)} s for quiet)`);
  const stop = meterLoad(pids);
  const value = await fn();
  const load = stop();
  if (load) say(`${what}: machine ${load.boxBusyPct} % busy, ${load.foreignPct} % of it by processes outside the bench`);
  return { value, load, quietWaitMs: quiet.waitedMs, busyBeforePct: quiet.busyPct };
}

async function startService(prefix: string): Promise<Child> {
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: `${MYSQL_URI}/${DATABASE}`,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: "warn",
    // Admin methods open: the bench creates its own campaigns (an inherited key would lock it out).
    ADMIN_API_KEY: "",
  };
  return startNodeChild(`${ROOT}dist/src/main.js`, env, `http://127.0.0.1:${port}`, "/healthz", 120_000);
}

async function startBareServer(): Promise<Child> {
  const port = await freePort();
  return startNodeChild(`${ROOT}dist/scripts/bench/bare-server.js`, { PORT: String(port) }, `http://127.0.0.1:${port}`, "/", 10_000);
}

async function loadtest(url: string, flags: Record<string, string>, probe: PersistProbe): Promise<LoadtestReport> {
  say(`loadtest ${Object.entries(flags).map(([k, v]) => `--${k} ${v}`).join(" ")}`);
  const report = await runLoadtest(resolveOptions({ url, ...flags }), { print: (l) => console.error(l), persistProbe: probe });
  console.error(formatSummary(report));
  return report;
}

async function main(): Promise<number> {
  const machine = await describeMachine(MYSQL_URI, REDIS_URL);
  const prefix = `bench:${process.pid}:`;
  await dropDatabase(MYSQL_URI, DATABASE);
  const service = await startService(prefix);
  const bare = await startBareServer();
  const mysqlProbe = await mysqlPersistProbe(`${MYSQL_URI}/${DATABASE}`);
  const pids = () => [...withDescendants([process.pid, service.process.pid ?? 0, bare.process.pid ?? 0]), ...pidsNamed(["redis-server", "mariadbd"])];
  try {
    const burstFlags = { scenario: "burst", coupons: String(BURST.coupons), calls: String(BURST.calls), concurrency: String(BURST.concurrency) };
    const burst = await measured("(a) burst", pids, () => loadtest(service.url, burstFlags, mysqlProbe.probe));
    const ceiling = await measured("(c) ceiling: the same burst against a bare node:http server", pids, () =>
      measureCeiling(bare.url, BURST.calls, BURST.concurrency),
    );
    say(`ceiling: ${ceiling.value.throughputRps} calls/s, p50 ${ceiling.value.latencyMs.p50} ms, p99 ${ceiling.value.latencyMs.p99} ms`);
    const seed = await measured("(b) seed", pids, () => loadtest(service.url, { scenario: "seed" }, mysqlProbe.probe));
    const client = new ControlClient(service.url);
    const creation: Array<Measured<CreationTiming>> = [];
    for (const size of CREATION_SIZES) {
      creation.push(await measured(`creating a campaign of ${size} codes`, pids, () => timeCreation(client, size)));
      say(`${size} codes loaded in ${creation.at(-1)!.value.ms} ms`);
    }
    await client.close();
    // The service inherits our environment, so WORKERS=1 npm run bench measures one process.
    const workers = process.env.WORKERS ? `WORKERS=${process.env.WORKERS}` : `WORKERS default: one process per core, ${machine.cores}`;
    const command = process.env.WORKERS ? `WORKERS=${process.env.WORKERS} npm run bench` : "npm run bench";
    const markdown = renderBenchmarks({ date: new Date(), command, workers, machine, burst, seed, ceiling, creation });
    mkdirSync(`${ROOT}docs`, { recursive: true });
    writeFileSync(`${ROOT}docs/benchmarks.md`, markdown);
    console.log(markdown);
    return burst.value.integrity.ok && seed.value.integrity.ok ? 0 : 1;
  } finally {
    await mysqlProbe.close();
    await Promise.all([service.stop(), bare.stop()]);
    await dropDatabase(MYSQL_URI, DATABASE);
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error("bench failed:", err);
    process.exit(1);
  },
);
