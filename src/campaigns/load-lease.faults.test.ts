import { Redis } from "ioredis";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { recordFault } from "../testing/fault-report.js";
import { startTestService, stopTestService, TEST_REDIS_URL, testNamespace, waitFor, type TestService } from "../testing/harness.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { LoadStep } from "./load-pool.js";

/**
 * Fault 14.4: loader A stalls past its load lease (a long GC pause, a frozen VM) and resumes after
 * instance B took the load over. Both instances share one namespace; A is held up by the loader's
 * test seam right before a write, exactly where a stall would hurt most.
 */
const TOTAL = 30_000; // 6 chunks
const ns = testNamespace();
let a: TestService;
let b: TestService;
let direct: Redis;

beforeAll(async () => {
  // A short lease, so B takes over within a couple of seconds.
  a = await startTestService({ LOAD_LEASE_MS: "1000" }, undefined, ns);
  b = await startTestService({ LOAD_LEASE_MS: "1000" }, undefined, ns);
  direct = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  direct?.disconnect();
  if (a) await stopTestService(a, { keepData: true });
  if (b) await stopTestService(b);
});

/** Makes A's loader stop at `step` (of chunk `chunk`) until the returned release is called. */
function stallLoaderA(step: LoadStep, chunk: number) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reached = false;
  a.deps.loader.beforeStep = async (_id, s, c) => {
    if (s === step && c === chunk && !reached) {
      reached = true;
      await gate;
    }
  };
  return { release, reached: () => reached };
}

async function loadTakenOverWhileAStalls(step: LoadStep, chunk: number) {
  const stall = stallLoaderA(step, chunk);
  const { campaignId } = await a.json.createCampaign({
    name: `stalled at ${step}`,
    startTime: timestampFromMs(Date.now() - 1000),
    totalCoupons: BigInt(TOTAL),
  });
  await waitFor("loader A to stall", () => (stall.reached() ? true : undefined));
  // B's load recovery takes the expired lease and loads the pool from scratch.
  await waitFor("B to finish the load", async () => {
    const c = (await b.json.getCampaign({ campaignId })).campaign;
    return c?.state === CampaignState.OPEN ? true : undefined;
  }, 30_000);
  await b.json.pauseCampaign({ campaignId });
  stall.release();
  await a.deps.loader.idle(); // A resumes, finds itself fenced out, and stops
  a.deps.loader.beforeStep = undefined;

  const k = b.deps.keys.campaign(campaignId);
  const pool = await direct.lrange(k.pool, 0, -1);
  const meta = await direct.hgetall(k.meta);
  const [rows] = await b.deps.db.$client.query<RowDataPacket[]>(
    "SELECT status, loaded, load_fence, paused_at IS NOT NULL AS paused FROM campaigns WHERE id = ?",
    [Number(campaignId)],
  );
  const c = (await b.json.getCampaign({ campaignId })).campaign!;
  return { campaignId, pool, meta, row: rows[0]!, campaign: c };
}

describe("a loader that stalls past its lease while another instance takes the load over", () => {
  it("cannot push into the new loader's pool: no duplicate, the final state is B's, the pause made meanwhile survives", async () => {
    const r = await loadTakenOverWhileAStalls("push", 2);
    expect(r.pool.length).toBe(TOTAL);
    expect(new Set(r.pool).size).toBe(TOTAL);
    expect(r.meta).toMatchObject({ state: "paused", fence: "2", filled: String(TOTAL) });
    expect(r.row).toMatchObject({ status: "ready", loaded: TOTAL, load_fence: 2, paused: 1 });
    expect(r.campaign).toMatchObject({ state: CampaignState.PAUSED, loaded: BigInt(TOTAL), remaining: BigInt(TOTAL) });
    recordFault({
      fault: "loader stalls past its lease before pushing a chunk, another instance takes over, `src/campaigns/load-lease.faults.test.ts`",
      behaviour: "the stale loader's push is refused by the fill fence; the pool is the new loader's alone and a pause made meanwhile survives",
      calls: 0,
      issued: 0,
      duplicates: r.pool.length - new Set(r.pool).size,
      lostOwners: 0,
    });
  });

  it("cannot mark a pool ready or write loading progress over the finished campaign", async () => {
    const r = await loadTakenOverWhileAStalls("finish", 0);
    expect(r.pool.length).toBe(TOTAL);
    expect(new Set(r.pool).size).toBe(TOTAL);
    expect(r.meta).toMatchObject({ state: "paused", fence: "2" });
    expect(r.row).toMatchObject({ status: "ready", loaded: TOTAL, load_fence: 2, paused: 1 });
    recordFault({
      fault: "loader stalls past its lease before marking its pool ready, another instance takes over, `src/campaigns/load-lease.faults.test.ts`",
      behaviour: "the stale loader's MySQL status write is refused (not the lease holder) and it stops; the campaign stays as the new loader and the pause left it",
      calls: 0,
      issued: 0,
      duplicates: r.pool.length - new Set(r.pool).size,
      lostOwners: 0,
    });
  });
});
