import { cpus, totalmem } from "node:os";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";

export type Machine = { cores: number; cpuModel: string; memoryGb: number; node: string; mysql: string; redis: string };

/** What the figures were measured on. */
export async function describeMachine(mysqlUri: string, redisUrl: string): Promise<Machine> {
  const conn = await mysql.createConnection({ uri: mysqlUri });
  const [rows] = await conn.query("SELECT VERSION() AS v");
  await conn.end();
  const redis = new Redis(redisUrl);
  const info = await redis.info("server");
  redis.disconnect();
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    mysql: (rows as Array<{ v: string }>)[0]?.v ?? "unknown",
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
  };
}
