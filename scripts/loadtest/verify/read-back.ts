import type { ControlClient } from "../rpc/control-client.js";
import { examples } from "./examples.js";
import type { CampaignCalls } from "./issued-view.js";

/** The two sides of a comparison of code lists: what only one side has, and repeats on the listed side. */
export function compareCodes(received: readonly string[], listed: readonly string[]): { missing: string[]; extra: string[]; repeated: string[] } {
  const got = new Set(received);
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const code of listed) {
    if (seen.has(code)) repeated.push(code);
    seen.add(code);
  }
  return {
    missing: received.filter((code) => !seen.has(code)),
    extra: [...seen].filter((code) => !got.has(code)),
    repeated,
  };
}

/**
 * GetCampaign must list exactly the codes the callers received, no more, no fewer, each once,
 * and count them the same way.
 */
export async function checkGetCampaign(client: ControlClient, c: CampaignCalls): Promise<string[]> {
  const name = `campaign ${c.run.id}`;
  const { campaign, couponCodes } = await client.getCampaign(c.run.id);
  const violations: string[] = [];
  const diff = compareCodes(
    c.received.map((r) => r.code),
    couponCodes,
  );
  if (diff.missing.length > 0) violations.push(`${name}: GetCampaign does not list ${diff.missing.length} codes that callers received: ${examples(diff.missing)}`);
  if (diff.extra.length > 0) violations.push(`${name}: GetCampaign lists ${diff.extra.length} codes no caller received: ${examples(diff.extra)}`);
  if (diff.repeated.length > 0) violations.push(`${name}: GetCampaign lists ${diff.repeated.length} codes twice: ${examples(diff.repeated)}`);
  const n = c.received.length;
  if (campaign.issued !== n) violations.push(`${name}: GetCampaign says ${campaign.issued} issued; callers received ${n}`);
  if (campaign.remaining !== c.run.coupons - n) {
    violations.push(`${name}: GetCampaign says ${campaign.remaining} remaining; ${c.run.coupons} coupons − ${n} received = ${c.run.coupons - n}`);
  }
  const soldOut = n === c.run.coupons;
  const state = c.run.finalState ?? (soldOut ? "CAMPAIGN_STATE_SOLD_OUT" : "CAMPAIGN_STATE_OPEN");
  if (campaign.state !== state) violations.push(`${name}: GetCampaign says ${campaign.state}; expected ${state}`);
  return violations;
}
