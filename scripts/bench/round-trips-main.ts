import { fileURLToPath } from "node:url";
import { measureRoundTrips } from "./round-trips.js";
import { renderRoundTrips } from "./round-trips-markdown.js";
import { runEntry } from "./entry.js";

/**
 * The round-trips section of `npm run bench` alone (the same code, ./round-trips.ts), for
 * working on sub-pools without the other figures:
 *
 *   npm run build && node dist/scripts/bench/round-trips-main.js
 *
 * Prints the section's markdown, with a line saying where it came from, and does not write
 * docs/benchmarks.md (only the whole bench does). Its service, database and private Redis are
 * removed at the end, also on Ctrl-C.
 */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url));
const MYSQL_URI = "mysql://root@127.0.0.1:3306";
const COMMAND = "npm run build && node dist/scripts/bench/round-trips-main.js";
const say = (line: string) => console.error(`bench: ${line}`);

async function main(): Promise<number> {
  const deferred: Array<() => Promise<void>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const task of [...deferred].reverse()) await task().catch(() => undefined);
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    const figures = await measureRoundTrips({ root: ROOT, mysqlUri: MYSQL_URI, say, defer: (task) => void deferred.push(task) });
    const at = new Date().toISOString().slice(0, 16).replace("T", " ");
    const source = `From \`${COMMAND}\` (this section alone) at ${at} UTC, pasted in by hand; \`npm run bench\` regenerates it with the rest.`;
    console.log(renderRoundTrips(figures, source).join("\n"));
    return figures.violations.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

runEntry(main);
