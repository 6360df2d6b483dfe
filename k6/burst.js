// A burst at the opening: 15,000 callers, 200 at a time, against 10,000 coupons. Exactly 10,000
// must win; every other caller is told sold out (resource_exhausted, HTTP 429).
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/burst.js
import exec from "k6/execution";
import { createCampaign, sleepUntil, waitLoaded } from "./lib/campaign.js";
import { issueChecked } from "./lib/issue.js";
import { failOn, verifyIssued } from "./lib/verify.js";

const COUPONS = 10000;
const CALLS = 15000;

export const options = {
  scenarios: {
    burst: { executor: "shared-iterations", vus: 200, iterations: CALLS, maxDuration: "120s" },
  },
  thresholds: {
    integrity_violations: ["count==0"],
    checks: ["rate==1"],
    coupons_issued: [`count==${Math.min(CALLS, COUPONS)}`],
  },
  setupTimeout: "120s",
};

export function setup() {
  const startMs = Date.now() + 2000;
  const campaignId = createCampaign(`k6 burst ${Date.now()}`, startMs, COUPONS);
  waitLoaded([campaignId], 60);
  sleepUntil(startMs);
  return { campaignId };
}

export default function (data) {
  issueChecked(data.campaignId, `k6-burst-${exec.scenario.iterationInTest}`, ["resource_exhausted"]);
}

export function teardown(data) {
  failOn(verifyIssued(data.campaignId, Math.min(CALLS, COUPONS), new Set()));
}
