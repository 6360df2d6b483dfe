import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import mysql from "mysql2/promise";
import { CodeGenerator } from "../../src/codes/generator.js";

export type LoadDataTiming = { coupons: number; ms: number; codesPerSecond: number };

/** Rows per piece of the stream: each piece is one packet, bounded by max_allowed_packet. */
const ROWS_PER_PIECE = 5000;

/**
 * The reference for campaign creation: one bare `LOAD DATA LOCAL INFILE` of `coupons` codes
 * into an empty table created `LIKE coupons` (the same columns, primary key (campaign_id, seq)
 * and unique code, the same charset) in the bench's own database, on the same server. The codes
 * come from the service's own generator under a fresh secret and are built beforehand: only the
 * statement is timed, from the first byte sent to MySQL's answer. The table is dropped after.
 *
 * The table first gets a copy of every row the service's `coupons` holds at that moment (untimed;
 * under campaign id 0, which the service never uses): a unique index that has outgrown MySQL's
 * buffer pool inserts several times slower, so an empty reference table beside a full service
 * table would compare two different workloads.
 */
export async function timeLoadDataReference(databaseUrl: string, coupons: number): Promise<LoadDataTiming> {
  const codes = new CodeGenerator(randomBytes(32)).codes(0, coupons);
  const pieces: Buffer[] = [];
  for (let at = 0; at < coupons; at += ROWS_PER_PIECE) {
    let text = "";
    for (let i = at; i < Math.min(at + ROWS_PER_PIECE, coupons); i++) text += `1\t${i + 1}\t${codes[i]}\n`;
    pieces.push(Buffer.from(text, "utf8"));
  }
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    await conn.query("DROP TABLE IF EXISTS load_data_reference");
    await conn.query("CREATE TABLE load_data_reference LIKE coupons");
    await conn.query("INSERT INTO load_data_reference (campaign_id, seq, code) SELECT 0, @n := @n + 1, code FROM coupons, (SELECT @n := 0) AS counter");
    const t0 = performance.now();
    await conn.query({
      sql: "LOAD DATA LOCAL INFILE 'codes.tsv' INTO TABLE load_data_reference CHARACTER SET utf8mb4 (campaign_id, seq, code)",
      infileStreamFactory: () => Readable.from(pieces),
    });
    const ms = performance.now() - t0;
    return { coupons, ms: Math.round(ms), codesPerSecond: Math.round(coupons / (ms / 1000)) };
  } finally {
    await conn.query("DROP TABLE IF EXISTS load_data_reference").catch(() => undefined);
    await conn.end();
  }
}
