import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CampaignState,
  CouponService,
  GetCampaignRequestSchema,
  GetCampaignResponseSchema,
} from "../gen/couponpb/coupon_pb.js";
import { CampaignReader } from "./get-campaign.js";
import {
  couponClient,
  createLoadedCampaign,
  startTestService,
  stopTestService,
  testNamespace,
  persistWithAPersister,
  type TestService,
} from "../testing/harness.js";

// This instance runs without a persister, so the test decides when owners reach MySQL.
let s: TestService;
const ns = testNamespace();
beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" }, {}, ns);
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function burst(campaignId: bigint, calls: number): Promise<string[]> {
  const client = couponClient(s.url, "json");
  const results = await Promise.allSettled(
    Array.from({ length: calls }, (_, i) => client.issueCoupon({ campaignId, userId: `reader-${i}` })),
  );
  return results.flatMap((r) => (r.status === "fulfilled" ? [r.value.couponCode] : []));
}

describe("GetCampaign", () => {
  it("lists exactly the issued codes right after a burst, before and after the persister catches up", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 500, name: "read your writes" });
    const issued = await burst(campaignId, 300);
    expect(issued).toHaveLength(300);

    const before = await s.json.getCampaign({ campaignId });
    expect(new Set(before.couponCodes)).toEqual(new Set(issued));
    expect(before.couponCodes).toHaveLength(300);
    expect(before.campaign).toMatchObject({
      id: campaignId,
      name: "read your writes",
      totalCoupons: 500n,
      issued: 300n,
      remaining: 200n,
      persisted: 0n,
      loaded: 500n,
      state: CampaignState.OPEN,
    });

    await persistWithAPersister(s, campaignId);
    const after = await s.binary.getCampaign({ campaignId });
    expect(after.couponCodes).toEqual(before.couponCodes);
    expect(after.campaign).toMatchObject({ issued: 300n, remaining: 200n, persisted: 300n });
    // Persisted entries leave the stream: Redis keeps only what MySQL does not have yet.
    expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(0);
  });

  it("lists codes in issue order and pages through them with ListIssuedCoupons", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 50 });
    const issued: string[] = [];
    for (let i = 0; i < 25; i++) issued.push((await s.json.issueCoupon({ campaignId, userId: `p${i}` })).couponCode);
    expect((await s.json.getCampaign({ campaignId })).couponCodes).toEqual(issued);

    const seen: string[] = [];
    let token = "";
    do {
      const page = await s.json.listIssuedCoupons({ campaignId, pageSize: 10, pageToken: token });
      for (const c of page.coupons) {
        expect(c.userId).toBe(`p${Number(c.sequence) - 1}`);
        expect(c.issuedAt).toBeDefined();
        seen.push(c.code);
      }
      token = page.nextPageToken;
    } while (token !== "");
    expect(seen).toEqual(issued);
  });

  it("is answered from MySQL by an instance whose Redis is empty", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 40 });
    const issued = await burst(campaignId, 30);
    await persistWithAPersister(s, campaignId);

    // Same MySQL database, but Redis database 9 of the same server: empty for this namespace.
    const other = await startTestService({ REDIS_URL: "redis://127.0.0.1:6379/9", PERSISTER: "off" }, {}, ns);
    try {
      expect(await other.deps.bulkRedis.exists(other.deps.keys.campaign(campaignId).meta)).toBe(0);
      const view = await other.json.getCampaign({ campaignId });
      expect(new Set(view.couponCodes)).toEqual(new Set(issued));
      expect(view.campaign).toMatchObject({ issued: 30n, remaining: 10n, persisted: 30n, state: CampaignState.OPEN });
    } finally {
      await other.stop();
    }
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ?", [
      Number(campaignId),
    ]);
    expect(rows[0]!.n).toBe(30);
  });
});

describe("GetCampaign under concurrent readers", () => {
  it("shares one snapshot among concurrent calls, each seeing every issue answered before it arrived", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 400, name: "shared snapshot" });
    const reader = new CampaignReader(s.deps, { maxCodes: 1000 });
    const answered: string[] = [];
    const reads: Array<Promise<{ before: string[]; codes: readonly string[] }>> = [];
    for (let i = 0; i < 40; i++) {
      answered.push((await s.json.issueCoupon({ campaignId, userId: `shared-${i}` })).couponCode);
      // Five calls arrive after each answer, while earlier snapshots may still be running.
      for (let j = 0; j < 5; j++) {
        const before = [...answered];
        reads.push(reader.read(Number(campaignId), true).then((a) => ({ before, codes: a.codes! })));
      }
    }
    for (const { before, codes } of await Promise.all(reads)) {
      expect(codes.slice(0, before.length)).toEqual(before);
    }
    expect(reader.snapshotsTaken).toBeLessThan(reads.length);
  });
});

describe("GetCampaign's kept listings", () => {
  it("answers a persisted campaign from one listing while its owners stay the same, with fresh counts, and lists the next issue at once", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 60, name: "kept listing" });
    const id = Number(campaignId);
    const issued = await burst(campaignId, 30);
    const reader = new CampaignReader(s.deps, { maxCodes: 1000, keepMinCodes: 20 });

    // Still on the stream (this service persists nothing by itself): read each time.
    const unpersisted = await reader.read(id, true);
    expect(new Set(unpersisted.codes)).toEqual(new Set(issued));
    await reader.read(id, true);
    expect({ taken: reader.snapshotsTaken, reused: reader.listingsReused }).toEqual({ taken: 2, reused: 0 });

    // Every owner in MySQL: one more listing, then the counts alone while nothing changes.
    await persistWithAPersister(s, campaignId);
    const first = await reader.read(id, true);
    const again = await reader.read(id, true);
    expect(first.codes).toEqual(unpersisted.codes);
    expect(again.codes).toEqual(first.codes);
    expect(again.view).toMatchObject({ issued: 30, persisted: 30, remaining: 30 });
    expect({ taken: reader.snapshotsTaken, reused: reader.listingsReused }).toEqual({ taken: 3, reused: 1 });

    // One more issue: the next call lists it, and its counts.
    const next = (await s.json.issueCoupon({ campaignId, userId: "after-the-listing" })).couponCode;
    const after = await reader.read(id, true);
    expect(after.codes).toEqual([...first.codes!, next]);
    expect(after.view).toMatchObject({ issued: 31, persisted: 30, remaining: 29 });
    expect(reader.snapshotsTaken).toBe(4);
  });

  it("does not keep a listing below the size worth keeping", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 20 });
    await burst(campaignId, 5);
    await persistWithAPersister(s, campaignId);
    const reader = new CampaignReader(s.deps, { maxCodes: 1000, keepMinCodes: 20 });
    await reader.read(Number(campaignId), true);
    await reader.read(Number(campaignId), true);
    expect({ taken: reader.snapshotsTaken, reused: reader.listingsReused }).toEqual({ taken: 2, reused: 0 });
  });
});

describe("GetCampaign's binary answer", () => {
  it("decodes to the same answer protobuf encodes, the same length, listing what the JSON answer lists", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 60 });
    await burst(campaignId, 40);
    const json = await s.json.getCampaign({ campaignId });
    const res = await fetch(`${s.url}/couponpb.CouponService/GetCampaign`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: toBinary(GetCampaignRequestSchema, create(GetCampaignRequestSchema, { campaignId })),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const decoded = fromBinary(GetCampaignResponseSchema, bytes);
    expect(decoded.couponCodes).toEqual(json.couponCodes);
    expect(decoded.couponCodes).toHaveLength(40);
    // Fields in field-number order, exactly as toBinary writes a message listing the codes.
    const plain = create(GetCampaignResponseSchema, { campaign: decoded.campaign, couponCodes: json.couponCodes });
    const reordered = toBinary(GetCampaignResponseSchema, plain);
    expect(bytes.length).toBe(reordered.length);
    expect(fromBinary(GetCampaignResponseSchema, reordered)).toEqual(decoded);
  });
});

describe("GetCampaign with an admin key and a ceiling", () => {
  const ADMIN_KEY = "get-campaign-admin-key-0123456789";
  let guarded: TestService;
  let admin: Client<typeof CouponService>;
  beforeAll(async () => {
    guarded = await startTestService({ ADMIN_API_KEY: ADMIN_KEY, GET_CAMPAIGN_MAX_CODES: "20" });
    const bearer: Interceptor = (next) => (req) => {
      req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
      return next(req);
    };
    admin = createClient(CouponService, createConnectTransport({ baseUrl: guarded.url, httpVersion: "1.1", interceptors: [bearer] }));
  });
  afterAll(async () => {
    if (guarded) await stopTestService(guarded);
  });

  async function campaignWith(issuedCount: number) {
    const { campaignId } = await createLoadedCampaign(admin, { total: 50 });
    const codes: string[] = [];
    for (let i = 0; i < issuedCount; i++) codes.push((await guarded.json.issueCoupon({ campaignId, userId: `g${i}` })).couponCode);
    return { campaignId, codes };
  }

  it("answers counts and state but no codes to a caller without the key, and says so", async () => {
    const { campaignId, codes } = await campaignWith(5);
    for (const client of [guarded.json, guarded.binary]) {
      const r = await client.getCampaign({ campaignId });
      expect(r.couponCodes).toEqual([]);
      expect(r.codesOmitted).toBe(true);
      expect(r.campaign).toMatchObject({ id: campaignId, issued: 5n, remaining: 45n, state: CampaignState.OPEN });
    }
    // A wrong key (or a user's token) is no error: the same answer without codes.
    const wrong = await guarded.json.getCampaign({ campaignId }, { headers: { authorization: "Bearer not-the-key" } });
    expect(wrong).toMatchObject({ couponCodes: [], codesOmitted: true });
    const full = await admin.getCampaign({ campaignId });
    expect(full.couponCodes).toEqual(codes);
    expect(full.codesOmitted).toBe(false);
  });

  it("leaves the codes out when asked with omit_codes, even for the admin", async () => {
    const { campaignId } = await campaignWith(3);
    const r = await admin.getCampaign({ campaignId, omitCodes: true });
    expect(r).toMatchObject({ couponCodes: [], codesOmitted: true });
    expect(r.campaign).toMatchObject({ issued: 3n, remaining: 47n });
    // omit_codes is field 2 and codes_omitted field 3, JSON omitCodes / codesOmitted.
    const res = await fetch(`${guarded.url}/couponpb.CouponService/GetCampaign`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ campaignId: String(campaignId), omitCodes: true }),
    });
    expect(await res.json()).toMatchObject({ codesOmitted: true, campaign: { issued: "3" } });
  });

  it("refuses the list above GET_CAMPAIGN_MAX_CODES, naming ListIssuedCoupons, and still answers the counts", async () => {
    const { campaignId, codes } = await campaignWith(21);
    const err = await admin.getCampaign({ campaignId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((err as ConnectError).rawMessage).toBe(
      `campaign ${campaignId} has 21 issued codes, more than one GetCampaign answer lists (20): page through them with ListIssuedCoupons, or ask GetCampaign with omit_codes for the counts and state alone`,
    );
    expect((await admin.getCampaign({ campaignId, omitCodes: true })).campaign).toMatchObject({ issued: 21n });
    // A caller without the key is not refused: it never asked for more than the counts.
    expect((await guarded.json.getCampaign({ campaignId })).codesOmitted).toBe(true);
    const listed: string[] = [];
    let pageToken = "";
    do {
      const page = await admin.listIssuedCoupons({ campaignId, pageSize: 8, pageToken });
      listed.push(...page.coupons.map((c) => c.code));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(listed).toEqual(codes);
  });

  it("lists exactly the ceiling's worth of codes at the ceiling", async () => {
    const { campaignId, codes } = await campaignWith(20);
    expect((await admin.getCampaign({ campaignId })).couponCodes).toEqual(codes);
  });
});
