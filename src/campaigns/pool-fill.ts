import type { ScriptedRedis } from "../redis/scripts.js";

/**
 * Writes into a campaign's Redis pool, fenced and idempotent (start-fill.lua, push-codes.lua,
 * finish-fill.lua). Loads and rebuilds fill pools the same way:
 *   - each fill carries the fence MySQL gave it (campaigns.load_fence), and Redis refuses every
 *     write from an older fill, so a loader that stalled past its lease, or a rebuild that lost
 *     its lock, cannot touch the pool of the one that replaced it;
 *   - each chunk names the mark it starts after and ends at, so a chunk sent again (its reply was
 *     lost when a connection dropped) is recognised and never pushed twice.
 * The scripts' return codes are decoded here and nowhere else.
 */

/** The fill lost its right to the pool: another loader or rebuild holds a newer fence. */
export class FillFenced extends Error {
  override readonly name = "FillFenced";
}

export type FillTarget = { meta: string; pool: string };

/** How often a fenced write is tried when its connection fails, and the pause before each retry. */
const ATTEMPTS = 5;
const RETRY_MS = [50, 200, 500, 1000];

/**
 * Runs a fill step, trying again when the connection fails. Safe only because every fill script
 * is idempotent: a retry of a step that ran changes nothing. Redis's own answers (fenced, out of
 * order) are not errors here, so they are never retried.
 */
async function retried<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS[attempt - 1]));
    }
  }
}

/** A pool load (load-pool.ts) or a rebuild (rebuild.ts). */
export type FillKind = "load" | "rebuild";

/** Starts a fill: deletes `emptied` and writes the meta hash (state loading, mark 0) under `fence`. */
export async function startFill(
  redis: ScriptedRedis,
  meta: string,
  emptied: readonly string[],
  kind: FillKind,
  fence: number,
  fields: Record<string, string | number>,
): Promise<void> {
  const pairs = Object.entries({ ...fields, state: "loading", filled: 0, fill: kind }).flat();
  const reply = await retried(() => redis.startFill(1 + emptied.length, meta, ...emptied, fence, ...pairs));
  if (reply === -1) throw new FillFenced(`a newer fill (fence above ${fence}) owns ${meta}`);
}

/** Appends `codes` to the pool, once, as the chunk from mark `after` to mark `upto`. */
export async function pushCodes(
  redis: ScriptedRedis,
  target: FillTarget,
  fence: number,
  after: number,
  upto: number,
  codes: readonly string[],
): Promise<"pushed" | "already"> {
  const reply = await retried(() => redis.pushCodes(target.meta, target.pool, fence, after, upto, ...codes));
  if (reply === 1) return "pushed";
  if (reply === 0) return "already";
  if (reply === -1) throw new FillFenced(`a newer fill owns ${target.meta}`);
  throw new Error(`pool ${target.pool} is not at mark ${after} or ${upto}: chunks out of order`);
}

/**
 * Ends the fill when the pool is complete up to `mark`: sets `fields` (with the new state).
 * False when it had already ended under this fence.
 */
export async function finishFill(
  redis: ScriptedRedis,
  meta: string,
  kind: FillKind,
  fence: number,
  mark: number,
  fields: Record<string, string | number>,
): Promise<boolean> {
  const reply = await retried(() => redis.finishFill(meta, fence, mark, kind, ...Object.entries(fields).flat()));
  if (reply === -1) throw new FillFenced(`the fill of ${meta} under fence ${fence} does not own a complete pool`);
  return reply === 1;
}
