import type { ControlClient } from "../rpc/control-client.js";
import { examples } from "./examples.js";
import type { CampaignCalls } from "./issued-view.js";

/**
 * Once persisted, ListIssuedCoupons must give back every received code with the user who
 * received it and the same place in line, issued no earlier than the start instant.
 */
export async function checkOwners(client: ControlClient, c: CampaignCalls): Promise<string[]> {
  const name = `campaign ${c.run.id}`;
  const maxPages = Math.ceil(c.run.coupons / 1000) + 2;
  const listed = await client.listAllIssued(c.run.id, maxPages);
  const byCode = new Map(c.received.map((r) => [r.code, r]));
  const violations: string[] = [];
  if (listed.length !== c.received.length) {
    violations.push(`${name}: ListIssuedCoupons lists ${listed.length} coupons; callers received ${c.received.length}`);
  }
  const wrongOwner: string[] = [];
  const unknown: string[] = [];
  const wrongSequence: string[] = [];
  const early: string[] = [];
  for (const l of listed) {
    const r = byCode.get(l.code);
    if (!r) unknown.push(l.code);
    else {
      if (l.userId !== r.userId) wrongOwner.push(`${l.code} listed for ${JSON.stringify(l.userId)}, received by ${r.userId}`);
      if (l.sequence !== r.sequence) wrongSequence.push(`${l.code} #${l.sequence}, answered #${r.sequence}`);
    }
    if (l.issuedAtMs < c.run.startMs) early.push(`${l.code} at ${new Date(l.issuedAtMs).toISOString()}`);
  }
  if (wrongOwner.length > 0) violations.push(`${name}: ${wrongOwner.length} owners read back differ from the callers: ${examples(wrongOwner)}`);
  if (unknown.length > 0) violations.push(`${name}: ListIssuedCoupons lists ${unknown.length} codes no caller received: ${examples(unknown)}`);
  if (wrongSequence.length > 0) violations.push(`${name}: ${wrongSequence.length} sequences read back differ from the answers: ${examples(wrongSequence)}`);
  if (early.length > 0) {
    violations.push(`${name}: ${early.length} coupons carry an issue time before the start instant ${new Date(c.run.startMs).toISOString()}: ${examples(early)}`);
  }
  return violations;
}
