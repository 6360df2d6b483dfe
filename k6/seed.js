// The original Go load test as a k6 script: a campaign of 20,000 coupons opening 3 s after
// creation; one early call must be refused; then 10,000 calls spread over 10 s; GetCampaign must
// then list exactly the 10,000 codes the callers received.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/seed.js
import exec from "k6/execution";
import { createCampaign, sleepUntil, waitLoaded } from "./lib/campaign.js";
import { issueChecked, violations } from "./lib/issue.js";
import { verifyExactly } from "./lib/verify.js";

const COUPONS = 20000;
const CALLS = 10000;
const SECONDS = 10;

export const options = {
  scenarios: {
    seed: {
      executor: "constant-arrival-rate",
      rate: CALLS / SECONDS,
      timeUnit: "1s",
      duration: `${SECONDS}s`,
      preAllocatedVUs: 200,
      maxVUs: 1000,
    },
  },
  thresholds: {
    integrity_violations: ["count==0"],
    checks: ["rate==1"],
    // Every planned call must be made, or the exact count below means nothing.
    dropped_iterations: ["count==0"],
    coupons_issued: [`count==${CALLS}`],
  },
  setupTimeout: "120s",
};

export function setup() {
  const startMs = Date.now() + 3000;
  const campaignId = createCampaign(`k6 seed ${Date.now()}`, startMs, COUPONS);
  // Before the opening (and perhaps before the pool is loaded): refused, never issued.
  const early = issueChecked(campaignId, "k6-seed-early", ["failed_precondition"], { phase: "early" });
  if (early.ok || early.connectCode !== "failed_precondition") violations.add(1, { phase: "early" });
  waitLoaded([campaignId], 60);
  sleepUntil(startMs);
  return { campaignId };
}

export default function (data) {
  issueChecked(data.campaignId, `k6-seed-${exec.scenario.iterationInTest}`, []);
}

export function teardown(data) {
  verifyExactly([data.campaignId], CALLS);
}
