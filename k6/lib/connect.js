// Connect RPC over JSON for k6: one POST per unary call, errors read from the body's `code`
// (the Connect error code, a contract), never from message text.
import http from "k6/http";

export const BASE_URL = (__ENV.BASE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const PREFIX = `${BASE_URL}/couponpb.CouponService/`;
const PARAMS = { headers: { "Content-Type": "application/json" } };

/** Calls `method` with a JSON request; `tags` label the request metrics (e.g. { rpc: "IssueCoupon" }). */
export function rpc(method, request, tags) {
  return http.post(PREFIX + method, JSON.stringify(request), Object.assign({}, PARAMS, { tags: Object.assign({ rpc: method }, tags || {}) }));
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
  const res = rpc(method, request);
  if (res.status !== 200) throw new Error(`${method} failed: HTTP ${res.status} ${connectCode(res) || res.body}`);
  return body(res);
}
