// teardown() checks through the API: GetCampaign lists exactly the expected number of codes,
// each well-formed and distinct. A failed check fails the run (fail() ends it with an error).
import { check, fail } from "k6";
import { getCampaign } from "./campaign.js";
import { violations, wellFormed } from "./issue.js";

/** Checks one campaign; `seen` (a Set shared across campaigns) catches a code issued twice anywhere. */
export function verifyIssued(campaignId, expected, seen) {
  const c = getCampaign(campaignId);
  const problems = [];
  if (c.couponCodes.length !== expected) problems.push(`lists ${c.couponCodes.length} codes, expected exactly ${expected}`);
  if (c.issued !== expected) problems.push(`says ${c.issued} issued, expected ${expected}`);
  const malformed = c.couponCodes.filter((code) => !wellFormed(code));
  if (malformed.length > 0) problems.push(`${malformed.length} malformed codes, e.g. ${malformed[0]}`);
  let repeats = 0;
  for (const code of c.couponCodes) {
    if (seen.has(code)) repeats++;
    seen.add(code);
  }
  if (repeats > 0) problems.push(`${repeats} codes listed twice`);
  return problems.map((p) => `campaign ${campaignId} ${p}`);
}

/** Fails the run when there is any problem, after recording it as a violation. */
export function failOn(problems) {
  check(problems, { "teardown: GetCampaign lists exactly the issued codes": (p) => p.length === 0 });
  if (problems.length > 0) {
    violations.add(problems.length);
    fail(problems.join("; "));
  }
}

/** teardown()'s usual check: each campaign lists exactly `expected` codes, none shared between them. */
export function verifyExactly(ids, expected) {
  const seen = new Set();
  const problems = [];
  for (const id of ids) problems.push(...verifyIssued(id, expected, seen));
  failOn(problems);
}
