import { waitUntilLoaded, loadTimeoutMs } from "../loadtest/campaigns.js";
import type { ControlClient } from "../loadtest/rpc/control-client.js";

export type CreationTiming = { coupons: number; ms: number; codesPerSecond: number };

/**
 * Time from CreateCampaign to a loaded pool (every code generated, in MySQL and in Redis), as a
 * user sees it: GetCampaign polled every 50 ms until the campaign stops reading LOADING.
 */
export async function timeCreation(client: ControlClient, coupons: number): Promise<CreationTiming> {
  const t0 = performance.now();
  // An hour ahead: nobody issues from this pool while it is being timed.
  const id = await client.createCampaign(`bench creation ${coupons}`, Date.now() + 3_600_000, coupons);
  await waitUntilLoaded(client, [{ index: 0, id, coupons, startMs: 0, expect: "min" }], loadTimeoutMs(coupons));
  const ms = performance.now() - t0;
  return { coupons, ms: Math.round(ms), codesPerSecond: Math.round(coupons / (ms / 1000)) };
}
