import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { IssuedCoupon } from "../../../src/gen/couponpb/coupon_pb.js";
import { parseCampaignId } from "../campaigns.js";
import { CliError, contextOf } from "../context.js";
import { seconds } from "../format.js";

export const CSV_HEADER = "code,user_id,issued_at,sequence";

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(c: IssuedCoupon): string {
  const at = c.issuedAt ? timestampDate(c.issuedAt).toISOString() : "";
  return `${csvField(c.code)},${csvField(c.userId)},${at},${c.sequence}\n`;
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, "drain");
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("every issued code with its owner and issue time, as CSV, page by page")
    .argument("<id>", "campaign id")
    .requiredOption("--out <file>", "where to write the CSV (- for standard output)")
    .option("--page-size <n>", "codes per ListIssuedCoupons call (1-1000)", "1000")
    .action(async (id: string, opts: { out: string; pageSize: string }, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const pageSize = Number(opts.pageSize);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
        throw new CliError("--page-size must be a whole number from 1 to 1000.");
      }
      const ctx = contextOf(cmd);
      const began = performance.now();
      // Written to a side file and renamed at the end: a failed export never looks complete.
      const toStdout = opts.out === "-";
      const partial = `${opts.out}.partial`;
      const out: Writable = toStdout ? process.stdout : createWriteStream(partial);
      const opened = toStdout ? Promise.resolve() : once(out, "open");
      let rows = 0;
      try {
        await opened;
        await write(out, `${CSV_HEADER}\n`);
        let pageToken = "";
        do {
          // One page in memory at a time, whatever the campaign's size.
          const page = await ctx.client.listIssuedCoupons({ campaignId, pageSize, pageToken });
          let chunk = "";
          for (const c of page.coupons) chunk += csvLine(c);
          await write(out, chunk);
          rows += page.coupons.length;
          pageToken = page.nextPageToken;
          if (process.stderr.isTTY) process.stderr.write(`\rexported ${rows} codes`);
        } while (pageToken !== "");
        if (!toStdout) {
          out.end();
          await once(out, "finish");
          await rename(partial, opts.out);
        }
      } catch (err) {
        if (!toStdout) {
          out.destroy();
          await rm(partial, { force: true });
        }
        throw err;
      }
      if (process.stderr.isTTY) process.stderr.write("\n");
      const where = toStdout ? "standard output" : opts.out;
      (toStdout ? process.stderr : process.stdout).write(
        `exported ${rows} codes of campaign ${campaignId} to ${where} in ${seconds(performance.now() - began)}\n`,
      );
    });
}
