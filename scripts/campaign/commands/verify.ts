import type { Command } from "commander";
import type { VerifyCampaignResponse } from "../../../src/gen/couponpb/coupon_pb.js";
import { parseCampaignId } from "../campaigns.js";
import { contextOf } from "../context.js";

/** Exit status when the check was made and the books do not balance (1 is: it could not be made). */
export const EXIT_UNBALANCED = 3;

const yes = (b: boolean) => (b ? "yes" : "NO");

/** The lines of `verify`: the counts, the two balances, then each problem found. */
export function describeBooks(v: VerifyCampaignResponse): string {
  const rows: Array<[string, string]> = [
    ["campaign", String(v.campaignId)],
    ["generated", String(v.generated)],
    ["pooled", `${v.pooled}${v.poolReleased ? " (when the pool was freed)" : ""}`],
    ["issued", String(v.issued)],
    ["persisted", String(v.persisted)],
    ["pending", String(v.pending)],
    ["redeemed", String(v.redeemed)],
    ["voided", String(v.voided)],
    ["pooled + issued = generated", yes(v.poolBalances)],
    ["one owner per code", yes(v.ownersUnique)],
  ];
  const lines = rows.map(([k, val]) => `${k.padEnd(28)}${val}`);
  for (const p of v.problems) lines.push(`problem: ${p}`);
  lines.push(v.ok ? "the books balance" : "the books do NOT balance");
  return lines.join("\n");
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(`check a campaign's books in Redis and MySQL; exits ${EXIT_UNBALANCED} when they do not balance`)
    .argument("<id>", "campaign id")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const v = await contextOf(cmd).client.verifyCampaign({ campaignId });
      process.stdout.write(`${describeBooks(v)}\n`);
      if (!v.ok) process.exitCode = EXIT_UNBALANCED;
    });
}
