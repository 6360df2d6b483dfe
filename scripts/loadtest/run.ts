import { randomBytes } from "node:crypto";
import type { CampaignRun } from "./campaigns.js";
import { IssuePool } from "./http/issue-pool.js";
import { UsageError, type LoadtestOptions } from "./options.js";
import { buildReport, type LoadtestReport } from "./report.js";
import { ControlClient, RpcError } from "./rpc/control-client.js";
import { SCENARIO_RUNNERS } from "./scenarios/index.js";
import type { LoadPhase, ScenarioResult } from "./scenarios/scenario.js";
import { CallLog } from "./stats/call-log.js";
import { startProgress } from "./stats/progress.js";
import { verifyRun } from "./verify/verify.js";
import { apiPersistProbe, type PersistProbe } from "./verify/persist-drain.js";

export type RunHooks = {
  /** Progress and status lines; default: none. */
  print?: (line: string) => void;
  /** How to count persisted owners; default: GetCampaign's `persisted`, through the API. */
  persistProbe?: PersistProbe;
  /** Told when the timed load begins (at the opening) and ends (last answer), e.g. to meter CPU over it. */
  phase?: (p: LoadPhase) => void;
};

/**
 * Makes sure the service answers at the URL and takes our admin key, before creating anything.
 * ListIssuedCoupons is an admin method and campaign 0 is invalid by contract: with the right key
 * (or none needed) the answer is a cheap invalid_argument. An UnreachableError escapes.
 */
async function preflight(client: ControlClient): Promise<void> {
  try {
    await client.call("ListIssuedCoupons", { campaignId: "0" });
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    if (err.code === "unauthenticated" || err.code === "permission_denied") {
      throw new UsageError(`the service refused the admin methods (${err.message}): pass its ADMIN_API_KEY with --api-key or $COUPON_ADMIN_KEY`);
    }
  }
}

/** Runs one scenario against a running service and judges it. The library entry of `npm run loadtest`. */
export async function runLoadtest(options: LoadtestOptions, hooks: RunHooks = {}): Promise<LoadtestReport> {
  const print = hooks.print ?? (() => undefined);
  const client = new ControlClient(options.url, options.apiKey);
  const pool = new IssuePool(options.url, { connections: options.concurrency, timeoutMs: options.callTimeoutMs });
  try {
    await preflight(client);
    const log = new CallLog();
    const startedAt = new Date();
    const phase = hooks.phase ?? (() => undefined);
    const ctx = { options, client, pool, log, runTag: randomBytes(4).toString("hex"), say: print, phase };
    const stopProgress = startProgress(log, print);
    const cpuBefore = process.cpuUsage();
    let result: ScenarioResult;
    try {
      result = await SCENARIO_RUNNERS[options.scenario](ctx);
      phase("load-end");
    } finally {
      stopProgress();
    }
    const cpu = process.cpuUsage(cpuBefore);
    pool.close();
    const runs: CampaignRun[] = result.campaigns;
    const verdict = await verifyRun(client, runs, log, hooks.persistProbe ?? apiPersistProbe(client), options.persistTimeoutS * 1000, print);
    return buildReport({
      options,
      startedAt,
      log,
      runs,
      violations: [...result.violations, ...verdict.violations],
      persistLagMs: verdict.persistLagMs,
      maxScheduleLagMs: result.maxScheduleLagMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  } finally {
    pool.close();
    await client.close();
  }
}
