// A ramp: from the opening, the arrival rate rises from 500 to 3,000 calls/s over 10 s (about
// 17,500 calls) against 15,000 coupons, so the pool runs out under the highest rate. Exactly
// 15,000 must win; the rest are told sold out.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/ramp.js
import exec from "k6/execution";
import { createCampaign, sleepUntil, waitLoaded } from "./lib/campaign.js";
import { issueChecked } from "./lib/issue.js";
import { failOn, verifyIssued } from "./lib/verify.js";

const COUPONS = 15000;

export const options = {
  scenarios: {
    ramp: {
      executor: "ramping-arrival-rate",
      startRate: 500,
      timeUnit: "1s",
      stages: [{ target: 3000, duration: "10s" }],
      preAllocatedVUs: 300,
      maxVUs: 2000,
    },
  },
  thresholds: {
    integrity_violations: ["count==0"],
    checks: ["rate==1"],
    coupons_issued: [`count==${COUPONS}`],
  },
  setupTimeout: "120s",
};

export function setup() {
  const startMs = Date.now() + 2000;
  const campaignId = createCampaign(`k6 ramp ${Date.now()}`, startMs, COUPONS);
  waitLoaded([campaignId], 60);
  sleepUntil(startMs);
  return { campaignId };
}

export default function (data) {
  issueChecked(data.campaignId, `k6-ramp-${exec.scenario.iterationInTest}`, ["resource_exhausted"]);
}

export function teardown(data) {
  failOn(verifyIssued(data.campaignId, COUPONS, new Set()));
}
