import { describe, expect, it } from "vitest";
import { encodeCode } from "../../../src/codes/code-format.js";
import type { CampaignRun } from "../campaigns.js";
import { checkCodes, checkCounts, checkSequences } from "./call-checks.js";
import type { CampaignCalls, Received } from "./issued-view.js";

const run: CampaignRun = { index: 0, id: "7", coupons: 3, startMs: 0, expect: "min" };
const code = (n: number) => encodeCode(0, n);
const received = (n: number): Received[] => Array.from({ length: n }, (_, i) => ({ code: code(i), sequence: i + 1, userId: `u${i}`, campaign: 0 }));

function calls(over: Partial<CampaignCalls>): CampaignCalls {
  return { run, calls: 5, successes: 3, failures: new Map([["resource_exhausted", 2]]), sampleMessages: new Map(), received: received(3), ...over };
}

describe("what callers were answered", () => {
  it("accepts exactly min(calls, coupons) successes and sold-out answers for the rest", () => {
    expect([...checkCounts(calls({})), ...checkSequences(calls({})), ...checkCodes(received(3))]).toEqual([]);
  });

  it("flags too many winners", () => {
    expect(checkCounts(calls({ successes: 4, failures: new Map([["resource_exhausted", 1]]) }))).toEqual([
      "campaign 7: 4 of 5 calls succeeded for 3 coupons; expected exactly 3",
    ]);
  });

  it("flags sold-out answers while coupons remained, and any other failure code with its first message", () => {
    const c = calls({
      successes: 2,
      failures: new Map([["resource_exhausted", 2], ["unavailable", 1]]),
      sampleMessages: new Map([["unavailable", "Redis is down"]]),
    });
    expect(checkCounts(c)).toEqual([
      "campaign 7: 2 of 5 calls succeeded for 3 coupons; expected exactly 3",
      "campaign 7: 2 calls were told sold out while only 2 of 3 coupons had been issued",
      'campaign 7: calls failed with 1 × unavailable (first unavailable: "Redis is down")',
    ]);
  });

  it("flags a repeated or out-of-range sequence", () => {
    const r = received(3);
    r[2]!.sequence = 2;
    expect(checkSequences(calls({ received: r }))).toEqual([`campaign 7: 1 coupons carry a sequence outside 1..3 or a repeated one: ${code(2)} #2`]);
  });

  it("flags a code handed to two callers and a code that is not well-formed", () => {
    const r = [...received(2), { code: code(0), sequence: 3, userId: "u9", campaign: 1 }, { code: "ABC", sequence: 4, userId: "u8", campaign: 1 }];
    expect(checkCodes(r)).toEqual([`1 codes are not well-formed: "ABC"`, `1 codes were handed out more than once: ${code(0)} (to u0 and u9)`]);
  });
});
