import type { Command } from "commander";
import type { Campaign } from "../../../src/gen/couponpb/coupon_pb.js";
import { fetchCampaign, parseCampaignId } from "../campaigns.js";
import { CliError, contextOf } from "../context.js";
import { sparkline, stateName } from "../format.js";

/** Rates kept for the sparkline: the last minute at the default interval. */
const HISTORY = 60;

type Sample = { at: number; issued: bigint };

/** The watch screen for one refresh. */
export function renderWatch(c: Campaign, ratePerSecond: number, history: readonly number[]): string[] {
  return [
    `campaign ${c.id}  ${c.name}`,
    `state       ${stateName(c.state)}`,
    `issued      ${c.issued} of ${c.totalCoupons}  (${Math.round(ratePerSecond)}/s)`,
    `remaining   ${c.remaining}`,
    `persisted   ${c.persisted}  (lag ${c.issued - c.persisted})`,
    `issue rate  ${sparkline(history)}`,
  ];
}

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("a live view of a campaign, refreshed every second; Ctrl-C to stop")
    .argument("<id>", "campaign id")
    .option("--interval <ms>", "refresh period in ms", "1000")
    .option("--iterations <n>", "stop after this many refreshes (default: until Ctrl-C)")
    .option("--once", "one refresh, then exit (same as --iterations 1)")
    .action(async (id: string, opts: { interval: string; iterations?: string; once?: boolean }, cmd: Command) => {
      const campaignId = parseCampaignId(id);
      const intervalMs = Number(opts.interval);
      if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new CliError("--interval must be a whole number of ms, at least 100.");
      const iterations = opts.once ? 1 : opts.iterations === undefined ? Infinity : Number(opts.iterations);
      if (!(iterations >= 1)) throw new CliError("--iterations must be a whole number, at least 1.");
      const ctx = contextOf(cmd);
      const tty = process.stdout.isTTY === true;

      let stop = false;
      let wake: (() => void) | undefined;
      const abort = new AbortController();
      const onSignal = () => {
        stop = true;
        abort.abort();
        wake?.();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const history: number[] = [];
      let prev: Sample | undefined;
      let drawn = 0;
      try {
        for (let i = 0; i < iterations && !stop; i++) {
          let c: Campaign;
          try {
            c = await fetchCampaign(ctx, campaignId, abort.signal);
          } catch (err) {
            if (stop) break; // Ctrl-C while a refresh was on its way: a clean stop.
            throw err;
          }
          const now: Sample = { at: performance.now(), issued: c.issued };
          const rate = prev ? (Number(now.issued - prev.issued) * 1000) / (now.at - prev.at) : 0;
          if (prev) history.push(rate);
          if (history.length > HISTORY) history.shift();
          prev = now;
          const lines = renderWatch(c, rate, history);
          if (tty) {
            // Redraw in place: up over the previous screen, clear each line.
            process.stdout.write(`${drawn ? `\x1b[${drawn}A` : "\x1b[?25l"}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
            drawn = lines.length;
          } else {
            process.stdout.write(`${new Date().toISOString()} ${lines.slice(1).map((l) => l.replace(/\s{2,}/g, " ")).join(" | ")}\n`);
          }
          if (i + 1 < iterations && !stop) {
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, intervalMs);
              wake = () => {
                clearTimeout(t);
                resolve();
              };
            });
          }
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        if (tty) process.stdout.write("\x1b[?25h");
      }
    });
}
