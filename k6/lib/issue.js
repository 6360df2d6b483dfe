// The hot call and its checks. An answer is either a well-formed coupon or an expected Connect
// code; anything else adds to `integrity_violations`, which every script holds at zero.
import { check } from "k6";
import { Counter } from "k6/metrics";
import { body, connectCode, rpc } from "./connect.js";

export const violations = new Counter("integrity_violations");
export const issued = new Counter("coupons_issued");
export const refused = new Counter("calls_refused");

/** KKNNKKC: two Hangul syllables, two digits, two Hangul syllables, a Hangul check character. */
const CODE_SHAPE = /^[\uAC00-\uD7A3]{2}[0-9]{2}[\uAC00-\uD7A3]{3}$/;

export function wellFormed(code) {
  return typeof code === "string" && CODE_SHAPE.test(code);
}

/**
 * Issues one coupon and checks the answer: 200 with a well-formed code, or one of
 * `allowedCodes` (Connect codes such as "resource_exhausted") with its HTTP status.
 * Returns { ok, code, connectCode } for scenario-specific checks; `tags` label the metrics.
 */
export function issueChecked(campaignId, userId, allowedCodes, tags) {
  const res = rpc("IssueCoupon", { campaignId, userId }, tags);
  const b = res.status === 200 ? body(res) : null;
  const code = b && b.couponCode;
  const err = connectCode(res);
  const good = check(res, {
    "issued a well-formed code, or refused with an expected Connect code": () =>
      (res.status === 200 && wellFormed(code)) || allowedCodes.indexOf(err) >= 0,
    "sold out answers HTTP 429": () => err !== "resource_exhausted" || res.status === 429,
    "not started answers HTTP 400": () => err !== "failed_precondition" || res.status === 400,
  }, tags);
  if (!good) violations.add(1, tags);
  if (res.status === 200) issued.add(1, tags);
  else refused.add(1, Object.assign({ code: err || `http_${res.status}` }, tags || {}));
  return { ok: res.status === 200, code, connectCode: err };
}
