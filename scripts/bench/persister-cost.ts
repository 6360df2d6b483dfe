/**
 * What the persister's integrity checks cost (issue 14, point 2): writes N issues in batches of
 * 500 three ways, alternating rounds so a busy machine slows all alike:
 *  - old: the pre-issue-14 statement, one drizzle `INSERT … ON DUPLICATE KEY UPDATE`, autocommit;
 *  - bare: the same rows as one mysql2 `INSERT IGNORE … VALUES ?`, autocommit, nothing checked;
 *  - new: `writeIssues` (a transaction per batch, a shared lock on the campaign row, that INSERT
 *    IGNORE checked by its affected rows). new / bare is what the checks themselves cost.
 * MySQL only: no Redis, no service. Its own database, dropped at the end.
 *
 *   npx tsx scripts/bench/persister-cost.ts [issues=100000] [rounds=3]
 */
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { createDb, createPool, ensureDatabase, parseDatabaseUrl } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";
import { couponIssues } from "../../src/db/schema.js";
import type { IssueEvent } from "../../src/persist/stream-entry.js";
import { writeIssues } from "../../src/persist/write-issues.js";
import { dropDatabase } from "./mysql-probe.js";

const SERVER = process.env.TEST_MYSQL_URI ?? "mysql://root@127.0.0.1:3306";
const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const BATCH = 500;

const database = `coupons_bench_persist_${process.pid}`;
const target = parseDatabaseUrl(`${SERVER}/${database}`);
await ensureDatabase(target);
const pool = createPool(target, 4);
const db = createDb(pool);

/** The pre-issue-14 `writeIssues`, verbatim. */
async function oldWrite(campaignId: number, events: readonly IssueEvent[]): Promise<void> {
  await db
    .insert(couponIssues)
    .values(
      events.map((e) => ({
        campaignId,
        sequence: e.sequence,
        code: e.code,
        userId: e.userId === "" ? null : e.userId,
        issuedAt: new Date(e.issuedAtMs),
      })),
    )
    .onDuplicateKeyUpdate({ set: { sequence: sql`${couponIssues.sequence}` } });
}

/** The statement writeIssues runs, alone: no transaction, no lock, no check. */
async function bareWrite(campaignId: number, events: readonly IssueEvent[]): Promise<void> {
  const rows = events.map((e) => [campaignId, e.sequence, e.code, e.userId === "" ? null : e.userId, new Date(e.issuedAtMs)]);
  await pool.query("INSERT IGNORE INTO coupon_issues (campaign_id, sequence, code, user_id, issued_at) VALUES ?", [rows]);
}

function events(n: number, salt: string): IssueEvent[] {
  const t = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: `${t}-${i}`,
    code: `${salt}${i.toString(36).padStart(6, "0")}`.slice(0, 10),
    userId: `user-${i}`,
    sequence: i + 1,
    issuedAtMs: t + i,
  }));
}

async function newCampaign(): Promise<number> {
  const [res] = (await pool.query(
    "INSERT INTO campaigns (name, start_time, total_coupons, code_offset, status) VALUES ('bench', NOW(3), ?, 0, 'ready')",
    [N],
  )) as unknown as [{ insertId: number }];
  return Number(res.insertId);
}

/** Every batch's time in ms, across all rounds, per way: its median resists a neighbour's CPU burst. */
const batchMs = new Map<unknown, number[]>();

async function timeWrites(write: (id: number, batch: IssueEvent[]) => Promise<unknown>): Promise<number> {
  const id = await newCampaign();
  const all = events(N, randomBytes(2).toString("hex"));
  const perBatch = batchMs.get(write) ?? [];
  batchMs.set(write, perBatch);
  const started = performance.now();
  for (let i = 0; i < all.length; i += BATCH) {
    const t = performance.now();
    await write(id, all.slice(i, i + BATCH));
    perBatch.push(performance.now() - t);
  }
  const ms = performance.now() - started;
  // TRUNCATE, not DELETE: no purge of 100,000 deleted rows running into the next timing.
  await pool.query("TRUNCATE TABLE coupon_issues");
  return ms;
}

try {
  await runMigrations(db, pool);
  await timeWrites(oldWrite); // warm-up: buffer pool, plan cache, connections
  const old: number[] = [];
  const bare: number[] = [];
  const current: number[] = [];
  const newWrite = (id: number, batch: IssueEvent[]) => writeIssues(db, id, batch);
  const ways: Array<[number[], (id: number, batch: IssueEvent[]) => Promise<unknown>]> = [
    [old, oldWrite],
    [bare, bareWrite],
    [current, newWrite],
  ];
  batchMs.clear(); // forget the warm-up
  // Each round starts with the next way, so none always runs first or last.
  for (let r = 0; r < ROUNDS; r++) {
    for (let w = 0; w < ways.length; w++) {
      const [times, write] = ways[(r + w) % ways.length]!;
      times.push(await timeWrites(write));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rate = (ms: number) => Math.round((N / ms) * 1000);
  console.log(`issues per run: ${N}, batch ${BATCH}, rounds ${ROUNDS}`);
  console.log(`old (drizzle ON DUPLICATE KEY UPDATE):  ${old.map((ms) => `${Math.round(ms)} ms`).join(", ")}; median ${rate(median(old))} issues/s`);
  console.log(`bare (INSERT IGNORE, nothing checked):  ${bare.map((ms) => `${Math.round(ms)} ms`).join(", ")}; median ${rate(median(bare))} issues/s`);
  console.log(`new (writeIssues, checked):             ${current.map((ms) => `${Math.round(ms)} ms`).join(", ")}; median ${rate(median(current))} issues/s`);
  console.log(`time new / old (median): ${(median(current) / median(old)).toFixed(3)}`);
  console.log(`time new / bare (median): ${(median(current) / median(bare)).toFixed(3)}  <- cost of the checks`);
  const batchMedian = (w: unknown) => median(batchMs.get(w)!);
  console.log(
    `median batch of ${BATCH}: old ${batchMedian(oldWrite).toFixed(2)} ms, bare ${batchMedian(bareWrite).toFixed(2)} ms, new ${batchMedian(newWrite).toFixed(2)} ms; ` +
      `new / old ${(batchMedian(newWrite) / batchMedian(oldWrite)).toFixed(3)}, new / bare ${(batchMedian(newWrite) / batchMedian(bareWrite)).toFixed(3)}`,
  );
} finally {
  await pool.end();
  await dropDatabase(SERVER, database);
}
