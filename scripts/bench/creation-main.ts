import { fileURLToPath } from "node:url";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { benchPids, type PidGroups } from "./box-load.js";
import { startBenchService } from "./child-process.js";
import { measureCreationFigures } from "./creation-figures.js";
import { renderCreation } from "./creation-markdown.js";
import { dropDatabase } from "./mysql-probe.js";
import { deleteKeysWithPrefix } from "./redis-cleanup.js";
import { runEntry } from "./entry.js";

/**
 * `npm run bench:creation [-- --creation-10m]`: the campaign-creation and Redis-memory section of
 * `npm run bench` alone (the same code, ./creation-figures.ts), printed as markdown and not written
 * to docs/benchmarks.md: for working on creation without the IssueCoupon rounds. Its own database
 * and Redis prefix, removed at the end.
 */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url));
const MYSQL_URI = "mysql://root@127.0.0.1:3306";
const REDIS_URL = "redis://127.0.0.1:6379";
const DATABASE = "coupons_bench_creation";
const say = (line: string) => console.error(`bench: ${line}`);

async function main(): Promise<number> {
  const prefix = `bench-creation:${process.pid}:`;
  await dropDatabase(MYSQL_URI, DATABASE);
  const service = await startBenchService(ROOT, `${MYSQL_URI}/${DATABASE}`, REDIS_URL, prefix);
  const client = new ControlClient(service.url);
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await client.close().catch(() => undefined);
      await service.stop();
      await dropDatabase(MYSQL_URI, DATABASE);
      await deleteKeysWithPrefix(REDIS_URL, prefix);
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  const pids = (): PidGroups => benchPids(service.process.pid ?? 0);
  try {
    const figures = await measureCreationFigures({
      root: ROOT,
      client,
      service: { url: service.url, pid: service.process.pid ?? 0 },
      pids,
      databaseUrl: `${MYSQL_URI}/${DATABASE}`,
      redisUrl: REDIS_URL,
      prefix,
      say,
      tenMillion: process.argv.includes("--creation-10m"),
    });
    console.log(renderCreation(figures).join("\n"));
    return 0;
  } finally {
    await cleanup();
  }
}

runEntry(main);
