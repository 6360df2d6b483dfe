import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import type { RedisClient } from "../redis/client.js";

/**
 * One deployment per Redis namespace. Two deployments (two MySQL databases) on one Redis with one
 * key prefix would corrupt each other: each persister would write the other's issues into its own
 * database. So each database holds a random deployment id, made once beside the code secret
 * (never derived from host names or URLs, which change and collide), and the namespace records
 * the id of the deployment that owns it. An instance of another deployment refuses to start.
 */

/** The key under the prefix that names the namespace's deployment: one string key, any slot. */
export function deploymentKey(prefix: string): string {
  return `${prefix}deployment`;
}

/** This database's deployment id, made on first call (once, ever) by whichever instance is first. */
export async function loadDeploymentId(db: Db): Promise<string> {
  const fresh = randomBytes(16).toString("hex");
  // The code_allocator row exists: loadCodeSecret made it. Only the first writer's id sticks.
  await db.execute(sql`UPDATE code_allocator SET deployment_id = ${fresh} WHERE id = 1 AND deployment_id IS NULL`);
  const [rows] = (await db.execute(sql`SELECT deployment_id AS id FROM code_allocator WHERE id = 1`)) as unknown as [
    Array<{ id: string | null }>,
  ];
  const id = rows[0]?.id;
  if (!id) throw new Error("code_allocator.deployment_id is missing: has the service started on this database once?");
  return id;
}

/**
 * Records `ours` as the namespace's deployment when none is recorded (SET NX), and returns the
 * one recorded: ours, or the other deployment's when the namespace is already taken.
 */
export async function claimNamespace(redis: RedisClient, prefix: string, ours: string): Promise<string> {
  const key = deploymentKey(prefix);
  await redis.set(key, ours, "NX");
  return (await redis.get(key)) ?? ours;
}

/** The refusal, in words an operator can act on. */
export function namespaceTakenMessage(prefix: string, ours: string, theirs: string): string {
  return (
    `Redis namespace REDIS_KEY_PREFIX="${prefix}" belongs to another deployment (${theirs}); this database is ` +
    `deployment ${ours}. Two deployments sharing one namespace would write each other's issues into their own ` +
    `databases. Give this deployment its own REDIS_KEY_PREFIX (or Redis), or, if the namespace is known to be ` +
    `abandoned or this database was restored, take it over on purpose: ` +
    `npm run campaign -- take-over-namespace --from ${theirs} (with this instance's DATABASE_URL, REDIS_URL and REDIS_KEY_PREFIX).`
  );
}

/** What /readyz checks: the namespace still names this deployment (re-recorded if Redis lost it). */
export function deploymentCheck(redis: RedisClient, prefix: string, ours: string) {
  return async (): Promise<string | undefined> => {
    const recorded = await claimNamespace(redis, prefix, ours);
    return recorded === ours ? undefined : namespaceTakenMessage(prefix, ours, recorded);
  };
}

/**
 * The deliberate takeover: records `ours` as the namespace's deployment, but only while the
 * namespace still names `from` (the id the refusal named), so it never replaces an id unseen.
 * Returns the id that was recorded before.
 */
export async function takeOverNamespace(
  redis: RedisClient,
  prefix: string,
  ours: string,
  from: string,
): Promise<{ before: string | null }> {
  const key = deploymentKey(prefix);
  const before = await redis.get(key);
  if (before !== null && before !== from) {
    throw new Error(`the namespace names deployment ${before}, not ${from}: nothing was changed`);
  }
  await redis.set(key, ours);
  return { before };
}
