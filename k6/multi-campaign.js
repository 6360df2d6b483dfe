// Several campaigns opening together: 4 campaigns of 5,000 coupons, 24,000 callers dealt
// round-robin across them. Each campaign must issue exactly 5,000 codes, and no code may appear
// in two campaigns.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/multi-campaign.js
import exec from "k6/execution";
import { createCampaign, sleepUntil, waitLoaded } from "./lib/campaign.js";
import { issueChecked } from "./lib/issue.js";
import { failOn, verifyIssued } from "./lib/verify.js";

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
  const startMs = Date.now() + 3000;
  const ids = [];
  for (let k = 0; k < CAMPAIGNS; k++) ids.push(createCampaign(`k6 multi ${Date.now()} #${k + 1}`, startMs, COUPONS));
  waitLoaded(ids, 120);
  sleepUntil(startMs);
  return { ids };
}

export default function (data) {
  const i = exec.scenario.iterationInTest;
  issueChecked(data.ids[i % CAMPAIGNS], `k6-multi-${i}`, ["resource_exhausted"]);
}

export function teardown(data) {
  const seen = new Set();
  const problems = [];
  for (const id of data.ids) problems.push(...verifyIssued(id, Math.min(CALLS / CAMPAIGNS, COUPONS), seen));
  failOn(problems);
}
