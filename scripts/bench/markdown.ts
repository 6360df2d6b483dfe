import type { Measured } from "./box-load.js";
import type { CreationTiming } from "./creation-timing.js";
import type { IssueFigures } from "./issue-figures.js";
import { renderIssueFigures } from "./issue-markdown.js";
import type { Machine } from "./machine.js";

export type BenchResults = {
  date: Date;
  command: string;
  /** The service's node:cluster processes: WORKERS from the environment, else its default (one per core). */
  workers: string;
  machine: Machine;
  /** IssueCoupon against the bare node:http server (./issue-figures.ts). */
  issue: IssueFigures;
  creation: Array<Measured<CreationTiming>>;
};

const fmt = (n: number) => n.toLocaleString("en-US");
const load = (m: Measured<unknown>) => (m.load ? `${m.load.boxBusyPct} % / ${m.load.foreignPct} %` : "n/a");

const creationTime = (c: CreationTiming) => (c.ms === null ? `not loaded: ${c.error}` : `${(c.ms / 1000).toFixed(2)} s`);

/** docs/benchmarks.md: the figures of one `npm run bench`, with what they were measured on. */
export function renderBenchmarks(b: BenchResults): string {
  const m = b.machine;
  return [
    "# Benchmarks",
    "",
    `Produced by \`${b.command}\` on ${b.date.toISOString().slice(0, 16).replace("T", " ")} UTC; the same command regenerates this file.`,
    "The test suite asserts no timings: figures live here only.",
    "",
    "## Machine",
    "",
    `${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, MariaDB ${m.mysql}, Redis ${m.redis}.`,
    `The load generator, the services (production build \`node dist/src/main.js\`, ${b.workers}), Redis and MariaDB`,
    "all share these cores: every figure is a whole-machine figure, not the service's alone. The IssueCoupon figures alternate",
    "the servers they compare in rounds and report medians, so that a busy moment slows both sides of a ratio; their",
    "busy / foreign columns give, as shares of the whole machine, how busy it was during the runs and how much went to",
    "processes outside the bench (anything but the generator, the services, the bare server, Redis and MariaDB). Campaign",
    "creation waits until the machine is quiet (≤ 15 % busy) and is taken once (a retry would time a bigger index).",
    "",
    ...renderIssueFigures(b.issue),
    "",
    "## Campaign creation",
    "",
    "From CreateCampaign to a loaded pool (every code generated, written to MySQL and pushed to Redis), polled through",
    "GetCampaign every 50 ms.",
    "",
    "| codes | time | codes/s | busy / foreign |",
    "|---|---|---|---|",
    ...b.creation.map((c) => `| ${fmt(c.value.coupons)} | ${creationTime(c.value)} | ${c.value.codesPerSecond === null ? "–" : fmt(c.value.codesPerSecond)} | ${load(c)} |`),
    "",
  ].join("\n");
}
