import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolveOptions } from "../loadtest/options.js";
import { formatSummary, type LoadtestReport } from "../loadtest/report.js";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { runLoadtest } from "../loadtest/run.js";
import type { PersistProbe } from "../loadtest/verify/persist-drain.js";
import { measureCeiling } from "./bare-ceiling.js";
import { pidsNamed, withDescendants, type Measured, type PidGroups } from "./box-load.js";
import { freePort, startNodeChild, type Child } from "./child-process.js";
import { timeCreation, type CreationTiming } from "./creation-timing.js";
import { describeMachine } from "./machine.js";
import { renderBenchmarks, type BenchResults } from "./markdown.js";
import { leastDisturbed, measured, type PhaseMarker } from "./measured.js";
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

const say = (line: string) => console.error(`bench: ${line}`);

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

async function loadtest(url: string, flags: Record<string, string>, probe: PersistProbe, phase: PhaseMarker): Promise<LoadtestReport> {
  say(`loadtest ${Object.entries(flags).map(([k, v]) => `--${k} ${v}`).join(" ")}`);
  const report = await runLoadtest(resolveOptions({ url, ...flags }), { print: (l) => console.error(l), persistProbe: probe, phase });
  console.error(formatSummary(report));
  return report;
}

type Figures = Omit<BenchResults, "date" | "command" | "workers" | "machine">;

/** Every figure of the bench, each on a quiet machine if one can be had. */
async function takeFigures(service: Child, bare: Child, probe: PersistProbe, pids: () => PidGroups): Promise<Figures> {
  const burstFlags = { scenario: "burst", coupons: String(BURST.coupons), calls: String(BURST.calls), concurrency: String(BURST.concurrency) };
  // The burst and its ceiling are compared: they are taken (and retaken) together.
  const [burst, ceiling] = await leastDisturbed("(a) burst and (c) ceiling", async () => [
    await measured("(a) burst", pids, (phase) => loadtest(service.url, burstFlags, probe, phase)),
    await measured("(c) ceiling: the same burst against a bare node:http server", pids, () => measureCeiling(bare.url, BURST.calls, BURST.concurrency)),
  ] as const);
  say(`ceiling: ${ceiling.value.throughputRps} calls/s, p50 ${ceiling.value.latencyMs.p50} ms, p99 ${ceiling.value.latencyMs.p99} ms`);
  const [seed] = await leastDisturbed("(b) seed", async () => [await measured("(b) seed", pids, (phase) => loadtest(service.url, { scenario: "seed" }, probe, phase))] as const);
  const client = new ControlClient(service.url);
  const creation: Array<Measured<CreationTiming>> = [];
  // Taken once each: every try adds its codes to the unique index, so a retry would measure a bigger table.
  for (const size of CREATION_SIZES) {
    const timing = await measured(`creating a campaign of ${size} codes`, pids, () => timeCreation(client, size));
    creation.push(timing);
    say(timing.value.ms === null ? `${size} codes: ${timing.value.error}` : `${size} codes loaded in ${timing.value.ms} ms`);
  }
  await client.close();
  return { burst, ceiling, seed, creation };
}

async function main(): Promise<number> {
  const machine = await describeMachine(MYSQL_URI, REDIS_URL);
  const prefix = `bench:${process.pid}:`;
  await dropDatabase(MYSQL_URI, DATABASE);
  const service = await startService(prefix);
  const bare = await startBareServer();
  const mysqlProbe = await mysqlPersistProbe(`${MYSQL_URI}/${DATABASE}`);
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await mysqlProbe.close().catch(() => undefined);
      await Promise.all([service.stop(), bare.stop()]);
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
  const pids = (): PidGroups => ({
    service: withDescendants([service.process.pid ?? 0]),
    redis: pidsNamed(["redis-server"]),
    mariadb: pidsNamed(["mariadbd"]),
    generator: [process.pid],
    bare: [bare.process.pid ?? 0],
  });
  try {
    const figures = await takeFigures(service, bare, mysqlProbe.probe, pids);
    // The service inherits our environment, so WORKERS=1 npm run bench measures one process.
    const workers = process.env.WORKERS ? `WORKERS=${process.env.WORKERS}` : `WORKERS default: one process per core, ${machine.cores}`;
    const command = process.env.WORKERS ? `WORKERS=${process.env.WORKERS} npm run bench` : "npm run bench";
    const markdown = renderBenchmarks({ date: new Date(), command, workers, machine, ...figures });
    mkdirSync(`${ROOT}docs`, { recursive: true });
    writeFileSync(`${ROOT}docs/benchmarks.md`, markdown);
    console.log(markdown);
    return figures.burst.value.integrity.ok && figures.seed.value.integrity.ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error("bench failed:", err);
    process.exit(1);
  },
);
