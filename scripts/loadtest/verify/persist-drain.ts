import { sleepMs, wallNowMs } from "../clock.js";
import type { CampaignRun } from "../campaigns.js";
import type { ControlClient } from "../rpc/control-client.js";
import type { CampaignCalls } from "./issued-view.js";

/** How many of a campaign's issued owners are written to MySQL. */
export type PersistProbe = (run: CampaignRun) => Promise<number>;

/** The default probe: GetCampaign's `persisted` count, through the API like any user. */
export function apiPersistProbe(client: ControlClient): PersistProbe {
  return async (run) => (await client.getCampaign(run.id)).campaign.persisted;
}

/** Pause between two probes, in ms: short for precision, long enough not to load the service. */
const POLL_MS = 25;

/**
 * Waits until every owner a caller received is written to MySQL. Returns the persist lag: from
 * the last successful answer to the first probe that saw everything written (resolution: one
 * probe round), or null with a violation if it did not happen within `timeoutMs`.
 */
export async function waitForPersisted(
  probe: PersistProbe,
  campaigns: readonly CampaignCalls[],
  lastSuccessAtMs: number,
  timeoutMs: number,
): Promise<{ lagMs: number | null; violations: string[] }> {
  const deadline = wallNowMs() + timeoutMs;
  const pending = new Map(campaigns.filter((c) => c.received.length > 0).map((c) => [c.run.id, c]));
  let counts = new Map<string, number>();
  for (;;) {
    counts = new Map();
    for (const [id, c] of pending) {
      const persisted = await probe(c.run);
      counts.set(id, persisted);
      if (persisted >= c.received.length) pending.delete(id);
    }
    if (pending.size === 0) return { lagMs: Math.max(0, Math.round(wallNowMs() - lastSuccessAtMs)), violations: [] };
    if (wallNowMs() > deadline) break;
    await sleepMs(POLL_MS);
  }
  const behind = [...pending.values()].map((c) => `campaign ${c.run.id} has ${counts.get(c.run.id)} of ${c.received.length}`);
  return { lagMs: null, violations: [`the persister did not write every owner to MySQL within ${timeoutMs / 1000} s: ${behind.join("; ")}`] };
}
