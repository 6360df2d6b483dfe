import type { IssueOutcome } from "../http/connect-outcome.js";
import { LatencyHistogram } from "./latency-histogram.js";

/** One IssueCoupon call as the generator saw it. */
export type CallRecord = {
  /** Index of the campaign in the run's list. */
  campaign: number;
  userId: string;
  /** Wall-clock ms (Date.now) when the request was handed to a connection, and when its answer was complete. */
  sentAtMs: number;
  receivedAtMs: number;
  /** From send to complete answer, by the monotonic clock (sub-millisecond). */
  latencyMs: number;
  outcome: IssueOutcome;
  /** A check call outside the measured load (e.g. the seed's early call); not in calls or latency. */
  probe: boolean;
};

/**
 * Everything the calls produced: each record (for verification), running counts (for the
 * per-second progress line) and the latency histogram (for the summary).
 */
export class CallLog {
  readonly records: CallRecord[] = [];
  readonly latency = new LatencyHistogram();
  readonly failures = new Map<string, number>();
  /** First message seen per failure code: enough to tell an operator what went wrong. */
  readonly sampleMessages = new Map<string, string>();
  calls = 0;
  successes = 0;
  inFlight = 0;
  firstSentAtMs = Infinity;
  lastReceivedAtMs = 0;

  add(record: CallRecord): void {
    this.records.push(record);
    if (record.probe) return;
    this.calls++;
    this.latency.recordMs(record.latencyMs);
    if (record.sentAtMs < this.firstSentAtMs) this.firstSentAtMs = record.sentAtMs;
    if (record.receivedAtMs > this.lastReceivedAtMs) this.lastReceivedAtMs = record.receivedAtMs;
    const o = record.outcome;
    if (o.ok) {
      this.successes++;
      return;
    }
    this.failures.set(o.error, (this.failures.get(o.error) ?? 0) + 1);
    if (!this.sampleMessages.has(o.error)) this.sampleMessages.set(o.error, o.message);
  }

  /** Wall time from the first request sent to the last answer received, in ms. */
  get elapsedMs(): number {
    return this.calls === 0 ? 0 : this.lastReceivedAtMs - this.firstSentAtMs;
  }

  failuresObject(): Record<string, number> {
    return Object.fromEntries([...this.failures.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
