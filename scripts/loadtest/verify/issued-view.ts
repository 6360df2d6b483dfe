import type { CampaignRun } from "../campaigns.js";
import type { CallRecord } from "../stats/call-log.js";

/** One coupon a caller received. */
export type Received = { code: string; sequence: number; userId: string; campaign: number };

/** What the generator saw for one campaign: its calls (load only) and every coupon received (probes too). */
export type CampaignCalls = {
  run: CampaignRun;
  calls: number;
  successes: number;
  failures: Map<string, number>;
  sampleMessages: Map<string, string>;
  received: Received[];
};

/** Splits the call log by campaign. */
export function groupByCampaign(runs: readonly CampaignRun[], records: readonly CallRecord[]): CampaignCalls[] {
  const out: CampaignCalls[] = runs.map((run) => ({ run, calls: 0, successes: 0, failures: new Map(), sampleMessages: new Map(), received: [] }));
  for (const r of records) {
    const c = out[r.campaign];
    if (!c) continue;
    if (r.outcome.ok) c.received.push({ code: r.outcome.code, sequence: r.outcome.sequence, userId: r.userId, campaign: r.campaign });
    if (r.probe) continue;
    c.calls++;
    if (r.outcome.ok) c.successes++;
    else {
      c.failures.set(r.outcome.error, (c.failures.get(r.outcome.error) ?? 0) + 1);
      if (!c.sampleMessages.has(r.outcome.error)) c.sampleMessages.set(r.outcome.error, r.outcome.message);
    }
  }
  return out;
}
