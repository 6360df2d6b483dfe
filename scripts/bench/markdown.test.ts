import { describe, expect, it } from "vitest";
import { exampleCreationFigures } from "./creation-figures-example.js";
import { exampleIssueFigures } from "./issue-figures-example.js";
import { renderBenchmarks, type BenchResults } from "./markdown.js";
import { exampleRoundTrips } from "./round-trips-example.js";

const results: BenchResults = {
  date: new Date("2026-11-26T06:00:00Z"),
  command: "npm run bench",
  workers: "WORKERS default: one process per core, 2",
  machine: { cores: 2, cpuModel: "AMD EPYC", memoryGb: 24, node: "v20.20.2", mysql: "10.11", redis: "7.0.15" },
  issue: exampleIssueFigures(),
  creation: exampleCreationFigures(),
  roundTrips: exampleRoundTrips(),
  shards: 1,
};

describe("docs/benchmarks.md", () => {
  it("states the machine, the IssueCoupon figures against the bare server and the creation rates", () => {
    const md = renderBenchmarks(results);
    expect(md).toContain("2 cores (AMD EPYC), 24 GB RAM, Node v20.20.2, MariaDB 10.11, Redis 7.0.15.");
    expect(md).toContain("## IssueCoupon against a bare node:http server");
    expect(md).toContain("- **Service ÷ bare: 0.40×** (target ≥ 0.6×: **not met**).");
    expect(md).toContain("| service, warm-up | 100,000 | 2.00 s | 50,000 |");
    expect(md).toContain("## Sub-pools: Redis round trips per IssueCoupon");
    expect(md).not.toContain("sub-pools each (`--shards");
  });

  it("says when the campaigns were split into sub-pools by --shards", () => {
    const md = renderBenchmarks({ ...results, command: "npm run bench -- --shards 8", shards: 8 });
    expect(md).toContain("Produced by `npm run bench -- --shards 8`");
    expect(md).toContain("The campaigns of the IssueCoupon and creation figures are split into 8 sub-pools each (`--shards 8`)");
  });
});
