import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Hono } from "hono";
import type { Deps } from "../deps.js";
import type { Metrics } from "../ops/metrics.js";
import { createConnectHandler } from "./connect-handler.js";
import { createIssueFastHandler } from "./issue-fast-handler.js";

export const SERVICE_PREFIX = "/couponpb.CouponService/";
export const ISSUE_COUPON_PATH = `${SERVICE_PREFIX}IssueCoupon`;

/** A Node request handler, for the one route served before hono (see `httpListener`). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Mounts Connect RPC in the hono app. Both handlers write straight to Node's response and tell
 * hono so (RESPONSE_ALREADY_SENT): no fetch Request/Response conversion on the way. No hono
 * middleware that reads or compresses bodies may run on these routes: Connect does both itself.
 * Returns IssueCoupon's dedicated handler (ISSUE_PATH=fast), for `httpListener`.
 */
export function mountRpc(app: Hono<{ Bindings: HttpBindings }>, deps: Deps, metrics: Metrics): NodeHandler | undefined {
  const generic = createConnectHandler(deps, { metrics });
  let fast: NodeHandler | undefined;
  if (deps.config.ISSUE_PATH === "fast") {
    const handler = createIssueFastHandler(deps, generic, metrics.issue);
    fast = handler;
    app.post(ISSUE_COUPON_PATH, (c) => {
      handler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
  }
  app.all(`${SERVICE_PREFIX}*`, (c) => {
    generic(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });
  return fast;
}

/**
 * The server's request listener: IssueCoupon, the hot path, goes straight to its handler, before
 * hono builds a context and routes (a few µs per call that a flash sale pays on every request);
 * everything else, IssueCoupon under another method or a path with a query included, goes
 * through hono, which routes it to the same handlers.
 */
export function httpListener(app: Hono<{ Bindings: HttpBindings }>, issueFast: NodeHandler | undefined): NodeHandler {
  const viaHono = getRequestListener(app.fetch);
  if (!issueFast) return (req, res) => void viaHono(req, res);
  return (req, res) => {
    if (req.url === ISSUE_COUPON_PATH && req.method === "POST") issueFast(req, res);
    else void viaHono(req, res);
  };
}
