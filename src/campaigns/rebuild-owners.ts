import type { Db } from "../db/client.js";
import { withRedis } from "../db/errors.js";
import type { CampaignKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import type { RebuildLock } from "./rebuild-lock.js";
import { listOwners, listOwnersWithPosition } from "./repository.js";
import { homeSubPool, subPoolOfPosition, walkDistance } from "./sub-pools.js";

export type OwnersDeps = { db: Db; bulkRedis: ScriptedRedis };

/** What `restoreOwners` wrote. */
export type RestoredOwners = {
  /** Owners whose code belongs to a rebuilt sub-pool: back in that sub-pool's users hash. */
  owners: number;
  /** Extra records, in rebuilt sub-pools an owner's walk passes before their code's sub-pool. */
  walkRecords: number;
};

const CHUNK = 5000;

/**
 * Owner records back into the idempotency hashes of the rebuilt sub-pools (HSET of the same
 * records: a retry changes nothing), chunk by chunk in sequence order.
 *
 * A campaign of one pool gets every named owner back, as it always did. With K sub-pools, a
 * rebuilt sub-pool j gets every owner whose code belongs to j (code → pool position through
 * `coupons.seq` → sub-pool), and also every named owner whose walk (src/issue/sub-pool-walk.ts:
 * home, home + 1, … mod K) meets j before the sub-pool of their code: see `recordSubPools`.
 */
export async function restoreOwners(
  deps: OwnersDeps,
  id: number,
  shards: number,
  rebuilt: ReadonlyMap<number, CampaignKeys>,
  lock: RebuildLock,
): Promise<RestoredOwners> {
  let after = 0;
  const restored: RestoredOwners = { owners: 0, walkRecords: 0 };
  for (;;) {
    const rows = shards === 1 ? await listOwners(deps.db, id, after, CHUNK) : await listOwnersWithPosition(deps.db, id, after, CHUNK);
    if (rows.length === 0) return restored;
    const fields = new Map<number, string[]>();
    for (const r of rows) {
      const seq = "seq" in r ? r.seq : null;
      const codeSub = shards === 1 ? 0 : seq === null ? undefined : subPoolOfPosition(Number(seq), shards);
      let written = 0;
      for (const sub of recordSubPools(r.userId, codeSub, shards, rebuilt.keys())) {
        let list = fields.get(sub);
        if (list === undefined) fields.set(sub, (list = []));
        list.push(r.userId, `${r.code}|${r.sequence}`);
        written++;
      }
      // An owner of a rebuilt sub-pool's code (or of a foreign code) counts once; the rest are walk records.
      const own = written > 0 && (codeSub === undefined || rebuilt.has(codeSub)) ? 1 : 0;
      restored.owners += own;
      restored.walkRecords += written - own;
    }
    await lock.assertHeld();
    await withRedis("cannot rebuild", () =>
      Promise.all([...fields].map(([sub, pairs]) => deps.bulkRedis.hset(rebuilt.get(sub)!.users, ...pairs))),
    );
    after = rows[rows.length - 1]!.sequence;
  }
}

/**
 * The rebuilt sub-pools that get the record of `userId`, whose code belongs to sub-pool
 * `codeSub` (undefined: a code this campaign never generated, which no sub-pool can name; the
 * record then goes into every rebuilt sub-pool, so the holder is answered wherever they ask).
 *
 * Besides the code's own sub-pool: every rebuilt sub-pool the user's walk meets before it. The
 * walk pops from the first sub-pool that is not empty and does not hold the user's record, so a
 * rebuild that refilled a sub-pool the user had walked past would, without the record there,
 * hand them a second code. Can a rebuild refill such a sub-pool at all? No: the user walked past
 * it because it was empty (or seen empty: RefusalMemo), so every one of its codes had been issued,
 * each within that sub-pool's own issue budget, which MySQL had recorded first
 * (src/campaigns/issue-budget.ts) and never lowers, so that budget is at least its size; the
 * rebuild sets that sub-pool's issued count to min(size, its budget) = its size and reloads only
 * codes past it, i.e. none, and a sub-pool only ever shrinks between rebuilds. (While a sub-pool
 * is lost, a walk that reaches it stops there, unavailable, and does not pass it.) The records are
 * kept anyway, as defence in depth: a later change to the budget or to the walk must not turn
 * into two codes for one user, and they cost only a few HSET fields per owner, written only at a
 * rebuild. Because they are not needed, the rebuild does not wait for the sub-pools that were not
 * lost to have persisted their issues (src/campaigns/rebuild.ts, `streamsThatMustBeEmpty`): an
 * owner of theirs the persister has not written yet gets no walk record, and loses nothing by it.
 * A named caller is then answered from the first sub-pool of their walk that holds their record,
 * with the same code.
 */
export function* recordSubPools(userId: string, codeSub: number | undefined, shards: number, rebuilt: Iterable<number>): Iterable<number> {
  if (codeSub === undefined) {
    yield* rebuilt;
    return;
  }
  const home = homeSubPool(userId, shards);
  const codeStep = walkDistance(home, codeSub, shards);
  for (const sub of rebuilt) {
    if (sub === codeSub || walkDistance(home, sub, shards) < codeStep) yield sub;
  }
}
