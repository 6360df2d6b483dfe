/**
 * The layout of a campaign split into K sub-pools (CreateCampaign `shards`, issue 13).
 *
 * Each code lives in exactly one sub-pool, so the total stays exact by construction: the code at
 * pool position p (1-based, the order the generator made them in, `coupons.seq`) belongs to
 * sub-pool (p − 1) mod K, at local position ⌊(p − 1) / K⌋ + 1. Each sub-pool has its own keys
 * under its own hash tag (src/redis/keys.ts) and its own meta hash (state, start, end, issued,
 * allow, plus `shards` and `sub`), so one issue script call touches one sub-pool only.
 *
 * Sequences are interleaved: the n-th code issued by sub-pool j gets sequence (n − 1)·K + j + 1,
 * which is the pool position of that code while its pool is in load order. Sequences are unique
 * per campaign (what the persister and VerifyCampaign rely on) but, with K > 1, not dense: a
 * sub-pool that empties early leaves gaps, and the highest sequence may exceed the total.
 *
 * The issue budget is kept per sub-pool for K > 1 (`sub_pool_budgets`, a local position A_j,
 * src/campaigns/issue-budget.ts): sub-pool j may have issued exactly its codes at positions
 * ≤ A_j · K, which is what a rebuild of it quarantines when unowned. `campaigns.issue_allowance`
 * stays the campaign-wide bound, K · max A_j (`allowanceForLocal`).
 */

/** Most sub-pools one campaign may have: beyond this, spreading gains nothing a cluster can give. */
export const MAX_SHARDS = 64;

/** The sub-pool the code at pool position `seq` (1-based) belongs to. */
export function subPoolOfPosition(seq: number, shards: number): number {
  return (seq - 1) % shards;
}

/** How many of a campaign's `total` codes sub-pool `sub` holds. */
export function subPoolSize(sub: number, shards: number, total: number): number {
  return sub < total ? Math.floor((total - 1 - sub) / shards) + 1 : 0;
}

/** The local issue budget of every sub-pool when MySQL's allowance is `allowance`. */
export function localAllowance(allowance: number, shards: number): number {
  return Math.floor(allowance / shards);
}

/** MySQL's allowance (a pool position) that lets every sub-pool issue up to `local` codes. */
export function allowanceForLocal(local: number, shards: number): number {
  return local * shards;
}

/**
 * Where a named caller's walk starts: a stable hash of the user id (FNV-1a), so every instance,
 * before and after a restart, sends one user through the same sub-pools in the same order.
 */
export function homeSubPool(userId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/**
 * Steps from the start sub-pool `from` to sub-pool `sub` in the fixed walk order
 * (from, from + 1, … mod K): a user's walk meets sub-pool `sub` at this step.
 */
export function walkDistance(from: number, sub: number, shards: number): number {
  return (sub - from + shards) % shards;
}
