import type { RowDataPacket } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type MysqlPool } from "../db/client.js";
import { startTestService, stopTestService, type TestService } from "../testing/harness.js";
import type { IssueEvent } from "./stream-entry.js";
import { writeIssues } from "./write-issues.js";

/**
 * writeIssues on its own, against the real MariaDB: owners go as LOAD DATA rows, so a user id is
 * a field of a tab-separated line and must come back exactly as the caller sent it. Campaign ids
 * here are far above any the service creates in this database.
 */
let s: TestService;
let noLocalFiles: MysqlPool;

beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" });
  // A client that does not offer LOCAL INFILE: the server refuses LOAD DATA LOCAL, as MySQL 8 does by default.
  noLocalFiles = mysql.createPool({ uri: s.config.DATABASE_URL, connectionLimit: 2, timezone: "Z", flags: ["-LOCAL_FILES"] });
});
afterAll(async () => {
  await noLocalFiles?.end();
  if (s) await stopTestService(s);
});

const awkwardUsers = ["tab\there", "line\nbreak", "back\\slash\\", "\\N", "민수 🎟", "trailing\\t", ""];

function events(codePrefix: string): IssueEvent[] {
  const t = Date.UTC(2026, 11, 4, 1, 2, 3, 456);
  return awkwardUsers.map((userId, i) => ({ id: `${t}-${i}`, code: `${codePrefix}${i}`, userId, sequence: i + 1, issuedAtMs: t + i }));
}

async function owners(campaignId: number) {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    "SELECT sequence, code, user_id AS userId, issued_at AS issuedAt FROM coupon_issues WHERE campaign_id = ? ORDER BY sequence",
    [campaignId],
  );
  return rows.map((r) => ({ sequence: r.sequence, code: r.code, userId: r.userId, issuedAt: (r.issuedAt as Date).toISOString() }));
}

function expected(batch: IssueEvent[]) {
  return batch.map((e) => ({
    sequence: e.sequence,
    code: e.code,
    userId: e.userId === "" ? null : e.userId,
    issuedAt: new Date(e.issuedAtMs).toISOString(),
  }));
}

describe("writing a batch of owners", () => {
  it("stores every user id exactly as sent (tabs, newlines, backslashes, \\N, non-ASCII), no user as NULL, the time to the millisecond", async () => {
    const batch = events("가나다");
    await writeIssues(s.deps.db, 900_101, batch);
    expect(await owners(900_101)).toEqual(expected(batch));
  });

  it("changes nothing and raises no alarm when the same batch comes again (a redelivery)", async () => {
    const batch = events("라마바");
    await writeIssues(s.deps.db, 900_102, batch);
    const again = await writeIssues(s.deps.db, 900_102, batch);
    expect(again.alarms).toEqual([]);
    expect(await owners(900_102)).toEqual(expected(batch));
  });

  it("stores the same rows through a multi-row INSERT when the server refuses LOAD DATA LOCAL", async () => {
    const batch = events("사아자");
    await writeIssues(createDb(noLocalFiles), 900_103, batch);
    expect(await owners(900_103)).toEqual(expected(batch));
  });
});
