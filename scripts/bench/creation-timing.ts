import { waitUntilLoaded } from "../loadtest/campaigns.js";
import type { ControlClient } from "../loadtest/rpc/control-client.js";

/** `ms` null: the pool was not loaded within the time limit (`error` says so). */
export type CreationTiming = { coupons: number; ms: number | null; codesPerSecond: number | null; error?: string; campaignId?: string };

/** The longest a bench waits for one pool to load by default, in ms: far beyond any healthy load here. */
const LOAD_LIMIT_MS = 600_000;

/**
 * Time from CreateCampaign to a loaded pool (every code generated, in MySQL and in Redis), as a
 * user sees it: GetCampaign polled every 50 ms until the campaign stops reading LOADING. A load
 * that does not finish is a figure too ("did not load within …"), not the end of the bench.
 */
export async function timeCreation(client: ControlClient, coupons: number, limitMs = LOAD_LIMIT_MS, shards = 1): Promise<CreationTiming> {
  const t0 = performance.now();
  // An hour ahead: nobody issues from this pool while it is being timed.
  const id = await client.createCampaign(`bench creation ${coupons}`, Date.now() + 3_600_000, coupons, shards);
  try {
    await waitUntilLoaded(client, [{ index: 0, id, coupons, startMs: 0, expect: "min" }], limitMs);
  } catch (err) {
    return { coupons, ms: null, codesPerSecond: null, error: (err as Error).message, campaignId: id };
  }
  const ms = performance.now() - t0;
  return { coupons, ms: Math.round(ms), codesPerSecond: Math.round(coupons / (ms / 1000)), campaignId: id };
}
