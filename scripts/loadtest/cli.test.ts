import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, stopTestService, type TestService } from "../../src/testing/harness.js";
import { freePort } from "../bench/child-process.js";

// The command line as a user and CI meet it: exit statuses, messages, the --json file.
const CLI = fileURLToPath(new URL("./cli.ts", import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await stopTestService(s);
});

describe("npm run loadtest", () => {
  it("exits 0 and writes a JSON report with the documented fields when integrity holds", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "loadtest-")), "report.json");
    const r = await cli(["--url", s.url, "--scenario", "burst", "--coupons", "50", "--calls", "80", "--concurrency", "8", "--lead", "1", "--json", file, "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("integrity   OK");
    const report = JSON.parse(readFileSync(file, "utf8"));
    expect(report).toMatchObject({
      scenario: "burst",
      calls: 80,
      successes: 50,
      failures: { resource_exhausted: 30 },
      throughputRps: expect.any(Number),
      latencyMs: { p50: expect.any(Number), p90: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) },
      persistLagMs: expect.any(Number),
      integrity: { ok: true, violations: [] },
    });
  });

  it("creates its campaign in --shards sub-pools, issues exactly its coupons and verifies them", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "loadtest-")), "report.json");
    const args = ["--scenario", "burst", "--coupons", "40", "--calls", "60", "--concurrency", "8", "--shards", "4", "--lead", "1", "--persist-timeout", "10"];
    const r = await cli(["--url", s.url, ...args, "--json", file, "--quiet"]);
    const report = JSON.parse(readFileSync(file, "utf8"));
    expect(report).toMatchObject({ calls: 60, successes: 40, failures: { resource_exhausted: 20 }, campaigns: [{ coupons: 40, shards: 4 }] });
    expect(r.stdout).toContain("calls won of 40 coupons in 4 sub-pools");
    // The campaign really is split: each of its 4 sub-pools has a meta hash naming K and itself.
    const id = Number(report.campaigns[0].id);
    const metas = await Promise.all(s.deps.keys.subPools(id, 4).map((k) => s.deps.bulkRedis.hmget(k.meta, "shards", "sub")));
    expect(metas).toEqual([["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"]]);
    expect(report.integrity).toEqual({ ok: true, violations: [] });
    expect(r.code).toBe(0);
  });

  it("exits 2 with every usage problem listed", async () => {
    const r = await cli(["--scenario", "burst", "--rate", "100", "--calls", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--rate does not apply to the burst scenario");
    expect(r.stderr).toContain('--calls must be an integer from 1 to 10000000, got "x"');
  });

  it("exits 2 on an unknown scenario or flag", async () => {
    expect((await cli(["--scenario", "soak"])).code).toBe(2);
    expect((await cli(["--callz", "3"])).code).toBe(2);
  });

  it("exits 2 when the service wants an admin key it was not given, and runs with --api-key", async () => {
    const key = "loadtest-test-admin-key-0123456789";
    const keyed = await startTestService({ ADMIN_API_KEY: key });
    try {
      const refused = await cli(["--url", keyed.url, "--scenario", "burst", "--quiet"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("pass its ADMIN_API_KEY with --api-key or $COUPON_ADMIN_KEY");
      const ok = await cli(["--url", keyed.url, "--api-key", key, "--scenario", "burst", "--coupons", "10", "--calls", "15", "--lead", "1", "--quiet"]);
      expect(ok.code).toBe(0);
    } finally {
      await stopTestService(keyed);
    }
  });

  it("exits 2 when nothing answers at --url", async () => {
    const port = await freePort();
    const r = await cli(["--url", `http://127.0.0.1:${port}`, "--scenario", "burst"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+/);
  });
});
