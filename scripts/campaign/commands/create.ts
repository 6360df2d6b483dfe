import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { CampaignState } from "../../../src/gen/couponpb/coupon_pb.js";
import { CliError, contextOf, type CliContext } from "../context.js";
import { seconds, stateName } from "../format.js";
import { parseStart } from "../start-time.js";

const POLL_MS = 200;

export type NewCampaign = { name: string; total: bigint; startMs: number; shards?: number };

export function parseTotal(text: string, flag = "--total"): bigint {
  if (!/^\d{1,9}$/.test(text.trim()) || BigInt(text.trim()) < 1n) {
    throw new CliError(`${flag} "${text}" is not a number of coupons; give a whole number such as 100000.`);
  }
  return BigInt(text.trim());
}

/** The service checks the bound (1-64, at most the total) and says so; here only the form. */
export function parseShards(text: string): number {
  if (!/^\d{1,2}$/.test(text.trim())) throw new CliError(`--shards "${text}" is not a number of sub-pools; give a whole number from 1 to 64.`);
  return Number(text.trim());
}

/**
 * Creates a campaign and, unless `wait` is false, polls GetCampaign until its pool is loaded,
 * drawing a progress bar of the codes loaded on a terminal. Returns the id and the time taken.
 */
export async function createAndLoad(
  ctx: CliContext,
  c: NewCampaign,
  options: { wait: boolean; bar: boolean; onCreated?: (id: bigint) => void },
): Promise<{ id: bigint; ms: number; state: CampaignState | undefined }> {
  const began = performance.now();
  const { campaignId } = await ctx.client.createCampaign({
    name: c.name,
    startTime: timestampFromMs(c.startMs),
    totalCoupons: c.total,
    shards: c.shards ?? 0,
  });
  options.onCreated?.(campaignId);
  if (!options.wait) return { id: campaignId, ms: performance.now() - began, state: undefined };

  const bar = options.bar
    ? new SingleBar({
        stream: process.stderr,
        format: "loading {bar} {percentage}% | {value}/{total} codes | {duration}s",
        hideCursor: true,
      })
    : undefined;
  bar?.start(Number(c.total), 0);
  try {
    for (;;) {
      const campaign = (await ctx.client.getCampaign({ campaignId })).campaign;
      if (!campaign) throw new CliError(`Campaign ${campaignId} vanished while loading.`);
      bar?.update(Number(campaign.loaded));
      if (campaign.state !== CampaignState.LOADING) {
        return { id: campaignId, ms: performance.now() - began, state: campaign.state };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    bar?.stop();
  }
}

export function registerCreate(program: Command): void {
  program
    .command("create")
    .description("create a campaign and wait until its pool is loaded")
    .requiredOption("--name <name>", "what the campaign is called")
    .requiredOption("--total <n>", "how many coupons")
    .requiredOption("--start <when>", "now, +30s (or m, h, d), or an instant with offset: 2026-12-01T10:00:00+09:00")
    .option("--shards <k>", "split the codes into k sub-pools, spread over a Redis Cluster's masters (1-64)", "1")
    .option("--no-wait", "return as soon as the campaign exists, without waiting for the pool")
    .action(async (opts: { name: string; total: string; start: string; shards: string; wait: boolean }, cmd: Command) => {
      const startMs = parseStart(opts.start, Date.now());
      const total = parseTotal(opts.total);
      const shards = parseShards(opts.shards);
      const ctx = contextOf(cmd);
      const r = await createAndLoad(
        ctx,
        { name: opts.name, total, startMs, shards },
        {
          wait: opts.wait,
          bar: process.stderr.isTTY === true,
          onCreated: (id) => process.stdout.write(`created campaign ${id}\n`),
        },
      );
      if (r.state !== undefined) {
        process.stdout.write(
          `loaded ${total} codes in ${seconds(r.ms)}; state ${stateName(r.state)}, start ${new Date(startMs).toISOString()}\n`,
        );
      }
    });
}
