// The two edges of a campaign.
//  start_instant: 500 calls/s from 2 s before the start instant to 2 s after it, against a pool
//    with a code for every call. No call answered before the instant may succeed; no call sent
//    after it may be refused as not started; every issue time read back is at or after it.
//  near_limit: then 500 callers at once against a pool of 5 coupons: exactly 5 win.
// The checks compare k6's clock with the service's: run k6 on the service's machine.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/boundary.js
import exec from "k6/execution";
import { check } from "k6";
import { createCampaign, getCampaign, listIssued, sleepUntil, waitLoaded } from "./lib/campaign.js";
import { issueChecked, violations } from "./lib/issue.js";
import { failOn, verifyIssued } from "./lib/verify.js";

const RATE = 500;
const WINDOW_S = 4;
const SMALL_POOL = 5;
const CALLERS = 500;
const LEAD_MS = 6000;

export const options = {
  scenarios: {
    start_instant: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: `${WINDOW_S}s`,
      preAllocatedVUs: 100,
      maxVUs: 500,
      exec: "startInstant",
    },
    near_limit: {
      executor: "shared-iterations",
      vus: 100,
      iterations: CALLERS,
      startTime: `${WINDOW_S + 1}s`,
      maxDuration: "60s",
      exec: "nearLimit",
    },
  },
  thresholds: {
    integrity_violations: ["count==0"],
    checks: ["rate==1"],
    "coupons_issued{part:near_limit}": [`count==${SMALL_POOL}`],
  },
  setupTimeout: "120s",
};

export function setup() {
  const startMs = Date.now() + LEAD_MS;
  const window = createCampaign(`k6 boundary start ${Date.now()}`, startMs, RATE * WINDOW_S);
  const small = createCampaign(`k6 boundary pool ${Date.now()}`, startMs, SMALL_POOL);
  waitLoaded([window, small], 60);
  // The start_instant scenario begins when setup returns: half its window before the instant.
  sleepUntil(startMs - (WINDOW_S / 2) * 1000);
  return { window, small, startMs };
}

export function startInstant(data) {
  const sentAt = Date.now();
  const r = issueChecked(data.window, `k6-window-${exec.scenario.iterationInTest}`, ["failed_precondition"], { part: "start_instant" });
  const answeredAt = Date.now();
  const good = check(r, {
    "no success answered before the start instant": () => !r.ok || answeredAt >= data.startMs,
    "no refusal as not started once the instant has passed": () => r.connectCode !== "failed_precondition" || sentAt < data.startMs,
  }, { part: "start_instant" });
  if (!good) violations.add(1, { part: "start_instant" });
}

// Both scenarios name their own function; a default one lets `k6 run --vus 1 --iterations 1` try a single call.
export default function (data) {
  startInstant(data);
}

export function nearLimit(data) {
  issueChecked(data.small, `k6-pool-${exec.scenario.iterationInTest}`, ["resource_exhausted"], { part: "near_limit" });
}

export function teardown(data) {
  const problems = verifyIssued(data.small, SMALL_POOL, new Set());
  const issued = listIssued(data.window, RATE * WINDOW_S / 1000 + 2);
  const early = issued.filter((c) => c.issuedAtMs < data.startMs);
  if (early.length > 0) problems.push(`campaign ${data.window} has ${early.length} coupons issued before the start instant`);
  if (issued.length === 0) problems.push(`campaign ${data.window} issued nothing: the window did not reach the start instant`);
  if (issued.length !== getCampaign(data.window).issued) problems.push(`campaign ${data.window}: ListIssuedCoupons and GetCampaign disagree`);
  failOn(problems);
}
