// Several campaigns opening together: 4 campaigns of 5,000 coupons, 24,000 callers dealt
// round-robin across them. Each campaign must issue exactly 5,000 codes, and no code may appear
// in two campaigns.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/multi-campaign.js
import exec from "k6/execution";
import { openCampaigns } from "./lib/campaign.js";
import { issueChecked } from "./lib/issue.js";
import { verifyExactly } from "./lib/verify.js";

const CAMPAIGNS = 4;
const COUPONS = 5000;
const CALLS = 24000;

export const options = {
  scenarios: {
    multi: { executor: "shared-iterations", vus: 200, iterations: CALLS, maxDuration: "180s" },
  },
  thresholds: {
    integrity_violations: ["count==0"],
    checks: ["rate==1"],
    coupons_issued: [`count==${CAMPAIGNS * Math.min(CALLS / CAMPAIGNS, COUPONS)}`],
  },
  setupTimeout: "180s",
};

export function setup() {
  return { ids: openCampaigns("k6 multi", CAMPAIGNS, COUPONS, 3000) };
}

export default function (data) {
  const i = exec.scenario.iterationInTest;
  issueChecked(data.ids[i % CAMPAIGNS], `k6-multi-${i}`, ["resource_exhausted"]);
}

export function teardown(data) {
  verifyExactly(data.ids, Math.min(CALLS / CAMPAIGNS, COUPONS));
}
