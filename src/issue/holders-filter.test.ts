import { describe, expect, it } from "vitest";
import { HoldersFilter } from "./holders-filter.js";

describe("the holders filter", () => {
  it("never says a holder holds nothing, and rarely says so of others", () => {
    const holders = Array.from({ length: 100_000 }, (_, i) => `user-${i}@example.com`);
    const filter = new HoldersFilter(holders.length);
    for (const u of holders) filter.add(u);
    expect(holders.filter((u) => !filter.mayHold(u))).toEqual([]);
    const strangers = Array.from({ length: 100_000 }, (_, i) => `stranger-${i}`);
    const falsePositives = strangers.filter((u) => filter.mayHold(u)).length;
    expect(falsePositives / strangers.length).toBeLessThan(0.02);
  });

  it("keeps a campaign of 8 sub-pools at about 1 % when a caller is asked of all 8 filters", () => {
    const filters = Array.from({ length: 8 }, (_, j) => {
      const f = new HoldersFilter(10_000, 0.01 / 8);
      for (let i = 0; i < 10_000; i++) f.add(`user-${j}-${i}`);
      return f;
    });
    const strangers = Array.from({ length: 100_000 }, (_, i) => `stranger-${i}`);
    const falsePositives = strangers.filter((u) => filters.some((f) => f.mayHold(u))).length;
    expect(falsePositives / strangers.length).toBeLessThan(0.015);
  });
});
