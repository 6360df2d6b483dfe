import { findCodeWithShards, findIssuedCode, redeemIssuedCode, type IssuedCodeRow } from "../campaigns/repository.js";
import { subPoolOfPosition } from "../campaigns/sub-pools.js";
import { validateUserId } from "../campaigns/validation.js";
import { isWellFormedCode } from "../codes/code-format.js";
import { withMysql, withRedis } from "../db/errors.js";
import { AppError, invalidArgument, notFound } from "../errors.js";
import { parseIssueEvent, type IssueEvent, type RawStreamEntry } from "../persist/stream-entry.js";
import { writeIssues } from "../persist/write-issues.js";
import type { LifecycleDeps } from "./deps.js";
import { campaignCancelled } from "./errors.js";

export type Redemption = { campaignId: number; sequence: number; redeemedAt: Date };

/**
 * RedeemCoupon: marks an issued code used, at checkout.
 *
 * A mistyped code is refused by its check character before any lookup. The redemption itself is
 * one conditional UPDATE on the code's owner record (`redeemIssuedCode`): of any number of
 * concurrent calls exactly one changes the row. The checks before it only choose the error a
 * loser sees; the UPDATE re-checks everything that matters.
 *
 * A code issued a moment ago may still be on its campaign's stream, not yet in MySQL. Then this
 * call does the persister's work for that one entry first: the same idempotent insert, so when
 * the persister reaches the entry its write changes nothing (and never clears the redemption).
 */
export async function redeemCoupon(deps: LifecycleDeps, rawCode: string, rawUserId: string): Promise<Redemption> {
  if (!isWellFormedCode(rawCode)) {
    throw invalidArgument("code is not a valid coupon code: check it for a typo");
  }
  const code = rawCode.normalize("NFC");
  const userId = validateUserId(rawUserId);

  const issue =
    (await withMysql("the coupon was not redeemed", () => findIssuedCode(deps.db, code))) ??
    (await persistFromStream(deps, code));
  if (!issue) throw notFound(`coupon ${code} does not exist or has not been issued`);
  if (issue.cancelledAt) throw campaignCancelled(issue.campaignId);
  if (issue.userId !== null && issue.userId !== userId) {
    throw new AppError("permission_denied", `coupon ${code} was issued to another user`);
  }
  if (issue.redeemedAt) throw alreadyRedeemed(code, issue.redeemedAt);

  const at = new Date();
  if (await withMysql("the coupon was not redeemed", () => redeemIssuedCode(deps.db, issue.campaignId, code, userId, at))) {
    return { campaignId: issue.campaignId, sequence: issue.sequence, redeemedAt: at };
  }
  // Another call redeemed it between the read and the UPDATE.
  const now = await withMysql("the coupon was not redeemed", () => findIssuedCode(deps.db, code));
  if (now?.redeemedAt) throw alreadyRedeemed(code, now.redeemedAt);
  throw new AppError("internal", `coupon ${code} could not be redeemed`);
}

function alreadyRedeemed(code: string, at: Date): AppError {
  return new AppError("already_exists", `coupon ${code} was already redeemed at ${at.toISOString()}`);
}

/**
 * Finds an issue of `code` that is still on its campaign's stream and writes it to MySQL, then
 * reads the owner record again. The stream is read before that second MySQL read: the persister
 * deletes an entry only after its commit, so an issue missing from the stream is in MySQL.
 *
 * In a campaign split into sub-pools, a code can only have been issued by the one sub-pool that
 * holds it, the one its pool position belongs to (src/campaigns/sub-pools.ts): only that
 * sub-pool's stream is read (for one pool, sub-pool 0 is the campaign's own stream).
 */
async function persistFromStream(deps: LifecycleDeps, code: string): Promise<IssuedCodeRow | undefined> {
  const generated = await withMysql("the coupon was not redeemed", () => findCodeWithShards(deps.db, code));
  if (!generated) return undefined;
  const sub = subPoolOfPosition(generated.seq, generated.shards);
  const event = await findOnStream(deps, deps.keys.subPool(generated.campaignId, sub).stream, code);
  if (event) await withMysql("the coupon was not redeemed", () => writeIssueRetryingDeadlocks(deps, generated.campaignId, event));
  return withMysql("the coupon was not redeemed", () => findIssuedCode(deps.db, code));
}

/** Attempts at the one-entry insert when InnoDB picks it as a deadlock victim. */
const DEADLOCK_ATTEMPTS = 3;

/**
 * Concurrent `INSERT … ON DUPLICATE KEY UPDATE` of the same row (many redemptions of one fresh
 * code, or one racing the persister's batch) can deadlock on the unique index's locks; InnoDB
 * then rolls one back with ER_LOCK_DEADLOCK, and running it again is the documented remedy.
 */
async function writeIssueRetryingDeadlocks(deps: LifecycleDeps, campaignId: number, event: IssueEvent): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await writeIssues(deps.db, campaignId, [event]);
      return;
    } catch (err) {
      if (!isDeadlock(err) || attempt >= DEADLOCK_ATTEMPTS) throw err;
    }
  }
}

/** Entries per XRANGE while looking for a code on a stream: the stream is as long as the persister's lag. */
const STREAM_PAGE = 1000;

async function findOnStream(deps: LifecycleDeps, stream: string, code: string): Promise<IssueEvent | undefined> {
  for (let from = "-"; ; ) {
    const page = (await withRedis("the coupon was not redeemed", () =>
      deps.bulkRedis.xrange(stream, from, "+", "COUNT", STREAM_PAGE),
    )) as RawStreamEntry[];
    const hit = page.map(parseIssueEvent).find((e) => e.code === code);
    if (hit || page.length < STREAM_PAGE) return hit;
    from = `(${page[page.length - 1]![0]}`;
  }
}

function isDeadlock(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === "ER_LOCK_DEADLOCK") return true;
  }
  return false;
}
