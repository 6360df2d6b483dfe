import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import type { CodeGenerator } from "../codes/generator.js";
import { PERSISTER_GROUP, type RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { initialBudget, recordBudget } from "./issue-budget.js";
import { recordLoadProgress, renewLoadLease, type LoadLease } from "./load-lease.js";
import { FillFenced, finishFill, pushCodes, startFill } from "./pool-fill.js";
import { insertCodes, type CampaignRow } from "./repository.js";

/** Where a load may be held up by a test, to reproduce a loader that stalls past its lease. */
export type LoadStep = "push" | "finish";

export type LoadDeps = {
  db: Db;
  bulkRedis: ScriptedRedis;
  keys: RedisKeys;
  codes: CodeGenerator;
  logger: Logger;
  /** The issue budget a campaign opens with (src/campaigns/issue-budget.ts). */
  initialIssueBudget: number;
  /** How long a silent loader keeps its lease (src/campaigns/load-lease.ts), in ms. */
  loadLeaseMs: number;
};

/** Test seam: awaited after the lease was renewed and before the step's first write. */
export type LoadStepHook = (campaignId: number, step: LoadStep, chunk: number) => Promise<void>;

/** Codes per MySQL INSERT and per push: large enough to amortise round trips, small enough to
 * keep each statement well under max_allowed_packet (5,000 × ~40 B). */
const CHUNK = 5000;

export class LoadLeaseLost extends Error {
  override readonly name = "LoadLeaseLost";
}

/**
 * Generates every code of a campaign, writes them to MySQL and pushes them to the Redis pool,
 * then flips the campaign to `ready`. The issue script refuses a campaign whose meta says
 * `loading`, so a half-loaded pool is never issued from; a load that dies halfway is started
 * again from scratch by whoever takes the lease next (nothing was issued).
 *
 * Every write is fenced by the lease (src/campaigns/pool-fill.ts): MySQL's progress only while
 * this load holds it, Redis's pool only under this load's fence. A loader that stalled past its
 * lease therefore cannot push into, finish, or set back the pool of the loader that took over.
 *
 * Chunks are pipelined: the next chunk is generated while the previous one is being written.
 */
export async function loadPool(deps: LoadDeps, campaign: CampaignRow, lease: LoadLease, beforeStep?: LoadStepHook): Promise<void> {
  const { db, bulkRedis, keys } = deps;
  const id = campaign.id;
  const renew = async (step: LoadStep, chunk: number) => {
    if (!(await renewLoadLease(db, id, lease))) throw new LoadLeaseLost(`lost the load lease of campaign ${id}`);
    await beforeStep?.(id, step, chunk);
  };
  const progress = async (loaded: number, status: "loading" | "ready") => {
    if (!(await recordLoadProgress(db, id, lease, loaded, status))) throw new LoadLeaseLost(`lost the load lease of campaign ${id}`);
  };
  const k = keys.campaign(id);
  const total = campaign.totalCoupons;
  // The budget goes to MySQL before Redis may use it (src/campaigns/issue-budget.ts).
  const allow = initialBudget(total, { initial: deps.initialIssueBudget });
  await recordBudget(db, id, allow);
  await startFill(bulkRedis, k.meta, [k.pool, k.users, k.stream], "load", lease.fence, {
    start_ms: campaign.startTime.getTime(),
    ...(campaign.endTime ? { end_ms: campaign.endTime.getTime() } : {}),
    total,
    issued: 0,
    allow,
  });

  let inFlight: Promise<unknown> = Promise.resolve();
  for (let first = 0, chunk = 0; first < total; first += CHUNK, chunk++) {
    const n = Math.min(CHUNK, total - first);
    const codes = deps.codes.codes(campaign.codeOffset + first, n);
    await inFlight;
    await renew("push", chunk);
    const loaded = first + n;
    inFlight = Promise.all([insertCodes(db, id, first + 1, codes), pushCodes(bulkRedis, k, lease.fence, first, loaded, codes)]).then(
      () => progress(loaded, "loading"),
    );
  }
  await inFlight;
  await renew("finish", 0);

  try {
    await bulkRedis.xgroup("CREATE", k.stream, PERSISTER_GROUP, "0", "MKSTREAM");
  } catch (err) {
    if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
  }
  await bulkRedis.sadd(keys.activeCampaigns, String(id));
  // MySQL first: if we die between the two, MySQL says ready while Redis still refuses to issue,
  // which is safe (load recovery finishes it); the opposite order could let a crash-restart
  // reload an issuing pool.
  await progress(total, "ready");
  await finishFill(bulkRedis, k.meta, "load", lease.fence, total, { state: "ready" });
}

/**
 * Runs pool loads in the background of this instance and remembers them, so that shutdown can
 * wait for them and tests can wait on a load's completion.
 */
export class PoolLoader {
  private readonly running = new Map<number, Promise<void>>();
  /** Test seam (see LoadStepHook): lets a fault test stall this loader past its lease. */
  beforeStep: LoadStepHook | undefined;

  constructor(private readonly deps: LoadDeps) {}

  isLoading(campaignId: number): boolean {
    return this.running.has(campaignId);
  }

  start(campaign: CampaignRow, lease: LoadLease): Promise<void> {
    const running = this.running.get(campaign.id);
    if (running) return running;
    const p = loadPool(this.deps, campaign, lease, this.beforeStep)
      .then(() => this.deps.logger.info({ campaignId: campaign.id, total: campaign.totalCoupons }, "pool loaded"))
      .catch((err) =>
        err instanceof LoadLeaseLost || err instanceof FillFenced
          ? this.deps.logger.warn({ err, campaignId: campaign.id }, "pool load stopped: another loader took it over")
          : this.deps.logger.error({ err, campaignId: campaign.id }, "pool load failed"),
      )
      .finally(() => this.running.delete(campaign.id));
    this.running.set(campaign.id, p);
    return p;
  }

  /** Resolves when every load started so far has finished (successfully or not). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }
}
