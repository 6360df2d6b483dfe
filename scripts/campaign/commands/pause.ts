import type { Command } from "commander";
import { parseCampaignId } from "../campaigns.js";
import { contextOf } from "../context.js";
import { stateName } from "../format.js";

export function registerPause(program: Command): void {
  program
    .command("pause")
    .description("stop issuing until `resume`; callers are told the campaign is paused")
    .argument("<id>", "campaign id")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const { campaign: c, changed } = await contextOf(cmd).client.pauseCampaign({ campaignId });
      const counts = `${c!.issued} of ${c!.totalCoupons} issued`;
      process.stdout.write(
        changed ? `paused campaign ${campaignId}; ${counts}\n` : `campaign ${campaignId} was already paused (${stateName(c!.state)}); ${counts}\n`,
      );
    });
}
