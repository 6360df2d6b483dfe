import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, stopTestService, type TestService } from "../../../src/testing/harness.js";
import { resolveOptions } from "../options.js";
import { runLoadtest } from "../run.js";
import { judgeEndInstant, judgePause } from "./lifecycle-checks.js";
import type { CallRecord } from "../stats/call-log.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

const ok = (sentAtMs: number, receivedAtMs = sentAtMs + 1): CallRecord => ({
  campaign: 0,
  userId: "u",
  sentAtMs,
  receivedAtMs,
  latencyMs: 1,
  outcome: { ok: true, code: "c", sequence: 1 },
  probe: false,
});
const refused = (sentAtMs: number, error: string, message: string): CallRecord => ({
  ...ok(sentAtMs),
  outcome: { ok: false, error, message },
});

describe("loadtest lifecycle scenario", () => {
  it("holds its integrity verdict against the real service: a pause mid-burst and a burst across the end instant", async () => {
    const report = await runLoadtest(
      resolveOptions({ url: s.url, scenario: "lifecycle", coupons: "1500", calls: "2500", concurrency: "32", duration: "1", lead: "1" }),
    );
    expect(report.integrity.violations).toEqual([]);
    expect(report.integrity.ok).toBe(true);
  });

  it("names the violations it is there to catch", () => {
    const w = { pauseCalledAt: 100, pauseReturnedAt: 110, resumeCalledAt: 200, resumeReturnedAt: 210 };
    const paused = (t: number) => refused(t, "failed_precondition", "campaign 1 is paused");
    expect(judgePause([ok(50), paused(120), ok(150, 160), ok(300)], 10, w, [1, 1, 2])).toEqual([
      "1 calls sent and answered while the campaign was paused succeeded",
      "the issued count moved during the pause: 1 → 2",
    ]);
    const ended = (t: number) => refused(t, "failed_precondition", "campaign 1 has ended; it closed at …");
    expect(judgeEndInstant([ok(900), ok(1000), ended(980)], 1000, [900, 1001])).toEqual([
      "1 calls sent at or after the end instant succeeded (the latest sent 0 ms after it)",
      "1 calls were refused as ended before the end instant",
      "1 coupons carry an issue time at or after the end instant",
    ]);
  });
});
