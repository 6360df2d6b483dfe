import { Redis } from "ioredis";
import { RedisKeys } from "../../src/redis/keys.js";
import { waitUntilLoaded } from "../loadtest/campaigns.js";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { freePort, startNodeChild } from "./child-process.js";

/** One Redis key's exact size (MEMORY USAGE … SAMPLES 0 walks every element), in bytes. */
export type KeyMemory = { bytes: number; elements: number; bytesPerElement: number | null; encoding: string | null };

export type RedisMemory = {
  /** A full pool (the campaign just created): bytes per pooled code. */
  pool: KeyMemory;
  /** `list-max-listpack-size` of the server measured: how many bytes (negative) or entries per list node. */
  listpackSize: string;
  /** After `issued` named callers each got a code, persister off: users hash and stream. */
  issued: number;
  users: KeyMemory;
  stream: KeyMemory;
  /** (users + stream) / issued: what an issued code costs until the persister deletes its entry. */
  bytesPerIssued: number;
  /** users / issued: what stays per issued code once its entry is persisted (XDEL). */
  bytesPerIssuedPersisted: number;
};

async function keyMemory(redis: Redis, key: string, count: (k: string) => Promise<number>): Promise<KeyMemory> {
  const bytes = Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
  const elements = await count(key);
  const encoding = (await redis.call("OBJECT", "ENCODING", key).catch(() => null)) as string | null;
  return { bytes, elements, bytesPerElement: elements > 0 ? Math.round((bytes / elements) * 10) / 10 : null, encoding };
}

/** Issued codes for the users-hash and stream figures: enough that per-key overheads vanish. */
const ISSUED = 20_000;
const CONCURRENCY = 32;

/**
 * Redis memory per pooled code, read on a full pool of the bench's service (`poolCampaignId`,
 * under `prefix`), and per issued code, read on a campaign of its own served by a second service
 * started with the persister off (in its own key prefix, the same database): with the persister
 * on, each stream entry is deleted as soon as its owner is in MySQL, and the stream would read
 * almost empty. Every caller is named, so each issue also writes its users-hash field.
 */
export async function measureRedisMemory(opts: {
  root: string;
  redisUrl: string;
  databaseUrl: string;
  prefix: string;
  poolCampaignId: string;
  say: (line: string) => void;
}): Promise<RedisMemory> {
  const redis = new Redis(opts.redisUrl);
  try {
    const listpackSize = String(((await redis.config("GET", "list-max-listpack-size")) as string[])[1] ?? "?");
    const pool = await keyMemory(redis, new RedisKeys(opts.prefix).campaign(opts.poolCampaignId).pool, (k) => redis.llen(k));
    opts.say(`Redis: ${pool.bytesPerElement} B per pooled code (${pool.bytes} B for ${pool.elements} codes, ${pool.encoding})`);

    const prefix = `${opts.prefix}memory:`;
    const port = await freePort();
    const env = {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: "warn",
      ADMIN_API_KEY: "",
      PERSISTER: "off",
      WORKERS: "1",
    };
    const service = await startNodeChild(`${opts.root}dist/src/main.js`, env, `http://127.0.0.1:${port}`, "/healthz", 120_000);
    const client = new ControlClient(service.url);
    try {
      const id = await client.createCampaign("bench redis memory", Date.now() - 1000, ISSUED);
      await waitUntilLoaded(client, [{ index: 0, id, coupons: ISSUED, startMs: 0, expect: "min" }], 120_000);
      let next = 0;
      const caller = async () => {
        for (let i = next++; i < ISSUED; i = next++) await client.call("IssueCoupon", { campaignId: id, userId: `memory-user-${i}` });
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, caller));
      const k = new RedisKeys(prefix).campaign(id);
      const users = await keyMemory(redis, k.users, (key) => redis.hlen(key));
      const stream = await keyMemory(redis, k.stream, (key) => redis.xlen(key));
      const round = (n: number) => Math.round(n * 10) / 10;
      const memory: RedisMemory = {
        pool,
        listpackSize,
        issued: ISSUED,
        users,
        stream,
        bytesPerIssued: round((users.bytes + stream.bytes) / ISSUED),
        bytesPerIssuedPersisted: round(users.bytes / ISSUED),
      };
      opts.say(`Redis: ${memory.bytesPerIssued} B per issued code (users ${users.bytesPerElement} B, stream ${stream.bytesPerElement} B per entry)`);
      return memory;
    } finally {
      await client.close();
      await service.stop();
    }
  } finally {
    redis.disconnect();
  }
}
