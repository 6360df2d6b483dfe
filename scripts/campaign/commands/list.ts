import type { Command } from "commander";
import { contextOf, CliError } from "../context.js";
import { isoOf, stateName, table } from "../format.js";

export function registerList(program: Command): void {
  program
    .command("list")
    .description("campaigns, newest first")
    .option("--limit <n>", "at most this many campaigns (0: all)", "50")
    .action(async (opts: { limit: string }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 0) throw new CliError("--limit must be a whole number, 0 for all.");
      const ctx = contextOf(cmd);
      const rows: string[][] = [];
      let pageToken = "";
      do {
        const want = limit === 0 ? 100 : Math.min(100, limit - rows.length);
        const page = await ctx.client.listCampaigns({ pageSize: want, pageToken });
        for (const c of page.campaigns) {
          rows.push([
            String(c.id),
            stateName(c.state),
            String(c.totalCoupons),
            String(c.issued),
            String(c.remaining),
            String(c.persisted),
            isoOf(c, "startTime"),
            c.name,
          ]);
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "" && (limit === 0 || rows.length < limit));
      if (rows.length === 0) {
        process.stdout.write("no campaigns\n");
        return;
      }
      process.stdout.write(`${table(["ID", "STATE", "TOTAL", "ISSUED", "REMAINING", "PERSISTED", "START", "NAME"], rows)}\n`);
    });
}
