import { Code, ConnectError } from "@connectrpc/connect";
import { readFileSync } from "node:fs";
import { get } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childPids, startChildService, type ChildService } from "../testing/child-service.js";
import {
  couponClient,
  createLoadedCampaign,
  dropNamespace,
  TEST_MYSQL_URI,
  TEST_REDIS_URL,
  testConfig,
  testNamespace,
  waitFor,
  waitForPersisted,
} from "../testing/harness.js";
import { MALLOC_MMAP_THRESHOLD_BYTES } from "./worker-env.js";

// `npm start` runs one worker per core behind node:cluster; a scrape lands on whichever worker the
// primary hands the connection to. Every scrape must still describe the whole instance.
const ns = testNamespace();
let service: ChildService;
beforeAll(async () => {
  service = await startChildService({
    WORKERS: "2",
    DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: ns.prefix,
  });
});
afterAll(async () => {
  if (service) {
    service.kill("SIGTERM");
    await service.exited;
  }
  await dropNamespace(testConfig({}, ns));
});

type Scrape = { samples: Map<string, number>; help: Map<string, string>; families: string[] };

/**
 * One scrape on a connection of its own: node:cluster hands new connections to the workers in
 * turn, so successive scrapes are answered by different workers.
 */
function scrape(): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    get(`${service.url}/metrics`, { agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`/metrics answered ${res.statusCode}: ${text}`));
        const samples = new Map<string, number>();
        const help = new Map<string, string>();
        const families: string[] = [];
        for (const line of text.split("\n")) {
          const m = /^# HELP (\S+) (.*)$/.exec(line);
          if (m) {
            families.push(m[1]!);
            help.set(m[1]!, m[2]!);
          }
          if (line === "" || line.startsWith("#")) continue;
          const at = line.lastIndexOf(" ");
          samples.set(line.slice(0, at), Number(line.slice(at + 1)));
        }
        resolve({ samples, help, families });
      });
    }).once("error", reject);
  });
}

async function burst(campaignId: bigint, calls: number, users: string) {
  const client = couponClient(service.url, "binary", 64);
  const results = await Promise.allSettled(
    Array.from({ length: calls }, (_, i) => client.issueCoupon({ campaignId, userId: `${users}-${i}` })),
  );
  const codes = results.map((r) => (r.status === "fulfilled" ? 0 : ConnectError.from(r.reason).code));
  return { ok: codes.filter((c) => c === 0).length, soldOut: codes.filter((c) => c === Code.ResourceExhausted).length };
}

describe("/metrics with WORKERS=2", () => {
  it("counts a burst exactly, by outcome, on every scrape whichever worker answers it; shared gauges once", async () => {
    // Both workers serve before the burst, so the burst's connections are spread over both.
    await waitFor("both workers to report", async () => ((await scrape()).samples.get("coupon_instance_workers") === 2 ? true : undefined), 30_000, 100);
    const admin = couponClient(service.url, "json");
    const soldOut = await createLoadedCampaign(admin, { total: 100 });
    const open = await createLoadedCampaign(admin, { total: 50 });
    expect(await burst(soldOut.campaignId, 250, "a")).toEqual({ ok: 100, soldOut: 150 });
    expect(await burst(open.campaignId, 20, "b")).toEqual({ ok: 20, soldOut: 0 });
    await waitForPersisted(admin, soldOut.campaignId);
    await waitForPersisted(admin, open.campaignId);

    for (let i = 0; i < 6; i++) {
      const { samples, help, families } = await scrape();
      expect(samples.get('coupon_issue_total{code="ok"}')).toBe(120);
      expect(samples.get('coupon_issue_total{code="resource_exhausted"}')).toBe(150);
      expect(samples.get("coupon_issue_duration_seconds_count")).toBe(270);
      expect(samples.get('coupon_issue_duration_seconds_bucket{le="+Inf"}')).toBe(270);
      // Two pool loads, one per campaign, whichever worker ran them.
      expect(samples.get("coupon_campaign_load_seconds_count")).toBe(2);
      // Shared state is read once per scrape, not multiplied by the number of workers.
      expect(samples.get(`coupon_pool_remaining{campaign_id="${open.campaignId}"}`)).toBe(30);
      expect(samples.has(`coupon_pool_remaining{campaign_id="${soldOut.campaignId}"}`)).toBe(false);
      expect(samples.get("coupon_persist_lag_entries")).toBe(0);
      expect(samples.get("coupon_instance_workers")).toBe(2);
      // Per-process gauges: the highest worker's value, and the help text says so.
      expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(help.get("process_resident_memory_bytes")).toMatch(/highest of the worker processes/);
      expect(help.get("nodejs_eventloop_lag_p99_seconds")).toMatch(/highest of the worker processes/);
      // Every family once: no worker's copy is appended beside another's.
      expect(families.length).toBe(new Set(families).size);
    }
  });
});

/** The environment a running process was started with, from /proc. */
function environOf(pid: string): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

describe("the workers of npm start", () => {
  it("are started with glibc's malloc threshold fixed, so freed large answers leave their memory", () => {
    const workers = childPids(service.process.pid!);
    expect(workers).toHaveLength(2);
    for (const w of workers) expect(environOf(w).get("MALLOC_MMAP_THRESHOLD_")).toBe(String(MALLOC_MMAP_THRESHOLD_BYTES));
  });
});
