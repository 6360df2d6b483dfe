import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { sql } from "drizzle-orm";
import type { ResultSetHeader } from "mysql2";
import type { Db } from "../db/client.js";

/**
 * A lease on a campaign's pool load, held in its MySQL row: one loader at a time, and a load
 * whose loader died (process killed halfway through a million codes) is taken over by another
 * instance once the holder stops renewing. The compare-and-set is one conditional UPDATE.
 */


/** This process's name as a lease holder. */
export const LOADER_ID = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;

/**
 * Takes or renews the lease of a campaign that is still loading. True when `owner` holds it now.
 * `load_heartbeat` is compared with MySQL's own clock, so instances with skewed clocks agree.
 */
export async function holdLoadLease(db: Db, campaignId: number, leaseMs: number, owner = LOADER_ID): Promise<boolean> {
  const [res] = (await db.execute(sql`
    UPDATE campaigns SET load_owner = ${owner}, load_heartbeat = NOW(3)
    WHERE id = ${campaignId} AND status = 'loading'
      AND (load_owner IS NULL OR load_owner = ${owner}
           OR load_heartbeat < NOW(3) - INTERVAL ${leaseMs * 1000} MICROSECOND)`)) as unknown as [ResultSetHeader];
  return res.affectedRows === 1;
}
