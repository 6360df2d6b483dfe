import { describe, expect, it } from "vitest";
import type { IssueOutcome } from "../http/connect-outcome.js";
import type { CallRecord } from "../stats/call-log.js";
import { judgeStartInstant } from "./boundary-checks.js";

const START = 1_800_000_000_000;
const WON: IssueOutcome = { ok: true, code: "가나12다라마바", sequence: 1 };
const NOT_STARTED: IssueOutcome = { ok: false, error: "failed_precondition", message: "has not started yet" };

function call(sentOffsetMs: number, receivedOffsetMs: number, outcome: IssueOutcome): CallRecord {
  return { campaign: 0, userId: "u", sentAtMs: START + sentOffsetMs, receivedAtMs: START + receivedOffsetMs, latencyMs: 1, outcome, probe: false };
}

describe("the start-instant verdict", () => {
  it("accepts refusals before the instant and successes after it, including a call sent just before and answered after", () => {
    expect(judgeStartInstant([call(-10, -9, NOT_STARTED), call(-1, 1, WON), call(0, 1, WON)], START)).toEqual([]);
  });

  it("flags a success answered before the instant", () => {
    expect(judgeStartInstant([call(-10, -7, WON), call(5, 6, WON)], START)).toEqual([
      "1 calls succeeded before the start instant (the first answered 7 ms before it)",
    ]);
  });

  it("flags a call sent at or after the instant and refused as not started", () => {
    expect(judgeStartInstant([call(-5, -4, NOT_STARTED), call(0, 2, NOT_STARTED), call(3, 4, WON)], START)).toEqual([
      "1 calls sent at or after the start instant were refused as not started (the latest sent 0 ms after it)",
    ]);
  });

  it("flags other failures, and a window that never reached across the instant", () => {
    const unavailable: IssueOutcome = { ok: false, error: "unavailable", message: "Redis down" };
    expect(judgeStartInstant([call(1, 2, unavailable)], START)).toEqual([
      "around the start instant, with a code for every caller, calls failed with 1 × unavailable",
      "the calls did not straddle the start instant (0 sent before it, 0 succeeded): nothing was tested; raise --lead",
    ]);
  });
});
