import type { Command } from "commander";
import { parseCampaignId } from "../campaigns.js";
import { contextOf } from "../context.js";

/**
 * `rebuild ID`: after Redis lost a campaign, reloads its pool from MySQL (RebuildCampaign).
 * The service refuses, saying why, while Redis still holds the campaign or unpersisted issues.
 */
export function registerRebuild(program: Command): void {
  program
    .command("rebuild")
    .description("reload a campaign's pool from MySQL after Redis lost it; unowned codes within the issue budget are quarantined")
    .argument("<id>", "campaign id")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const r = await contextOf(cmd).client.rebuildCampaign({ campaignId });
      process.stdout.write(
        `rebuilt campaign ${campaignId}: ${r.reloaded} codes back in the pool, ${r.quarantined} quarantined ` +
          `(issued before the loss without an owner in MySQL), ${r.owners} owners restored; ` +
          `issuing resumes after position ${r.allowance}\n`,
      );
    });
}
