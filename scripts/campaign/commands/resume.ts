import type { Command } from "commander";
import { parseCampaignId } from "../campaigns.js";
import { contextOf } from "../context.js";
import { stateName } from "../format.js";

export function registerResume(program: Command): void {
  program
    .command("resume")
    .description("issue again from where a pause stopped")
    .argument("<id>", "campaign id")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const { campaign: c, changed } = await contextOf(cmd).client.resumeCampaign({ campaignId });
      const state = `${stateName(c!.state)}; ${c!.issued} of ${c!.totalCoupons} issued`;
      process.stdout.write(changed ? `resumed campaign ${campaignId}: ${state}\n` : `campaign ${campaignId} was not paused: ${state}\n`);
    });
}
