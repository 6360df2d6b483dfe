import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSISTER_GROUP } from "../redis/keys.js";
import { ScriptPipe, scriptPipeTarget } from "../redis/script-pipe.js";
import { ACK_ISSUES_SCRIPT_FILE } from "../redis/scripts.js";
import { createLoadedCampaign, startTestService, stopTestService, type TestService } from "../testing/harness.js";
import { Persister } from "./persister.js";

/**
 * The persister's two ways to Redis: its own connection (a ScriptPipe running ack-issues.lua, on
 * a single Redis) and ioredis (a cluster). Either way one batch bigger than the script's chunk of
 * 1,000 ids is written whole, acknowledged and deleted.
 */
let s: TestService;
let pipe: ScriptPipe;

beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" });
  pipe = new ScriptPipe({
    ...scriptPipeTarget(s.config.REDIS_URL)!,
    connectionName: "persister-test",
    commandTimeoutMs: 5000,
    lua: readFileSync(ACK_ISSUES_SCRIPT_FILE, "utf8"),
  });
  await pipe.connect();
});
afterAll(async () => {
  await pipe?.quit();
  if (s) await stopTestService(s);
});

async function persistOneBatch(withPipe: boolean) {
  const { campaignId } = await createLoadedCampaign(s.json, { total: 2500 });
  await Promise.all(Array.from({ length: 2500 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `p${withPipe}-${i}` })));
  const stream = s.deps.keys.campaign(campaignId).stream;
  const persister = new Persister(
    { db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger, pipe: withPipe ? pipe : undefined },
    { batchSize: 2500 },
  );
  const written = await persister.runOnce();
  return {
    written,
    left: await s.deps.bulkRedis.xlen(stream),
    pending: ((await s.deps.bulkRedis.xpending(stream, PERSISTER_GROUP)) as [number])[0],
    campaign: (await s.json.getCampaign({ campaignId, omitCodes: true })).campaign,
  };
}

describe("one persister pass over a batch of 2,500", () => {
  for (const withPipe of [true, false]) {
    it(`writes every owner, then acknowledges and deletes every entry (${withPipe ? "its own connection" : "ioredis"})`, async () => {
      const r = await persistOneBatch(withPipe);
      expect(r).toMatchObject({ written: 2500, left: 0, pending: 0, campaign: { issued: 2500n, persisted: 2500n } });
    });
  }
});
