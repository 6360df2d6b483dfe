import { describe, expect, it } from "vitest";
import { constantRate, rampRate } from "./schedule.js";

describe("arrival schedules", () => {
  it("spreads calls evenly over the duration", () => {
    const s = constantRate(10_000, 10_000);
    expect(s.calls).toBe(10_000);
    expect([s.offsetMs(0), s.offsetMs(1), s.offsetMs(9_999)]).toEqual([0, 1, 9_999]);
  });

  it("ramps from the first rate to the second: as many calls as the area under the ramp, due ever closer together", () => {
    const s = rampRate(500, 3000, 10_000);
    expect(s.calls).toBe(17_500);
    expect(s.offsetMs(0)).toBe(0);
    // The last call is due just before the end; the gaps shrink from 1/500 s to 1/3000 s.
    expect(s.offsetMs(s.calls)).toBeCloseTo(10_000, 6);
    expect(s.offsetMs(1) - s.offsetMs(0)).toBeCloseTo(2, 2);
    expect(s.offsetMs(s.calls) - s.offsetMs(s.calls - 1)).toBeCloseTo(1 / 3, 2);
  });

  it("treats a flat ramp as a constant rate", () => {
    const s = rampRate(100, 100, 2000);
    expect(s.calls).toBe(200);
    expect(s.offsetMs(100)).toBe(1000);
  });
});
