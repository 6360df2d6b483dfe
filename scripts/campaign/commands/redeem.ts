import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { contextOf } from "../context.js";

export function registerRedeem(program: Command): void {
  program
    .command("redeem")
    .description("mark an issued code used (checkout); a code is redeemed once")
    .argument("<code>", "the coupon code")
    .option("--user <id>", "the user redeeming it (the owner, unless it was issued to no one)", "")
    .action(async (code: string, opts: { user: string }, cmd: Command) => {
      const r = await contextOf(cmd).client.redeemCoupon({ code, userId: opts.user });
      process.stdout.write(
        `redeemed ${code} (campaign ${r.campaignId}, #${r.sequence}) at ${timestampDate(r.redeemedAt!).toISOString()}\n`,
      );
    });
}
