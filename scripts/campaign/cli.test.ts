import { execFile } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState, CouponService } from "../../src/gen/couponpb/coupon_pb.js";
import { couponClient, startTestService, stopTestService, type TestService } from "../../src/testing/harness.js";

const KEY = "cli-test-admin-key-0123456789";
let s: TestService;
let dir: string;
beforeAll(async () => {
  s = await startTestService({ ADMIN_API_KEY: KEY });
  dir = mkdtempSync(join(tmpdir(), "campaign-cli-"));
});
afterAll(async () => {
  if (s) await stopTestService(s);
  rmSync(dir, { recursive: true, force: true });
});

type Run = { code: number | null; stdout: string; stderr: string };

const CLI = ["--import", "tsx", "scripts/campaign/cli.ts"];

/** Runs `npm run campaign -- …` as the admin would (without npm's own banner). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      { env: { ...process.env, COUPON_URL: s.url, COUPON_ADMIN_KEY: KEY, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function admin() {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${KEY}`);
    return next(req);
  };
  return createClient(CouponService, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1", interceptors: [auth] }));
}

function createdId(out: string): bigint {
  const m = /^created campaign (\d+)$/m.exec(out);
  if (!m) throw new Error(`no campaign id in: ${out}`);
  return BigInt(m[1]!);
}

describe("npm run campaign", () => {
  let campaignId: bigint;
  const issued: string[] = [];

  it("create: makes a campaign starting now, waits for its pool and says how long it took", async () => {
    const r = await cli(["create", "--name", "CLI, \"quoted\" sale", "--total", "1200", "--start", "now"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    campaignId = createdId(r.stdout);
    expect(r.stdout).toMatch(/^loaded 1200 codes in \d+\.\d+ s; state open, start \d{4}-\d\d-\d\dT/m);
    const c = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(c).toMatchObject({ name: 'CLI, "quoted" sale', totalCoupons: 1200n, loaded: 1200n, state: CampaignState.OPEN });

    const callers = couponClient(s.url, "json");
    for (let i = 0; i < 37; i++) issued.push((await callers.issueCoupon({ campaignId, userId: `user,${i}` })).couponCode);
    // One anonymous caller: an empty owner in the export.
    issued.push((await callers.issueCoupon({ campaignId })).couponCode);
  });

  it("create: takes +30s and an ISO instant with offset", async () => {
    const before = Date.now();
    const rel = await cli(["create", "--name", "later", "--total", "5", "--start", "+30s"]);
    expect(rel.code).toBe(0);
    const relStart = (await s.json.getCampaign({ campaignId: createdId(rel.stdout) })).campaign!;
    expect(relStart.state).toBe(CampaignState.SCHEDULED);
    expect(Number(relStart.startTime!.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 29_000);

    const iso = await cli(["create", "--name", "iso", "--total", "5", "--start", "2030-12-01T10:00:00+09:00"]);
    expect(iso.code).toBe(0);
    const isoStart = (await s.json.getCampaign({ campaignId: createdId(iso.stdout) })).campaign!;
    expect(new Date(Number(isoStart.startTime!.seconds) * 1000).toISOString()).toBe("2030-12-01T01:00:00.000Z");
  });

  it("create: --shards splits the codes into sub-pools; a bad count is refused with the bound", async () => {
    const r = await cli(["create", "--name", "hot", "--total", "400", "--start", "now", "--shards", "4"]);
    expect(r.code).toBe(0);
    const [rows] = (await s.deps.mysqlPool.query("SELECT shards FROM campaigns WHERE id = ?", [Number(createdId(r.stdout))])) as unknown as [Array<{ shards: number }>];
    expect(rows[0]!.shards).toBe(4);

    const tooMany = await cli(["create", "--name", "hot", "--total", "400", "--start", "now", "--shards", "65"]);
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toContain("shards must be between 1 and 64, got 65");
    const notANumber = await cli(["create", "--name", "hot", "--total", "400", "--start", "now", "--shards", "many"]);
    expect(notANumber.stderr).toContain('--shards "many" is not a number of sub-pools');
  });

  it("show: prints the campaign's state and counts", async () => {
    const r = await cli(["show", String(campaignId)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`campaign    ${campaignId}  CLI, "quoted" sale\n`);
    expect(r.stdout).toContain("state       open\n");
    expect(r.stdout).toContain("total       1200\n");
    expect(r.stdout).toContain("issued      38\n");
    expect(r.stdout).toContain("remaining   1162\n");
    expect(r.stdout).toMatch(/^persisted {3}\d+$/m);
  });

  it("export: streams every issued code page by page, equal to GetCampaign's codes, with owner and time", async () => {
    const out = join(dir, "codes.csv");
    const r = await cli(["export", String(campaignId), "--out", out, "--page-size", "7"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^exported 38 codes of campaign ${campaignId} to .*codes\\.csv in `));
    expect(existsSync(`${out}.partial`)).toBe(false);

    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe("code,user_id,issued_at,sequence");
    const rows = lines.slice(1);
    // The codes are the admin's to read: GetCampaign lists them to a caller with the key.
    const fromService = (await s.json.getCampaign({ campaignId }, { headers: { authorization: `Bearer ${KEY}` } })).couponCodes;
    expect(rows).toHaveLength(fromService.length);
    expect(rows.map((l) => l.split(",")[0])).toEqual(fromService);
    expect(fromService).toEqual(issued);
    rows.forEach((line, i) => {
      const owner = i < 37 ? `"user,${i}"` : "";
      expect(line).toMatch(new RegExp(`^${issued[i]},${owner},\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z,${i + 1}$`));
    });
  });

  it("list: shows campaigns newest first", async () => {
    const r = await cli(["list"]);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID\s+STATE\s+TOTAL\s+ISSUED\s+REMAINING\s+PERSISTED\s+START\s+NAME$/);
    const ids = rows.map((l) => BigInt(l.trim().split(/\s+/)[0]!));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : 1)));
    expect(rows.find((l) => l.trim().startsWith(`${campaignId} `))).toMatch(/open\s+1200\s+38\s+1162\s+\d+\s+\S+\s+CLI, "quoted" sale$/);
  });

  it("seed: creates every campaign of a .json and a .csv file, reporting each", async () => {
    const json = join(dir, "campaigns.json");
    writeFileSync(json, JSON.stringify([{ name: "json one", total: 3, start: "now" }, { name: "json two", total: 4, start: "+1h" }]));
    const csv = join(dir, "campaigns.csv");
    writeFileSync(csv, 'name,total,start\n"csv, one",2,2031-01-01T00:00:00Z\ncsv two,6,now\n');
    for (const [file, names] of [
      [json, ["json one", "json two"]],
      [csv, ["csv, one", "csv two"]],
    ] as const) {
      const r = await cli(["seed", "--file", file]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const ids = [...r.stdout.matchAll(/^created campaign (\d+) "(.*)": (\d+) codes/gm)];
      expect(ids.map((m) => m[2])).toEqual(names);
      expect(r.stdout).toMatch(/^seeded 2 campaigns$/m);
      const { campaigns } = await admin().listCampaigns({ campaignIds: ids.map((m) => BigInt(m[1]!)) });
      expect(campaigns.map((c) => c.name).sort()).toEqual([...names].sort());
      expect(campaigns.every((c) => c.state !== CampaignState.LOADING)).toBe(true);
    }
  });

  it("watch: refreshes the live view the asked number of times, then exits", async () => {
    const r = await cli(["watch", String(campaignId), "--iterations", "2", "--interval", "100"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatch(/ state open \| issued 38 of 1200 \(0\/s\) \| remaining 1162 \| persisted \d+ \(lag \d+\) \| issue rate \S*$/);
    }
  });

  it("watch: stops cleanly on Ctrl-C", async () => {
    const child = spawn(process.execPath, [...CLI, "watch", String(campaignId), "--interval", "200"], {
      env: { ...process.env, COUPON_URL: s.url, COUPON_ADMIN_KEY: KEY },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (d: Buffer) => {
        stdout += d;
        if (stdout.split("\n").length > 2) resolve();
      }),
    );
    const exited = once(child, "exit");
    child.kill("SIGINT");
    expect(await exited).toEqual([0, null]);
    expect(stderr).toBe("");
  });
});

describe("npm run campaign errors", () => {
  const oneSentence = (r: Run) => {
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+/); // no stack frames
    return lines[0];
  };

  it("says so when the service is unreachable", async () => {
    const r = await cli(["show", "1", "--url", "http://127.0.0.1:9"]);
    expect(oneSentence(r)).toBe("Cannot reach the coupon service at http://127.0.0.1:9 (connection refused); is it running?");
  });

  it("says so when the key is refused or missing", async () => {
    expect(oneSentence(await cli(["list", "--api-key", "not-the-key-at-all"]))).toBe(
      `The service at ${s.url} refused the admin key; pass the service's ADMIN_API_KEY with --api-key or COUPON_ADMIN_KEY.`,
    );
    expect(oneSentence(await cli(["list"], { COUPON_ADMIN_KEY: "" }))).toBe(
      `The service at ${s.url} requires an admin key; pass its ADMIN_API_KEY with --api-key or COUPON_ADMIN_KEY.`,
    );
  });

  it("says so for a bad date, before calling the service", async () => {
    const r = await cli(["create", "--name", "x", "--total", "5", "--start", "2026-12-01 10:00"], { COUPON_URL: "http://127.0.0.1:9" });
    expect(oneSentence(r)).toBe(
      '--start "2026-12-01 10:00" is not a date: use now, +30s (or m, h, d), or an instant with its offset such as 2026-12-01T10:00:00+09:00.',
    );
  });

  it("passes on the service's refusal as a sentence: an unknown campaign, a bad seed file", async () => {
    expect(oneSentence(await cli(["show", "999999"]))).toBe(`Campaign 999999 does not exist at ${s.url}.`);
    expect(oneSentence(await cli(["export", "999999", "--out", join(dir, "none.csv")]))).toBe(
      "The service refused: campaign 999999 does not exist (not_found).",
    );
    expect(existsSync(join(dir, "none.csv.partial"))).toBe(false);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify([{ name: "ok", total: 1, start: "now" }, { name: "bad", total: 1, start: "tomorrow" }]));
    expect(oneSentence(await cli(["seed", "--file", bad]))).toBe(
      `${bad} entry 2: start "tomorrow" is not a date: use now, +30s (or m, h, d), or an instant with its offset such as 2026-12-01T10:00:00+09:00.`,
    );
    expect(oneSentence(await cli(["seed", "--file", join(dir, "missing.csv")]))).toBe(`No such file: ${join(dir, "missing.csv")}.`);
  });
});
