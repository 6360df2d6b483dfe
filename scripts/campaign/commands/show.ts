import type { Command } from "commander";
import type { Campaign } from "../../../src/gen/couponpb/coupon_pb.js";
import { fetchCampaign, parseCampaignId } from "../campaigns.js";
import { contextOf } from "../context.js";
import { isoOf, stateName } from "../format.js";

/** The lines of `show`: one field a line, name then value. */
export function describeCampaign(c: Campaign): string {
  const rows: Array<[string, string]> = [
    ["campaign", `${c.id}  ${c.name}`],
    ["state", stateName(c.state)],
    ["start", isoOf(c, "startTime")],
  ];
  const end = isoOf(c, "endTime");
  if (end) rows.push(["end", end]);
  rows.push(
    ["total", String(c.totalCoupons)],
    ["loaded", String(c.loaded)],
    ["issued", String(c.issued)],
    ["remaining", String(c.remaining)],
    ["persisted", String(c.persisted)],
    ["persist lag", String(c.issued - c.persisted)],
  );
  const extra = c as Campaign & { redeemed?: bigint; voided?: bigint };
  if (extra.redeemed) rows.push(["redeemed", String(extra.redeemed)]);
  if (extra.voided) rows.push(["voided", String(extra.voided)]);
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}`).join("\n");
}

export function registerShow(program: Command): void {
  program
    .command("show")
    .description("a campaign: its state and counts (issued, remaining, persisted)")
    .argument("<id>", "campaign id")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const c = await fetchCampaign(contextOf(cmd), campaignId);
      process.stdout.write(`${describeCampaign(c)}\n`);
    });
}
