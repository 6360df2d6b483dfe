import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usersHomedAt } from "../testing/sub-pools.js";
import { createLoadedCampaign, startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";

let s: TestService;
/** Issue scripts this instance sent to Redis: the round trips a local refusal saves. */
let scripts = 0;

beforeAll(async () => {
  s = await startTestService();
  // Counts the issue scripts IssueCoupon sends (the real connection underneath, nothing faked).
  const redis = s.deps.redis;
  const issueScripts = new Set(["issueCoupon", "issueCouponSharded", "issueCouponLimited"]);
  s.deps.redis = new Proxy(redis, {
    get(target, name) {
      if (typeof name === "string" && issueScripts.has(name)) {
        const script = Reflect.get(target, name) as (...args: unknown[]) => Promise<unknown[]>;
        return (...args: unknown[]) => {
          scripts++;
          return script.apply(target, args);
        };
      }
      const value: unknown = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function refusal(campaignId: bigint, userId: string): Promise<ConnectError> {
  return ConnectError.from(await s.json.issueCoupon({ campaignId, userId }).then(
    () => new Error(`issued to ${userId}`),
    (e: unknown) => e,
  ));
}

describe("refusals an instance already knows", () => {
  it("after a sell-out, refuses anonymous callers and named callers who hold no code without asking Redis; holders still get their code", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 20 });
    const held = new Map<string, string>();
    for (let i = 0; i < 20; i++) held.set(`holder-${i}`, (await s.json.issueCoupon({ campaignId, userId: `holder-${i}` })).couponCode);
    const first = await refusal(campaignId, "");
    expect(first.code).toBe(Code.ResourceExhausted);
    expect(first.rawMessage).toBe(`campaign ${campaignId} is sold out`);

    const before = scripts;
    for (let i = 0; i < 50; i++) expect((await refusal(campaignId, "")).rawMessage).toBe(`campaign ${campaignId} is sold out`);
    expect(scripts - before).toBeLessThanOrEqual(1); // at most the once-a-second re-check

    // Once the instance has read the holders, a named caller with no code is refused locally too.
    await waitFor("named refusals to be answered locally", async () => {
      const was = scripts;
      const err = await refusal(campaignId, "never-got-one");
      expect(err.rawMessage).toBe(`campaign ${campaignId} is sold out`);
      return scripts === was ? true : undefined;
    });
    const named = scripts;
    for (let i = 0; i < 50; i++) expect((await refusal(campaignId, `latecomer-${i}`)).code).toBe(Code.ResourceExhausted);
    expect(scripts - named).toBeLessThanOrEqual(3); // Bloom false positives, or the re-check, ask Redis

    // A holder is never refused: they ask Redis and get their own code back.
    for (const [user, code] of held) {
      const again = await s.json.issueCoupon({ campaignId, userId: user });
      expect(again.couponCode).toBe(code);
    }
  });

  it("asks Redis again at least once a second, so a refusal it remembers is never more than a second old", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 1 });
    await s.json.issueCoupon({ campaignId, userId: "" });
    await refusal(campaignId, "");
    const before = scripts;
    const started = performance.now();
    await waitFor("a refusal to go back to Redis", async () => {
      await refusal(campaignId, "");
      return scripts > before ? true : undefined;
    }, 3000, 10);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it("before the start, refuses without Redis while Redis's clock is safely before it, and issues from the start instant on", async () => {
    const { campaignId, startMs } = await createLoadedCampaign(s.json, { total: 5, startInMs: 1500 });
    const first = await refusal(campaignId, "early");
    expect(first.code).toBe(Code.FailedPrecondition);
    expect(first.rawMessage).toBe(`campaign ${campaignId} has not started yet; it opens at ${new Date(startMs).toISOString()}`);
    const before = scripts;
    for (let i = 0; i < 30; i++) expect((await refusal(campaignId, `early-${i}`)).rawMessage).toBe(first.rawMessage);
    expect(scripts - before).toBeLessThanOrEqual(1);

    const issued = await waitFor("the campaign to open", async () => {
      try {
        return await s.json.issueCoupon({ campaignId, userId: "on-time" });
      } catch (e) {
        expect(ConnectError.from(e).rawMessage).toBe(first.rawMessage);
        return undefined;
      }
    }, 5000, 5);
    expect(issued.sequence).toBe(1n);
    // Redis's clock decided the opening: its own stamp on the issue is at or after the start.
    const [entry] = await s.deps.bulkRedis.xrange(s.deps.keys.campaign(campaignId).stream, "-", "+", "COUNT", 1);
    expect(Number(entry![0].split("-")[0])).toBeGreaterThanOrEqual(startMs);
  });

  it("on a campaign split into sub-pools, passes over empty sub-pools without Redis, but never over the one holding a named caller's code", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 40, shards: 4 });
    // Forty users of one home sub-pool: ten get its codes, the others walk on to sub-pools 1, 2, 3.
    const users = usersHomedAt(0, 4, 40, "sharded-");
    const held = new Map<string, string>();
    for (const u of users) held.set(u, (await s.json.issueCoupon({ campaignId, userId: u })).couponCode);
    expect((await refusal(campaignId, "")).rawMessage).toBe(`campaign ${campaignId} is sold out`);

    const before = scripts;
    for (let i = 0; i < 50; i++) expect((await refusal(campaignId, "")).rawMessage).toBe(`campaign ${campaignId} is sold out`);
    expect(scripts - before).toBeLessThanOrEqual(4); // at most one re-check of the four sub-pools

    await waitFor("named refusals to be answered locally", async () => {
      const was = scripts;
      expect((await refusal(campaignId, "never-got-one")).rawMessage).toBe(`campaign ${campaignId} is sold out`);
      return scripts === was ? true : undefined;
    });

    // Holders get their own code back, asking about one sub-pool each: a walk that asked
    // every sub-pool on the way would cost 2.5 per holder here.
    const holders = scripts;
    for (const [user, code] of held) expect((await s.json.issueCoupon({ campaignId, userId: user })).couponCode).toBe(code);
    expect(scripts - holders).toBeLessThanOrEqual(held.size * 1.2);
  });
});
