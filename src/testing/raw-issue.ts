import type { IssuePool } from "../../scripts/loadtest/http/issue-pool.js";
import type { IssueOutcome } from "../../scripts/loadtest/http/connect-outcome.js";

/**
 * One user's IssueCoupon as a client makes it, over the load test's raw keep-alive connections (a
 * Connect client costs the test process several times more CPU per call): an `unavailable` answer
 * says "try again shortly" (an issue budget the service is still raising,
 * src/campaigns/issue-budget.ts), so the client does, after a short pause; the answer that counts
 * is the last one.
 */
export async function issueAsAClient(pool: IssuePool, campaignId: bigint, userId: string): Promise<IssueOutcome> {
  for (let attempt = 1; ; attempt++) {
    const o = await pool.issue(String(campaignId), userId);
    if (o.ok || o.error !== "unavailable" || attempt === 50) return o;
    await new Promise((r) => setTimeout(r, 20));
  }
}
