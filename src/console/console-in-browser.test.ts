import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CampaignState, CouponService } from "../gen/couponpb/coupon_pb.js";
import { startTestService, stopTestService, waitFor, waitForPersisted, type TestService } from "../testing/harness.js";

/** Debian's package (`apt-get install -y chromium`); .ci/run installs it when missing. */
const CHROMIUM = "/usr/bin/chromium";
const KEY = "console-browser-admin-key-0123456789";
const SCREENSHOT = fileURLToPath(new URL("../../test-results/console.png", import.meta.url));
const TOTAL = 3000;
const BURST = 1000;

function adminClient(url: string): Client<typeof CouponService> {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${KEY}`);
    return next(req);
  };
  return createClient(CouponService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [bearer] }));
}

/**
 * `expect.poll` with room for a busy machine: the page changes at most once a second, and CI runs
 * this file beside others on two cores.
 */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000, interval: 100 });

/** A number the page shows, read from the data-value the page keeps beside the formatted text. */
async function shown(page: Page, selector: string): Promise<number | undefined> {
  const v = await page.locator(selector).first().getAttribute("data-value");
  return v === null || v === "" ? undefined : Number(v);
}

/** Pixels of the chart's canvas close to a colour: the series lines, not the axes or the grid. */
async function pixelsOfColour(page: Page, [r, g, b]: [number, number, number]): Promise<number> {
  // The callback runs in the page; this project's TypeScript has no DOM types, hence `any`.
  return page.$eval(
    "#chart canvas",
    (canvas: any, [r, g, b]: readonly number[]) => {
      const data: Uint8ClampedArray = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 200 && Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 60) n++;
      }
      return n;
    },
    [r, g, b] as const,
  );
}

describe("the console in a real browser", () => {
  let s: TestService;
  let admin: Client<typeof CouponService>;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let campaignId: bigint;
  /** Script errors and failed requests of the page; none is expected. */
  const problems: string[] = [];

  function needChromium(): void {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); .ci/run does it in CI`);
    }
  }

  beforeAll(async () => {
    // Without the browser every test below fails with this sentence (a throwing hook would
    // report them as skipped).
    if (!existsSync(CHROMIUM)) return;
    s = await startTestService({ ADMIN_API_KEY: KEY });
    admin = adminClient(s.url);
    profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
    // A refused key is expected (401); anything else that fails is a broken page.
    page.on("response", (r) => {
      if (r.status() >= 400 && r.status() !== 401) problems.push(`${r.status()} ${r.url()}`);
    });
  });

  afterEach(() => {
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (s) await stopTestService(s);
  });

  it("asks for the admin key, refuses a wrong one, and creates a campaign from the list page", async () => {
    needChromium();
    await page.goto(`${s.url}/console`);
    await page.locator("#key-dialog").waitFor({ state: "visible" });
    await page.fill("#key-input", "not-the-admin-key-at-all");
    await page.press("#key-input", "Enter");
    await poll(() => page.locator("#key-error").textContent()).toBe("The service refused that key.");
    await page.fill("#key-input", KEY);
    await page.press("#key-input", "Enter");
    await page.locator("#key-dialog").waitFor({ state: "hidden" });
    await poll(() => page.locator("#conn").textContent()).toBe("live");

    await page.click("#create-open");
    await page.fill("#create-form [name=name]", "Flash sale");
    await page.fill("#create-form [name=total]", String(TOTAL));
    await page.click("#create-form button[type=submit]");
    await page.waitForURL(/\/console\/campaigns\/\d+$/);
    campaignId = BigInt(page.url().split("/").at(-1)!);
    await poll(() => page.locator("#name").textContent()).toBe("Flash sale");
    await poll(() => page.locator('[data-figure="state"]').getAttribute("data-value")).toBe("open");
    expect((await admin.getCampaign({ campaignId, omitCodes: true })).campaign).toMatchObject({
      name: "Flash sale",
      totalCoupons: BigInt(TOTAL),
      state: CampaignState.OPEN,
    });
  });

  it("follows a burst live with GetCampaign's figures, draws its chart, and its Pause makes IssueCoupon refuse", async () => {
    needChromium();
    // About 250 issues a second for four seconds, so the chart has a rate to draw.
    let sent = 0;
    const burst = (async () => {
      while (sent < BURST) {
        const batch = Math.min(25, BURST - sent);
        sent += batch;
        await Promise.all(Array.from({ length: batch }, () => s.json.issueCoupon({ campaignId })));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const seen = new Set<number>();
    await waitFor(
      "the page's issued count to move during the burst",
      async () => {
        const n = await shown(page, '[data-figure="issued"]');
        if (n !== undefined && n > 0 && n < BURST) seen.add(n);
        return seen.size >= 3 ? true : undefined;
      },
      15_000,
      100,
    );
    await burst;
    await waitForPersisted(s.json, campaignId);
    const c = (await admin.getCampaign({ campaignId, omitCodes: true })).campaign!;
    expect(c.issued).toBe(BigInt(BURST));
    const figures = async () => ({
      issued: await shown(page, '[data-figure="issued"]'),
      total: await shown(page, '[data-figure="total"]'),
      remaining: await shown(page, '[data-figure="remaining"]'),
      lag: await shown(page, '[data-figure="lag-entries"]'),
    });
    await poll(figures).toEqual({ issued: Number(c.issued), total: Number(c.totalCoupons), remaining: Number(c.remaining), lag: 0 });
    // Thousands separators on the page, exact values behind them.
    expect(await page.locator('[data-figure="total"]').textContent()).toBe((3000).toLocaleString("en-US"));

    // Both series drew: pixels of the rate's blue and the remaining stock's amber on the canvas.
    await poll(() => pixelsOfColour(page, [37, 99, 235])).toBeGreaterThan(100);
    await poll(() => pixelsOfColour(page, [217, 119, 6])).toBeGreaterThan(100);

    await page.click('[data-action="pause"]');
    await page.locator("#confirm-dialog").waitFor({ state: "visible" });
    expect(await page.locator("#confirm-title").textContent()).toBe(`Pause campaign #${campaignId} “Flash sale”?`);
    await page.click("#confirm-yes");
    await poll(() => page.locator("#action-result").textContent()).toBe(
      `Paused at ${(BURST).toLocaleString("en-US")} issued: IssueCoupon now refuses.`,
    );
    await poll(() => page.locator('[data-figure="state"]').getAttribute("data-value")).toBe("paused");
    const refused = await s.json.issueCoupon({ campaignId }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ConnectError);
    expect({ code: (refused as ConnectError).code, message: (refused as ConnectError).rawMessage }).toEqual({
      code: Code.FailedPrecondition,
      message: `campaign ${campaignId} is paused`,
    });

    await page.click('[data-action="verify"]');
    await poll(() => page.locator("#books").getAttribute("data-ok")).toBe("true");
    await poll(() => page.locator("#action-result").textContent()).toBe("The books balance.");

    // Seen with the chart drawn, the figures settled and the campaign paused.
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it("exports the issued codes as CSV, and cancels only once confirmed", async () => {
    needChromium();
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-action="export"]')]);
    const csv = readFileSync((await download.path())!, "utf8").trimEnd().split("\n");
    expect(csv[0]).toBe("code,user_id,issued_at,sequence");
    expect(csv.length).toBe(BURST + 1);
    const listed = (await admin.listIssuedCoupons({ campaignId, pageSize: 1 })).coupons[0]!;
    expect(csv[1]!.split(",")[0]).toBe(listed.code);

    await page.click('[data-action="cancel"]');
    await page.click("#confirm-no");
    await poll(() => page.locator("#action-result").textContent()).toBe("Not cancelled.");
    expect((await admin.getCampaign({ campaignId, omitCodes: true })).campaign!.state).toBe(CampaignState.PAUSED);

    await page.click('[data-action="cancel"]');
    await poll(() => page.locator("#confirm-text").textContent()).toContain(`the ${(TOTAL - BURST).toLocaleString("en-US")} codes left are voided`);
    await page.click("#confirm-yes");
    await poll(() => page.locator('[data-figure="state"]').getAttribute("data-value")).toBe("cancelled");
    expect((await admin.getCampaign({ campaignId, omitCodes: true })).campaign!.state).toBe(CampaignState.CANCELLED);

    // And the list page agrees with GetCampaign.
    await page.goto(`${s.url}/console`);
    const row = page.locator(`#campaigns tr[data-id="${campaignId}"]`);
    await poll(() => row.locator(".issued").getAttribute("data-value")).toBe(String(BURST));
    expect(await row.locator(".state").textContent()).toBe("cancelled");
    await page.screenshot({ path: join(SCREENSHOT, "../console-list.png") });
  });
});
