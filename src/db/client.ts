import { drizzle } from "drizzle-orm/mysql2";
import mysql from "mysql2/promise";
import * as schema from "./schema.js";

export type MysqlPool = mysql.Pool;

export type DbTarget = { uri: string; database: string };

/** Splits `mysql://…/coupons` into the server URI and the database name. */
export function parseDatabaseUrl(url: string): DbTarget {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "coupons";
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    throw new Error(`database name "${database}" must be 1-64 letters, digits, _ or $`);
  }
  parsed.pathname = "/";
  return { uri: parsed.toString(), database };
}

const connectionOptions = {
  // Every DATETIME is UTC on the wire and in the table.
  timezone: "Z",
  dateStrings: false,
  supportBigNumbers: true,
  connectTimeout: 5000,
  enableKeepAlive: true,
} as const;

/** Creates the database if it is missing. Codes are compared byte for byte (utf8mb4_bin). */
export async function ensureDatabase(target: DbTarget): Promise<void> {
  const conn = await mysql.createConnection({ uri: target.uri, ...connectionOptions });
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await conn.end();
  }
}

export function createPool(target: DbTarget, connectionLimit = 10): MysqlPool {
  const pool = mysql.createPool({
    uri: target.uri,
    database: target.database,
    ...connectionOptions,
    connectionLimit,
    // A bounded queue turns a MySQL outage into fast errors instead of a growing backlog.
    queueLimit: 200,
    waitForConnections: true,
    idleTimeout: 60_000,
  });
  return pool;
}

export function createDb(pool: MysqlPool) {
  return drizzle(pool, { schema, mode: "default" });
}

/** drizzle over the mysql2 pool; `db.$client` is the pool itself, for bulk statements. */
export type Db = ReturnType<typeof createDb>;
