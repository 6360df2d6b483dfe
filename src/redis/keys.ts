import calculateSlot from "cluster-key-slot";

/**
 * Every Redis key the service uses. All keys of one campaign share the hash tag `{id}`, so each
 * script touches a single slot and stays valid on a Redis Cluster. A campaign split into K
 * sub-pools (src/campaigns/sub-pools.ts) has K such key sets: sub-pool 0 is the campaign's own
 * `{id}` (so a campaign of one sub-pool is exactly what it always was), sub-pool j ≥ 1 has a tag
 * of its own, `{id.j.n}` (`subPoolTag`), chosen so that the K slots lie evenly around the slot
 * space and a cluster's masters, which own contiguous slot ranges, each get their share.
 */
export type CampaignKeys = {
  /**
   * Hash: state (loading | ready | paused | cancelled), start_ms, end_ms (absent: no end), total,
   * issued; closed_ms (when the sweeper first saw it sold out); and, once the sweeper removed the
   * other keys, released_ms and released_pool: the meta hash stays as a tombstone so IssueCoupon
   * still answers sold out / ended / cancelled from Redis alone.
   */
  readonly meta: string;
  /** List: codes not yet issued, in issue order (LPOP takes the next). */
  readonly pool: string;
  /** Hash: user id → "code|sequence", so a retry by the same user gets the same code. */
  readonly users: string;
  /** Stream: one entry per issue, read by the persister's consumer group. */
  readonly stream: string;
};

/** Counter of a caller's IssueCoupon calls in the current rate-limit window (src/issue/). */
export function rateLimitKey(campaign: CampaignKeys, kind: "user" | "ip", who: string): string {
  // The meta key is `…cp:{id}:meta`: the counter shares the campaign's hash tag.
  return `${campaign.meta.slice(0, -4)}rl:${kind}:${who}`;
}

export class RedisKeys {
  /** The hot path's keys, built once per campaign (bounded: cleared when it grows past 4,096). */
  private readonly byCampaign = new Map<number, CampaignKeys>();
  private readonly subPoolsByCampaign = new Map<number, readonly CampaignKeys[]>();
  /** Sub-pool member → hash tag: finding a tag takes ~64 slot computations, so each is kept. */
  private readonly tags = new Map<string, string>();

  constructor(private readonly prefix: string) {}

  /** `campaign(id)`, kept: IssueCoupon asks for the same few campaigns' keys on every call. */
  campaignCached(id: number): CampaignKeys {
    let k = this.byCampaign.get(id);
    if (k === undefined) {
      if (this.byCampaign.size >= 4096) this.byCampaign.clear();
      k = this.campaign(id);
      this.byCampaign.set(id, k);
    }
    return k;
  }

  /** `subPools(id, shards)`, kept, like `campaignCached`. */
  subPoolsCached(id: number, shards: number): readonly CampaignKeys[] {
    let k = this.subPoolsByCampaign.get(id);
    if (k === undefined || k.length !== shards) {
      if (this.subPoolsByCampaign.size >= 4096) this.subPoolsByCampaign.clear();
      k = this.subPools(id, shards);
      this.subPoolsByCampaign.set(id, k);
    }
    return k;
  }

  /** The keys of every sub-pool of a campaign, sub-pool 0 first. */
  subPools(id: number, shards: number): CampaignKeys[] {
    return Array.from({ length: shards }, (_, sub) => this.subPool(id, sub));
  }

  /** The keys of one sub-pool: sub-pool 0 is the campaign's own keys. */
  subPool(id: number, sub: number): CampaignKeys {
    return this.campaign(subPoolMember(id, sub));
  }

  /** A campaign's keys by id, or a sub-pool's by its member name in `activeCampaigns` (`subPoolMember`). */
  campaign(id: number | bigint | string): CampaignKeys {
    const base = `${this.prefix}cp:{${this.tagOf(String(id))}}:`;
    return { meta: `${base}meta`, pool: `${base}pool`, users: `${base}users`, stream: `${base}stream` };
  }

  private tagOf(member: string): string {
    if (member.indexOf(".") < 0) return member;
    let tag = this.tags.get(member);
    if (tag === undefined) {
      if (this.tags.size >= 65_536) this.tags.clear();
      const { campaignId, sub } = parseSubPoolMember(member);
      tag = subPoolTag(campaignId, sub);
      this.tags.set(member, tag);
    }
    return tag;
  }

  /**
   * Set of the sub-pools whose streams the persister must watch, by member name (`subPoolMember`:
   * a campaign's id for its sub-pool 0, so a campaign of one sub-pool is listed by its id).
   */
  get activeCampaigns(): string {
    return `${this.prefix}campaigns:active`;
  }
}

/** The consumer group every persister joins. */
export const PERSISTER_GROUP = "persister";

const SLOTS = 16384;
/** Slots per step of the spread: 1/64 of the space, one step per possible sub-pool. */
const STEP = SLOTS / 64;

/**
 * The hash tag of sub-pool `sub` ≥ 1: `id.sub.n` with the least n whose slot lies in the slot
 * range `sub` is given, an offset from sub-pool 0's slot by the bit-reversed sub-pool number
 * (0, 1/2, 1/4, 3/4, 1/8 … of the slot space). Any K first sub-pools are then spread evenly around
 * the space: 8 sub-pools over 8 masters with the contiguous ranges `redis-cli --cluster create`
 * assigns land one per master. CRC16 is linear, so the plain tags `id.1` … `id.7` would crowd on
 * a few masters (docs/scale.md measured 4.5 masters of 8 on average). Every instance computes the
 * same tag from the id alone.
 */
export function subPoolTag(campaignId: number, sub: number): string {
  const from = (calculateSlot(String(campaignId)) + reverse6(sub) * STEP) % SLOTS;
  for (let n = 0; ; n++) {
    const tag = `${campaignId}.${sub}.${n}`;
    if ((calculateSlot(tag) - from + SLOTS) % SLOTS < STEP) return tag;
  }
}

/** The 6 low bits of `n` in reverse order: 1 → 32, 2 → 16, 3 → 48 … */
function reverse6(n: number): number {
  let r = 0;
  for (let i = 0; i < 6; i++) r |= ((n >> i) & 1) << (5 - i);
  return r;
}

/** A sub-pool's name in `activeCampaigns`: "42" for sub-pool 0 (the campaign's id), "42.3" for 3. */
export function subPoolMember(campaignId: number, sub: number): string {
  return sub === 0 ? String(campaignId) : `${campaignId}.${sub}`;
}

/** The campaign and sub-pool a member of `activeCampaigns` names. */
export function parseSubPoolMember(member: string): { campaignId: number; sub: number } {
  const dot = member.indexOf(".");
  if (dot < 0) return { campaignId: Number(member), sub: 0 };
  return { campaignId: Number(member.slice(0, dot)), sub: Number(member.slice(dot + 1)) };
}
