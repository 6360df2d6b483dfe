import { readFileSync } from "node:fs";
import { waitUntilLoaded } from "../loadtest/campaigns.js";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { withDescendants } from "./box-load.js";
import { timeCreation, type CreationTiming } from "./creation-timing.js";

export type TenMillionFigures = {
  timing: CreationTiming;
  /** Largest sum of the resident memory of the service's processes seen during the load, in MB. */
  peakRssMb: number;
  /** Largest peak resident memory (VmHWM) of any one service process at the end, in MB. */
  peakProcessRssMb: number;
  /** IssueCoupon on another campaign, offered at a fixed rate while the load ran. */
  issue: { ratePerSecond: number; calls: number; issued: number; failed: number; p50Ms: number; p99Ms: number; maxMs: number };
};

const TEN_MILLION = 10_000_000;
/** Offered IssueCoupon rate on the other campaign, calls/s: a steady trickle of real issues. */
const RATE = 100;
/** The other campaign: more codes than the load can take calls at RATE, so every call issues. */
const OTHER_CODES = 200_000;
const SAMPLE_MS = 250;
/** The 10,000,000-code load may take minutes here once the unique index outgrows the buffer pool. */
const LIMIT_MS = 3_600_000;

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited while we looked
  }
}

const percentile = (sorted: readonly number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/**
 * `--creation-10m`: creates a campaign of 10,000,000 codes on the bench's service while
 * IssueCoupon is called on another, already open campaign at a fixed RATE (open loop: each call's
 * latency counts from the instant it was due, so a stalled service cannot hide behind calls it
 * delayed), and samples the resident memory of the service's processes meanwhile.
 */
export async function measureTenMillion(serviceUrl: string, servicePid: number, say: (line: string) => void): Promise<TenMillionFigures> {
  const control = new ControlClient(serviceUrl);
  const issuer = new ControlClient(serviceUrl);
  try {
    const other = await control.createCampaign("bench served during the 10M load", Date.now() - 1000, OTHER_CODES);
    await waitUntilLoaded(control, [{ index: 0, id: other, coupons: OTHER_CODES, startMs: 0, expect: "min" }], 120_000);

    let peakRssKb = 0;
    const sampler = setInterval(() => {
      const kb = withDescendants([servicePid]).reduce((sum, pid) => sum + statusKb(pid, "VmRSS"), 0);
      peakRssKb = Math.max(peakRssKb, kb);
    }, SAMPLE_MS);

    const latencies: number[] = [];
    let calls = 0;
    let issued = 0;
    let failed = 0;
    let stop = false;
    const inFlight = new Set<Promise<void>>();
    const t0 = performance.now();
    const offer = (async () => {
      for (let n = 0; !stop; n++) {
        const due = t0 + (n * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        calls++;
        const call: Promise<void> = issuer
          .call("IssueCoupon", { campaignId: other, userId: `during-10m-${n}` })
          .then(() => void issued++, () => void failed++)
          .finally(() => {
            latencies.push(performance.now() - due);
            inFlight.delete(call);
          });
        inFlight.add(call);
      }
    })();

    say(`creating a campaign of ${TEN_MILLION} codes while IssueCoupon runs at ${RATE} calls/s on campaign ${other}`);
    const timing = await timeCreation(control, TEN_MILLION, LIMIT_MS);
    stop = true;
    await offer;
    await Promise.all(inFlight);
    clearInterval(sampler);
    const peakProcessKb = Math.max(...withDescendants([servicePid]).map((pid) => statusKb(pid, "VmHWM")));
    latencies.sort((a, b) => a - b);
    const ms = (x: number) => Math.round(x * 10) / 10;
    const figures: TenMillionFigures = {
      timing,
      peakRssMb: Math.round(peakRssKb / 1024),
      peakProcessRssMb: Math.round(peakProcessKb / 1024),
      issue: { ratePerSecond: RATE, calls, issued, failed, p50Ms: ms(percentile(latencies, 50)), p99Ms: ms(percentile(latencies, 99)), maxMs: ms(latencies.at(-1) ?? 0) },
    };
    say(
      `10M codes: ${timing.ms === null ? timing.error : `${timing.ms} ms (${timing.codesPerSecond} codes/s)`}; peak RSS ${figures.peakRssMb} MB` +
        ` (largest process ${figures.peakProcessRssMb} MB); IssueCoupon meanwhile p50 ${figures.issue.p50Ms} ms, p99 ${figures.issue.p99Ms} ms, ${failed} failed`,
    );
    return figures;
  } finally {
    await Promise.all([control.close(), issuer.close()]);
  }
}
