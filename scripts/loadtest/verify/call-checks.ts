import { isWellFormedCode } from "../../../src/codes/code-format.js";
import { countsList, examples } from "./examples.js";
import type { CampaignCalls, Received } from "./issued-view.js";

/**
 * First-come-first-served, from the callers' side: exactly min(calls, coupons) succeed, the
 * rest are told sold out (and only once the pool is really empty).
 */
export function checkCounts(c: CampaignCalls): string[] {
  if (c.run.expect !== "min") return [];
  const violations: string[] = [];
  const name = `campaign ${c.run.id}`;
  const expected = Math.min(c.calls, c.run.coupons);
  if (c.successes !== expected) {
    violations.push(`${name}: ${c.successes} of ${c.calls} calls succeeded for ${c.run.coupons} coupons; expected exactly ${expected}`);
  }
  const soldOut = c.failures.get("resource_exhausted") ?? 0;
  if (soldOut > 0 && c.successes < c.run.coupons) {
    violations.push(`${name}: ${soldOut} calls were told sold out while only ${c.successes} of ${c.run.coupons} coupons had been issued`);
  }
  const others = new Map([...c.failures].filter(([code]) => code !== "resource_exhausted"));
  if (others.size > 0) {
    const first = [...others.keys()][0]!;
    violations.push(`${name}: calls failed with ${countsList(others)} (first ${first}: "${c.sampleMessages.get(first)}")`);
  }
  return violations;
}

/** A campaign's sequences are its places in line: exactly 1..n, each once. */
export function checkSequences(c: CampaignCalls): string[] {
  const n = c.received.length;
  const seen = new Uint8Array(n + 1);
  const wrong: string[] = [];
  for (const r of c.received) {
    if (r.sequence >= 1 && r.sequence <= n && seen[r.sequence] === 0) seen[r.sequence] = 1;
    else wrong.push(`${r.code} #${r.sequence}`);
  }
  return wrong.length === 0 ? [] : [`campaign ${c.run.id}: ${wrong.length} coupons carry a sequence outside 1..${n} or a repeated one: ${examples(wrong)}`];
}

/** Every code received in the run (all campaigns) is well-formed and was handed to one caller only. */
export function checkCodes(received: readonly Received[]): string[] {
  const violations: string[] = [];
  const malformed = received.filter((r) => !isWellFormedCode(r.code)).map((r) => JSON.stringify(r.code));
  if (malformed.length > 0) violations.push(`${malformed.length} codes are not well-formed: ${examples(malformed)}`);
  const owner = new Map<string, string>();
  const repeats: string[] = [];
  for (const r of received) {
    const first = owner.get(r.code);
    if (first === undefined) owner.set(r.code, r.userId);
    else repeats.push(`${r.code} (to ${first} and ${r.userId})`);
  }
  if (repeats.length > 0) violations.push(`${repeats.length} codes were handed out more than once: ${examples(repeats)}`);
  return violations;
}
