import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Agent, request } from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { CouponService, GetCampaignRequestSchema, GetCampaignResponseSchema } from "../gen/couponpb/coupon_pb.js";
import { childPids, startChildService, type ChildService } from "../testing/child-service.js";
import { IssuePool } from "../../scripts/loadtest/http/issue-pool.js";
import { recordFault } from "../testing/fault-report.js";
import { issueAsAClient } from "../testing/raw-issue.js";
import { couponClient, createLoadedCampaign, dropNamespace, TEST_MYSQL_URI, testNamespace } from "../testing/harness.js";

/**
 * GetCampaign at the ceiling under many readers: 50 clients read, three times each, a campaign
 * with as many issued codes as one answer may list (GET_CAMPAIGN_MAX_CODES, its default), while
 * IssueCoupon runs on another campaign; then the campaign goes one past the ceiling and the same
 * clients read its counts (omit_codes) and page through ListIssuedCoupons. The service runs as a
 * child process (two workers, as `npm start`), so its RSS is the real one.
 */
const CEILING = loadConfig({}).GET_CAMPAIGN_MAX_CODES;
const READERS = 50;
const READS_EACH = 3;
/** Readers that also page through the whole list once it is above the ceiling. */
const PAGERS = 2;
const ADMIN_KEY = "load-test-admin-key-0123456789abcdef";
const ns = testNamespace();
const env = {
  DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`,
  REDIS_KEY_PREFIX: ns.prefix,
  ADMIN_API_KEY: ADMIN_KEY,
  WORKERS: "2",
};
let child: ChildService | undefined;

afterAll(async () => {
  if (child) {
    child.kill("SIGKILL");
    await child.exited;
  }
  await dropNamespace(loadConfig(env));
});

function adminClient(url: string, format: "json" | "binary"): Client<typeof CouponService> {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
    return next(req);
  };
  return createClient(
    CouponService,
    createConnectTransport({
      baseUrl: url,
      httpVersion: "1.1",
      useBinaryFormat: format === "binary",
      interceptors: [bearer],
      nodeOptions: { agent: new Agent({ keepAlive: true, maxSockets: READERS }) },
    }),
  );
}

/**
 * Resident memory of the service: the primary and every worker, in bytes. Read from /proc alone
 * (no child process: a spawn would hold this process's event loop, which times IssueCoupon).
 */
function serviceRss(pid: number): number {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return ""; // gone meanwhile
    }
  };
  let kb = 0;
  for (const p of [String(pid), ...childPids(pid)]) kb += Number(/VmRSS:\s+(\d+) kB/.exec(read(`/proc/${p}/status`))?.[1] ?? 0);
  return kb * 1024;
}

const isUnavailable = (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable;

/**
 * A GetCampaign call over the Connect protocol that only counts the answer's bytes: decoding
 * 100,000 codes costs the caller ~40 ms, and this process also times IssueCoupon, so the readers
 * must not hold its event loop. Each caller's first answer is decoded in full.
 */
function rawGetCampaign(
  url: string,
  agent: Agent,
  body: Uint8Array,
): Promise<{ status: number; bytes: number; first: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/couponpb.CouponService/GetCampaign`,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/proto", authorization: `Bearer ${ADMIN_KEY}`, "content-length": body.length },
      },
      (res) => {
        let bytes = 0;
        const kept: Buffer[] = [];
        res.on("data", (d: Buffer) => {
          bytes += d.length;
          if (res.statusCode !== 200) kept.push(d);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, first: Buffer.concat(kept) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Issues `count` codes of a campaign to users u0, u1, … over raw connections (a Connect client's CPU made the fill most of this test's time). */
async function fillCampaign(url: string, campaignId: bigint, count: number): Promise<void> {
  const pool = new IssuePool(url, { connections: 64, timeoutMs: 30_000 });
  let next = 0;
  try {
    await pool.warm();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < count; i = next++) {
          const o = await issueAsAClient(pool, campaignId, `u${i}`);
          if (!o.ok) throw new Error(`filling the campaign: call ${i} answered ${o.error}: ${o.message}`);
        }
      }),
    );
  } finally {
    pool.close();
  }
}

describe("GetCampaign at the ceiling under 50 readers", () => {
  it("keeps the service's memory and IssueCoupon's latency bounded, and never answers unavailable", async () => {
    child = await startChildService(env);
    const admin = adminClient(child.url, "binary");
    const issuer = couponClient(child.url, "binary", 200);
    const [big, other] = await Promise.all([
      createLoadedCampaign(admin, { total: CEILING + 1, name: "at the ceiling" }),
      createLoadedCampaign(admin, { total: 20_000, name: "issued meanwhile" }),
    ]);

    // Fill the big campaign to exactly the ceiling.
    const fillBegan = performance.now();
    await fillCampaign(child.url, big.campaignId, CEILING);
    const filledMs = performance.now() - fillBegan;
    const rssBefore = serviceRss(child.process.pid!);

    // IssueCoupon on the other campaign throughout the reads; the slowest answer is the figure.
    let reading = true;
    let slowestIssueMs = 0;
    let issues = 0;
    const issueErrors: unknown[] = [];
    const issuing = Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; reading; i++) {
          const t0 = performance.now();
          try {
            await issuer.issueCoupon({ campaignId: other.campaignId, userId: `o${w}-${i}` });
            issues++;
          } catch (e) {
            issueErrors.push(e);
          }
          slowestIssueMs = Math.max(slowestIssueMs, performance.now() - t0);
        }
      }),
    );
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, serviceRss(child!.process.pid!))), 100);

    const readErrors: unknown[] = [];
    const began = performance.now();
    let readAtCeilingMs = 0;
    try {
      // At the ceiling: every reader gets every code, three times.
      const full = await admin.getCampaign({ campaignId: big.campaignId });
      expect(full.couponCodes).toHaveLength(CEILING);
      const fullBytes = toBinary(GetCampaignResponseSchema, full).length;
      const request = toBinary(GetCampaignRequestSchema, create(GetCampaignRequestSchema, { campaignId: big.campaignId }));
      await Promise.all(
        Array.from({ length: READERS }, async () => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          for (let i = 0; i < READS_EACH; i++) {
            try {
              const a = await rawGetCampaign(child!.url, agent, request);
              if (a.status !== 200) readErrors.push(`${a.status}: ${a.first.toString()}`);
              // The campaign is only read here, so every answer is the same bytes long.
              else expect(a.bytes).toBe(fullBytes);
            } catch (e) {
              readErrors.push(e);
            }
          }
          agent.destroy();
        }),
      );
      readAtCeilingMs = performance.now() - began;
      // One past the ceiling: the list is refused, the counts answer, the pages list every code.
      await issuer.issueCoupon({ campaignId: big.campaignId, userId: "one-past" });
      await Promise.all(
        Array.from({ length: READERS }, async (_, r) => {
          const client = adminClient(child!.url, r % 2 === 0 ? "binary" : "json");
          const refused = await client.getCampaign({ campaignId: big.campaignId }).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(ConnectError);
          expect((refused as ConnectError).code).toBe(Code.FailedPrecondition);
          expect((refused as ConnectError).rawMessage).toContain("ListIssuedCoupons");
          for (let i = 0; i < READS_EACH; i++) {
            const a = await client.getCampaign({ campaignId: big.campaignId, omitCodes: true }).catch((e: unknown) => {
              readErrors.push(e);
              return undefined;
            });
            if (a) expect(a.campaign?.issued).toBe(BigInt(CEILING + 1));
          }
          if (r >= PAGERS) return;
          let listed = 0;
          let pageToken = "";
          do {
            const page = await client.listIssuedCoupons({ campaignId: big.campaignId, pageSize: 1000, pageToken });
            listed += page.coupons.length;
            pageToken = page.nextPageToken;
          } while (pageToken !== "");
          expect(listed).toBe(CEILING + 1);
        }),
      );
    } finally {
      reading = false;
      clearInterval(sampler);
      await issuing;
    }
    const readMs = performance.now() - began;
    const riseMb = (rssPeak - rssBefore) / 2 ** 20;

    recordFault({
      fault: `GetCampaign at the ceiling (${CEILING.toLocaleString("en-US")} codes): ${READERS} readers × ${READS_EACH}, then above it (omit_codes, ${PAGERS} paging through ListIssuedCoupons)`,
      behaviour:
        `One shared snapshot per campaign, kept while its owners stay the same, at most 4 answers in flight per process: RSS rose ${riseMb.toFixed(0)} MB (bound 300), ` +
        `slowest IssueCoupon on another campaign ${slowestIssueMs.toFixed(0)} ms (bound 1000) over ${issues} issues, ` +
        `no unavailable; reads took ${(readMs / 1000).toFixed(1)} s`,
      calls: READERS * READS_EACH * 2 + READERS + issues,
      issued: CEILING + 1 + issues,
      duplicates: 0,
      lostOwners: 0,
    });
    console.log(
      `RSS ${(rssBefore / 2 ** 20).toFixed(0)} → peak ${(rssPeak / 2 ** 20).toFixed(0)} MB; slowest IssueCoupon ${slowestIssueMs.toFixed(0)} ms over ${issues}; reads ${(readMs / 1000).toFixed(1)} s (${(readAtCeilingMs / 1000).toFixed(1)} s at the ceiling); fill ${(filledMs / 1000).toFixed(1)} s`,
    );
    expect(readErrors.filter(isUnavailable)).toEqual([]);
    expect(readErrors).toEqual([]);
    expect(issueErrors).toEqual([]);
    expect(riseMb).toBeLessThanOrEqual(300);
    expect(slowestIssueMs).toBeLessThan(1000);
    // Filling the campaign is 100,000 real IssueCoupon calls: ~20 s on a quiet machine, minutes
    // on a busy one.
  }, 600_000);
});
