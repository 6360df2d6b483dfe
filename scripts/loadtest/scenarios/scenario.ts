import type { CampaignRun } from "../campaigns.js";
import type { CallTarget } from "../drivers/timed-call.js";
import type { IssueOutcome } from "../http/connect-outcome.js";
import type { IssuePool } from "../http/issue-pool.js";
import type { LoadtestOptions } from "../options.js";
import type { ControlClient } from "../rpc/control-client.js";
import type { CallLog } from "../stats/call-log.js";

export type ScenarioContext = {
  options: LoadtestOptions;
  client: ControlClient;
  pool: IssuePool;
  log: CallLog;
  /** Unique to this run: part of campaign names and of every user id. */
  runTag: string;
  /** A status line for the operator (stderr). */
  say: (line: string) => void;
  /** Told when the timed load begins (the opening) and ends, so a caller can meter just that span. */
  phase: (p: LoadPhase) => void;
};

export type LoadPhase = "load-start" | "load-end";

export type ScenarioResult = {
  campaigns: CampaignRun[];
  /** What only this scenario can judge (the seed's early call, the boundary's timing). */
  violations: string[];
  /** How late the latest open-loop call left, in ms (0 for closed loops). */
  maxScheduleLagMs: number;
};

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

/** A distinct user id per call: the service hands a repeating user the code it already holds. */
export function userIdOf(ctx: ScenarioContext, campaign: number, call: number): string {
  return `lt-${ctx.runTag}-${campaign}-${call}`;
}

/** Call i of a single-campaign load. */
export function callsTo(ctx: ScenarioContext, run: CampaignRun): (i: number) => CallTarget {
  return (i) => ({ campaign: run.index, campaignId: run.id, userId: userIdOf(ctx, run.index, i) });
}

/** An answer in words, for violation sentences. */
export function describeOutcome(o: IssueOutcome): string {
  return o.ok ? `a coupon (${o.code}, sequence ${o.sequence})` : `${o.error} (${o.message})`;
}
