import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { sql } from "drizzle-orm";
import type { ResultSetHeader } from "mysql2";
import type { Db } from "../db/client.js";

/**
 * A lease on a campaign's pool load, held in its MySQL row: one loader at a time, and a load
 * whose loader died (process killed halfway through a million codes) is taken over by another
 * instance once the holder stops renewing. Each load has a token of its own, and each time the
 * lease changes hands MySQL raises the campaign's fill fence (`load_fence`): the new loader
 * writes its pool under the new fence, and Redis refuses the old one (src/campaigns/pool-fill.ts).
 */
export type LoadLease = { token: string; fence: number };

const PROCESS_ID = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
let loads = 0;

/** A new load's name as a lease holder: this process, and which of its loads. */
export function newLoadToken(): string {
  return `${PROCESS_ID}-${++loads}`;
}

/**
 * Takes the lease of a campaign that is still loading, if nobody holds it or its holder stopped
 * renewing; the fence goes up by one. Null when a live loader holds it. `load_heartbeat` is
 * compared with MySQL's own clock, so instances with skewed clocks agree.
 */
export async function takeLoadLease(db: Db, campaignId: number, leaseMs: number, token = newLoadToken()): Promise<LoadLease | null> {
  const [res] = (await db.execute(sql`
    UPDATE campaigns SET load_owner = ${token}, load_heartbeat = NOW(3), load_fence = load_fence + 1
    WHERE id = ${campaignId} AND status = 'loading'
      AND (load_owner IS NULL OR load_heartbeat < NOW(3) - INTERVAL ${leaseMs * 1000} MICROSECOND)`)) as unknown as [ResultSetHeader];
  if (res.affectedRows !== 1) return null;
  const [rows] = (await db.execute(
    sql`SELECT load_fence AS fence FROM campaigns WHERE id = ${campaignId} AND load_owner = ${token}`,
  )) as unknown as [Array<{ fence: number }>];
  return rows[0] ? { token, fence: Number(rows[0].fence) } : null;
}

/** Renews a lease this load holds. False when it lost it: it must stop before its next write. */
export async function renewLoadLease(db: Db, campaignId: number, lease: LoadLease): Promise<boolean> {
  const [res] = (await db.execute(sql`
    UPDATE campaigns SET load_heartbeat = NOW(3)
    WHERE id = ${campaignId} AND status = 'loading' AND load_owner = ${lease.token}`)) as unknown as [ResultSetHeader];
  return res.affectedRows === 1;
}

/**
 * Records load progress, or the end of the load (`ready`), only while this load holds the lease:
 * a loader that lost it can never write `loading` over a finished campaign. False when it lost it.
 */
export async function recordLoadProgress(
  db: Db,
  campaignId: number,
  lease: LoadLease,
  loaded: number,
  status: "loading" | "ready",
): Promise<boolean> {
  const [res] = (await db.execute(sql`
    UPDATE campaigns SET loaded = ${loaded}, status = ${status}, load_heartbeat = NOW(3)
    WHERE id = ${campaignId} AND status = 'loading' AND load_owner = ${lease.token}`)) as unknown as [ResultSetHeader];
  return res.affectedRows === 1;
}
