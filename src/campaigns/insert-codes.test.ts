import { Readable } from "node:stream";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeGenerator } from "../codes/generator.js";
import mysql from "mysql2/promise";
import { createDb, type MysqlPool } from "../db/client.js";
import { startTestService, stopTestService, type TestService } from "../testing/harness.js";
import { insertCodes } from "./repository.js";

/**
 * insertCodes on its own, against the real MariaDB: the pool loader relies on it being
 * idempotent (a resumed load writes the same batches again) and on it never hiding a collision.
 * Campaign ids here are far above any the service creates in this database.
 */
let s: TestService;
let noLocalFiles: MysqlPool;
const codes = new CodeGenerator(Buffer.alloc(32, 5)).codes(0, 3000);

beforeAll(async () => {
  s = await startTestService();
  // A client that does not offer LOCAL INFILE: the server refuses LOAD DATA LOCAL as MySQL 8
  // does by default (local_infile off).
  noLocalFiles = mysql.createPool({ uri: s.config.DATABASE_URL, connectionLimit: 2, flags: ["-LOCAL_FILES"] });
});
afterAll(async () => {
  await noLocalFiles?.end();
  if (s) await stopTestService(s);
});

async function stored(campaignId: number) {
  const [rows] = await s.deps.db.$client.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM coupons WHERE campaign_id = ?",
    [campaignId],
  );
  return rows[0];
}

describe("storing a campaign's codes", () => {
  it("stores a batch once: written again (a resumed load), nothing changes and nothing is refused", async () => {
    await insertCodes(s.deps.db, 900_001, 1, codes.slice(0, 1000));
    await insertCodes(s.deps.db, 900_001, 1, codes.slice(0, 1000));
    await insertCodes(s.deps.db, 900_001, 501, codes.slice(500, 1500)); // half old, half new
    expect(await stored(900_001)).toMatchObject({ n: 1500, lo: 1, hi: 1500 });
  });

  it("refuses a batch when one of its codes is already another campaign's", async () => {
    const batch = [...codes.slice(2000, 2010), codes[7]!]; // codes[7] is campaign 900001's
    await expect(insertCodes(s.deps.db, 900_002, 1, batch)).rejects.toThrow(
      "codes 1..11 of campaign 900002: 1 collided with existing codes",
    );
  });

  it("stores every code through multi-row INSERTs when the server refuses LOAD DATA LOCAL", async () => {
    const refusal = await noLocalFiles
      .query({
        sql: "LOAD DATA LOCAL INFILE 'x' INTO TABLE coupons (campaign_id, seq, code)",
        infileStreamFactory: () => Readable.from([Buffer.from("900003\t1\tx\n")]),
      })
      .then(() => undefined, (err: { errno?: number }) => err.errno);
    // MariaDB 10.6+ says 4166, MySQL 8 3948.
    expect([3948, 4166]).toContain(refusal);
    const db = createDb(noLocalFiles);
    await insertCodes(db, 900_003, 1, codes.slice(2500, 3000));
    await insertCodes(db, 900_003, 1, codes.slice(2500, 3000));
    expect(await stored(900_003)).toMatchObject({ n: 500, lo: 1, hi: 500 });
  });
});
