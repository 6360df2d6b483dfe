import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Hono } from "hono";
import type { Deps } from "../deps.js";
import type { Metrics } from "../ops/metrics.js";
import { createConnectHandler } from "./connect-handler.js";
import { createIssueFastHandler } from "./issue-fast-handler.js";

export const SERVICE_PREFIX = "/couponpb.CouponService/";
export const ISSUE_COUPON_PATH = `${SERVICE_PREFIX}IssueCoupon`;

/**
 * Mounts Connect RPC in the hono app. Both handlers write straight to Node's response and tell
 * hono so (RESPONSE_ALREADY_SENT): no fetch Request/Response conversion on the way. No hono
 * middleware that reads or compresses bodies may run on these routes: Connect does both itself.
 */
export function mountRpc(app: Hono<{ Bindings: HttpBindings }>, deps: Deps, metrics: Metrics): void {
  const generic = createConnectHandler(deps, { metrics });
  if (deps.config.ISSUE_PATH === "fast") {
    const fast = createIssueFastHandler(deps, generic, metrics.issue);
    app.post(ISSUE_COUPON_PATH, (c) => {
      fast(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
  }
  app.all(`${SERVICE_PREFIX}*`, (c) => {
    generic(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });
}
