// Connect RPC over JSON for k6: one POST per unary call, errors read from the body's `code`
// (the Connect error code, a contract), never from message text.
import http from "k6/http";

export const BASE_URL = (__ENV.BASE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const PREFIX = `${BASE_URL}/couponpb.CouponService/`;
const JSON_HEADERS = { "Content-Type": "application/json" };
// The service's ADMIN_API_KEY, if it has one: setup() and teardown() call admin methods
// (CreateCampaign, ListIssuedCoupons). IssueCoupon is sent without it, as real callers do.
const ADMIN_HEADERS = __ENV.COUPON_ADMIN_KEY
  ? Object.assign({ Authorization: `Bearer ${__ENV.COUPON_ADMIN_KEY}` }, JSON_HEADERS)
  : JSON_HEADERS;

/** Calls `method` with a JSON request; `tags` label the request metrics (e.g. { rpc: "IssueCoupon" }). */
export function rpc(method, request, tags, headers) {
  const params = { headers: headers || JSON_HEADERS, tags: Object.assign({ rpc: method }, tags || {}) };
  return http.post(PREFIX + method, JSON.stringify(request), params);
}

/** The parsed body, or null when it is not JSON. */
export function body(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

/** The Connect error code of a failed call ("" when the call succeeded or the body is not a Connect error). */
export function connectCode(res) {
  if (res.status === 200) return "";
  const b = body(res);
  return b && typeof b.code === "string" ? b.code : "";
}

/** Calls `method` and returns its parsed answer; throws with the Connect code when it fails. */
export function call(method, request) {
  const res = rpc(method, request, undefined, ADMIN_HEADERS);
  if (res.status !== 200) throw new Error(`${method} failed: HTTP ${res.status} ${connectCode(res) || res.body}`);
  return body(res);
}
