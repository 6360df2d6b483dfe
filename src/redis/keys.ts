/**
 * Every Redis key the service uses. All keys of one campaign share the hash tag `{id}`, so each
 * script touches a single slot and stays valid on a Redis Cluster.
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

  campaign(id: number | bigint | string): CampaignKeys {
    const base = `${this.prefix}cp:{${id}}:`;
    return { meta: `${base}meta`, pool: `${base}pool`, users: `${base}users`, stream: `${base}stream` };
  }

  /** Set of campaign ids whose streams the persister must watch. */
  get activeCampaigns(): string {
    return `${this.prefix}campaigns:active`;
  }
}

/** The consumer group every persister joins. */
export const PERSISTER_GROUP = "persister";
