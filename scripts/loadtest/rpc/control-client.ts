import { Pool } from "undici";
import { connectError } from "../http/connect-outcome.js";

/** A Connect error answer from the service (the code is the contract; the message is for people). */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** The service could not be reached at all (refused, reset, DNS). */
export class UnreachableError extends Error {
  override readonly name = "UnreachableError";
}

export type CampaignState =
  | "CAMPAIGN_STATE_LOADING"
  | "CAMPAIGN_STATE_SCHEDULED"
  | "CAMPAIGN_STATE_OPEN"
  | "CAMPAIGN_STATE_SOLD_OUT"
  | "CAMPAIGN_STATE_PAUSED"
  | "CAMPAIGN_STATE_ENDED"
  | "CAMPAIGN_STATE_CANCELLED";

export type CampaignInfo = {
  id: string;
  startMs: number;
  totalCoupons: number;
  issued: number;
  remaining: number;
  persisted: number;
  loaded: number;
  state: CampaignState | "CAMPAIGN_STATE_UNSPECIFIED";
};

export type IssuedCouponInfo = { code: string; userId: string; issuedAtMs: number; sequence: number };

type CampaignJson = Partial<Record<"id" | "totalCoupons" | "issued" | "remaining" | "persisted" | "loaded", string>> & {
  startTime?: string;
  state?: CampaignInfo["state"];
};

/**
 * The calls around the load (create, read back, list owners) over Connect JSON, through undici:
 * they are few, so a general client's cost does not matter here, its completeness does.
 * Zero-valued fields are omitted in Connect JSON, hence the `?? 0` everywhere.
 */
export class ControlClient {
  private readonly pool: Pool;

  private readonly headers: Record<string, string>;

  /** `adminKey`: the service's ADMIN_API_KEY, sent as a bearer token (CreateCampaign and ListIssuedCoupons need it when set). */
  constructor(
    readonly baseUrl: string,
    adminKey?: string,
  ) {
    this.pool = new Pool(baseUrl, { connections: 4, headersTimeout: 120_000, bodyTimeout: 120_000 });
    this.headers = { "content-type": "application/json", ...(adminKey ? { authorization: `Bearer ${adminKey}` } : {}) };
  }

  async call<T>(method: string, request: unknown): Promise<T> {
    const path = `${new URL(this.baseUrl).pathname.replace(/\/$/, "")}/couponpb.CouponService/${method}`;
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        path,
        method: "POST",
        headers: this.headers,
        body: JSON.stringify(request),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new UnreachableError(`cannot reach ${this.baseUrl}: ${(err as Error).message}`);
    }
    if (status !== 200) {
      const e = connectError(status, text);
      throw new RpcError(e.error, e.message);
    }
    return JSON.parse(text) as T;
  }

  /** `shards` > 1 splits the codes into that many sub-pools; 1 sends no `shards` at all (as before). */
  async createCampaign(name: string, startMs: number, totalCoupons: number, shards = 1): Promise<string> {
    const startTime = new Date(startMs).toISOString();
    const res = await this.call<{ campaignId?: string }>("CreateCampaign", { name, startTime, totalCoupons, ...(shards > 1 ? { shards } : {}) });
    if (!res.campaignId) throw new RpcError("internal", "CreateCampaign answered without a campaign id");
    return res.campaignId;
  }

  async getCampaign(id: string): Promise<{ campaign: CampaignInfo; couponCodes: string[] }> {
    const res = await this.call<{ campaign?: CampaignJson; couponCodes?: string[] }>("GetCampaign", { campaignId: id });
    const c = res.campaign ?? {};
    return {
      campaign: {
        id: c.id ?? id,
        startMs: c.startTime ? Date.parse(c.startTime) : 0,
        totalCoupons: Number(c.totalCoupons ?? 0),
        issued: Number(c.issued ?? 0),
        remaining: Number(c.remaining ?? 0),
        persisted: Number(c.persisted ?? 0),
        loaded: Number(c.loaded ?? 0),
        state: c.state ?? "CAMPAIGN_STATE_UNSPECIFIED",
      },
      couponCodes: res.couponCodes ?? [],
    };
  }

  /** Every issued coupon with its owner, page by page in issue order. `maxPages` bounds the loop. */
  async listAllIssued(id: string, maxPages: number): Promise<IssuedCouponInfo[]> {
    type Page = { coupons?: Array<{ code?: string; userId?: string; issuedAt?: string; sequence?: string }>; nextPageToken?: string };
    const out: IssuedCouponInfo[] = [];
    let pageToken = "";
    for (let page = 0; page < maxPages; page++) {
      const res = await this.call<Page>("ListIssuedCoupons", { campaignId: id, pageSize: 1000, pageToken });
      for (const c of res.coupons ?? []) {
        out.push({
          code: c.code ?? "",
          userId: c.userId ?? "",
          issuedAtMs: c.issuedAt ? Date.parse(c.issuedAt) : 0,
          sequence: Number(c.sequence ?? 0),
        });
      }
      pageToken = res.nextPageToken ?? "";
      if (pageToken === "") return out;
    }
    throw new RpcError("internal", `ListIssuedCoupons still had pages after ${maxPages}`);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
