import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { ReplyError } from "ioredis";
import type { ScriptedRedis } from "../redis/scripts.js";
import type { ScriptPipe } from "../redis/script-pipe.js";
import { RedisReplyError } from "../redis/resp-reader.js";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import { parseSubPoolMember, PERSISTER_GROUP, type RedisKeys } from "../redis/keys.js";
import { parseIssueEvent, type IssueEvent, type RawStreamEntry } from "./stream-entry.js";
import { isMysqlUnreachable } from "../db/errors.js";
import { describeStored, UnrecordedIssueError, writeIssues, type AlarmKind, type IntegrityAlarm } from "./write-issues.js";

export type PersisterOptions = {
  /**
   * Entries per MySQL transaction (one LOAD DATA). 2,000 rather than 500: under a burst every
   * batch is full, and a quarter as many transactions, stream reads and acknowledgements cost
   * the machine less per issue (docs/profile.md); a batch is still ~150 KB and a few ms of work.
   */
  batchSize: number;
  /** Longest sleep between polls when every stream is empty, in ms. */
  maxIdleMs: number;
  /**
   * After a pass that drained every stream (no batch was full), how long to wait before the next,
   * in ms, so that the next batch gathers that long's issues: fewer, fuller transactions cost less
   * CPU per issue (MySQL's and this process's) for at most this much more persist lag. A pass that
   * met a full batch (a backlog) goes on at once. Never longer than `maxIdleMs`.
   */
  lingerMs: number;
  /** An entry pending this long on another consumer is taken over, in ms. */
  claimIdleMs: number;
  /** How often to look for such entries, in ms. */
  claimEveryMs: number;
  /** Longest back-off after a MySQL or Redis failure, in ms. */
  maxBackoffMs: number;
  /**
   * Test seam: runs after a batch is committed to MySQL and before it is acknowledged. A throw
   * leaves the batch unacknowledged, exactly as a crash between COMMIT and XACK would.
   */
  afterCommit?: (campaignId: string, count: number) => void;
  /** Test seam: runs inside the batch's MySQL transaction, before COMMIT (see `writeIssues`). */
  beforeCommit?: (campaignId: string, count: number) => Promise<void> | void;
  /** A campaign that keeps failing is logged at most once per this many ms. */
  skipLogEveryMs: number;
};

export const DEFAULT_PERSISTER_OPTIONS: PersisterOptions = {
  batchSize: 2000,
  maxIdleMs: 100,
  lingerMs: 100,
  claimIdleMs: 15_000,
  claimEveryMs: 5_000,
  maxBackoffMs: 5_000,
  skipLogEveryMs: 60_000,
};

/** What one pass over every campaign did: entries persisted, and whether a stream gave a full batch. */
export type PassResult = { written: number; backlog: boolean };

export type PersisterDeps = {
  db: Db;
  redis: ScriptedRedis;
  keys: RedisKeys;
  logger: Logger;
  /**
   * On a single Redis, a connection of the persister's own (src/redis/script-pipe.ts, running
   * ack-issues.lua) for its steady work, reading new entries and acknowledging them: it decodes
   * a batch at a fraction of ioredis's cost. Absent (a cluster, tests): all of it goes by `redis`.
   */
  pipe?: ScriptPipe;
};

/**
 * Moves issues from the campaigns' Redis streams to MySQL. One consumer of the shared group per
 * instance; at-least-once delivery made harmless by idempotent writes:
 *
 *   XREADGROUP → one transaction per batch (src/persist/write-issues.ts) → XACK + XDEL (ack-issues.lua)
 *
 * An entry is acknowledged and deleted only after its MySQL commit, so a crash anywhere leaves it
 * pending; the consumer's own pending entries are read again first, and those of a dead consumer
 * are claimed by a live one after `claimIdleMs`. Deleting persisted entries keeps each stream
 * down to what is not yet in MySQL, which is what GetCampaign merges for read-your-writes.
 *
 * One campaign that cannot be read or written (an id left in the active set without its stream,
 * a batch MySQL refuses) is skipped, logged and counted, and the pass goes on with the others.
 * An outage (MySQL or Redis unreachable, a timeout) fails the whole pass at once, and the loop
 * backs off: every other campaign would meet it too.
 */
export class Persister {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly options: PersisterOptions;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Campaigns whose own pending list may hold entries (true at start: a previous run may have left some). */
  private readonly recheckPending = new Set<string>();
  private lastClaimAt = 0;
  private readonly known = new Set<string>();
  /** Per campaign that failed: when it was last logged and how many failures went unlogged since. */
  private readonly skipLog = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    private readonly deps: PersisterDeps,
    options: Partial<PersisterOptions> = {},
  ) {
    this.options = { ...DEFAULT_PERSISTER_OPTIONS, ...options };
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Finishes the batch in hand (written and acknowledged), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** One pass over every campaign; returns how many entries were persisted. Exposed for tests and drains. */
  async runOnce(): Promise<number> {
    return (await this.pass()).written;
  }

  /** One pass; `backlog`: some stream gave a full batch, so more is waiting there. */
  protected async pass(): Promise<PassResult> {
    const ids = await this.deps.redis.smembers(this.deps.keys.activeCampaigns);
    for (const id of ids) {
      if (!this.known.has(id)) {
        this.known.add(id);
        this.recheckPending.add(id);
      }
    }
    const claimNow = Date.now() - this.lastClaimAt >= this.options.claimEveryMs;
    if (claimNow) this.lastClaimAt = Date.now();
    let written = 0;
    let backlog = false;
    for (const id of ids) {
      if (this.stopping) break;
      try {
        if (claimNow) written += await this.claimStale(id);
        const persisted = await this.persistCampaign(id);
        if (persisted >= this.options.batchSize) backlog = true;
        written += persisted;
        this.skipLog.delete(id);
      } catch (err) {
        if (isOutage(err)) throw err;
        this.skipCampaign(id, err);
      }
    }
    return { written, backlog };
  }

  /** Logs (at most once per `skipLogEveryMs` per campaign) and counts a campaign this pass skipped. */
  private skipCampaign(id: string, err: unknown): void {
    this.campaignSkipped(id, err);
    const now = Date.now();
    const last = this.skipLog.get(id);
    if (last && now - last.loggedAt < this.options.skipLogEveryMs) {
      last.unlogged++;
      return;
    }
    this.skipLog.set(id, { loggedAt: now, unlogged: 0 });
    this.deps.logger.warn(
      { err, campaignId: id, failuresSinceLastLog: last?.unlogged ?? 0 },
      "persister skipped a campaign it cannot read or write; the other campaigns go on",
    );
  }

  /** Hook for metrics: a campaign skipped in a pass. */
  protected campaignSkipped(_id: string, _err: unknown): void {}

  /** Hook for metrics: integrity alarms recorded for the first time. */
  protected integrityAlarmsRecorded(_kind: AlarmKind, _count: number): void {}

  private async run(): Promise<void> {
    let idleMs = 1;
    let failures = 0;
    while (!this.stopping) {
      try {
        const { written, backlog } = await this.pass();
        failures = 0;
        if (backlog) continue;
        idleMs = written > 0 ? Math.min(this.options.lingerMs, this.options.maxIdleMs) : Math.min(Math.max(idleMs, 1) * 2, this.options.maxIdleMs);
      } catch (err) {
        failures++;
        idleMs = Math.min(100 * 2 ** Math.min(failures, 10), this.options.maxBackoffMs);
        this.deps.logger.warn({ err, retryInMs: idleMs }, "persister pass failed; will retry");
      }
      await this.sleep(idleMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Persists up to one batch per call for a campaign: own pending entries first, then new ones. */
  private async persistCampaign(id: string): Promise<number> {
    const stream = this.deps.keys.campaign(id).stream;
    if (this.recheckPending.has(id)) {
      const own = await this.read(stream, "0");
      if (own.length > 0) return this.persist(id, stream, own);
      this.recheckPending.delete(id);
    }
    return this.persist(id, stream, await this.read(stream, ">"));
  }

  /** XREADGROUP from `fromId`: "0" re-reads this consumer's pending entries, ">" takes new ones. */
  private async read(stream: string, fromId: "0" | ">"): Promise<RawStreamEntry[]> {
    const args = ["GROUP", PERSISTER_GROUP, this.consumer, "COUNT", String(this.options.batchSize), "STREAMS", stream, fromId] as const;
    const pipe = fromId === ">" ? this.deps.pipe : undefined;
    const reply = (await (pipe ? pipe.command(["XREADGROUP", ...args]) : this.deps.redis.xreadgroup(...args))) as Array<
      [string, RawStreamEntry[]]
    > | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Acknowledges and deletes committed entries, in one script call. */
  private ack(stream: string, ids: string[]): Promise<unknown> {
    const pipe = this.deps.pipe;
    return pipe ? pipe.run([stream], [PERSISTER_GROUP, ...ids]) : this.deps.redis.ackIssues(stream, PERSISTER_GROUP, ...ids);
  }

  /** Takes over entries another consumer read but never acknowledged (it died or hangs). */
  private async claimStale(id: string): Promise<number> {
    const stream = this.deps.keys.campaign(id).stream;
    const reply = (await this.deps.redis.xautoclaim(
      stream,
      PERSISTER_GROUP,
      this.consumer,
      this.options.claimIdleMs,
      "0-0",
      "COUNT",
      this.options.batchSize,
    )) as [string, Array<RawStreamEntry | null>, string[]?];
    const entries = (reply?.[1] ?? []).filter((e): e is RawStreamEntry => e !== null);
    if (entries.length > 0) {
      this.deps.logger.info({ campaignId: id, count: entries.length }, "claimed pending issues of another consumer");
      this.recheckPending.add(id);
    }
    return this.persist(id, stream, entries);
  }

  private async persist(id: string, stream: string, entries: RawStreamEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const events: IssueEvent[] = entries.map(parseIssueEvent);
    try {
      const beforeCommit = this.options.beforeCommit;
      const result = await writeIssues(this.deps.db, parseSubPoolMember(id).campaignId, events, {
        beforeCommit: beforeCommit && (() => beforeCommit(id, events.length)),
      });
      this.reportAlarms(id, result.alarms, result.newAlarms);
      if (result.unquarantined > 0) {
        this.deps.logger.warn(
          { campaignId: id, codes: result.unquarantined },
          "owners arrived for codes a rebuild had quarantined: those codes are owned, no longer quarantined",
        );
      }
      this.options.afterCommit?.(id, events.length);
    } catch (err) {
      // Left pending in our own list: the next pass reads it again.
      this.recheckPending.add(id);
      throw err;
    }
    const ids = events.map((e) => e.id);
    try {
      await this.ack(stream, ids);
    } catch (err) {
      this.recheckPending.add(id);
      throw err;
    }
    return events.length;
  }

  /** Every alarm is logged at error with both records; the entry is acknowledged all the same. */
  private reportAlarms(id: string, alarms: IntegrityAlarm[], recorded: Record<AlarmKind, number>): void {
    for (const a of alarms) {
      this.deps.logger.error(
        {
          campaignId: id,
          kind: a.kind,
          incoming: { sequence: a.issue.sequence, code: a.issue.code, userId: a.issue.userId, issuedAtMs: a.issue.issuedAtMs, entryId: a.issue.id },
          existing: describeStored(a.existing),
        },
        a.kind === "code_reused"
          ? "integrity alarm: an issued code already has an owner under another sequence; the new owner is not recorded"
          : "integrity alarm: an issue's sequence is already stored with another code or user; the new record is not stored",
      );
    }
    for (const [kind, n] of Object.entries(recorded) as Array<[AlarmKind, number]>) if (n > 0) this.integrityAlarmsRecorded(kind, n);
  }
}

/**
 * True for an error that every campaign would meet: MySQL or Redis unreachable or timing out,
 * a Redis Cluster without a primary for a slot, anything unrecognised. False for an error about
 * this campaign alone: a Redis reply about its keys (NOGROUP: the stream or its group is gone;
 * WRONGTYPE), a statement MySQL refused for this batch, an issue that could not be recorded.
 */
function isOutage(err: unknown): boolean {
  if (err instanceof UnrecordedIssueError) return false;
  if (err instanceof ReplyError || err instanceof RedisReplyError) return /^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|BUSY)/.test((err as Error).message);
  if (isMysqlUnreachable(err)) return true;
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { sqlState?: unknown }).sqlState !== undefined) return false;
  }
  return true;
}
