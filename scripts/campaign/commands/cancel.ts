import type { Command } from "commander";
import { parseCampaignId } from "../campaigns.js";
import { contextOf } from "../context.js";

export function registerCancel(program: Command): void {
  program
    .command("cancel")
    .description("stop issuing for good, void the unissued codes, refuse redemptions of the issued ones")
    .argument("<id>", "campaign id")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const { campaign: c, changed } = await contextOf(cmd).client.cancelCampaign({ campaignId });
      const unissued = c!.totalCoupons - c!.issued;
      const voiding =
        c!.voided === unissued
          ? `${c!.voided} unissued codes voided`
          : `the ${unissued} unissued codes are voided once every owner is in MySQL (${c!.issued - c!.persisted} still to write)`;
      process.stdout.write(
        `${changed ? "cancelled" : "already cancelled:"} campaign ${campaignId}; ${c!.issued} issued (final), ${voiding}\n`,
      );
    });
}
