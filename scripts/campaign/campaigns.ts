import type { Campaign } from "../../src/gen/couponpb/coupon_pb.js";
import { CliError, type CliContext } from "./context.js";

/** A campaign id as typed on the command line. */
export function parseCampaignId(text: string): bigint {
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new CliError(`"${text}" is not a campaign id; ids are positive whole numbers.`);
  return BigInt(text);
}

/** One campaign's counts and state, without its list of codes (ListCampaigns with campaign_ids). */
export async function fetchCampaign(ctx: CliContext, id: bigint, signal?: AbortSignal): Promise<Campaign> {
  const { campaigns } = await ctx.client.listCampaigns({ campaignIds: [id] }, { signal });
  const c = campaigns[0];
  if (!c) throw new CliError(`Campaign ${id} does not exist at ${ctx.url}.`);
  return c;
}
