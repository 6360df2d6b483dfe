import type { CreationFigures } from "./creation-figures.js";
import { renderCreation } from "./creation-markdown.js";
import type { IssueFigures } from "./issue-figures.js";
import { renderIssueFigures } from "./issue-markdown.js";
import type { Machine } from "./machine.js";
import type { RoundTripFigures } from "./round-trips.js";
import { renderRoundTrips } from "./round-trips-markdown.js";

export type BenchResults = {
  date: Date;
  command: string;
  /** The service's node:cluster processes: WORKERS from the environment, else its default (one per core). */
  workers: string;
  machine: Machine;
  /** IssueCoupon against the bare node:http server (./issue-figures.ts). */
  issue: IssueFigures;
  /** Campaign creation against a bare LOAD DATA, and Redis memory per code (./creation-figures.ts). */
  creation: CreationFigures;
  /** Redis round trips per IssueCoupon with one pool and with 8 sub-pools (./round-trips.ts). */
  roundTrips: RoundTripFigures | { error: string };
  /** `--shards K`: the sub-pools of the IssueCoupon and creation figures' campaigns (1: one pool). */
  shards: number;
};

/** docs/benchmarks.md: the figures of one `npm run bench`, with what they were measured on. */
export function renderBenchmarks(b: BenchResults): string {
  const m = b.machine;
  return [
    "# Benchmarks",
    "",
    `Produced by \`${b.command}\` on ${b.date.toISOString().slice(0, 16).replace("T", " ")} UTC; the same command regenerates this file.`,
    "The test suite asserts no timings: figures live here only.",
    ...(b.shards > 1
      ? [`The campaigns of the IssueCoupon and creation figures are split into ${b.shards} sub-pools each (\`--shards ${b.shards}\`); the Redis memory figures' campaigns have one pool.`]
      : []),
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
    "The before/after CPU profile of one worker under load, taken by hand, is in [profile.md](profile.md).",
    "",
    ...renderIssueFigures(b.issue),
    "",
    ...("error" in b.roundTrips ? ["## Sub-pools: Redis round trips per IssueCoupon", "", `Not measured: ${b.roundTrips.error}.`, ""] : renderRoundTrips(b.roundTrips)),
    ...renderCreation(b.creation),
  ].join("\n");
}
