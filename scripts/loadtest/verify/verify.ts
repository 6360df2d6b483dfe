import type { CampaignRun } from "../campaigns.js";
import type { ControlClient } from "../rpc/control-client.js";
import type { CallLog } from "../stats/call-log.js";
import { checkCodes, checkCounts, checkSequences } from "./call-checks.js";
import { groupByCampaign } from "./issued-view.js";
import { checkOwners } from "./owners.js";
import { waitForPersisted, type PersistProbe } from "./persist-drain.js";
import { checkGetCampaign } from "./read-back.js";

export type Verdict = { violations: string[]; persistLagMs: number | null };

/**
 * The integrity verdict of a run, in the order a person would check it: the answers callers got,
 * then GetCampaign, then (once the persister has drained) the owners in MySQL via the API.
 */
export async function verifyRun(
  client: ControlClient,
  runs: readonly CampaignRun[],
  log: CallLog,
  probe: PersistProbe,
  persistTimeoutMs: number,
  say: (line: string) => void,
): Promise<Verdict> {
  const campaigns = groupByCampaign(runs, log.records);
  const violations: string[] = [];
  for (const c of campaigns) violations.push(...checkCounts(c), ...checkSequences(c));
  violations.push(...checkCodes(campaigns.flatMap((c) => c.received)));
  for (const c of campaigns) violations.push(...(await checkGetCampaign(client, c)));
  say("waiting for the persister to write every owner to MySQL");
  const lastSuccessAtMs = log.records.reduce((m, r) => (r.outcome.ok ? Math.max(m, r.receivedAtMs) : m), 0);
  const drained = await waitForPersisted(probe, campaigns, lastSuccessAtMs, persistTimeoutMs);
  violations.push(...drained.violations);
  for (const c of campaigns) violations.push(...(await checkOwners(client, c)));
  return { violations, persistLagMs: drained.lagMs };
}
