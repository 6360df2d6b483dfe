// A burst at the opening: 15,000 callers, 200 at a time, against 10,000 coupons. Exactly 10,000
// must win; every other caller is told sold out (resource_exhausted, HTTP 429).
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/burst.js
import exec from "k6/execution";
import { openCampaigns } from "./lib/campaign.js";
import { issueChecked } from "./lib/issue.js";
import { verifyExactly } from "./lib/verify.js";

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
  return { campaignId: openCampaigns("k6 burst", 1, COUPONS, 2000)[0] };
}

export default function (data) {
  issueChecked(data.campaignId, `k6-burst-${exec.scenario.iterationInTest}`, ["resource_exhausted"]);
}

export function teardown(data) {
  verifyExactly([data.campaignId], Math.min(CALLS, COUPONS));
}
