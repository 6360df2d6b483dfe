import { describe, expect, it } from "vitest";
import { exampleRoundTrips } from "./round-trips-example.js";
import { renderRoundTrips } from "./round-trips-markdown.js";

describe("docs/benchmarks.md, Redis round trips per IssueCoupon", () => {
  it("shows each phase's scripts per call for one pool and for 8 sub-pools, with the counts they come from", () => {
    const md = renderRoundTrips(exampleRoundTrips()).join("\n");
    expect(md).toContain("| phase | K = 1 | K = 8 | expected (K = 1 · K = 8) |");
    expect(md).toContain("| (a) per issue, a burst that sells the campaign out, skewed named callers | **1.000** (40,000 ÷ 40,000) | **1.020** (40,800 ÷ 40,000) | 1 · a little above 1 |");
    expect(md).toContain("| (c) per refusal after the sell-out, named callers who never got a code | **0.008** (160 ÷ 20,000) | **0.060** (1,200 ÷ 20,000) |");
    expect(md).toContain("| HSCAN pages in (a)–(d) | 40 | 48 | – |");
    expect(md).toContain("- **Per issue, K = 8: 1.020** against 1.000 for one pool: the 2 % more are calls");
    expect(md).toContain("- (d), K = 8: 5,000 of the 20,000 holders asking again had got their code from a sub-pool other than their home one.");
    expect(md).toContain("Every burst call issued a distinct code, every refusal was sold out, every holder got its own code back.");
  });

  it("says where the figures came from when the section was taken alone, and names wrong answers", () => {
    const figures = { ...exampleRoundTrips(), violations: ["K=8, holders not given their own code again: 3 calls"] };
    const md = renderRoundTrips(figures, "From `node dist/scripts/bench/round-trips-main.js` at 2026-12-02 19:00 UTC.").join("\n");
    expect(md).toContain("From `node dist/scripts/bench/round-trips-main.js` at 2026-12-02 19:00 UTC.");
    expect(md).toContain("**Wrong answers:** K=8, holders not given their own code again: 3 calls.");
  });
});
