/**
 * Reading a campaign split into K sub-pools (src/campaigns/sub-pools.ts) as one campaign: which
 * sub-pool issued a sequence, which issues a read of the sub-pools' `issued` counts covers, and
 * the one lifecycle state the sub-pools' states add up to. With K = 1 every function here is the
 * identity of what a campaign of one pool always did (sequence n is the n-th issue).
 */

/** The sub-pool that issued `sequence`: the n-th issue of sub-pool j has sequence (n − 1)·K + j + 1. */
export function subPoolOfSequence(sequence: number, shards: number): number {
  return (sequence - 1) % shards;
}

/** Which issue of its sub-pool `sequence` was (n, 1-based): the sub-pool's `issued` once it was made. */
export function localIssueOf(sequence: number, shards: number): number {
  return Math.floor((sequence - 1) / shards) + 1;
}

/**
 * The issues a read of the sub-pools' `issued` counts (sub-pool 0 first) covers: sub-pool j's
 * first issued[j] issues. An issue made after the read (on any sub-pool) is left out, as a
 * campaign of one pool leaves out every sequence above its `issued`. Because sub-pools issue at
 * their own pace their sequences interleave: an issue left out may have a lower sequence than one
 * counted, so "sequence ≤ issued" would be wrong for K > 1.
 */
export function countedIssues(issuedBySubPool: readonly number[]): (sequence: number) => boolean {
  const shards = issuedBySubPool.length;
  if (shards === 1) {
    const issued = issuedBySubPool[0]!;
    return (sequence) => sequence <= issued;
  }
  return (sequence) => sequence >= 1 && localIssueOf(sequence, shards) <= issuedBySubPool[subPoolOfSequence(sequence, shards)]!;
}

/** The highest sequence `countedIssues` covers (0 when nothing was issued): a bound for MySQL reads. */
export function highestCountedSequence(issuedBySubPool: readonly number[]): number {
  const shards = issuedBySubPool.length;
  let max = 0;
  issuedBySubPool.forEach((n, sub) => {
    if (n > 0) max = Math.max(max, (n - 1) * shards + sub + 1);
  });
  return max;
}

/**
 * The state the meta hashes of a campaign's sub-pools say together, or null when one of them is
 * missing. Admin changes set sub-pool 0 first and then the others (src/lifecycle/set-state.ts), so
 * the sub-pools disagree only while a change is under way or after one failed partway; then the
 * stronger state is reported: cancelled (nothing can undo it), then loading (a sub-pool that is
 * filling, which never issues), then paused (a pause not yet on every sub-pool is reported, so an
 * operator who sees "open" knows every sub-pool issues).
 */
export function combinedSubPoolState(states: ReadonlyArray<string | null>): string | null {
  if (states.some((s) => s === null)) return null;
  if (states.includes("cancelled")) return "cancelled";
  if (states.some((s) => s !== "ready" && s !== "paused")) return "loading";
  return states.includes("paused") ? "paused" : "ready";
}
