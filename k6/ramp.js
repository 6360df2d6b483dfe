// A ramp: from the opening, the arrival rate rises from 500 to 3,000 calls/s over 10 s (about
// 17,500 calls) against 15,000 coupons, so the pool runs out under the highest rate. Exactly
// 15,000 must win; the rest are told sold out.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/ramp.js
import exec from "k6/execution";
import { openCampaigns } from "./lib/campaign.js";
import { issueChecked } from "./lib/issue.js";
import { verifyExactly } from "./lib/verify.js";

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
  return { campaignId: openCampaigns("k6 ramp", 1, COUPONS, 2000)[0] };
}

export default function (data) {
  issueChecked(data.campaignId, `k6-ramp-${exec.scenario.iterationInTest}`, ["resource_exhausted"]);
}

export function teardown(data) {
  verifyExactly([data.campaignId], COUPONS);
}
