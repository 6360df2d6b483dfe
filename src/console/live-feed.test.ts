import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../app.js";
import { CampaignState, CouponService } from "../gen/couponpb/coupon_pb.js";
import { OPEN_ADMIN_WARNING } from "../ops/admin-auth.js";
import { createLoadedCampaign, startTestService, stopTestService, waitFor, waitForPersisted, type TestService } from "../testing/harness.js";
import { campaignFiguresReader, newestCampaignIds } from "./campaign-figures.js";
import { LiveFeed, type Sample } from "./live-feed.js";
import { consoleRoutes } from "./routes.js";

const KEY = "console-test-admin-key-0123456789";
const AUTH: Record<string, string> = { authorization: `Bearer ${KEY}` };

/** A Connect client that sends the admin key, as an operator's tools do. */
function adminClient(url: string): Client<typeof CouponService> {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${KEY}`);
    return next(req);
  };
  return createClient(CouponService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [bearer] }));
}

type Event = { event: string; data: any };

/** A console's feed read the way the page reads it: fetch, Authorization header, SSE parsing. */
async function follow(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: Event[] = [];
  const state = { ended: false };
  if (res.ok && res.body) {
    void (async () => {
      let buffer = "";
      try {
        for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end).split("\n");
            buffer = buffer.slice(end + 2);
            const event = block.find((l) => l.startsWith("event: "))?.slice(7);
            const data = block.find((l) => l.startsWith("data: "))?.slice(6);
            if (event && data) events.push({ event, data: JSON.parse(data) });
          }
        }
      } catch {
        // aborted by close()
      }
      state.ended = true;
    })();
  }
  return { res, events, state, close: () => abort.abort() };
}

const PB_STATE: Record<number, string> = {
  [CampaignState.OPEN]: "open",
  [CampaignState.PAUSED]: "paused",
  [CampaignState.SOLD_OUT]: "sold_out",
  [CampaignState.SCHEDULED]: "scheduled",
};

describe("the console's live feed", () => {
  let s: TestService;
  let admin: Client<typeof CouponService>;
  let server: Server | undefined;
  let base: string;
  /** When each campaign's figures were read (performance.now(), ms), by campaign id. */
  const reads = new Map<number, number[]>();
  let a: bigint;
  let b: bigint;

  beforeAll(async () => {
    s = await startTestService({ ADMIN_API_KEY: KEY });
    admin = adminClient(s.url);
    ({ campaignId: a } = await createLoadedCampaign(admin, { total: 5000, name: "feed A" }));
    ({ campaignId: b } = await createLoadedCampaign(admin, { total: 5000, name: "feed B" }));
    // The service's own feed and routes, with every read of a campaign's figures counted.
    const read = campaignFiguresReader(s.deps);
    const feed = new LiveFeed({
      newestIds: (limit) => newestCampaignIds(s.deps, limit),
      read: (ids) => {
        const at = performance.now();
        for (const id of ids) reads.set(id, [...(reads.get(id) ?? []), at]);
        return read(ids);
      },
    });
    const { app } = buildApp(s.deps, { metrics: s.metrics, readiness: s.readiness, liveFeed: feed });
    const listening = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    await new Promise((r) => listening.once("listening", r));
    server = listening;
    base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    if (s) await stopTestService(s);
  });

  it("reads each campaign at most once a second, however many consoles watch it, and gives them all the same sample", async () => {
    const clients = await Promise.all([
      ...Array.from({ length: 10 }, () => follow(`${base}/console/feed/campaigns`, AUTH)),
      ...Array.from({ length: 10 }, () => follow(`${base}/console/feed/campaigns/${a}`, AUTH)),
      ...Array.from({ length: 10 }, () => follow(`${base}/console/feed/campaigns/${b}`, AUTH)),
    ]);
    const began = performance.now();
    expect(clients.map((c) => c.res.status)).toEqual(Array(30).fill(200));
    // Figures that move while they watch.
    let issuing = true;
    const issuer = (async () => {
      // Paced (about 100 pairs a second) so that neither sells out while the consoles watch.
      while (issuing) {
        await Promise.all([s.json.issueCoupon({ campaignId: a }), s.json.issueCoupon({ campaignId: b })]);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const samples = (c: (typeof clients)[number]) => c.events.filter((e) => e.event === "sample" || e.event === "list");
    await waitFor("every console to get 4 updates", () => (clients.every((c) => samples(c).length >= 4) ? true : undefined), 15_000);
    issuing = false;
    await issuer;
    const elapsedMs = performance.now() - began;
    for (const c of clients) c.close();

    for (const id of [Number(a), Number(b)]) {
      const at = reads.get(id)!;
      // Timers fire on whole milliseconds: 2 ms of slack on a 1000 ms interval.
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      expect(Math.min(...gaps), `gaps between reads of campaign ${id}: ${gaps.map(Math.round).join(", ")}`).toBeGreaterThanOrEqual(998);
      expect(at.length).toBeLessThanOrEqual(Math.floor(elapsedMs / 1000) + 2);
    }
    // One read, one sample: the samples all the watchers of a campaign got are no more than its reads.
    const sampleOf = (e: Event, id: bigint): Sample | undefined =>
      e.event === "list" ? e.data.campaigns.find((x: Sample) => x.id === Number(id)) : e.data.sample;
    for (const [id, watchers] of [[a, clients.slice(10, 20)], [b, clients.slice(20, 30)]] as const) {
      const seen = new Set(watchers.flatMap((c) => samples(c).map((e) => sampleOf(e, id)!.atMs)));
      const listSeen = new Set(clients.slice(0, 10).flatMap((c) => samples(c).map((e) => sampleOf(e, id)!.atMs)));
      expect(new Set([...seen, ...listSeen]).size).toBeLessThanOrEqual(reads.get(Number(id))!.length);
    }
    const listed = clients[0]!.events.filter((e) => e.event === "list").at(-1)!.data.campaigns as Sample[];
    expect(listed.map((c) => c.id)).toEqual([Number(b), Number(a)]); // newest first
    expect(listed[0]!.rate).toBeGreaterThan(0);
  });

  it("shows the same counts and state as GetCampaign", async () => {
    await waitForPersisted(s.json, a);
    const c = await follow(`${base}/console/feed/campaigns/${a}`, AUTH);
    const sample = await waitFor("a sample", () => c.events.find((e) => e.event === "sample")?.data.sample as Sample | undefined);
    c.close();
    const got = (await s.json.getCampaign({ campaignId: a, omitCodes: true })).campaign!;
    expect({ issued: sample.issued, remaining: sample.remaining, total: sample.total, state: sample.state, lag: sample.lagEntries }).toEqual({
      issued: Number(got.issued),
      remaining: Number(got.remaining),
      total: Number(got.totalCoupons),
      state: PB_STATE[got.state],
      lag: 0,
    });
  });

  it("needs the admin key when ADMIN_API_KEY is set; its pages carry no campaign data", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong-key-wrong-key-wrong" }] as Array<Record<string, string>>) {
      const r = await fetch(`${base}/console/feed/campaigns`, { headers });
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual({
        code: "unauthenticated",
        message: 'the console\'s live feed needs the admin key: send "Authorization: Bearer <key>" with the service\'s ADMIN_API_KEY',
      });
      expect((await fetch(`${base}/console/feed/campaigns/${a}`, { headers })).status).toBe(401);
    }
    const codes = (await admin.listIssuedCoupons({ campaignId: a, pageSize: 1000 })).coupons.map((c) => c.code);
    expect(codes.length).toBeGreaterThan(0);
    for (const path of ["/console", `/console/campaigns/${a}`]) {
      const r = await fetch(`${base}${path}`);
      const page = await r.text();
      expect(r.status).toBe(200);
      expect(page).toContain('data-auth="required"');
      expect(page).not.toContain("feed A");
      expect(page).not.toContain(OPEN_ADMIN_WARNING);
      for (const code of codes) expect(page).not.toContain(code);
    }
  });

  it("without ADMIN_API_KEY is open and says so with the API's warning", async () => {
    const open = consoleRoutes({ adminApiKey: undefined, feed: new LiveFeed({ newestIds: async () => [], read: async () => new Map() }) });
    const page = await (await open.request("/")).text();
    expect(page).toContain('data-auth="open"');
    expect(page).toContain(OPEN_ADMIN_WARNING);
  });
});

describe("a stopping service and its open consoles", () => {
  it("ends the consoles' feeds at once, so the HTTP drain does not wait for them", async () => {
    const s = await startTestService({ SHUTDOWN_TIMEOUT_MS: "30000" });
    try {
      const c = await follow(`${s.url}/console/feed/campaigns`, {});
      await waitFor("the first update", () => (c.events.some((e) => e.event === "list") ? true : undefined));
      const began = performance.now();
      await s.stop();
      // The drain alone may take 40% of SHUTDOWN_TIMEOUT_MS (12 s) for a request that never ends.
      expect(performance.now() - began).toBeLessThan(5000);
      await waitFor("the feed to end", () => (c.state.ended ? true : undefined));
    } finally {
      await stopTestService(s);
    }
  });
});
