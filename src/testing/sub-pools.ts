import { homeSubPool } from "../campaigns/sub-pools.js";

/** `n` user ids `${prefix}${i}` whose walk over `shards` sub-pools starts at sub-pool `home`. */
export function usersHomedAt(home: number, shards: number, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (homeSubPool(`${prefix}${i}`, shards) === home) out.push(`${prefix}${i}`);
  return out;
}
