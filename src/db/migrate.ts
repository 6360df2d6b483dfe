import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/mysql2/migrator";
import type { Db, MysqlPool } from "./client.js";

/** drizzle/ at the project root, whether we run from src/ (tsx, vitest) or dist/src/. */
export const MIGRATIONS_FOLDER = fileURLToPath(
  new URL(import.meta.url.includes("/dist/") ? "../../../drizzle" : "../../drizzle", import.meta.url),
);

const LOCK_NAME = "coupons_migrate";
const LOCK_TIMEOUT_S = 60;

/**
 * Applies pending migrations. Several instances start together (node:cluster workers, replicas),
 * so a MySQL named lock makes them take turns instead of racing on the same DDL.
 */
export async function runMigrations(db: Db, pool: MysqlPool): Promise<void> {
  const conn = await pool.getConnection();
  try {
    const [rows] = await conn.query("SELECT GET_LOCK(?, ?) AS got", [LOCK_NAME, LOCK_TIMEOUT_S]);
    if ((rows as Array<{ got: number }>)[0]?.got !== 1) {
      throw new Error(`could not take the migration lock within ${LOCK_TIMEOUT_S}s`);
    }
    try {
      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
    }
  } finally {
    conn.release();
  }
}
