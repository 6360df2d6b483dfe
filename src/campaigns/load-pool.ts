import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import type { CodeGenerator } from "../codes/generator.js";
import { PERSISTER_GROUP, subPoolMember, type RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { initialBudget, recordBudget, recordSubPoolBudgets } from "./issue-budget.js";
import { recordLoadProgress, renewLoadLease, type LoadLease } from "./load-lease.js";
import { FillFenced, finishFill, pushCodes, startFill } from "./pool-fill.js";
import { insertCodes, type CampaignRow } from "./repository.js";
import { subPoolOfPosition, subPoolSize } from "./sub-pools.js";

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

/**
 * Test seam: awaited before the step's first write, after the lease was renewed (renewals are
 * spaced by a quarter of the lease: see `loadPool`).
 */
export type LoadStepHook = (campaignId: number, step: LoadStep, chunk: number) => Promise<void>;

/**
 * Codes per Redis push (one push-codes.lua call, the unit of its marks and of the test seam's
 * `chunk`). A push is cheap next to a MySQL batch: 5,000 codes are ~100 KB of arguments.
 */
const PUSH_CHUNK = 5000;
/**
 * Codes per MySQL batch (one statement, src/campaigns/repository.ts insertCodes): a multiple of
 * PUSH_CHUNK; large enough that per-statement costs (setup, one commit and its redo fsync) vanish
 * next to the rows, small enough for memory (~2 MB of codes and rows) and, in the multi-row
 * INSERT fallback, for max_allowed_packet (50,000 × ~40 B).
 */
const BATCH = 10 * PUSH_CHUNK;
/**
 * MySQL batches written at once, each on its own pool connection. One at a time leaves MariaDB
 * idle while the next is built and sent, and uses one of its threads; two keep it busy on both
 * cores (docs/benchmarks-creation.md). Memory stays bounded whatever the campaign's size: at most
 * this many batches, plus the one being generated, are held.
 */
const BATCHES_IN_FLIGHT = 2;

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
 * Pipelined: up to BATCHES_IN_FLIGHT MySQL batches are written at once (INSERT IGNORE is
 * idempotent and order-free, so they may finish in any order), while the Redis pushes form one
 * chain, strictly in pool order, each chunk once (push-codes.lua refuses anything else). Progress
 * is recorded in order too, for a batch only once it and every batch before it are in MySQL and
 * in the pool, so `loaded` never overstates what is stored. The lease is renewed before a push
 * when a quarter of it has passed since the last renewal or progress write (both refresh the
 * heartbeat): a load never goes silent for long, without a MySQL commit per chunk.
 */
export async function loadPool(deps: LoadDeps, campaign: CampaignRow, lease: LoadLease, beforeStep?: LoadStepHook): Promise<void> {
  const { db, bulkRedis, keys } = deps;
  const id = campaign.id;
  const renewEveryMs = deps.loadLeaseMs / 4;
  let heartbeatAt = -Infinity;
  const lost = () => new LoadLeaseLost(`lost the load lease of campaign ${id}`);
  const renew = async (step: LoadStep, chunk: number) => {
    const now = performance.now();
    if (step === "finish" || now - heartbeatAt >= renewEveryMs) {
      if (!(await renewLoadLease(db, id, lease))) throw lost();
      heartbeatAt = now;
    }
    await beforeStep?.(id, step, chunk);
  };
  const progress = async (loaded: number, status: "loading" | "ready") => {
    const now = performance.now();
    if (!(await recordLoadProgress(db, id, lease, loaded, status))) throw lost();
    heartbeatAt = now;
  };
  const total = campaign.totalCoupons;
  const shards = campaign.shards;
  const pools = keys.subPools(id, shards);
  // The budget goes to MySQL before Redis may use it (src/campaigns/issue-budget.ts); with
  // sub-pools every one opens at the same local position, recorded as its own budget.
  const localAllow = Math.ceil(initialBudget(total, { initial: deps.initialIssueBudget }) / shards);
  if (shards === 1) await recordBudget(db, id, localAllow);
  else await recordSubPoolBudgets(db, id, shards, pools.map((_, sub) => ({ sub, local: localAllow })));
  await Promise.all(
    pools.map((k, sub) =>
      startFill(bulkRedis, k.meta, [k.pool, k.users, k.stream], "load", lease.fence, {
        start_ms: campaign.startTime.getTime(),
        ...(campaign.endTime ? { end_ms: campaign.endTime.getTime() } : {}),
        total: subPoolSize(sub, shards, total),
        issued: 0,
        allow: localAllow,
        ...(shards > 1 ? { shards, sub } : {}),
      }),
    ),
  );

  /**
   * Pushes one batch's codes (pool positions first + 1 …), chunk by chunk, in order; `chunk`
   * numbers the first of them. With sub-pools each takes its share of the batch, in order, the
   * sub-pools side by side (they may live on different masters); a mark counts one sub-pool's codes.
   */
  const pushBatch = async (first: number, codes: readonly string[], chunk: number) => {
    const shares = splitBySubPool(codes, first, shards);
    await Promise.all(
      shares.map(async (share, sub) => {
        const before = subPoolSize(sub, shards, first);
        for (let at = 0; at < share.length; at += PUSH_CHUNK) {
          const part = share.slice(at, at + PUSH_CHUNK);
          await renew("push", chunk++);
          await pushCodes(bulkRedis, pools[sub]!, lease.fence, before + at, before + at + part.length, part);
        }
      }),
    );
  };

  /** Each batch's end (stored, pushed, progress recorded), oldest first. */
  const pending: Array<Promise<void>> = [];
  let pushed: Promise<void> = Promise.resolve();
  let recorded: Promise<void> = Promise.resolve();
  try {
    for (let first = 0, chunk = 0; first < total; first += BATCH, chunk += BATCH / PUSH_CHUNK) {
      if (pending.length >= BATCHES_IN_FLIGHT) await pending.shift();
      const n = Math.min(BATCH, total - first);
      const codes = deps.codes.codes(campaign.codeOffset + first, n);
      const stored = insertCodes(db, id, first + 1, codes);
      const batchChunk = chunk;
      // A failed push ends the chain: no later chunk is pushed after a gap.
      pushed = pushed.then(() => pushBatch(first, codes, batchChunk));
      const done = Promise.all([stored, pushed, recorded]).then(() => progress(first + n, "loading"));
      // Awaited in turn below; marked handled now so a batch that fails while an older one is
      // awaited is not an unhandled rejection.
      done.catch(() => undefined);
      recorded = done;
      pending.push(done);
    }
    while (pending.length > 0) await pending.shift();
  } catch (err) {
    // No write of this load may still be running once it reports its failure.
    await Promise.allSettled(pending);
    throw err;
  }
  await renew("finish", 0);

  for (const [sub, k] of pools.entries()) {
    try {
      await bulkRedis.xgroup("CREATE", k.stream, PERSISTER_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
    await bulkRedis.sadd(keys.activeCampaigns, subPoolMember(id, sub));
  }
  // MySQL first: if we die between the two, MySQL says ready while Redis still refuses to issue,
  // which is safe (load recovery finishes it); the opposite order could let a crash-restart
  // reload an issuing pool.
  await progress(total, "ready");
  for (const [sub, k] of pools.entries()) {
    await finishFill(bulkRedis, k.meta, "load", lease.fence, subPoolSize(sub, shards, total), { state: "ready" });
  }
}

/** A batch's codes (pool positions first + 1 …) dealt out to the sub-pools they belong to. */
function splitBySubPool(codes: readonly string[], first: number, shards: number): ReadonlyArray<readonly string[]> {
  if (shards === 1) return [codes];
  const shares: string[][] = Array.from({ length: shards }, () => []);
  for (let i = 0; i < codes.length; i++) shares[subPoolOfPosition(first + i + 1, shards)]!.push(codes[i]!);
  return shares;
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
