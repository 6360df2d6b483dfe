import { sleepMs, wallNowMs } from "./clock.js";
import type { CampaignState, ControlClient } from "./rpc/control-client.js";

/** A campaign the run created, and what a correct service must do with it. */
export type CampaignRun = {
  /** Index in the run's campaign list (what CallRecord.campaign points at). */
  index: number;
  id: string;
  coupons: number;
  /** Sub-pools (CreateCampaign `shards`); absent or 1: one pool. */
  shards?: number;
  startMs: number;
  /**
   * "min": successes must be exactly min(calls, coupons) and every failure a sold-out answer.
   * "scenario": the scenario judges the calls itself (the boundary's start-instant campaign).
   */
  expect: "min" | "scenario";
  /** The state GetCampaign must read after the run; default: sold out if every coupon went, else open. */
  finalState?: CampaignState;
};

/** How often to look at a loading campaign, in ms. */
const LOAD_POLL_MS = 50;

/**
 * Creates campaigns that all open at `startMs`, each split into `shards` sub-pools. Their pools
 * load in the background: call `waitUntilLoaded` before relying on them.
 */
export async function createCampaigns(
  client: ControlClient,
  specs: ReadonlyArray<{ name: string; coupons: number; expect?: CampaignRun["expect"] }>,
  startMs: number,
  shards = 1,
): Promise<CampaignRun[]> {
  const runs: CampaignRun[] = [];
  for (const [index, spec] of specs.entries()) {
    const id = await client.createCampaign(spec.name, startMs, spec.coupons, shards);
    runs.push({ index, id, coupons: spec.coupons, shards, startMs, expect: spec.expect ?? "min" });
  }
  return runs;
}

/** Waits until no campaign reads LOADING; returns the wall-clock ms when the last one was seen loaded. */
export async function waitUntilLoaded(client: ControlClient, runs: readonly CampaignRun[], timeoutMs: number): Promise<number> {
  const deadline = wallNowMs() + timeoutMs;
  const pending = new Set(runs.map((r) => r.id));
  while (pending.size > 0) {
    for (const id of [...pending]) {
      const { campaign } = await client.getCampaign(id);
      if (campaign.state !== "CAMPAIGN_STATE_LOADING") pending.delete(id);
    }
    if (pending.size === 0) break;
    if (wallNowMs() > deadline) throw new Error(`campaigns ${[...pending].join(", ")} were still loading after ${timeoutMs} ms`);
    await sleepMs(LOAD_POLL_MS);
  }
  return wallNowMs();
}

/**
 * Long enough to load `coupons` codes at ten times slower than the slowest rate seen here
 * (~50k codes/s on a cold MySQL): loads slow down as the unique index on codes outgrows
 * MySQL's buffer pool, and a database that many runs have filled is the normal case.
 */
export function loadTimeoutMs(coupons: number): number {
  return 120_000 + coupons / 5;
}
