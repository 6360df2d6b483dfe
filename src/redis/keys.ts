/**
 * Every Redis key the service uses. All keys of one campaign share the hash tag `{id}`, so each
 * script touches a single slot and stays valid on a Redis Cluster. A campaign split into K
 * sub-pools (src/campaigns/sub-pools.ts) has K such key sets: sub-pool 0 is the campaign's own
 * `{id}` (so a campaign of one sub-pool is exactly what it always was), sub-pool j ≥ 1 is
 * `{id.j}`, another slot, which a Redis Cluster may place on another master.
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

  /**
   * A campaign's keys by id, or a sub-pool's by its member name in `activeCampaigns`
   * (`subPoolMember`): both build the same way.
   */
  campaign(id: number | bigint | string): CampaignKeys {
    const base = `${this.prefix}cp:{${id}}:`;
    return { meta: `${base}meta`, pool: `${base}pool`, users: `${base}users`, stream: `${base}stream` };
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

/** A sub-pool's name in `activeCampaigns` and its hash tag: "42" for sub-pool 0, "42.3" for 3. */
export function subPoolMember(campaignId: number, sub: number): string {
  return sub === 0 ? String(campaignId) : `${campaignId}.${sub}`;
}

/** The campaign and sub-pool a member of `activeCampaigns` names. */
export function parseSubPoolMember(member: string): { campaignId: number; sub: number } {
  const dot = member.indexOf(".");
  if (dot < 0) return { campaignId: Number(member), sub: 0 };
  return { campaignId: Number(member.slice(0, dot)), sub: Number(member.slice(dot + 1)) };
}
