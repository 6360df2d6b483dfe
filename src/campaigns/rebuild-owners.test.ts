import { describe, expect, it } from "vitest";
import { recordSubPools } from "./rebuild-owners.js";
import { homeSubPool } from "./sub-pools.js";

/** A user id whose walk over `shards` sub-pools starts at `home`. */
function userHomedAt(home: number, shards: number): string {
  for (let i = 0; ; i++) if (homeSubPool(`u${i}`, shards) === home) return `u${i}`;
}

describe("which rebuilt sub-pools get an owner's record", () => {
  it("the code's own sub-pool and every rebuilt sub-pool the owner's walk meets before it, around the end", () => {
    const u = userHomedAt(3, 4); // walk: 3, 0, 1, 2
    expect([...recordSubPools(u, 1, 4, [0, 1, 2, 3])]).toEqual([0, 1, 3]);
    expect([...recordSubPools(u, 3, 4, [0, 1, 2, 3])]).toEqual([3]);
    expect([...recordSubPools(u, 2, 4, [2])]).toEqual([2]);
  });

  it("nothing into a rebuilt sub-pool the walk meets only after the code's, or one not rebuilt", () => {
    const u = userHomedAt(1, 4); // walk: 1, 2, 3, 0
    expect([...recordSubPools(u, 2, 4, [0, 3])]).toEqual([]);
    expect([...recordSubPools(u, 0, 4, [2])]).toEqual([2]);
  });

  it("a campaign of one pool: every owner into it; a code no sub-pool names: into every rebuilt one", () => {
    expect([...recordSubPools("anyone", 0, 1, [0])]).toEqual([0]);
    expect([...recordSubPools("anyone", undefined, 4, [1, 2])]).toEqual([1, 2]);
  });
});
