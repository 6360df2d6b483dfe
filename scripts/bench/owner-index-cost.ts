/**
 * What each index of `coupon_issues` costs MariaDB per persisted owner: two tables of that shape,
 * one with the (campaign_id, user_id) index migration 0008 dropped and one without, filled in turns
 * the way the persister writes (500-row `INSERT IGNORE`, one transaction each, random codes and
 * user ids), MariaDB's own CPU time per row from /proc (so run it on the machine MariaDB runs on).
 *
 *   npx tsx scripts/bench/owner-index-cost.ts [--rows 100000] [--rounds 4]
 *
 * Works in a database of its own (owner_index_cost), dropped at the end.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { median } from "./median.js";

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" }, rounds: { type: "string", default: "4" } } });
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const BATCH = 500;
const TABLES = { with_user_index: true, without_user_index: false } as const;
type Table = keyof typeof TABLES;

const mariadbPid = execFileSync("pgrep", ["-x", "mariadbd"]).toString().trim().split("\n")[0];
/** utime + stime of MariaDB, in clock ticks (100 per second). */
function mariadbTicks(): number {
  const fields = readFileSync(`/proc/${mariadbPid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function ddl(table: Table): string {
  return `CREATE TABLE ${table} (
    campaign_id bigint unsigned NOT NULL, sequence int unsigned NOT NULL, code varchar(10) NOT NULL,
    user_id varchar(128), issued_at datetime(3) NOT NULL, redeemed_at datetime(3), redeemed_by varchar(128),
    PRIMARY KEY (campaign_id, sequence), UNIQUE KEY code_unique (code),
    ${TABLES[table] ? "KEY by_user (campaign_id, user_id)," : ""} KEY by_redeemed (campaign_id, redeemed_at)
  ) CHARSET utf8mb4 COLLATE utf8mb4_bin`;
}

const SYLLABLES = "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허";
function randomCode(): string {
  let s = "";
  for (let i = 0; i < 10; i++) s += Math.random() < 0.3 ? String(Math.floor(Math.random() * 10)) : SYLLABLES[Math.floor(Math.random() * SYLLABLES.length)];
  return s;
}

const conn = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306/", timezone: "Z" });
const sequences: Record<Table, number> = { with_user_index: 0, without_user_index: 0 };

/** Writes ROWS owners into `table`; MariaDB's CPU µs per row. */
async function fill(table: Table): Promise<number> {
  const before = mariadbTicks();
  for (let b = 0; b < ROWS / BATCH; b++) {
    const rows = Array.from({ length: BATCH }, () => {
      const seq = ++sequences[table];
      return [1, seq, randomCode(), `user-${Math.random().toString(36).slice(2)}-${seq}`, new Date()];
    });
    await conn.beginTransaction();
    await conn.query(`INSERT IGNORE INTO ${table} (campaign_id, sequence, code, user_id, issued_at) VALUES ?`, [rows]);
    await conn.commit();
  }
  return ((mariadbTicks() - before) * 10_000) / ROWS;
}

try {
  await conn.query("DROP DATABASE IF EXISTS owner_index_cost");
  await conn.query("CREATE DATABASE owner_index_cost");
  await conn.query("USE owner_index_cost");
  for (const table of Object.keys(TABLES) as Table[]) await conn.query(ddl(table));
  const perRow: Record<Table, number[]> = { with_user_index: [], without_user_index: [] };
  for (let r = 1; r <= ROUNDS; r++) {
    for (const table of Object.keys(TABLES) as Table[]) {
      perRow[table].push(await fill(table));
      console.log(`round ${r}: ${table}: ${perRow[table].at(-1)!.toFixed(1)} µs of MariaDB CPU per owner`);
    }
  }
  const withIndex = median(perRow.with_user_index);
  const without = median(perRow.without_user_index);
  console.log(
    `medians: with the user index ${withIndex.toFixed(1)} µs, without ${without.toFixed(1)} µs per owner (${((1 - without / withIndex) * 100).toFixed(0)} % less)`,
  );
} finally {
  await conn.query("DROP DATABASE IF EXISTS owner_index_cost");
  await conn.end();
}
