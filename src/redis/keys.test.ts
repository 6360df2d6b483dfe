import calculateSlot from "cluster-key-slot";
import { describe, expect, it } from "vitest";
import { RedisKeys, subPoolTag } from "./keys.js";

/** The master owning a slot, with the contiguous ranges `redis-cli --cluster create` assigns. */
const masterOf = (slot: number, masters: number) => Math.floor((slot * masters) / 16384);
const tagOf = (key: string) => /\{(.*)\}/.exec(key)![1]!;

describe("Redis keys of a campaign split into sub-pools", () => {
  it("keeps a campaign's own keys for sub-pool 0, so one pool is laid out as always", () => {
    const keys = new RedisKeys("p:");
    expect(keys.subPool(42, 0)).toEqual(keys.campaign(42));
    expect(keys.subPool(42, 0).meta).toBe("p:cp:{42}:meta");
  });

  it("gives every instance the same tag for a sub-pool, each in a slot of its own", () => {
    expect(new RedisKeys("").subPool(42, 3)).toEqual(new RedisKeys("").subPool(42, 3));
    expect(tagOf(new RedisKeys("").subPool(42, 3).meta)).toBe(subPoolTag(42, 3));
    const slots = new RedisKeys("").subPools(42, 64).map((k) => calculateSlot(tagOf(k.meta)));
    expect(new Set(slots).size).toBe(64);
  });

  it("spreads 8 sub-pools over the 8 masters of a cluster, at most two on any one", () => {
    const keys = new RedisKeys("");
    let reached = 0;
    for (let id = 1; id <= 500; id++) {
      const perMaster = new Map<number, number>();
      for (const k of keys.subPools(id, 8)) {
        const m = masterOf(calculateSlot(tagOf(k.meta)), 8);
        perMaster.set(m, (perMaster.get(m) ?? 0) + 1);
      }
      reached += perMaster.size;
      expect(Math.max(...perMaster.values())).toBeLessThanOrEqual(2);
    }
    // Plain tags `{id.1}` … `{id.7}` reach 4.5 masters on average (docs/scale.md).
    expect(reached / 500).toBeGreaterThan(7.5);
  });
});
