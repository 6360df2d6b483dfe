import * as hdr from "hdr-histogram-js";

export type LatencySummaryMs = { p50: number; p90: number; p99: number; max: number };

/** Microsecond resolution, up to 10 minutes, 3 significant digits: ~0.1% error at any scale. */
const HIGHEST_US = 600_000_000;

/** Call latencies, recorded in microseconds and reported in milliseconds. */
export class LatencyHistogram {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(ms: number): void {
    this.h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.h.totalCount;
  }

  summary(): LatencySummaryMs {
    const at = (p: number) => (this.count === 0 ? 0 : roundMs(this.h.getValueAtPercentile(p) / 1000));
    return { p50: at(50), p90: at(90), p99: at(99), max: this.count === 0 ? 0 : roundMs(this.h.maxValue / 1000) };
  }
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
