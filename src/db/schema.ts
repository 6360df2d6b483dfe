import { sql } from "drizzle-orm";
import {
  bigint,
  datetime,
  index,
  int,
  mysqlTable,
  primaryKey,
  tinyint,
  uniqueIndex,
  varbinary,
  varchar,
} from "drizzle-orm/mysql-core";

/**
 * One row (id = 1): the secret that keys the code permutation and the next free global counter.
 * Each campaign takes a disjoint counter range from here, which is what makes codes unique
 * across campaigns by construction. Losing or changing the secret would break that guarantee,
 * so it lives with the data it protects, never in configuration.
 */
export const codeAllocator = mysqlTable("code_allocator", {
  id: tinyint("id").primaryKey(),
  secret: varbinary("secret", { length: 32 }).notNull(),
  nextCounter: bigint("next_counter", { mode: "number" }).notNull(),
  /**
   * This deployment's identity: a random id made once, beside the secret. Recorded in Redis under
   * the key prefix at start, so two deployments (two databases) can never share one namespace.
   */
  deploymentId: varchar("deployment_id", { length: 64 }),
});

export const campaigns = mysqlTable("campaigns", {
  id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
  name: varchar("name", { length: 200 }).notNull(),
  startTime: datetime("start_time", { mode: "date", fsp: 3 }).notNull(),
  totalCoupons: int("total_coupons", { unsigned: true }).notNull(),
  /** First global counter of this campaign's range. */
  codeOffset: bigint("code_offset", { mode: "number" }).notNull(),
  /** `loading` until every code is in MySQL and in the Redis pool, then `ready`. */
  status: varchar("status", { length: 16 }).notNull().default("loading"),
  /** Codes generated and loaded so far. */
  loaded: int("loaded", { unsigned: true }).notNull().default(0),
  createdAt: datetime("created_at", { mode: "date", fsp: 3 })
    .notNull()
    .default(sql`CURRENT_TIMESTAMP(3)`),
  /** The instant issuing closes for good; null for a campaign that runs until sold out. */
  endTime: datetime("end_time", { mode: "date", fsp: 3 }),
  /**
   * Lifecycle, mirrored from the Redis meta hash (which is what issuing obeys) so that the state
   * survives the removal of the campaign's Redis keys. Set while paused; cleared on resume.
   */
  pausedAt: datetime("paused_at", { mode: "date", fsp: 3 }),
  /** Set once, by CancelCampaign: issuing stopped for good and issued codes cannot be redeemed. */
  cancelledAt: datetime("cancelled_at", { mode: "date", fsp: 3 }),
  /** Unissued codes voided by the cancellation (0 until the voiding has finished). */
  voided: int("voided", { unsigned: true }).notNull().default(0),
  /** The instance loading the pool, while `status` is `loading` (see src/campaigns/load-lease.ts). */
  loadOwner: varchar("load_owner", { length: 80 }),
  /** When that instance last renewed its lease, by MySQL's clock. */
  loadHeartbeat: datetime("load_heartbeat", { mode: "date", fsp: 3 }),
  /**
   * The issue budget: no code past this pool position (sequence) may be issued. Raised here
   * before Redis may use it (src/campaigns/issue-budget.ts), so after a total loss of Redis every
   * code that might have been issued is known: exactly those up to this number.
   */
  issueAllowance: int("issue_allowance", { unsigned: true }).notNull().default(0),
  /** Codes a rebuild quarantined (src/campaigns/rebuild.ts): counted as issued, never owned. */
  quarantined: int("quarantined", { unsigned: true }).notNull().default(0),
  /**
   * The fill fence: raised by one each time a loader takes the load lease or a rebuild takes its
   * lock. Every write into the campaign's Redis pool carries it and Redis refuses an older one,
   * so a loader or rebuild that lost its lease or lock can never touch the pool again.
   */
  loadFence: int("load_fence", { unsigned: true }).notNull().default(0),
  /**
   * Sub-pools the campaign's codes are split into (CreateCampaign `shards`), each under its own
   * Redis hash tag: 1 for one pool, as before (src/campaigns/sub-pools.ts).
   */
  shards: tinyint("shards", { unsigned: true }).notNull().default(1),
});

/**
 * The issue budget of each sub-pool of a campaign split into K > 1 (src/campaigns/sub-pools.ts):
 * sub-pool `sub` may issue its codes at local positions up to `issue_allowance`. Raised here
 * before Redis may use it (src/campaigns/issue-budget.ts), so after a sub-pool is lost the codes
 * it may have issued are exactly its own up to this local position, whatever the other sub-pools
 * issued. A campaign of one pool has no rows: `campaigns.issue_allowance` is its budget.
 */
export const subPoolBudgets = mysqlTable(
  "sub_pool_budgets",
  {
    campaignId: bigint("campaign_id", { mode: "number", unsigned: true }).notNull(),
    sub: tinyint("sub", { unsigned: true }).notNull(),
    issueAllowance: int("issue_allowance", { unsigned: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.sub] })],
);

/** Every generated code. `seq` is the code's place in the pool (1 = first to be issued). */
export const coupons = mysqlTable(
  "coupons",
  {
    campaignId: bigint("campaign_id", { mode: "number", unsigned: true }).notNull(),
    seq: int("seq", { unsigned: true }).notNull(),
    code: varchar("code", { length: 10 }).notNull(),
    /** Set when the campaign was cancelled before this code was issued: it can never be used. */
    voidedAt: datetime("voided_at", { mode: "date", fsp: 3 }),
    /**
     * Set by a rebuild after Redis lost the campaign: the code may have been handed out (it was
     * within the issue budget) but its owner never reached MySQL. It is never issued again.
     */
    quarantinedAt: datetime("quarantined_at", { mode: "date", fsp: 3 }),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.seq] }), uniqueIndex("coupons_code_unique").on(t.code)],
);

/**
 * How many of a campaign's codes were redeemed: one row per campaign, created with it and raised
 * in the same transaction as each redemption (src/campaigns/repository.ts redeemIssuedCode), so
 * GetCampaign reads the count instead of counting owner rows, and the persister's appends need
 * no index on redeemed_at.
 */
export const campaignRedemptions = mysqlTable("campaign_redemptions", {
  campaignId: bigint("campaign_id", { mode: "number", unsigned: true }).primaryKey(),
  redeemed: bigint("redeemed", { mode: "number", unsigned: true }).notNull().default(0),
});

/**
 * Who got which code and when: append-only, written by the persister. Appending is ~5x faster
 * than updating owners in place on `coupons` (keyed by random codes), so the persister keeps up
 * with the issue rate. The primary key makes a redelivered stream entry a no-op.
 */
export const couponIssues = mysqlTable(
  "coupon_issues",
  {
    campaignId: bigint("campaign_id", { mode: "number", unsigned: true }).notNull(),
    /** The issue's place in line: 1 for the first code issued in the campaign. */
    sequence: int("sequence", { unsigned: true }).notNull(),
    code: varchar("code", { length: 10 }).notNull(),
    userId: varchar("user_id", { length: 128 }),
    issuedAt: datetime("issued_at", { mode: "date", fsp: 3 }).notNull(),
    /**
     * When the code was used at checkout: set once, by a conditional UPDATE (`… AND redeemed_at
     * IS NULL`), so of concurrent redemptions exactly one changes the row. The persister never
     * writes these two columns, so a redelivered stream entry cannot clear them.
     */
    redeemedAt: datetime("redeemed_at", { mode: "date", fsp: 3 }),
    /** Who redeemed it: the owner, or whoever presented a code issued to no one in particular. */
    redeemedBy: varchar("redeemed_by", { length: 128 }),
  },
  (t) => [
    primaryKey({ columns: [t.campaignId, t.sequence] }),
    uniqueIndex("coupon_issues_code_unique").on(t.code),
    // No index on the user: no query looks owners up by user (a caller asking again is answered by
    // Redis, redemption goes by code), and a random B-tree insert per persisted issue cost MariaDB
    // about a fifth of its CPU per row (migration 0008). Nor on redeemed_at, for the same reason:
    // a campaign's redeemed count is kept in `campaign_redemptions` (migration 0009).
  ],
);

/**
 * Integrity alarms: an issue the persister could not record as it came, because MySQL already
 * holds its code under another sequence, or its sequence with another code or user. Never
 * expected; kept here (not only logged) so it survives restarts and VerifyCampaign reports it.
 * The unique key makes a redelivered stream entry raise its alarm once.
 */
export const integrityAlarms = mysqlTable(
  "integrity_alarms",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    campaignId: bigint("campaign_id", { mode: "number", unsigned: true }).notNull(),
    /** `code_reused` (the code is owned under another sequence) or `sequence_reused`. */
    kind: varchar("kind", { length: 32 }).notNull(),
    /** The incoming issue, as it was on the stream. */
    sequence: int("sequence", { unsigned: true }).notNull(),
    code: varchar("code", { length: 10 }).notNull(),
    userId: varchar("user_id", { length: 128 }),
    /** The record MySQL already held, in words. */
    existing: varchar("existing", { length: 400 }).notNull(),
    detectedAt: datetime("detected_at", { mode: "date", fsp: 3 })
      .notNull()
      .default(sql`CURRENT_TIMESTAMP(3)`),
  },
  (t) => [
    uniqueIndex("integrity_alarms_issue").on(t.campaignId, t.kind, t.sequence, t.code),
    index("integrity_alarms_campaign").on(t.campaignId),
  ],
);
