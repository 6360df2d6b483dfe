import mysql from "mysql2/promise";
import type { PersistProbe } from "../loadtest/verify/persist-drain.js";

/**
 * Counts persisted owners straight from the bench's own MySQL database: a cheap primary-key
 * range count, where the API probe would fetch every code of a 100,000-code campaign per poll and
 * slow the persister it is timing. Table and columns are the service's schema (src/db/schema.ts).
 */
export async function mysqlPersistProbe(databaseUrl: string): Promise<{ probe: PersistProbe; close: () => Promise<void> }> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  const probe: PersistProbe = async (run) => {
    const [rows] = await conn.query("SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ?", [Number(run.id)]);
    return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
  };
  return { probe, close: () => conn.end() };
}

/** Removes the bench's database (left over from a crashed run too). */
export async function dropDatabase(serverUri: string, database: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: serverUri });
  await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await conn.end();
}
