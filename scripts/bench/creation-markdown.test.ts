import { describe, expect, it } from "vitest";
import { exampleCreationFigures } from "./creation-figures-example.js";
import { renderCreation } from "./creation-markdown.js";

describe("docs/benchmarks.md, campaign creation", () => {
  it("shows each round's creation beside its bare LOAD DATA, the median same-run ratio and the memory per code", () => {
    const md = renderCreation(exampleCreationFigures()).join("\n");
    expect(md).toContain("| round 1: service | 1,000,000 | 10.00 s | 100,000 | 6.0 | 12.0 | 1.0 | 98 % / 3 % |");
    expect(md).toContain("| round 3: bare LOAD DATA | 1,000,000 | 5.00 s | 200,000 |");
    expect(md).toContain("- **Service ÷ bare LOAD DATA: 80 %**, the median of the rounds' 80 %, 90 %, 50 % (target ≥ 80 %: **met**).");
    expect(md).toContain("- **Per pooled code: 19.5 B** (target ≤ 64 B).");
    expect(md).toContain("- **Per issued code: 110 B** until its stream entry is persisted and deleted, 60 B after (the users hash alone).");
    expect(md).toContain("Not taken in this run: `npm run bench -- --creation-10m` adds it");
  });

  it("shows the 10,000,000-code load with the service's peak memory and IssueCoupon's latency meanwhile", () => {
    const figures = exampleCreationFigures();
    figures.tenMillion = {
      timing: { coupons: 10_000_000, ms: 200_000, codesPerSecond: 50_000 },
      peakRssMb: 420,
      peakProcessRssMb: 180,
      issue: { ratePerSecond: 100, calls: 20_000, issued: 20_000, failed: 0, p50Ms: 1.2, p99Ms: 8.5, maxMs: 40 },
    };
    const md = renderCreation(figures).join("\n");
    expect(md).toContain("200.00 s (50,000 codes/s)");
    expect(md).toContain("**420 MB** together, 180 MB the largest one");
    expect(md).toContain("**p50 1.2 ms, p99 8.5 ms**, max 40 ms.");
  });
});
